//! The reference evaluator: plain Rust over one member's facts, mirroring the SQL the store
//! generates (two-valued logic: nothing is ever "unknown").

use std::collections::HashMap;
use std::time::Duration;

use super::condition::{Condition, ProfileField, RfmDimension, TraitTest};
use crate::members::{LifecycleStage, RfmScore};
use crate::time::Timestamp;

/// Everything a condition can look at for one member.
#[derive(Debug, Clone, Default)]
pub struct MemberFacts {
    /// Trait values as text (numbers in their JSON spelling).
    pub traits: HashMap<String, String>,
    pub created_at: Timestamp,
    pub first_seen_at: Option<Timestamp>,
    pub last_seen_at: Option<Timestamp>,
    pub last_interaction_at: Option<Timestamp>,
    pub last_order_at: Option<Timestamp>,
    pub order_count: i64,
    pub gmv_fen: i64,
    pub refund_fen: i64,
    pub event_count: i64,
    pub rfm: Option<RfmScore>,
    /// (type, when) of every event.
    pub events: Vec<(String, Timestamp)>,
    /// When each order was paid.
    pub orders: Vec<Timestamp>,
    /// Channels with consent granted.
    pub consents: Vec<crate::members::ConsentChannel>,
    /// Ids of the tags the member carries.
    pub tags: Vec<String>,
}

/// "Never" counts as this many days ago.
pub const NEVER_DAYS: i64 = 1_000_000;

/// Whole days from `then` to `now`, truncated toward zero as SQL integer division does.
pub fn days_between(then: Option<Timestamp>, now: Timestamp) -> i64 {
    match then {
        Some(then) => (now.millis() - then.millis()) / 86_400_000,
        None => NEVER_DAYS,
    }
}

impl Condition {
    pub fn matches(&self, member: &MemberFacts, now: Timestamp) -> bool {
        let window_start = |days: u32| now.minus(Duration::from_secs(u64::from(days) * 86_400));
        match self {
            Condition::All(children) => children.iter().all(|c| c.matches(member, now)),
            Condition::Any(children) => children.iter().any(|c| c.matches(member, now)),
            Condition::Not(child) => !child.matches(member, now),
            Condition::Events {
                event_type,
                within_days,
                cmp,
                count,
            } => {
                let since = window_start(*within_days);
                let n = member
                    .events
                    .iter()
                    .filter(|(t, at)| t == event_type.as_str() && *at >= since)
                    .count() as i64;
                cmp.holds(n, *count)
            }
            Condition::Orders {
                within_days,
                cmp,
                count,
            } => {
                let n = match within_days {
                    Some(days) => {
                        let since = window_start(*days);
                        member.orders.iter().filter(|at| **at >= since).count() as i64
                    }
                    None => member.orders.len() as i64,
                };
                cmp.holds(n, *count)
            }
            Condition::Profile { field, cmp, value } => {
                let left = match field {
                    ProfileField::OrderCount => member.order_count,
                    ProfileField::GmvFen => member.gmv_fen,
                    ProfileField::RefundFen => member.refund_fen,
                    ProfileField::EventCount => member.event_count,
                    ProfileField::DaysSinceLastOrder => days_between(member.last_order_at, now),
                    ProfileField::DaysSinceLastSeen => days_between(member.last_seen_at, now),
                    ProfileField::DaysSinceFirstSeen => days_between(member.first_seen_at, now),
                };
                cmp.holds(left, *value)
            }
            Condition::Rfm {
                dimension,
                cmp,
                value,
            } => {
                let score = member.rfm.map(|s| match dimension {
                    RfmDimension::Recency => s.recency,
                    RfmDimension::Frequency => s.frequency,
                    RfmDimension::Monetary => s.monetary,
                });
                cmp.holds(i64::from(score.unwrap_or(0)), *value)
            }
            Condition::Lifecycle(stages) => stages.contains(&member.stage(now)),
            Condition::Consent(channel) => member.consents.contains(channel),
            Condition::Tag(tag) => member.tags.contains(tag),
            Condition::Trait { name, test } => {
                let value = member.traits.get(name);
                match test {
                    TraitTest::Equals(v) => value == Some(v),
                    TraitTest::NotEquals(v) => value != Some(v),
                    TraitTest::OneOf(vs) => value.is_some_and(|x| vs.contains(x)),
                    TraitTest::Exists => value.is_some(),
                }
            }
        }
    }
}

impl MemberFacts {
    pub fn stage(&self, now: Timestamp) -> LifecycleStage {
        LifecycleStage::of_profile(
            now,
            self.created_at,
            self.first_seen_at,
            self.last_seen_at,
            self.last_order_at,
            self.last_interaction_at,
        )
    }
}
