//! Coupon templates and the rules of a coupon's life.
//!
//! A template says what a coupon takes off (满减 amount off above a threshold, percent off
//! with a cap, free shipping, a gift/exchange SKU), when it can be claimed and used, how
//! many exist, how many one member may claim and use, who may get it, which products it
//! covers, what it may be combined with and how much discount it may give in total.
//! Instances move `available → locked → used`, and end `expired` or `revoked`; a refund
//! returns a used coupon to `available` when the template says so.

use std::collections::BTreeSet;

use crate::input::InvalidInput;
use std::time::Duration;

use crate::time::Timestamp;

/// Longest use window counted from the claim: ten years.
const MAX_USE_DAYS: i64 = 3_650;
/// ¥1,000,000: far above any real coupon.
const MAX_COUPON_FEN: i64 = 100_000_000;

/// What a coupon takes off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CouponKind {
    /// 满减: `amount_fen` off when the covered items reach `threshold_fen` (0: no threshold, 无门槛).
    AmountOff { threshold_fen: i64, amount_fen: i64 },
    /// 折扣: `percent_off` of the covered items, at most `cap_fen`.
    PercentOff {
        threshold_fen: i64,
        percent_off: u32,
        cap_fen: Option<i64>,
    },
    /// 包邮: the shipping fee.
    FreeShipping { threshold_fen: i64 },
    /// 兑换/赠品: one unit of `sku` in the cart becomes free.
    Gift { sku: String },
}

impl CouponKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            CouponKind::AmountOff {
                threshold_fen: 0, ..
            } => "no_threshold",
            CouponKind::AmountOff { .. } => "amount_off",
            CouponKind::PercentOff { .. } => "percent_off",
            CouponKind::FreeShipping { .. } => "free_shipping",
            CouponKind::Gift { .. } => "gift",
        }
    }

    /// The most one coupon can take off, when that is known in advance. Free shipping and
    /// gifts depend on the cart, and an uncapped percentage on its size: for those the
    /// budget only needs to have something left.
    pub fn max_discount_fen(&self) -> i64 {
        match self {
            CouponKind::AmountOff { amount_fen, .. } => *amount_fen,
            CouponKind::PercentOff {
                cap_fen: Some(cap), ..
            } => *cap,
            _ => 1,
        }
    }
}

/// When a claimed coupon can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseWindow {
    Fixed {
        from: Timestamp,
        until: Timestamp,
    },
    /// From the claim for this many days.
    DaysAfterClaim(i64),
}

impl UseWindow {
    /// The `[from, until)` a coupon claimed at `claimed_at` is valid for.
    pub fn for_claim(self, claimed_at: Timestamp) -> (Timestamp, Timestamp) {
        match self {
            UseWindow::Fixed { from, until } => (from, until),
            UseWindow::DaysAfterClaim(days) => (
                claimed_at,
                claimed_at.plus(Duration::from_secs(days.max(0) as u64 * 86_400)),
            ),
        }
    }
}

/// How a coupon reaches a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    /// The member claims it (领券).
    Claim,
    /// An operator grants it.
    Grant,
    /// Granted when the member registers.
    Registration,
    /// Granted by a journey or another promotion (a spend-threshold gift coupon).
    Journey,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Claim => "claim",
            Channel::Grant => "grant",
            Channel::Registration => "registration",
            Channel::Journey => "journey",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, InvalidInput> {
        Ok(match raw {
            "claim" => Channel::Claim,
            "grant" => Channel::Grant,
            "registration" => Channel::Registration,
            "journey" => Channel::Journey,
            other => {
                return Err(InvalidInput::new(
                    field,
                    format!(
                        "`{other}` is not a channel: use claim, grant, registration or journey"
                    ),
                ))
            }
        })
    }
}

/// Which products a promotion covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductScope {
    pub all: bool,
    pub skus: BTreeSet<String>,
    pub categories: BTreeSet<String>,
    pub excluded_skus: BTreeSet<String>,
    pub excluded_categories: BTreeSet<String>,
}

impl ProductScope {
    pub fn everything() -> Self {
        Self {
            all: true,
            ..Self::default()
        }
    }

    pub fn covers(&self, sku: &str, category: &str) -> bool {
        (self.all || self.skus.contains(sku) || self.categories.contains(category))
            && !self.excluded_skus.contains(sku)
            && !self.excluded_categories.contains(category)
    }

    pub fn check(&self, field: &str) -> Result<(), InvalidInput> {
        if !self.all && self.skus.is_empty() && self.categories.is_empty() {
            return Err(InvalidInput::new(
                field,
                "name the SKUs or categories covered, or set all",
            ));
        }
        for sku in self.skus.iter().chain(&self.excluded_skus) {
            check_code(field, sku)?;
        }
        for category in self.categories.iter().chain(&self.excluded_categories) {
            check_code(field, category)?;
        }
        Ok(())
    }
}

/// What a promotion may be combined with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stacking {
    /// Used alone.
    Exclusive,
    /// Combines with promotions whose group is in `stacks_with` (and which list this
    /// group in turn).
    Group {
        group: String,
        stacks_with: BTreeSet<String>,
    },
}

impl Stacking {
    pub fn check(&self, field: &str) -> Result<(), InvalidInput> {
        if let Stacking::Group { group, stacks_with } = self {
            check_code(field, group)?;
            for other in stacks_with {
                check_code(field, other)?;
            }
        }
        Ok(())
    }
}

/// Who may receive a coupon: everyone, or members of a segment and/or some tiers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    pub segment_id: Option<String>,
    pub tiers: BTreeSet<String>,
}

/// What happens to a used coupon when its order is refunded in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundPolicy {
    /// Back to `available` if its use window is still open (the default).
    Return,
    /// Stays used.
    Keep,
}

/// A checked coupon template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponRules {
    pub kind: CouponKind,
    pub claim_starts_at: Option<Timestamp>,
    pub claim_ends_at: Option<Timestamp>,
    pub use_window: UseWindow,
    pub total_quantity: Option<i64>,
    pub per_member_claim_limit: Option<i64>,
    pub per_member_use_limit: Option<i64>,
    pub channels: BTreeSet<Channel>,
    pub scope: ProductScope,
    pub audience: Audience,
    pub budget_fen: Option<i64>,
    pub stacking: Stacking,
    pub refund_policy: RefundPolicy,
}

impl CouponRules {
    /// Checks every field; the first problem names the field to fix.
    pub fn check(&self) -> Result<(), InvalidInput> {
        match &self.kind {
            CouponKind::AmountOff {
                threshold_fen,
                amount_fen,
            } => {
                check_fen("threshold_fen", *threshold_fen, 0)?;
                check_fen("amount_fen", *amount_fen, 1)?;
                if *threshold_fen > 0 && amount_fen >= threshold_fen {
                    return Err(InvalidInput::new(
                        "amount_fen",
                        "must be less than threshold_fen: a coupon may not make items free",
                    ));
                }
            }
            CouponKind::PercentOff {
                threshold_fen,
                percent_off,
                cap_fen,
            } => {
                check_fen("threshold_fen", *threshold_fen, 0)?;
                if !(1..=99).contains(percent_off) {
                    return Err(InvalidInput::new("percent_off", "must be 1 to 99"));
                }
                if let Some(cap) = cap_fen {
                    check_fen("cap_fen", *cap, 1)?;
                }
            }
            CouponKind::FreeShipping { threshold_fen } => {
                check_fen("threshold_fen", *threshold_fen, 0)?
            }
            CouponKind::Gift { sku } => check_code("gift_sku", sku)?,
        }
        if let (Some(start), Some(end)) = (self.claim_starts_at, self.claim_ends_at) {
            if end <= start {
                return Err(InvalidInput::new(
                    "claim_ends_at",
                    "must be after claim_starts_at",
                ));
            }
        }
        match self.use_window {
            UseWindow::Fixed { from, until } if until <= from => {
                return Err(InvalidInput::new("use_until", "must be after use_from"))
            }
            UseWindow::DaysAfterClaim(days) if !(1..=MAX_USE_DAYS).contains(&days) => {
                return Err(InvalidInput::new(
                    "use_days",
                    format!("must be 1 to {MAX_USE_DAYS}"),
                ))
            }
            _ => {}
        }
        for (field, limit) in [
            ("total_quantity", self.total_quantity),
            ("per_member_claim_limit", self.per_member_claim_limit),
            ("per_member_use_limit", self.per_member_use_limit),
        ] {
            if limit.is_some_and(|l| !(1..=1_000_000_000).contains(&l)) {
                return Err(InvalidInput::new(
                    field,
                    "must be 1 to 1000000000, or absent for no limit",
                ));
            }
        }
        if self.channels.is_empty() {
            return Err(InvalidInput::new(
                "channels",
                "name at least one of claim, grant, registration, journey",
            ));
        }
        self.scope.check("scope")?;
        if let Some(segment) = &self.audience.segment_id {
            check_code("audience.segment_id", segment)?;
        }
        for tier in &self.audience.tiers {
            check_code("audience.tiers", tier)?;
        }
        if let Some(budget) = self.budget_fen {
            check_fen("budget_fen", budget, 1)?;
            let most = self.kind.max_discount_fen();
            if budget < most {
                return Err(InvalidInput::new(
                    "budget_fen",
                    format!("must cover at least one coupon ({most} fen)"),
                ));
            }
        }
        self.stacking.check("stacking")
    }

    /// Whether a member may claim now (the claim window; quantity and limits are counted
    /// by the store).
    pub fn claim_open(&self, now: Timestamp) -> Result<(), CouponRefusal> {
        if self.claim_starts_at.is_some_and(|start| now < start) {
            return Err(CouponRefusal::ClaimNotStarted);
        }
        if self.claim_ends_at.is_some_and(|end| now >= end) {
            return Err(CouponRefusal::ClaimEnded);
        }
        if let UseWindow::Fixed { until, .. } = self.use_window {
            if now >= until {
                return Err(CouponRefusal::ClaimEnded);
            }
        }
        Ok(())
    }
}

/// Why a coupon cannot be claimed or used; each has a stable code for the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CouponRefusal {
    ClaimNotStarted,
    ClaimEnded,
    Paused,
    SoldOut,
    ClaimLimitReached,
    UseLimitReached,
    BudgetExhausted,
    NotInAudience,
    ChannelNotAllowed,
    NotYetValid,
    Expired,
    NotAvailable,
}

impl CouponRefusal {
    pub fn code(self) -> &'static str {
        match self {
            CouponRefusal::ClaimNotStarted => "coupon_claim_not_started",
            CouponRefusal::ClaimEnded => "coupon_claim_ended",
            CouponRefusal::Paused => "coupon_paused",
            CouponRefusal::SoldOut => "coupon_sold_out",
            CouponRefusal::ClaimLimitReached => "coupon_claim_limit_reached",
            CouponRefusal::UseLimitReached => "coupon_limit_reached",
            CouponRefusal::BudgetExhausted => "coupon_budget_exhausted",
            CouponRefusal::NotInAudience => "coupon_not_in_audience",
            CouponRefusal::ChannelNotAllowed => "coupon_channel_not_allowed",
            CouponRefusal::NotYetValid => "coupon_not_yet_valid",
            CouponRefusal::Expired => "coupon_expired",
            CouponRefusal::NotAvailable => "coupon_not_available",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            CouponRefusal::ClaimNotStarted => "this coupon cannot be claimed yet",
            CouponRefusal::ClaimEnded => "this coupon can no longer be claimed",
            CouponRefusal::Paused => "this coupon is paused",
            CouponRefusal::SoldOut => "every coupon of this template has been given out",
            CouponRefusal::ClaimLimitReached => "this member has claimed as many as allowed",
            CouponRefusal::UseLimitReached => "this member has used as many as allowed",
            CouponRefusal::BudgetExhausted => "this coupon's discount budget is spent",
            CouponRefusal::NotInAudience => "this member is not in the coupon's audience",
            CouponRefusal::ChannelNotAllowed => "this coupon is not given out this way",
            CouponRefusal::NotYetValid => "this coupon's use window has not started",
            CouponRefusal::Expired => "this coupon has expired",
            CouponRefusal::NotAvailable => "this coupon is locked, used or revoked",
        }
    }
}

/// Whether an `available` coupon valid for `[from, until)` can be used at `now`.
pub fn usable(from: Timestamp, until: Timestamp, now: Timestamp) -> Result<(), CouponRefusal> {
    if now < from {
        return Err(CouponRefusal::NotYetValid);
    }
    if now >= until {
        return Err(CouponRefusal::Expired);
    }
    Ok(())
}

fn check_fen(field: &str, value: i64, min: i64) -> Result<(), InvalidInput> {
    if !(min..=MAX_COUPON_FEN).contains(&value) {
        return Err(InvalidInput::new(
            field,
            format!("must be {min} to {MAX_COUPON_FEN} fen"),
        ));
    }
    Ok(())
}

/// SKUs, categories, groups and tier codes: 1 to 64 visible characters.
pub fn check_code(field: &str, raw: &str) -> Result<(), InvalidInput> {
    if raw.is_empty() || raw.chars().count() > 64 || raw.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            field,
            format!("`{raw}` must be 1 to 64 characters without control characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(kind: CouponKind) -> CouponRules {
        CouponRules {
            kind,
            claim_starts_at: None,
            claim_ends_at: None,
            use_window: UseWindow::DaysAfterClaim(7),
            total_quantity: Some(100),
            per_member_claim_limit: Some(1),
            per_member_use_limit: None,
            channels: [Channel::Claim].into(),
            scope: ProductScope::everything(),
            audience: Audience::default(),
            budget_fen: None,
            stacking: Stacking::Exclusive,
            refund_policy: RefundPolicy::Return,
        }
    }

    #[test]
    fn an_amount_off_coupon_may_not_reach_its_threshold() {
        let bad = rules(CouponKind::AmountOff {
            threshold_fen: 10_000,
            amount_fen: 10_000,
        });
        assert_eq!(bad.check().unwrap_err().field(), "amount_fen");
        let good = rules(CouponKind::AmountOff {
            threshold_fen: 30_000,
            amount_fen: 5_000,
        });
        assert!(good.check().is_ok());
    }

    #[test]
    fn a_budget_must_cover_one_coupon() {
        let mut r = rules(CouponKind::AmountOff {
            threshold_fen: 0,
            amount_fen: 500,
        });
        r.budget_fen = Some(400);
        assert_eq!(r.check().unwrap_err().field(), "budget_fen");
        r.budget_fen = Some(500);
        assert!(r.check().is_ok());
    }

    #[test]
    fn percent_off_is_between_one_and_ninety_nine() {
        for (percent, ok) in [(0, false), (1, true), (99, true), (100, false)] {
            let r = rules(CouponKind::PercentOff {
                threshold_fen: 0,
                percent_off: percent,
                cap_fen: None,
            });
            assert_eq!(r.check().is_ok(), ok, "{percent}");
        }
    }

    #[test]
    fn a_use_window_counted_from_the_claim_ends_n_days_later() {
        let claimed = Timestamp::from_millis(1_000);
        let (from, until) = UseWindow::DaysAfterClaim(2).for_claim(claimed);
        assert_eq!(from, claimed);
        assert_eq!(until, Timestamp::from_millis(1_000 + 2 * 86_400_000));
        assert_eq!(usable(from, until, until), Err(CouponRefusal::Expired));
        assert_eq!(usable(from, until, from), Ok(()));
    }

    #[test]
    fn claims_close_with_the_claim_window_or_a_fixed_use_window() {
        let mut r = rules(CouponKind::FreeShipping { threshold_fen: 0 });
        r.claim_starts_at = Some(Timestamp::from_millis(100));
        r.claim_ends_at = Some(Timestamp::from_millis(200));
        assert_eq!(
            r.claim_open(Timestamp::from_millis(99)),
            Err(CouponRefusal::ClaimNotStarted)
        );
        assert_eq!(r.claim_open(Timestamp::from_millis(150)), Ok(()));
        assert_eq!(
            r.claim_open(Timestamp::from_millis(200)),
            Err(CouponRefusal::ClaimEnded)
        );
        r.claim_ends_at = None;
        r.use_window = UseWindow::Fixed {
            from: Timestamp::from_millis(0),
            until: Timestamp::from_millis(120),
        };
        assert_eq!(
            r.claim_open(Timestamp::from_millis(130)),
            Err(CouponRefusal::ClaimEnded)
        );
    }

    #[test]
    fn a_scope_names_what_it_covers_and_exclusions_win() {
        let scope = ProductScope {
            all: true,
            excluded_categories: ["gift_card".to_owned()].into(),
            ..ProductScope::default()
        };
        assert!(scope.covers("sku-1", "food"));
        assert!(!scope.covers("sku-2", "gift_card"));
        assert!(ProductScope::default().check("scope").is_err());
    }
}
