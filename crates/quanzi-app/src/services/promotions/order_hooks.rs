//! What a paid order and its refunds do to promotions, in the order's own transaction:
//! coupons its checkout locked become used, flash-sale reservations it names become paid,
//! what each SKU sold for goes into the price history, and what its checkout's threshold
//! rules grant besides a lower price (满送) is granted: gift coupons at once, points as
//! pending earnings that settle with the order's return window (a full refund takes them
//! back with the order's other points). A full refund returns the coupons whose template
//! says so, giving back the member's use and the budget, and revokes the gift coupons the
//! order granted that are still unused.

use quanzi_domain::calendar::TimeZone;
use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::loyalty::ledger::{Operation, Request};
use quanzi_domain::promotions::coupons::{Channel, RefundPolicy};
use quanzi_domain::time::Timestamp;
use quanzi_store::{CouponRow, OrderItemRow, OrderRow, SoldUnit, StoreError, Tx};

use serde::{Deserialize, Serialize};

use super::coupon_doc::CouponDoc;
use crate::services::loyalty::orders::schedule;
use crate::services::loyalty::settings::LoyaltySettings;

/// Returns the ledger requests for the points the order's promotions grant; the order
/// applies them with its own points.
pub(crate) async fn on_paid(
    tx: &mut Tx,
    ws: &WorkspaceId,
    loyalty: &LoyaltySettings,
    tz: &TimeZone,
    order: &OrderRow,
    items: &[OrderItemRow],
    now: Timestamp,
) -> Result<Vec<Request>, StoreError> {
    tx.use_order_coupons(ws, &order.external_id, now).await?;
    tx.pay_flash_reservations(ws, &order.external_id, now)
        .await?;
    let sold: Vec<SoldUnit> = items
        .iter()
        .filter(|item| item.quantity > 0)
        .map(|item| SoldUnit {
            sku: &item.sku,
            line: item.line,
            unit_fen: item.net_fen / item.quantity,
        })
        .collect();
    tx.record_sku_prices(ws, &order.id, order.paid_at, &sold)
        .await?;
    grant_benefits(tx, ws, loyalty, tz, order, now).await
}

/// One promotion's grant, as a checkout stored it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Benefit {
    pub promotion_id: String,
    pub points: i64,
    pub gift_coupons: Vec<String>,
}

async fn grant_benefits(
    tx: &mut Tx,
    ws: &WorkspaceId,
    loyalty: &LoyaltySettings,
    tz: &TimeZone,
    order: &OrderRow,
    now: Timestamp,
) -> Result<Vec<Request>, StoreError> {
    let Some((member, json)) = tx.take_checkout_benefits(ws, &order.external_id).await? else {
        return Ok(Vec::new());
    };
    if member != order.member_id {
        // The checkout was for someone else than the buyer: grant nothing rather than
        // guess.
        tracing::warn!(order = %order.id, "checkout benefits were for another member");
        return Ok(Vec::new());
    }
    let benefits: Vec<Benefit> = serde_json::from_str(&json).unwrap_or_default();
    // Promotion points keep the return window even where orders earn no points.
    let rule = loyalty
        .orders
        .clone()
        .unwrap_or_else(crate::services::loyalty::settings::default_order_points);
    let (pending, lot_expires_at) = schedule(&rule, order.paid_at, now, tz);
    let mut requests = Vec::new();
    for benefit in &benefits {
        if benefit.points > 0 {
            requests.push(Request {
                id: format!("promotion:{}:{}", order.id, benefit.promotion_id),
                linked: false,
                op: Operation::Earn {
                    member: order.member_id.clone(),
                    source: format!("promotion.{}", benefit.promotion_id),
                    amount: benefit.points,
                    lot_expires_at,
                    pending,
                    order_id: Some(order.id.clone()),
                    reason: Some(format!("promotion on order {}", order.external_id)),
                },
            });
        }
        for template_id in &benefit.gift_coupons {
            let Ok(row) = tx.coupon_template_in(ws, template_id).await else {
                tracing::warn!(template = %template_id, "a gift coupon template is gone");
                continue;
            };
            let Ok(template) = super::coupons::read(row) else {
                continue;
            };
            // A gift the template can no longer give (sold out, budget spent, paused) is
            // skipped: the order stands.
            if let Err(refusal) = super::coupons::issue_in(
                tx,
                ws,
                &template,
                &order.member_id,
                Channel::Journey,
                Some(&order.id),
                now,
            )
            .await?
            {
                tracing::info!(template = %template_id, code = refusal.code(), "gift coupon not given");
            }
        }
    }
    Ok(requests)
}

/// After a refund that leaves nothing of the order paid: the coupons it granted and the
/// member has not used yet are revoked (a used one stays used), and the coupons it used
/// go back where their template says so.
pub(crate) async fn on_full_refund(
    tx: &mut Tx,
    ws: &WorkspaceId,
    order: &OrderRow,
    used: &[(CouponRow, String)],
    now: Timestamp,
) -> Result<(), StoreError> {
    let revoked = tx.revoke_coupons_granted_by(ws, &order.id, now).await?;
    if revoked > 0 {
        tracing::info!(order = %order.id, revoked, "coupons the refunded order granted were revoked");
    }
    for (coupon, definition) in used {
        let returns = CouponDoc::parse(definition)
            .map(|rules| rules.refund_policy == RefundPolicy::Return)
            .unwrap_or(false);
        if !returns || coupon.status != "used" {
            continue;
        }
        for returned in tx
            .return_order_coupons(ws, &order.external_id, Some(&coupon.id), now)
            .await?
        {
            give_back(tx, ws, &returned).await?;
        }
    }
    Ok(())
}

/// Undoes what locking a coupon counted: the member's use and the booked budget.
pub(crate) async fn give_back(
    tx: &mut Tx,
    ws: &WorkspaceId,
    coupon: &CouponRow,
) -> Result<(), StoreError> {
    tx.uncount_coupon_use(ws, &coupon.template_id, &coupon.member_id)
        .await?;
    tx.unbook_coupon_budget(ws, &coupon.template_id, coupon.discount_fen)
        .await
}
