//! What a paid order and its refunds do to promotions, in the order's own transaction:
//! coupons its checkout locked become used, flash-sale reservations it names become paid,
//! and what each SKU sold for goes into the price history. A full refund returns the
//! coupons whose template says so, giving back the member's use and the budget.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::promotions::coupons::RefundPolicy;
use quanzi_domain::time::Timestamp;
use quanzi_store::{CouponRow, OrderItemRow, OrderRow, SoldUnit, StoreError, Tx};

use super::coupon_doc::CouponDoc;

pub(crate) async fn on_paid(
    tx: &mut Tx,
    ws: &WorkspaceId,
    order: &OrderRow,
    items: &[OrderItemRow],
    now: Timestamp,
) -> Result<(), StoreError> {
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
        .await
}

/// After a refund that leaves nothing of the order paid.
pub(crate) async fn on_full_refund(
    tx: &mut Tx,
    ws: &WorkspaceId,
    order: &OrderRow,
    used: &[(CouponRow, String)],
    now: Timestamp,
) -> Result<(), StoreError> {
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
