//! Member tiers (会员等级) by growth value (成长值): a ladder of thresholds with benefits,
//! how growth is earned, and when a member moves up or down.
//!
//! Upgrades happen as soon as growth crosses a threshold; downgrades only at a periodic
//! review, and only when the workspace re-evaluates tiers at all.

use crate::calendar::LocalDate;
use crate::input::InvalidInput;

const MAX_TIERS: usize = 20;
const MAX_GIFT_POINTS: i64 = 1_000_000;

/// What a tier gives. Discounts are basis points off the price (200 = 2 % off, 98折),
/// because "percent off" and Chinese "折" read in opposite directions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierBenefits {
    /// Basis points off, 0..=10000.
    pub discount_bp: u32,
    /// 100 = 1×, 150 = 1.5×; at least 100, so a tier never earns less than the base rate.
    pub points_multiplier_percent: u32,
    pub free_shipping: bool,
    pub dedicated_service: bool,
    pub birthday_gift_points: i64,
}

impl TierBenefits {
    /// The discount on `amount_fen`, rounded down so the brand never gives more than
    /// the stated rate.
    pub fn discount_fen(&self, amount_fen: i64) -> i64 {
        let off = i128::from(amount_fen.max(0)) * i128::from(self.discount_bp.min(10_000)) / 10_000;
        off as i64
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// Stable English code, e.g. `gold`.
    pub code: String,
    /// Display name, e.g. `黄金`.
    pub name: String,
    /// Growth value needed to hold this tier.
    pub threshold: i64,
    pub benefits: TierBenefits,
}

/// A checked ladder: non-empty, first threshold 0, thresholds strictly increasing, codes
/// unique. Every growth value therefore maps to exactly one tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierLadder {
    tiers: Vec<Tier>,
}

impl TierLadder {
    pub fn new(tiers: Vec<Tier>) -> Result<Self, InvalidInput> {
        if tiers.is_empty() || tiers.len() > MAX_TIERS {
            return Err(InvalidInput::new(
                "tiers",
                format!("a ladder needs 1 to {MAX_TIERS} tiers"),
            ));
        }
        for (i, tier) in tiers.iter().enumerate() {
            let field = |name: &str| format!("tiers[{i}].{name}");
            let code_ok = (1..=32).contains(&tier.code.len())
                && tier
                    .code
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
            if !code_ok {
                return Err(InvalidInput::new(
                    field("code"),
                    "must be 1 to 32 lowercase letters, digits or underscores",
                ));
            }
            if tiers[..i].iter().any(|other| other.code == tier.code) {
                return Err(InvalidInput::new(
                    field("code"),
                    format!("`{}` is used twice", tier.code),
                ));
            }
            if tier.name.trim().is_empty() || tier.name.chars().count() > 32 {
                return Err(InvalidInput::new(
                    field("name"),
                    "must be 1 to 32 characters",
                ));
            }
            match i.checked_sub(1).map(|prev| tiers[prev].threshold) {
                None if tier.threshold != 0 => {
                    return Err(InvalidInput::new(
                        field("threshold"),
                        "the first tier must start at 0 so every member has a tier",
                    ));
                }
                Some(prev) if tier.threshold <= prev => {
                    return Err(InvalidInput::new(
                        field("threshold"),
                        format!("must be above the previous tier's {prev}"),
                    ));
                }
                _ => {}
            }
            let benefits = &tier.benefits;
            if benefits.discount_bp > 10_000 {
                return Err(InvalidInput::new(
                    field("benefits.discount_bp"),
                    "must be between 0 and 10000 basis points off",
                ));
            }
            if !(100..=1_000).contains(&benefits.points_multiplier_percent) {
                return Err(InvalidInput::new(
                    field("benefits.points_multiplier_percent"),
                    "must be between 100 (1×) and 1000 (10×)",
                ));
            }
            if !(0..=MAX_GIFT_POINTS).contains(&benefits.birthday_gift_points) {
                return Err(InvalidInput::new(
                    field("benefits.birthday_gift_points"),
                    format!("must be between 0 and {MAX_GIFT_POINTS}"),
                ));
            }
        }
        Ok(Self { tiers })
    }

    /// Lowest tier first.
    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    pub fn get(&self, code: &str) -> Option<&Tier> {
        self.tiers.iter().find(|tier| tier.code == code)
    }

    /// The highest tier whose threshold `growth` reaches; the first tier for anything less.
    pub fn tier_for(&self, growth: i64) -> &Tier {
        &self.tiers[self.rank_for(growth)]
    }

    fn rank_for(&self, growth: i64) -> usize {
        let reached = self.tiers.partition_point(|tier| tier.threshold <= growth);
        reached.saturating_sub(1)
    }

    fn rank(&self, code: &str) -> Option<usize> {
        self.tiers.iter().position(|tier| tier.code == code)
    }
}

impl Default for TierLadder {
    /// 青铜 bronze 0, 白银 silver 1000, 黄金 gold 5000, 铂金 platinum 20000, 钻石 diamond
    /// 50000; points ×1/×1.1/×1.2/×1.5/×2; 0/0/2/5/8 % off; free shipping from gold;
    /// dedicated service from platinum; birthday gifts 0/50/100/200/500 points.
    fn default() -> Self {
        let rows = [
            ("bronze", "青铜", 0, 100, 0, 0),
            ("silver", "白银", 1_000, 110, 0, 50),
            ("gold", "黄金", 5_000, 120, 200, 100),
            ("platinum", "铂金", 20_000, 150, 500, 200),
            ("diamond", "钻石", 50_000, 200, 800, 500),
        ];
        let tiers = rows
            .iter()
            .map(
                |&(code, name, threshold, multiplier, discount_bp, gift)| Tier {
                    code: code.to_owned(),
                    name: name.to_owned(),
                    threshold,
                    benefits: TierBenefits {
                        discount_bp,
                        points_multiplier_percent: multiplier,
                        free_shipping: threshold >= 5_000,
                        dedicated_service: threshold >= 20_000,
                        birthday_gift_points: gift,
                    },
                },
            )
            .collect();
        Self { tiers }
    }
}

/// The tier `growth` reaches on `ladder`.
pub fn tier_for(ladder: &TierLadder, growth: i64) -> &Tier {
    ladder.tier_for(growth)
}

/// How growth value is earned. Growth only accumulates from earning: spending or
/// expiring points never lowers it; only a refund reverses the growth its order earned,
/// which callers do by subtracting the growth of the refunded amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrowthBasis {
    /// One growth per point earned (check-ins and other non-order points included).
    PointsEarned,
    /// Growth per whole yuan paid on an order, rounded down per order.
    SpendFen { growth_per_yuan: i64 },
}

impl Default for GrowthBasis {
    /// One growth per yuan spent, so tiers reflect purchases rather than check-ins.
    fn default() -> Self {
        GrowthBasis::SpendFen { growth_per_yuan: 1 }
    }
}

impl GrowthBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            GrowthBasis::PointsEarned => "points_earned",
            GrowthBasis::SpendFen { .. } => "spend_fen",
        }
    }

    pub fn validate(self) -> Result<(), InvalidInput> {
        match self {
            GrowthBasis::SpendFen { growth_per_yuan }
                if !(1..=1_000).contains(&growth_per_yuan) =>
            {
                Err(InvalidInput::new(
                    "growth_per_yuan",
                    "must be between 1 and 1000",
                ))
            }
            _ => Ok(()),
        }
    }

    /// Growth for points earned; zero unless growth is based on points.
    pub fn for_points_earned(self, points: i64) -> i64 {
        match self {
            GrowthBasis::PointsEarned => points.max(0),
            GrowthBasis::SpendFen { .. } => 0,
        }
    }

    /// Growth for an order's paid amount (shipping excluded); zero unless growth is
    /// based on spending.
    pub fn for_spend(self, paid_fen: i64) -> i64 {
        match self {
            GrowthBasis::PointsEarned => 0,
            GrowthBasis::SpendFen { growth_per_yuan } => {
                (paid_fen.max(0) / 100).saturating_mul(growth_per_yuan.max(0))
            }
        }
    }
}

/// Whether members can lose a tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DowngradePolicy {
    /// Tiers are for life: only lifetime growth counts and nobody moves down.
    #[default]
    Never,
    /// Every `every_days` days the tier is reset to what the growth of the last
    /// `every_days` days earns, which may be several tiers down.
    Reevaluate { every_days: u32 },
}

impl DowngradePolicy {
    pub fn validate(self) -> Result<(), InvalidInput> {
        match self {
            DowngradePolicy::Reevaluate { every_days } if !(1..=3_660).contains(&every_days) => {
                Err(InvalidInput::new(
                    "every_days",
                    "must be between 1 and 3660",
                ))
            }
            _ => Ok(()),
        }
    }

    /// The first local day whose growth counts for the window ending with `today`.
    pub fn window_start(self, today: LocalDate) -> Option<LocalDate> {
        match self {
            DowngradePolicy::Never => None,
            DowngradePolicy::Reevaluate { every_days } => {
                Some(today.add_days(1 - i64::from(every_days.max(1))))
            }
        }
    }

    /// When the review after one held on `last_review` is due.
    pub fn next_review(self, last_review: LocalDate) -> Option<LocalDate> {
        match self {
            DowngradePolicy::Never => None,
            DowngradePolicy::Reevaluate { every_days } => {
                Some(last_review.add_days(i64::from(every_days.max(1))))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierDecision<'a> {
    /// The member has no tier yet (or one the ladder no longer has) and gets this one.
    Assign {
        to: &'a Tier,
    },
    Upgrade {
        from: &'a Tier,
        to: &'a Tier,
    },
    Downgrade {
        from: &'a Tier,
        to: &'a Tier,
    },
    Keep,
}

/// Decides the member's tier. Under [`DowngradePolicy::Never`] lifetime growth decides
/// and the tier only rises; under `Reevaluate` the window's growth decides, rising at any
/// time and falling only when `is_periodic_review`.
pub fn evaluate<'a>(
    ladder: &'a TierLadder,
    policy: DowngradePolicy,
    current_code: Option<&str>,
    lifetime_growth: i64,
    window_growth: i64,
    is_periodic_review: bool,
) -> TierDecision<'a> {
    let (growth, may_fall) = match policy {
        DowngradePolicy::Never => (lifetime_growth, false),
        DowngradePolicy::Reevaluate { .. } => (window_growth, is_periodic_review),
    };
    let target_rank = ladder.rank_for(growth);
    let target = &ladder.tiers[target_rank];
    let Some(rank) = current_code.and_then(|code| ladder.rank(code)) else {
        return TierDecision::Assign { to: target };
    };
    let current = &ladder.tiers[rank];
    if target_rank > rank {
        TierDecision::Upgrade {
            from: current,
            to: target,
        }
    } else if target_rank < rank && may_fall {
        TierDecision::Downgrade {
            from: current,
            to: target,
        }
    } else {
        TierDecision::Keep
    }
}

/// Whether `today` is the member's birthday, from a `birthday` trait written `YYYY-MM-DD`
/// or `MM-DD`. A 29 February birthday is kept on 28 February in other years.
pub fn is_birthday(birthday: &str, today: LocalDate) -> bool {
    let month_day = match birthday.len() {
        10 => &birthday[5..],
        5 => birthday,
        _ => return false,
    };
    let Some((month, day)) = month_day.split_once('-') else {
        return false;
    };
    let (Ok(month), Ok(day)) = (month.parse::<u32>(), day.parse::<u32>()) else {
        return false;
    };
    if (month, day) == (today.month(), today.day()) {
        return true;
    }
    month == 2
        && day == 29
        && today.month() == 2
        && today.day() == 28
        && today.end_of_month().day() == 28
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn codes(decision: TierDecision<'_>) -> (&'static str, Option<String>, Option<String>) {
        let code = |tier: &Tier| Some(tier.code.clone());
        match decision {
            TierDecision::Assign { to } => ("assign", None, code(to)),
            TierDecision::Upgrade { from, to } => ("upgrade", code(from), code(to)),
            TierDecision::Downgrade { from, to } => ("downgrade", code(from), code(to)),
            TierDecision::Keep => ("keep", None, None),
        }
    }

    fn s(code: &str) -> Option<String> {
        Some(code.to_owned())
    }

    #[test]
    fn growth_maps_to_the_highest_tier_reached() {
        let ladder = TierLadder::default();
        assert_eq!(TierLadder::new(ladder.tiers().to_vec()), Ok(ladder.clone()));
        for (growth, code) in [
            (-5, "bronze"),
            (0, "bronze"),
            (999, "bronze"),
            (1_000, "silver"),
            (49_999, "platinum"),
            (10_000_000, "diamond"),
        ] {
            assert_eq!(tier_for(&ladder, growth).code, code, "{growth}");
        }
        let gold = ladder.get("gold").unwrap();
        assert_eq!(gold.name, "黄金");
        assert!(gold.benefits.free_shipping && !gold.benefits.dedicated_service);
        assert_eq!(gold.benefits.discount_fen(9_999), 199);
    }

    #[test]
    fn ladders_with_gaps_duplicates_or_disorder_are_refused() {
        let tiers = TierLadder::default().tiers().to_vec();
        let broken = |edit: &dyn Fn(&mut Vec<Tier>)| {
            let mut tiers = tiers.clone();
            edit(&mut tiers);
            TierLadder::new(tiers).unwrap_err().field().to_owned()
        };
        assert_eq!(broken(&|t| t.clear()), "tiers");
        assert_eq!(broken(&|t| t[0].threshold = 10), "tiers[0].threshold");
        assert_eq!(broken(&|t| t[2].threshold = 1_000), "tiers[2].threshold");
        assert_eq!(broken(&|t| t[3].code = "gold".into()), "tiers[3].code");
        assert_eq!(broken(&|t| t[1].code = "Silver".into()), "tiers[1].code");
        assert_eq!(
            broken(&|t| t[1].benefits.discount_bp = 10_001),
            "tiers[1].benefits.discount_bp"
        );
        assert_eq!(
            broken(&|t| t[1].benefits.points_multiplier_percent = 90),
            "tiers[1].benefits.points_multiplier_percent"
        );
    }

    #[test]
    fn growth_comes_from_spend_or_points_but_not_both() {
        let spend = GrowthBasis::default();
        assert_eq!(
            (spend.for_spend(12_399), spend.for_points_earned(500)),
            (123, 0)
        );
        let points = GrowthBasis::PointsEarned;
        assert_eq!(
            (points.for_spend(12_399), points.for_points_earned(500)),
            (0, 500)
        );
        assert!(GrowthBasis::SpendFen { growth_per_yuan: 0 }
            .validate()
            .is_err());
    }

    #[test]
    fn new_members_are_assigned_and_never_policies_only_upgrade() {
        let ladder = TierLadder::default();
        let never = DowngradePolicy::Never;
        assert_eq!(
            codes(evaluate(&ladder, never, None, 0, 0, false)),
            ("assign", None, s("bronze"))
        );
        assert_eq!(
            codes(evaluate(&ladder, never, Some("retired"), 6_000, 0, false)),
            ("assign", None, s("gold"))
        );
        assert_eq!(
            codes(evaluate(&ladder, never, Some("silver"), 6_000, 0, false)),
            ("upgrade", s("silver"), s("gold"))
        );
        assert_eq!(
            codes(evaluate(&ladder, never, Some("gold"), 10, 0, true)),
            ("keep", None, None)
        );
    }

    #[test]
    fn reevaluation_upgrades_any_time_and_downgrades_only_at_reviews() {
        let ladder = TierLadder::default();
        let yearly = DowngradePolicy::Reevaluate { every_days: 365 };
        assert_eq!(
            codes(evaluate(
                &ladder,
                yearly,
                Some("silver"),
                90_000,
                5_000,
                false
            )),
            ("upgrade", s("silver"), s("gold"))
        );
        assert_eq!(
            codes(evaluate(
                &ladder,
                yearly,
                Some("diamond"),
                90_000,
                1_200,
                false
            )),
            ("keep", None, None)
        );
        assert_eq!(
            codes(evaluate(
                &ladder,
                yearly,
                Some("diamond"),
                90_000,
                1_200,
                true
            )),
            ("downgrade", s("diamond"), s("silver"))
        );
        assert_eq!(
            codes(evaluate(
                &ladder,
                yearly,
                Some("silver"),
                90_000,
                1_200,
                true
            )),
            ("keep", None, None)
        );
        let today = LocalDate::parse("2026-11-23").unwrap();
        assert_eq!(
            yearly.window_start(today),
            LocalDate::parse("2025-11-24").ok()
        );
        assert_eq!(
            yearly.next_review(today),
            LocalDate::parse("2027-11-23").ok()
        );
        assert!(DowngradePolicy::Reevaluate { every_days: 0 }
            .validate()
            .is_err());
    }

    proptest! {
        #[test]
        fn a_never_policy_never_downgrades(
            current in proptest::option::of(prop_oneof![
                Just("bronze"), Just("silver"), Just("gold"), Just("platinum"), Just("diamond"), Just("gone"),
            ]),
            lifetime in -1_000i64..100_000,
            window in -1_000i64..100_000,
            review: bool,
        ) {
            let ladder = TierLadder::default();
            let decision = evaluate(&ladder, DowngradePolicy::Never, current, lifetime, window, review);
            let downgraded = matches!(decision, TierDecision::Downgrade { .. });
            prop_assert!(!downgraded);
            if let TierDecision::Upgrade { from, to } = decision {
                prop_assert!(from.threshold < to.threshold);
                prop_assert!(to.threshold <= lifetime);
            }
        }
    }

    #[test]
    fn birthdays_match_by_month_and_day_and_leap_day_falls_on_the_28th() {
        let day = |y, m, d| LocalDate::new(y, m, d).unwrap();
        assert!(super::is_birthday("1990-11-23", day(2026, 11, 23)));
        assert!(super::is_birthday("11-23", day(2026, 11, 23)));
        assert!(!super::is_birthday("1990-11-24", day(2026, 11, 23)));
        assert!(super::is_birthday("2000-02-29", day(2027, 2, 28)));
        assert!(!super::is_birthday("2000-02-29", day(2028, 2, 28)));
        assert!(super::is_birthday("2000-02-29", day(2028, 2, 29)));
        assert!(!super::is_birthday("soon", day(2026, 11, 23)));
    }
}
