//! Paid orders and refunds. Both are idempotent by the storefront's own id
//! (`external_id`): sending the same order again returns the stored one; sending a
//! different order under the same id is a conflict.

use quanzi_domain::auth::Scope;
use quanzi_domain::ids::new_id_body;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::members::{
    allocate_refund, Identity, IdentityKind, NewOrder, NewOrderItem, RefundRequest, Touchpoints,
};
use quanzi_domain::time::Timestamp;
use quanzi_store::{NewIdentity, OrderItemRow, OrderRow, RefundRow};
use sha2::{Digest, Sha256};

use super::events::RawTime;
use super::members::{resolve_members, Hold};
use crate::principal::Principal;
use crate::{App, Error, Result};

pub struct OrderInput {
    pub external_id: String,
    pub identity_kind: String,
    pub identity_value: String,
    pub paid_at: Option<RawTime>,
    pub items: Vec<NewOrderItem>,
    pub order_discount_fen: i64,
    pub shipping_fen: i64,
    /// When given, must equal what the items, discount and shipping add up to.
    pub paid_fen: Option<i64>,
    pub coupons: Vec<String>,
    pub touchpoints: Touchpoints,
}

pub struct RecordedOrder {
    pub order: OrderRow,
    pub items: Vec<OrderItemRow>,
    pub refunds: Vec<RefundRow>,
    /// False when this was a resubmission of a stored order.
    pub created: bool,
}

/// An order or refund number as the storefront gives it: 1 to 128 visible ASCII characters.
pub(crate) fn check_external_id(field: &str, raw: &str) -> Result<String> {
    if raw.is_empty() || raw.len() > 128 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(InvalidInput::new(field, "must be 1 to 128 visible ASCII characters").into());
    }
    Ok(raw.to_owned())
}

fn parse_time(field: &str, raw: Option<RawTime>, now: Timestamp) -> Result<Timestamp> {
    let at = match raw {
        None => now,
        Some(RawTime::Millis(ms)) => Timestamp::from_millis(ms),
        Some(RawTime::Rfc3339(text)) => Timestamp::parse_rfc3339(&text).ok_or_else(|| {
            InvalidInput::new(
                field,
                format!("`{text}` is not RFC 3339 or epoch milliseconds"),
            )
        })?,
    };
    quanzi_domain::members::IncomingEvent::check_time(at, now).map_err(|e| e.for_field(field))?;
    Ok(at)
}

pub async fn record(app: &App, principal: &Principal, input: OrderInput) -> Result<RecordedOrder> {
    principal.require(Scope::Ingest)?;
    let now = app.clock.now();
    let external_id = check_external_id("external_id", &input.external_id)?;
    let kind = IdentityKind::parse(&input.identity_kind).map_err(|e| e.for_field("buyer.kind"))?;
    let identity =
        Identity::parse(kind, &input.identity_value).map_err(|e| e.for_field("buyer.value"))?;
    let paid_at = parse_time("paid_at", input.paid_at, now)?;
    let order = NewOrder {
        items: input.items,
        order_discount_fen: input.order_discount_fen,
        shipping_fen: input.shipping_fen,
    };
    let (lines, items_total, paid) = order.priced()?;
    if let Some(claimed) = input.paid_fen {
        if claimed != paid {
            return Err(InvalidInput::new(
                "paid_fen",
                format!("is {claimed} but items − discounts + shipping = {paid}"),
            )
            .into());
        }
    }
    if input.coupons.len() > 20 || input.coupons.iter().any(|c| c.is_empty() || c.len() > 64) {
        return Err(InvalidInput::new("coupons", "at most 20 codes of 1 to 64 characters").into());
    }
    let touchpoints = input.touchpoints.checked()?;
    let key = app.pii_key().await?;
    let lookup = identity.lookup_key(&key);
    let fingerprint = {
        let mut h = Sha256::new();
        h.update(format!(
            "{}|{}|{}|{}|{}|{}|{}",
            kind.as_str(),
            lookup.as_str(),
            paid_at.millis(),
            order.order_discount_fen,
            order.shipping_fen,
            paid,
            input.coupons.join(",")
        ));
        for item in &order.items {
            h.update(format!(
                "|{}:{:?}:{}:{}:{}",
                item.sku, item.category, item.quantity, item.unit_price_fen, item.discount_fen
            ));
        }
        hex::encode(h.finalize())
    };
    let items: Vec<OrderItemRow> = order
        .items
        .iter()
        .zip(&lines)
        .map(|(item, line)| OrderItemRow {
            line: line.line,
            sku: item.sku.trim().to_owned(),
            category: item.category.clone(),
            name: item.name.clone(),
            quantity: item.quantity,
            unit_price_fen: item.unit_price_fen,
            discount_fen: item.discount_fen,
            net_fen: line.net_fen,
            refunded_quantity: 0,
            refunded_fen: 0,
        })
        .collect();
    let coupons = serde_json::Value::from(input.coupons.clone()).to_string();
    let buyer = NewIdentity {
        kind,
        lookup: lookup.clone(),
        display: identity.masked(),
    };

    let ws = &principal.workspace_id;
    let loyalty = super::loyalty::settings::load(app, ws).await?;
    let tz = super::workspaces::time_zone(app, ws).await?;
    for _ in 0..8 {
        let mut tx = app.store.begin().await?;
        if let Some(existing) = tx.order_by_external_id(ws, &external_id).await? {
            drop(tx);
            if existing.fingerprint != fingerprint {
                return Err(Error::Conflict {
                    code: "order_conflict",
                    message: format!(
                        "order {external_id} was already recorded with different contents"
                    ),
                });
            }
            let (order, items, refunds) = app.store.order(ws, &existing.id).await?;
            return Ok(RecordedOrder {
                order,
                items,
                refunds,
                created: false,
            });
        }
        let members = retry_on_race!(
            resolve_members(
                &mut tx,
                principal,
                std::slice::from_ref(&buyer),
                now,
                Hold::Shared
            )
            .await
        );
        let row = OrderRow {
            id: format!("ord_{}", new_id_body(now)),
            external_id: external_id.clone(),
            fingerprint: fingerprint.clone(),
            member_id: members[&(kind, lookup.clone())].clone(),
            paid_at,
            received_at: now,
            items_total_fen: items_total,
            order_discount_fen: order.order_discount_fen,
            shipping_fen: order.shipping_fen,
            paid_fen: paid,
            refunded_fen: 0,
            shipping_refunded: false,
            status: "paid".into(),
            coupons: coupons.clone(),
            touchpoints: touchpoints.clone(),
        };
        // A concurrent submission of the same order number loses the unique race here and
        // goes round again to find the winner's order.
        // Read in the transaction, before this order counts: a second connection taken
        // while this one is held could wait for a pool that concurrent orders have drained.
        let first_order = match tx.member_order_count(ws, &row.member_id).await {
            Ok(count) => count == 0,
            Err(err) if err.is_transient() => continue,
            Err(err) => return Err(err.into()),
        };
        retry_on_race!(tx.insert_order(ws, &row, &items).await);
        let promotion_points = retry_on_race!(
            super::promotions::order_hooks::on_paid(&mut tx, ws, &loyalty, &tz, &row, &items, now)
                .await
        );
        let multiplier = retry_on_race!(
            super::loyalty::tiers::multiplier_percent(
                &mut tx,
                ws,
                loyalty.tiers.as_ref(),
                &row.member_id,
            )
            .await
        );
        let mut points = super::loyalty::orders::on_paid(
            &loyalty,
            &tz,
            &row,
            &items,
            first_order,
            multiplier,
            now,
        );
        points.extend(promotion_points);
        retry_on_race!(super::social::distribution::on_paid(&mut tx, ws, &row, &items, now).await);
        if first_order {
            points.extend(retry_on_race!(
                super::social::referral::on_first_order(&mut tx, ws, &tz, &row, now).await
            ));
        }
        if !points.is_empty() {
            retry_on_race!(super::loyalty::ledger::apply_in(&mut tx, ws, &points, now).await);
        }
        // An order can lift the member into a higher tier at once.
        if let Some(program) = &loyalty.tiers {
            match super::loyalty::tiers::refresh(
                &mut tx,
                ws,
                program,
                &tz,
                &row.member_id,
                false,
                now,
            )
            .await
            {
                Ok(_) => {}
                Err(err) if err.is_transient() => continue,
                Err(err) => return Err(err.into()),
            }
        }
        retry_on_race!(tx.commit().await);
        return Ok(RecordedOrder {
            order: row,
            items,
            refunds: Vec::new(),
            created: true,
        });
    }
    Err(Error::Internal(anyhow::anyhow!(
        "recording order {external_id} kept losing races"
    )))
}

pub async fn get(app: &App, principal: &Principal, id: &str) -> Result<RecordedOrder> {
    principal.require_any(&[Scope::Ingest, Scope::Storefront, Scope::Admin])?;
    let (order, items, refunds) = app
        .store
        .order(&principal.workspace_id, id)
        .await
        .map_err(Error::not_found("order"))?;
    Ok(RecordedOrder {
        order,
        items,
        refunds,
        created: false,
    })
}

pub struct RefundInput {
    pub external_id: String,
    /// `None` refunds everything not yet refunded (and the shipping).
    pub lines: Option<Vec<(i64, i64)>>,
    pub reason: Option<String>,
    pub refunded_at: Option<RawTime>,
}

pub struct RecordedRefund {
    pub refund: RefundRow,
    pub order: OrderRow,
    pub created: bool,
}

pub async fn refund(
    app: &App,
    principal: &Principal,
    order_id: &str,
    input: RefundInput,
) -> Result<RecordedRefund> {
    principal.require(Scope::Ingest)?;
    let now = app.clock.now();
    let external_id = check_external_id("external_id", &input.external_id)?;
    let refunded_at = parse_time("refunded_at", input.refunded_at, now)?;
    if input
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        return Err(InvalidInput::new("reason", "must be at most 500 characters").into());
    }
    let request = match input.lines {
        None => RefundRequest::Full,
        Some(lines) => RefundRequest::Lines(lines),
    };
    let fingerprint = hex::encode(Sha256::digest(format!("{order_id}|{request:?}").as_bytes()));
    let loyalty = super::loyalty::settings::load(app, &principal.workspace_id).await?;
    for _ in 0..8 {
        let mut tx = app.store.begin().await?;
        if let Some(existing) = tx
            .refund_by_external_id(&principal.workspace_id, &external_id)
            .await?
        {
            if existing.fingerprint != fingerprint {
                return Err(Error::Conflict {
                    code: "refund_conflict",
                    message: format!(
                        "refund {external_id} was already recorded with different contents"
                    ),
                });
            }
            let (order, _, _) = app
                .store
                .order(&principal.workspace_id, &existing.order_id)
                .await?;
            return Ok(RecordedRefund {
                refund: existing,
                order,
                created: false,
            });
        }
        let (order, items) = tx
            .lock_order(&principal.workspace_id, order_id)
            .await
            .map_err(Error::not_found("order"))?;
        let lines: Vec<_> = items.iter().map(OrderItemRow::as_line).collect();
        let plan = allocate_refund(
            &lines,
            order.shipping_fen,
            order.shipping_refunded,
            &request,
        )?;
        let row = RefundRow {
            id: format!("rfd_{}", new_id_body(now)),
            order_id: order.id.clone(),
            external_id: external_id.clone(),
            fingerprint: fingerprint.clone(),
            amount_fen: plan.total_fen,
            shipping_fen: plan.shipping_fen,
            lines: serde_json::Value::from(
                plan.lines
                    .iter()
                    .map(|l| serde_json::json!({"line": l.line, "quantity": l.quantity, "amount_fen": l.amount_fen}))
                    .collect::<Vec<_>>(),
            )
            .to_string(),
            reason: input.reason.clone(),
            refunded_at,
        };
        match tx
            .insert_refund(&principal.workspace_id, &order, &plan, &row)
            .await
        {
            Ok(()) => {}
            Err(err) if err.is_transient() => continue,
            Err(err) => return Err(err.into()),
        }
        let ws = &principal.workspace_id;
        if order.refunded_fen + plan.total_fen >= order.paid_fen {
            let used = retry_on_race!(tx.order_coupons_with_rules(ws, &order.external_id).await);
            retry_on_race!(
                super::promotions::order_hooks::on_full_refund(&mut tx, ws, &order, &used, now)
                    .await
            );
        }
        retry_on_race!(
            super::social::distribution::on_refund(&mut tx, ws, &order, &items, &plan).await
        );
        let reversal = retry_on_race!(
            super::loyalty::orders::on_refund(
                &mut tx, ws, &loyalty, &order, &items, &plan, &row.id,
            )
            .await
        );
        if !reversal.is_empty() {
            retry_on_race!(super::loyalty::ledger::apply_in(&mut tx, ws, &reversal, now).await);
        }
        retry_on_race!(tx.commit().await);
        let (order, _, _) = app.store.order(&principal.workspace_id, &order.id).await?;
        return Ok(RecordedRefund {
            refund: row,
            order,
            created: true,
        });
    }
    Err(Error::Internal(anyhow::anyhow!(
        "recording refund {external_id} kept losing races"
    )))
}
