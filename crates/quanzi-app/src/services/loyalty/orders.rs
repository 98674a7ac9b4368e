//! Points for orders. A paid order earns points per yuan of its eligible lines (shipping
//! never counts); they stay pending through the return window (消费者权益保护法 §25, 7 days
//! by default) and settle when the sweep posts them. A member's first order can add a
//! bonus. Refunds take back exactly what the refunded part earned: inside the window the
//! pending points are replaced by a smaller pending amount; after it, the order's lot is
//! reversed and what the member already spent follows the workspace's shortfall policy.
//!
//! Both hooks only build ledger requests; the order use cases apply them in the same
//! transaction as the order or refund, so the points and the order commit together.

use std::time::Duration;

use quanzi_domain::calendar::TimeZone;
use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::loyalty::earning::{order_points, EarnLine};
use quanzi_domain::loyalty::ledger::{OnTimeout, Operation, Request, Timeout};
use quanzi_domain::members::RefundPlan;
use quanzi_domain::time::Timestamp;
use quanzi_store::{OrderItemRow, OrderRow, StoreError, Tx};

use super::settings::{LoyaltySettings, OrderPoints};

const ORDERS_SOURCE: &str = "orders";
const FIRST_ORDER_SOURCE: &str = "first_order";

fn points_for(
    rule: &OrderPoints,
    multiplier_percent: u32,
    lines: impl Iterator<Item = (String, Option<String>, i64)>,
) -> i64 {
    let lines: Vec<EarnLine> = lines
        .map(|(sku, category, paid_fen)| EarnLine {
            sku,
            category,
            paid_fen,
        })
        .collect();
    order_points(
        rule.points_per_yuan,
        &lines,
        &rule.excluded_skus,
        &rule.excluded_categories,
        multiplier_percent,
    )
}

/// When points earned at `paid_at` settle, and when their lot will expire.
pub(crate) fn schedule(
    rule: &OrderPoints,
    paid_at: Timestamp,
    now: Timestamp,
    tz: &TimeZone,
) -> (Option<Timeout>, Option<Timestamp>) {
    let settle = paid_at.plus(Duration::from_secs(u64::from(rule.pending_days) * 86_400));
    let expires = rule.expiry.expires_at(settle.max(now), tz);
    if settle > now {
        (
            Some(Timeout {
                at: settle,
                action: OnTimeout::Post,
            }),
            expires,
        )
    } else {
        (None, expires)
    }
}

/// The requests that pay for a newly recorded order.
pub(crate) fn on_paid(
    settings: &LoyaltySettings,
    tz: &TimeZone,
    order: &OrderRow,
    items: &[OrderItemRow],
    first_order: bool,
    multiplier_percent: u32,
    now: Timestamp,
) -> Vec<Request> {
    let Some(rule) = &settings.orders else {
        return Vec::new();
    };
    let (pending, lot_expires_at) = schedule(rule, order.paid_at, now, tz);
    let mut requests = Vec::new();
    let points = points_for(
        rule,
        multiplier_percent,
        items
            .iter()
            .map(|i| (i.sku.clone(), i.category.clone(), i.net_fen)),
    );
    if points > 0 {
        requests.push(Request {
            id: format!("order:{}", order.id),
            linked: false,
            op: Operation::Earn {
                member: order.member_id.clone(),
                source: ORDERS_SOURCE.into(),
                amount: points,
                lot_expires_at,
                pending,
                order_id: Some(order.id.clone()),
                reason: Some(format!("order {}", order.external_id)),
            },
        });
    }
    if first_order && rule.first_order_bonus > 0 {
        // One id per member: a member earns the bonus once, whatever happens later.
        requests.push(Request {
            id: format!("first-order:{}", order.member_id),
            linked: false,
            op: Operation::Earn {
                member: order.member_id.clone(),
                source: FIRST_ORDER_SOURCE.into(),
                amount: rule.first_order_bonus,
                lot_expires_at,
                pending,
                order_id: Some(order.id.clone()),
                reason: Some(format!("first order {}", order.external_id)),
            },
        });
    }
    requests
}

/// The requests that take back what `plan` refunded of `order` (whose lines are `items`
/// before the refund). A full refund also takes back the first-order bonus.
pub(crate) async fn on_refund(
    tx: &mut Tx,
    workspace: &WorkspaceId,
    settings: &LoyaltySettings,
    order: &OrderRow,
    items: &[OrderItemRow],
    plan: &RefundPlan,
    refund_id: &str,
) -> Result<Vec<Request>, StoreError> {
    let (pendings, lots) = tx.ledger_order_earnings(workspace, &order.id).await?;
    if pendings.is_empty() && lots.is_empty() {
        return Ok(Vec::new());
    }
    let rule = settings.orders.clone();
    let remaining_fen = |item: &OrderItemRow| {
        let now_refunded: i64 = plan
            .lines
            .iter()
            .filter(|l| l.line == item.line)
            .map(|l| l.amount_fen)
            .sum();
        item.net_fen - item.refunded_fen - now_refunded
    };
    let is_orders = |source: &str| source == ORDERS_SOURCE;
    let order_pending: Vec<_> = pendings
        .iter()
        .filter(|p| matches!(&p.debit, quanzi_domain::loyalty::ledger::AccountCode::Source(s) if is_orders(s)))
        .collect();
    let order_lots: Vec<_> = lots.iter().filter(|l| is_orders(&l.source)).collect();
    let earned: i64 = order_pending.iter().map(|p| p.amount).sum::<i64>()
        + order_lots
            .iter()
            .map(|l| l.amount - l.reversed)
            .sum::<i64>();
    // What the order's lines still earn after this refund, at the multiplier the order
    // earned with (the member's tier may have changed since): what it earned so far over
    // what its lines before this refund earn at 1×, to the nearest percent.
    let still_earned = match &rule {
        Some(rule) => {
            let line = |i: &OrderItemRow, fen: i64| (i.sku.clone(), i.category.clone(), fen);
            let before = points_for(
                rule,
                100,
                items.iter().map(|i| line(i, i.net_fen - i.refunded_fen)),
            );
            let multiplier = if before > 0 {
                u32::try_from((earned * 100 + before / 2) / before)
                    .unwrap_or(100)
                    .max(100)
            } else {
                100
            };
            points_for(
                rule,
                multiplier,
                items.iter().map(|i| line(i, remaining_fen(i))),
            )
        }
        // Points for orders switched off since: keep what was earned in proportion to the
        // money that stays paid.
        None => {
            let before: i64 = items.iter().map(|i| i.net_fen - i.refunded_fen).sum();
            let after: i64 = items.iter().map(|i| remaining_fen(i).max(0)).sum();
            if before > 0 {
                i64::try_from(i128::from(earned) * i128::from(after) / i128::from(before))
                    .unwrap_or(0)
            } else {
                0
            }
        }
    };
    let fully_refunded = items.iter().all(|i| remaining_fen(i) <= 0);
    let mut requests = Vec::new();
    let mut n = 0;
    let mut next_id = || {
        n += 1;
        format!("refund:{refund_id}:{n}")
    };
    let mut to_take = (earned - still_earned).max(0);
    for p in &order_pending {
        // Inside the return window: replace the pending points by what is still earned.
        let keep = (p.amount - to_take).max(0);
        to_take -= p.amount - keep;
        requests.push(Request {
            id: next_id(),
            linked: keep > 0,
            op: Operation::Void {
                pending_id: p.id.clone(),
            },
        });
        if keep > 0 {
            requests.push(Request {
                id: next_id(),
                linked: false,
                op: Operation::Earn {
                    member: order.member_id.clone(),
                    source: ORDERS_SOURCE.into(),
                    amount: keep,
                    lot_expires_at: p.lot_expires_at,
                    pending: Some(p.timeout),
                    order_id: Some(order.id.clone()),
                    reason: Some(format!("order {} after refund", order.external_id)),
                },
            });
        }
    }
    for lot in order_lots.iter().rev() {
        let take = to_take.min(lot.amount - lot.reversed);
        if take <= 0 {
            continue;
        }
        to_take -= take;
        requests.push(reverse(next_id(), &lot.id, take, settings, order));
    }
    if fully_refunded {
        for p in pendings
            .iter()
            .filter(|p| !order_pending.iter().any(|o| o.id == p.id))
        {
            requests.push(Request {
                id: next_id(),
                linked: false,
                op: Operation::Void {
                    pending_id: p.id.clone(),
                },
            });
        }
        for lot in lots.iter().filter(|l| !is_orders(&l.source)) {
            let take = lot.amount - lot.reversed;
            if take > 0 {
                requests.push(reverse(next_id(), &lot.id, take, settings, order));
            }
        }
    }
    Ok(requests)
}

fn reverse(
    id: String,
    lot: &str,
    amount: i64,
    settings: &LoyaltySettings,
    order: &OrderRow,
) -> Request {
    Request {
        id,
        linked: false,
        op: Operation::Reverse {
            lot_id: lot.to_owned(),
            amount,
            shortfall: settings.shortfall,
            reason: Some(format!("refund of order {}", order.external_id)),
        },
    }
}
