//! A coupon template's rules as stored JSON (`coupon_templates.definition`). The wire
//! format lives in the HTTP layer; this is the storage form, read back into the domain's
//! `CouponRules`.

use std::collections::BTreeSet;

use quanzi_domain::promotions::coupons::{
    Audience, Channel, CouponKind, CouponRules, ProductScope, RefundPolicy, Stacking, UseWindow,
};
use quanzi_domain::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CouponDoc {
    kind: String,
    threshold_fen: i64,
    amount_fen: i64,
    percent_off: u32,
    cap_fen: Option<i64>,
    gift_sku: Option<String>,
    claim_starts_at: Option<i64>,
    claim_ends_at: Option<i64>,
    use_from: Option<i64>,
    use_until: Option<i64>,
    use_days: Option<i64>,
    total_quantity: Option<i64>,
    per_member_claim_limit: Option<i64>,
    per_member_use_limit: Option<i64>,
    channels: Vec<String>,
    pub(crate) scope: ScopeDoc,
    segment_id: Option<String>,
    tiers: BTreeSet<String>,
    budget_fen: Option<i64>,
    pub(crate) stacking: StackingDoc,
    refund_policy: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ScopeDoc {
    pub all: bool,
    pub skus: BTreeSet<String>,
    pub categories: BTreeSet<String>,
    pub excluded_skus: BTreeSet<String>,
    pub excluded_categories: BTreeSet<String>,
}

/// `None` group: exclusive.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct StackingDoc {
    pub group: Option<String>,
    pub stacks_with: BTreeSet<String>,
}

impl From<&ProductScope> for ScopeDoc {
    fn from(s: &ProductScope) -> Self {
        ScopeDoc {
            all: s.all,
            skus: s.skus.clone(),
            categories: s.categories.clone(),
            excluded_skus: s.excluded_skus.clone(),
            excluded_categories: s.excluded_categories.clone(),
        }
    }
}

impl From<&ScopeDoc> for ProductScope {
    fn from(s: &ScopeDoc) -> Self {
        ProductScope {
            all: s.all,
            skus: s.skus.clone(),
            categories: s.categories.clone(),
            excluded_skus: s.excluded_skus.clone(),
            excluded_categories: s.excluded_categories.clone(),
        }
    }
}

impl From<&Stacking> for StackingDoc {
    fn from(s: &Stacking) -> Self {
        match s {
            Stacking::Exclusive => StackingDoc::default(),
            Stacking::Group { group, stacks_with } => StackingDoc {
                group: Some(group.clone()),
                stacks_with: stacks_with.clone(),
            },
        }
    }
}

impl From<&StackingDoc> for Stacking {
    fn from(s: &StackingDoc) -> Self {
        match &s.group {
            None => Stacking::Exclusive,
            Some(group) => Stacking::Group {
                group: group.clone(),
                stacks_with: s.stacks_with.clone(),
            },
        }
    }
}

impl From<&CouponRules> for CouponDoc {
    fn from(r: &CouponRules) -> Self {
        let (threshold_fen, amount_fen, percent_off, cap_fen, gift_sku) = match &r.kind {
            CouponKind::AmountOff {
                threshold_fen,
                amount_fen,
            } => (*threshold_fen, *amount_fen, 0, None, None),
            CouponKind::PercentOff {
                threshold_fen,
                percent_off,
                cap_fen,
            } => (*threshold_fen, 0, *percent_off, *cap_fen, None),
            CouponKind::FreeShipping { threshold_fen } => (*threshold_fen, 0, 0, None, None),
            CouponKind::Gift { sku } => (0, 0, 0, None, Some(sku.clone())),
        };
        let (use_from, use_until, use_days) = match r.use_window {
            UseWindow::Fixed { from, until } => (Some(from.millis()), Some(until.millis()), None),
            UseWindow::DaysAfterClaim(days) => (None, None, Some(days)),
        };
        CouponDoc {
            kind: r.kind.as_str().to_owned(),
            threshold_fen,
            amount_fen,
            percent_off,
            cap_fen,
            gift_sku,
            claim_starts_at: r.claim_starts_at.map(Timestamp::millis),
            claim_ends_at: r.claim_ends_at.map(Timestamp::millis),
            use_from,
            use_until,
            use_days,
            total_quantity: r.total_quantity,
            per_member_claim_limit: r.per_member_claim_limit,
            per_member_use_limit: r.per_member_use_limit,
            channels: r.channels.iter().map(|c| c.as_str().to_owned()).collect(),
            scope: (&r.scope).into(),
            segment_id: r.audience.segment_id.clone(),
            tiers: r.audience.tiers.clone(),
            budget_fen: r.budget_fen,
            stacking: (&r.stacking).into(),
            refund_policy: match r.refund_policy {
                RefundPolicy::Return => "return",
                RefundPolicy::Keep => "keep",
            }
            .to_owned(),
        }
    }
}

impl CouponDoc {
    pub(crate) fn parse(json: &str) -> anyhow::Result<CouponRules> {
        let doc: CouponDoc = serde_json::from_str(json)?;
        doc.rules()
    }

    fn rules(&self) -> anyhow::Result<CouponRules> {
        let kind = match self.kind.as_str() {
            "amount_off" | "no_threshold" => CouponKind::AmountOff {
                threshold_fen: self.threshold_fen,
                amount_fen: self.amount_fen,
            },
            "percent_off" => CouponKind::PercentOff {
                threshold_fen: self.threshold_fen,
                percent_off: self.percent_off,
                cap_fen: self.cap_fen,
            },
            "free_shipping" => CouponKind::FreeShipping {
                threshold_fen: self.threshold_fen,
            },
            "gift" => CouponKind::Gift {
                sku: self.gift_sku.clone().unwrap_or_default(),
            },
            other => anyhow::bail!("stored coupon kind `{other}` is unknown"),
        };
        let use_window = match (self.use_from, self.use_until, self.use_days) {
            (Some(from), Some(until), _) => UseWindow::Fixed {
                from: Timestamp::from_millis(from),
                until: Timestamp::from_millis(until),
            },
            (_, _, Some(days)) => UseWindow::DaysAfterClaim(days),
            _ => anyhow::bail!("stored coupon has no use window"),
        };
        let channels = self
            .channels
            .iter()
            .map(|c| Channel::parse("channels", c))
            .collect::<Result<_, _>>()?;
        Ok(CouponRules {
            kind,
            claim_starts_at: self.claim_starts_at.map(Timestamp::from_millis),
            claim_ends_at: self.claim_ends_at.map(Timestamp::from_millis),
            use_window,
            total_quantity: self.total_quantity,
            per_member_claim_limit: self.per_member_claim_limit,
            per_member_use_limit: self.per_member_use_limit,
            channels,
            scope: (&self.scope).into(),
            audience: Audience {
                segment_id: self.segment_id.clone(),
                tiers: self.tiers.clone(),
            },
            budget_fen: self.budget_fen,
            stacking: (&self.stacking).into(),
            refund_policy: if self.refund_policy == "keep" {
                RefundPolicy::Keep
            } else {
                RefundPolicy::Return
            },
        })
    }
}
