//! Earning rules: what earns points (orders, first orders, check-ins, shares, reviews,
//! referrals, custom events), how many, how long they stay pending, when they expire, and
//! the per-member caps per local day, week and month.
//!
//! Points are whole numbers and every rounding goes down, in the brand's favour, so a
//! displayed rate is never exceeded.

use std::fmt;

use crate::calendar::{LocalDate, TimeZone};
use crate::input::InvalidInput;
use crate::time::Timestamp;

/// Points earned on orders stay pending through the 7-day no-reason return window
/// (消费者权益保护法 §25), so a return can cancel them before they can be spent.
pub const DEFAULT_ORDER_PENDING_DAYS: u32 = 7;
const MAX_POINTS: i64 = 1_000_000;
const MAX_CAP: i64 = 1_000_000_000;

/// When earned points expire. "End" means the last local instant: the points expire at
/// the next local midnight, in the workspace zone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExpiryPolicy {
    #[default]
    Never,
    /// Valid through the end of the local day `n` days after the day earned, so points
    /// earned on the same day expire together and always last at least `n` full days.
    AfterDays(u32),
    /// At the end of the month in which they are earned.
    EndOfMonth,
    /// At the end of the year in which they are earned.
    EndOfYear,
}

impl ExpiryPolicy {
    pub fn expires_at(self, earned_at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let earned_on = LocalDate::of(earned_at, tz);
        let last_day = match self {
            ExpiryPolicy::Never => return None,
            ExpiryPolicy::AfterDays(days) => earned_on.add_days(i64::from(days)),
            ExpiryPolicy::EndOfMonth => earned_on.end_of_month(),
            ExpiryPolicy::EndOfYear => earned_on.end_of_year(),
        };
        Some(last_day.next_day().start_in(tz))
    }

    /// Parses the stored form: `never`, `days:365`, `end_of_month`, `end_of_year`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let policy = match raw.trim() {
            "never" => Some(ExpiryPolicy::Never),
            "end_of_month" => Some(ExpiryPolicy::EndOfMonth),
            "end_of_year" => Some(ExpiryPolicy::EndOfYear),
            other => other
                .strip_prefix("days:")
                .filter(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|n| n.parse().ok())
                .map(ExpiryPolicy::AfterDays),
        };
        let policy = policy.ok_or_else(|| {
            InvalidInput::new(
                "expiry",
                "must be never, days:<n>, end_of_month or end_of_year",
            )
        })?;
        policy.validate().map(|()| policy)
    }

    pub fn validate(self) -> Result<(), InvalidInput> {
        match self {
            ExpiryPolicy::AfterDays(days) if !(1..=3_660).contains(&days) => Err(
                InvalidInput::new("expiry", "days must be between 1 and 3660"),
            ),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for ExpiryPolicy {
    /// The stored form `parse` reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpiryPolicy::Never => f.write_str("never"),
            ExpiryPolicy::AfterDays(days) => write!(f, "days:{days}"),
            ExpiryPolicy::EndOfMonth => f.write_str("end_of_month"),
            ExpiryPolicy::EndOfYear => f.write_str("end_of_year"),
        }
    }
}

/// What earns the points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Points per whole yuan paid on eligible lines; shipping never counts.
    OrderSpend {
        points_per_yuan: i64,
        excluded_skus: Vec<String>,
        excluded_categories: Vec<String>,
    },
    FirstOrder {
        points: i64,
    },
    /// Points come from the check-in policy; the rule only names the source and its caps,
    /// expiry and pending time.
    Checkin,
    Share {
        points: i64,
    },
    ReviewWithPhoto {
        points: i64,
    },
    /// Paid when the invited member's first order is paid.
    Referral {
        points: i64,
    },
    CustomEvent {
        event_type: String,
        points: i64,
    },
}

impl Trigger {
    pub fn as_str(&self) -> &'static str {
        match self {
            Trigger::OrderSpend { .. } => "order_spend",
            Trigger::FirstOrder { .. } => "first_order",
            Trigger::Checkin => "checkin",
            Trigger::Share { .. } => "share",
            Trigger::ReviewWithPhoto { .. } => "review_with_photo",
            Trigger::Referral { .. } => "referral",
            Trigger::CustomEvent { .. } => "custom_event",
        }
    }

    /// The points of triggers that pay a fixed amount.
    pub fn fixed_points(&self) -> Option<i64> {
        match self {
            Trigger::FirstOrder { points }
            | Trigger::Share { points }
            | Trigger::ReviewWithPhoto { points }
            | Trigger::Referral { points }
            | Trigger::CustomEvent { points, .. } => Some(*points),
            Trigger::OrderSpend { .. } | Trigger::Checkin => None,
        }
    }

    /// Whether a return can undo what earned the points, so they should start pending.
    pub fn pays_for_an_order(&self) -> bool {
        matches!(
            self,
            Trigger::OrderSpend { .. } | Trigger::FirstOrder { .. } | Trigger::Referral { .. }
        )
    }

    fn validate(&self) -> Result<(), InvalidInput> {
        if let Trigger::OrderSpend {
            points_per_yuan,
            excluded_skus,
            excluded_categories,
        } = self
        {
            if !(1..=10_000).contains(points_per_yuan) {
                return Err(InvalidInput::new(
                    "trigger.points_per_yuan",
                    "must be between 1 and 10000",
                ));
            }
            for (field, list) in [
                ("trigger.excluded_skus", excluded_skus),
                ("trigger.excluded_categories", excluded_categories),
            ] {
                if list.len() > 1_000 || list.iter().any(|item| item.trim().is_empty()) {
                    return Err(InvalidInput::new(
                        field,
                        "must hold at most 1000 non-empty entries",
                    ));
                }
            }
        }
        if let Trigger::CustomEvent { event_type, .. } = self {
            if event_type.trim().is_empty() || event_type.len() > 64 {
                return Err(InvalidInput::new(
                    "trigger.event_type",
                    "must be 1 to 64 characters",
                ));
            }
        }
        match self.fixed_points() {
            Some(points) if !(1..=MAX_POINTS).contains(&points) => Err(InvalidInput::new(
                "trigger.points",
                format!("must be between 1 and {MAX_POINTS}"),
            )),
            _ => Ok(()),
        }
    }
}

/// Most points one member may earn from a rule per local calendar day, ISO week and month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    pub per_day: Option<i64>,
    pub per_week: Option<i64>,
    pub per_month: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarningRule {
    pub code: String,
    pub trigger: Trigger,
    /// Inclusive.
    pub active_from: Option<Timestamp>,
    /// Exclusive.
    pub active_until: Option<Timestamp>,
    pub caps: Caps,
    pub expiry: ExpiryPolicy,
    /// Days points stay pending before they can be spent. Counted from when the caller
    /// starts the clock: delivery if the store knows it, since the return window runs from
    /// receipt, otherwise payment.
    pub pending_days: u32,
}

impl EarningRule {
    /// A rule that is always active, uncapped and never expires, pending for
    /// [`DEFAULT_ORDER_PENDING_DAYS`] when it pays for an order and not at all otherwise.
    pub fn new(code: impl Into<String>, trigger: Trigger) -> Self {
        let pending_days = if trigger.pays_for_an_order() {
            DEFAULT_ORDER_PENDING_DAYS
        } else {
            0
        };
        Self {
            code: code.into(),
            trigger,
            active_from: None,
            active_until: None,
            caps: Caps::default(),
            expiry: ExpiryPolicy::Never,
            pending_days,
        }
    }

    pub fn validate(&self) -> Result<(), InvalidInput> {
        let code_ok = (1..=64).contains(&self.code.len())
            && self
                .code
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-');
        if !code_ok {
            return Err(InvalidInput::new(
                "code",
                "must be 1 to 64 lowercase letters, digits, `_` or `-`",
            ));
        }
        self.trigger.validate()?;
        if let (Some(from), Some(until)) = (self.active_from, self.active_until) {
            if until <= from {
                return Err(InvalidInput::new(
                    "active_until",
                    "must be after active_from",
                ));
            }
        }
        for (field, cap) in [
            ("caps.per_day", self.caps.per_day),
            ("caps.per_week", self.caps.per_week),
            ("caps.per_month", self.caps.per_month),
        ] {
            if cap.is_some_and(|cap| !(1..=MAX_CAP).contains(&cap)) {
                return Err(InvalidInput::new(
                    field,
                    format!(
                        "must be between 1 and {MAX_CAP}; end the rule instead of capping it at 0"
                    ),
                ));
            }
        }
        self.expiry.validate()?;
        if self.pending_days > 90 {
            return Err(InvalidInput::new("pending_days", "must be at most 90"));
        }
        Ok(())
    }

    /// When points earned at `earned_at` stop being pending.
    pub fn available_at(&self, earned_at: Timestamp) -> Timestamp {
        earned_at.plus(std::time::Duration::from_secs(
            u64::from(self.pending_days) * 86_400,
        ))
    }
}

/// Whether `rule` may pay at `at`: from `active_from` (inclusive) until `active_until`
/// (exclusive).
pub fn is_active(rule: &EarningRule, at: Timestamp) -> bool {
    rule.active_from.is_none_or(|from| at >= from)
        && rule.active_until.is_none_or(|until| at < until)
}

/// An order line as earning sees it: what the buyer paid for it after all discounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarnLine {
    pub sku: String,
    pub category: Option<String>,
    pub paid_fen: i64,
}

/// Points for an order: the paid fen of eligible lines are summed, floored to whole yuan,
/// times `points_per_yuan`, then times `tier_multiplier_percent` / 100 floored. Flooring
/// the eligible total rather than each line keeps small lines from losing their fen.
/// Shipping is never a line, so it never earns.
pub fn order_points(
    points_per_yuan: i64,
    lines: &[EarnLine],
    excluded_skus: &[String],
    excluded_categories: &[String],
    tier_multiplier_percent: u32,
) -> i64 {
    let eligible_fen: i128 = lines
        .iter()
        .filter(|line| !excluded_skus.contains(&line.sku))
        .filter(|line| {
            line.category
                .as_ref()
                .is_none_or(|category| !excluded_categories.contains(category))
        })
        .map(|line| i128::from(line.paid_fen.max(0)))
        .sum();
    let base = eligible_fen / 100 * i128::from(points_per_yuan.max(0));
    let points = base * i128::from(tier_multiplier_percent) / 100;
    i64::try_from(points).unwrap_or(i64::MAX)
}

/// How much of `requested` the caps allow, given what the rule already paid the member
/// in the current local day, week and month. Never negative, never above `requested`.
pub fn apply_caps(
    caps: &Caps,
    requested: i64,
    earned_today: i64,
    earned_this_week: i64,
    earned_this_month: i64,
) -> i64 {
    [
        (caps.per_day, earned_today),
        (caps.per_week, earned_this_week),
        (caps.per_month, earned_this_month),
    ]
    .into_iter()
    .filter_map(|(cap, earned)| cap.map(|cap| cap.saturating_sub(earned.max(0))))
    .fold(requested, i64::min)
    .max(0)
}

/// The starts of the local day, ISO week and month holding an instant, for summing what
/// a member earned in each cap period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodStarts {
    day: Timestamp,
    week: Timestamp,
    month: Timestamp,
}

impl PeriodStarts {
    pub fn day(&self) -> Timestamp {
        self.day
    }

    pub fn week(&self) -> Timestamp {
        self.week
    }

    pub fn month(&self) -> Timestamp {
        self.month
    }
}

pub fn period_starts(now: Timestamp, tz: &TimeZone) -> PeriodStarts {
    let today = LocalDate::of(now, tz);
    PeriodStarts {
        day: today.start_in(tz),
        week: today.start_of_week().start_in(tz),
        month: today.start_of_month().start_in(tz),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(raw: &str) -> Timestamp {
        Timestamp::parse_rfc3339(raw).unwrap()
    }

    fn line(sku: &str, category: Option<&str>, paid_fen: i64) -> EarnLine {
        EarnLine {
            sku: sku.to_owned(),
            category: category.map(str::to_owned),
            paid_fen,
        }
    }

    #[test]
    fn expiry_policies_round_trip_their_stored_form() {
        for policy in [
            ExpiryPolicy::Never,
            ExpiryPolicy::AfterDays(365),
            ExpiryPolicy::EndOfMonth,
            ExpiryPolicy::EndOfYear,
        ] {
            assert_eq!(ExpiryPolicy::parse(&policy.to_string()), Ok(policy));
        }
        for bad in [
            "",
            "days:",
            "days:0",
            "days:-1",
            "days:+5",
            "days:9999",
            "monthly",
        ] {
            assert_eq!(
                ExpiryPolicy::parse(bad).unwrap_err().field(),
                "expiry",
                "{bad}"
            );
        }
    }

    #[test]
    fn points_expire_at_the_local_midnight_after_their_last_day() {
        let sh = TimeZone::shanghai();
        let earned = at("2026-11-30T23:30:00+08:00");
        let expiry = |policy: ExpiryPolicy, earned| policy.expires_at(earned, &sh);
        assert_eq!(expiry(ExpiryPolicy::Never, earned), None);
        assert_eq!(
            expiry(ExpiryPolicy::AfterDays(365), earned),
            Some(at("2027-12-01T00:00:00+08:00"))
        );
        assert_eq!(
            expiry(ExpiryPolicy::EndOfMonth, earned),
            Some(at("2026-12-01T00:00:00+08:00"))
        );
        // 16:30 UTC on Nov 30th is already December 1st in Shanghai.
        assert_eq!(
            expiry(ExpiryPolicy::EndOfMonth, at("2026-11-30T16:30:00Z")),
            Some(at("2027-01-01T00:00:00+08:00"))
        );
        assert_eq!(
            expiry(ExpiryPolicy::EndOfYear, earned),
            Some(at("2027-01-01T00:00:00+08:00"))
        );
        assert_eq!(
            expiry(ExpiryPolicy::EndOfMonth, at("2024-02-10T12:00:00+08:00")),
            Some(at("2024-03-01T00:00:00+08:00"))
        );
    }

    #[test]
    fn order_rules_start_pending_for_the_return_window() {
        let spend = Trigger::OrderSpend {
            points_per_yuan: 1,
            excluded_skus: vec![],
            excluded_categories: vec![],
        };
        assert_eq!(spend.as_str(), "order_spend");
        let order_rule = EarningRule::new("spend", spend);
        assert_eq!(order_rule.pending_days, 7);
        assert_eq!(order_rule.validate(), Ok(()));
        assert_eq!(
            order_rule.available_at(at("2026-11-23T10:00:00Z")),
            at("2026-11-30T10:00:00Z")
        );
        let share_rule = EarningRule::new("share", Trigger::Share { points: 5 });
        assert_eq!(
            (share_rule.pending_days, share_rule.trigger.as_str()),
            (0, "share")
        );
    }

    #[test]
    fn rules_with_nonsense_are_refused() {
        let share = EarningRule::new("share", Trigger::Share { points: 5 });
        let field = |edit: &dyn Fn(&mut EarningRule)| {
            let mut rule = share.clone();
            edit(&mut rule);
            rule.validate().unwrap_err().field().to_owned()
        };
        assert_eq!(field(&|r| r.code = "Share Rule".into()), "code");
        assert_eq!(
            field(&|r| r.trigger = Trigger::Share { points: 0 }),
            "trigger.points"
        );
        assert_eq!(
            field(&|r| r.trigger = Trigger::CustomEvent {
                event_type: " ".into(),
                points: 1
            }),
            "trigger.event_type"
        );
        assert_eq!(field(&|r| r.caps.per_week = Some(0)), "caps.per_week");
        assert_eq!(field(&|r| r.expiry = ExpiryPolicy::AfterDays(0)), "expiry");
        assert_eq!(
            field(&|r| {
                r.active_from = Some(at("2026-11-23T00:00:00Z"));
                r.active_until = r.active_from;
            }),
            "active_until"
        );
    }

    #[test]
    fn rules_are_active_from_their_start_until_before_their_end() {
        let mut rule = EarningRule::new("double11", Trigger::Share { points: 5 });
        assert!(is_active(&rule, at("2026-01-01T00:00:00Z")));
        rule.active_from = Some(at("2026-11-11T00:00:00+08:00"));
        rule.active_until = Some(at("2026-11-12T00:00:00+08:00"));
        assert!(!is_active(&rule, at("2026-11-10T23:59:59.999+08:00")));
        assert!(is_active(&rule, at("2026-11-11T00:00:00+08:00")));
        assert!(!is_active(&rule, at("2026-11-12T00:00:00+08:00")));
    }

    #[test]
    fn order_points_floor_the_eligible_total_then_the_multiplier() {
        let lines = [
            line("tea-1", Some("tea"), 12_345),
            line("gift-card", None, 50_000),
            line("tobacco-1", Some("tobacco"), 9_900),
            line("cup", Some("cups"), 150),
            line("lid", Some("cups"), 150),
        ];
        let skus = ["gift-card".to_owned()];
        let categories = ["tobacco".to_owned()];
        // 126.45 eligible yuan → 126 × 2 = 252 → × 1.5 = 378; the two ¥1.50 lines make ¥3.
        assert_eq!(order_points(2, &lines, &skus, &categories, 150), 378);
        // 123 yuan × 2 = 246 → × 1.1 = 270.6, floored.
        assert_eq!(order_points(2, &lines[..1], &[], &[], 110), 270);
        assert_eq!(order_points(1, &lines[3..], &[], &[], 100), 3);
    }

    #[test]
    fn caps_allow_what_is_left_of_the_tightest_period() {
        let caps = Caps {
            per_day: Some(100),
            per_week: Some(300),
            per_month: None,
        };
        assert_eq!(apply_caps(&caps, 80, 50, 0, 10_000), 50);
        assert_eq!(apply_caps(&caps, 80, 0, 260, 0), 40);
        assert_eq!(apply_caps(&caps, 80, 120, 0, 0), 0);
        assert_eq!(apply_caps(&Caps::default(), 80, 999, 999, 999), 80);
    }

    #[test]
    fn cap_periods_are_local_day_iso_week_and_month() {
        // Sunday evening 2026-11-29 in Shanghai.
        let starts = period_starts(at("2026-11-29T15:59:59Z"), &TimeZone::shanghai());
        assert_eq!(starts.day(), at("2026-11-29T00:00:00+08:00"));
        assert_eq!(starts.week(), at("2026-11-23T00:00:00+08:00"));
        assert_eq!(starts.month(), at("2026-11-01T00:00:00+08:00"));
    }

    proptest! {
        #[test]
        fn caps_never_allow_more_than_any_cap_minus_what_was_earned(
            caps in (
                proptest::option::of(1i64..1_000),
                proptest::option::of(1i64..5_000),
                proptest::option::of(1i64..20_000),
            ),
            requested in -100i64..10_000,
            earned in (0i64..2_000, 0i64..6_000, 0i64..25_000),
        ) {
            let caps = Caps { per_day: caps.0, per_week: caps.1, per_month: caps.2 };
            let allowed = apply_caps(&caps, requested, earned.0, earned.1, earned.2);
            prop_assert!(allowed >= 0 && allowed <= requested.max(0));
            for (cap, earned) in [(caps.per_day, earned.0), (caps.per_week, earned.1), (caps.per_month, earned.2)] {
                if let Some(cap) = cap {
                    prop_assert!(allowed <= (cap - earned).max(0));
                }
            }
        }

        #[test]
        fn order_points_grow_with_the_paid_amount_and_vanish_when_all_is_excluded(
            paid in proptest::collection::vec(0i64..1_000_000, 1..6),
            bump_line in 0usize..6,
            bump in 0i64..100_000,
            rate in 1i64..20,
            multiplier in 100u32..300,
        ) {
            let lines: Vec<EarnLine> = paid
                .iter()
                .enumerate()
                .map(|(i, &fen)| line(&format!("sku-{i}"), Some(if i % 2 == 0 { "a" } else { "b" }), fen))
                .collect();
            let mut more = lines.clone();
            more[bump_line % lines.len()].paid_fen += bump;
            let before = order_points(rate, &lines, &[], &[], multiplier);
            prop_assert!(order_points(rate, &more, &[], &[], multiplier) >= before);
            let categories = ["a".to_owned(), "b".to_owned()];
            prop_assert_eq!(order_points(rate, &lines, &[], &categories, multiplier), 0);
            let skus: Vec<String> = lines.iter().map(|l| l.sku.clone()).collect();
            prop_assert_eq!(order_points(rate, &lines, &skus, &[], multiplier), 0);
        }
    }
}
