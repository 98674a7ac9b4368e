//! The coupon liability report: per template, how many coupons were issued and where
//! they are now, the discount given and held, what the coupons still out could cost, and
//! the budget left.

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::promotions::coupons::CouponKind;

use super::coupons::templates;
use crate::principal::Principal;
use crate::{App, Result};

pub struct TemplateLiability {
    pub template_id: String,
    pub name: String,
    pub kind: &'static str,
    pub status: String,
    pub issued: i64,
    pub available: i64,
    pub locked: i64,
    pub used: i64,
    pub expired: i64,
    pub revoked: i64,
    /// Discount given by used coupons.
    pub used_discount_fen: i64,
    /// Discount held by locked coupons plus given by used ones (what the budget counts).
    pub booked_fen: i64,
    pub budget_fen: Option<i64>,
    pub budget_left_fen: Option<i64>,
    pub budget_exhausted: bool,
    /// The most the coupons still available could take off, when a coupon's value is
    /// fixed (amount off, capped percent); `None` when it depends on the cart.
    pub outstanding_max_fen: Option<i64>,
}

pub async fn report(app: &App, principal: &Principal) -> Result<Vec<TemplateLiability>> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    let usage = app.store.coupon_usage(&principal.workspace_id).await?;
    Ok(templates(app, principal)
        .await?
        .into_iter()
        .map(|t| {
            let u = usage.iter().find(|u| u.template_id == t.row.id);
            let count = |f: fn(&quanzi_store::CouponTemplateUsage) -> i64| u.map(f).unwrap_or(0);
            let available = count(|u| u.available);
            let per_coupon = match t.rules.kind {
                CouponKind::AmountOff { amount_fen, .. } => Some(amount_fen),
                CouponKind::PercentOff { cap_fen, .. } => cap_fen,
                _ => None,
            };
            TemplateLiability {
                template_id: t.row.id.clone(),
                name: t.row.name.clone(),
                kind: t.rules.kind.as_str(),
                status: t.row.status.clone(),
                issued: t.row.issued,
                available,
                locked: count(|u| u.locked),
                used: count(|u| u.used),
                expired: count(|u| u.expired),
                revoked: count(|u| u.revoked),
                used_discount_fen: count(|u| u.used_discount_fen),
                booked_fen: t.row.booked_fen,
                budget_fen: t.row.budget_fen,
                budget_left_fen: t.row.budget_fen.map(|b| b - t.row.booked_fen),
                budget_exhausted: t.row.budget_exhausted(),
                outstanding_max_fen: per_coupon.map(|v| v * available),
            }
        })
        .collect())
}
