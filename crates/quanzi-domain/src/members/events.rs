//! Behaviour events as ingested: checked one by one so a batch with bad rows still stores
//! the good ones and names the bad by index.

use std::time::Duration;

use super::Identity;
use crate::input::InvalidInput;
use crate::time::Timestamp;

/// The most events one ingest call may carry.
pub const EVENT_BATCH_LIMIT: usize = 1000;

/// Events further ahead than this (clock skew of a phone) are refused; late events of any
/// age are accepted, because mini-programs flush queues when they come back online.
pub const MAX_FUTURE_SKEW: Duration = Duration::from_secs(10 * 60);

/// An event type: one of the well-known ones or a custom name in snake_case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventType(String);

impl EventType {
    /// Types with a meaning in quanzi's own rules (lifecycle, funnels, rewards).
    pub const KNOWN: [&'static str; 11] = [
        "page_view",
        "exposure",
        "click",
        "add_to_cart",
        "share",
        "content_view",
        "like",
        "comment",
        "join_community",
        "message",
        "checkin",
    ];

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.as_bytes()[0].is_ascii_lowercase()
            && raw.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b':')
            });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidInput::new(
                "type",
                format!("`{raw}` is not an event type: use snake_case such as page_view, share or a custom name like coupon_viewed"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the event shows the member engaging (for "last interaction" and churn risk):
    /// passive impressions do not count.
    pub fn is_interaction(&self) -> bool {
        !matches!(self.0.as_str(), "page_view" | "exposure")
    }
}

/// Where an event or order came from: the fields attribution and ROI read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touchpoints {
    pub channel: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_content: Option<String>,
    pub utm_term: Option<String>,
    pub link_code: Option<String>,
    pub kol_id: Option<String>,
    pub campaign_id: Option<String>,
    pub content_id: Option<String>,
}

impl Touchpoints {
    /// The field names, which are also the API's fields and the tables' columns, in the
    /// order of [`Touchpoints::values`].
    pub const FIELDS: [&'static str; 10] = [
        "channel",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_content",
        "utm_term",
        "link_code",
        "kol_id",
        "campaign_id",
        "content_id",
    ];

    /// The values in the order of [`Touchpoints::FIELDS`].
    pub fn values(&self) -> [Option<&str>; 10] {
        [
            self.channel.as_deref(),
            self.utm_source.as_deref(),
            self.utm_medium.as_deref(),
            self.utm_campaign.as_deref(),
            self.utm_content.as_deref(),
            self.utm_term.as_deref(),
            self.link_code.as_deref(),
            self.kol_id.as_deref(),
            self.campaign_id.as_deref(),
            self.content_id.as_deref(),
        ]
    }

    /// Checks every field is at most 256 characters (empty strings count as absent).
    pub fn checked(self) -> Result<Self, InvalidInput> {
        for (name, value) in Self::FIELDS.into_iter().zip(self.values()) {
            if value.is_some_and(|v| v.chars().count() > 256 || v.chars().any(char::is_control)) {
                return Err(InvalidInput::new(
                    name,
                    "must be at most 256 characters without control characters",
                ));
            }
        }
        let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(Self {
            channel: clean(self.channel),
            utm_source: clean(self.utm_source),
            utm_medium: clean(self.utm_medium),
            utm_campaign: clean(self.utm_campaign),
            utm_content: clean(self.utm_content),
            utm_term: clean(self.utm_term),
            link_code: clean(self.link_code),
            kol_id: clean(self.kol_id),
            campaign_id: clean(self.campaign_id),
            content_id: clean(self.content_id),
        })
    }
}

/// One event that passed its checks.
#[derive(Debug, Clone)]
pub struct IncomingEvent {
    /// The client's id for the event: the deduplication key within the workspace.
    pub event_id: String,
    pub event_type: EventType,
    pub identity: Identity,
    pub occurred_at: Timestamp,
    /// A JSON object, as text.
    pub properties: String,
    pub touchpoints: Touchpoints,
}

impl IncomingEvent {
    pub fn check_event_id(raw: &str) -> Result<String, InvalidInput> {
        if !raw.is_empty() && raw.len() <= 128 && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(raw.to_owned())
        } else {
            Err(InvalidInput::new(
                "event_id",
                "must be 1 to 128 visible ASCII characters, unique per event",
            ))
        }
    }

    pub fn check_time(occurred_at: Timestamp, now: Timestamp) -> Result<Timestamp, InvalidInput> {
        if occurred_at > now.plus(MAX_FUTURE_SKEW) {
            Err(InvalidInput::new(
                "timestamp",
                format!(
                    "is more than {} minutes in the future; check the device clock",
                    MAX_FUTURE_SKEW.as_secs() / 60
                ),
            ))
        } else {
            Ok(occurred_at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_snake_case_names() {
        for ok in EventType::KNOWN {
            assert!(EventType::parse(ok).is_ok());
        }
        assert!(EventType::parse("coupon_viewed").is_ok());
        for bad in ["", "PageView", "1st", "has space", &"x".repeat(65)] {
            assert!(EventType::parse(bad).is_err(), "{bad}");
        }
        assert!(!EventType::parse("exposure").unwrap().is_interaction());
        assert!(EventType::parse("share").unwrap().is_interaction());
    }

    #[test]
    fn future_events_beyond_the_skew_are_refused_and_late_ones_accepted() {
        let now = Timestamp::from_millis(1_000_000_000);
        assert!(IncomingEvent::check_time(now.plus(Duration::from_secs(9 * 60)), now).is_ok());
        assert_eq!(
            IncomingEvent::check_time(now.plus(Duration::from_secs(11 * 60)), now)
                .unwrap_err()
                .field(),
            "timestamp"
        );
        assert!(IncomingEvent::check_time(Timestamp::from_millis(0), now).is_ok());
    }

    #[test]
    fn touchpoints_drop_blanks_and_refuse_long_values() {
        let tp = Touchpoints {
            channel: Some("  ".into()),
            kol_id: Some(" kol_1 ".into()),
            ..Default::default()
        }
        .checked()
        .unwrap();
        assert_eq!(tp.channel, None);
        assert_eq!(tp.kol_id.as_deref(), Some("kol_1"));
        let err = Touchpoints {
            utm_source: Some("x".repeat(257)),
            ..Default::default()
        }
        .checked()
        .unwrap_err();
        assert_eq!(err.field(), "utm_source");
    }
}
