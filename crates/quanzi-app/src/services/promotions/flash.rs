//! Flash sales (秒杀). A reservation holds stock for the payment timeout; the order that
//! pays for it (or an explicit completion) makes it final, and the sweep returns the
//! stock of reservations whose time ran out, once each. Stock is never oversold: every
//! take is a conditional update on a bucket row that may not go below zero, whatever
//! the number of nodes.

use std::collections::BTreeMap;
use std::time::Duration;

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::{new_id_body, WorkspaceId};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::promotions::compliance::{check_original_price, PriceCheck};
use quanzi_domain::promotions::flash::{bucket_order, phase, split_stock, FlashSale, Phase};
use quanzi_domain::time::Timestamp;
use quanzi_store::{FlashSaleRow, FlashSkuRow, NewAuditEntry, ReservationRow, ReserveRefusal};
use tokio::sync::oneshot;

use super::flash_queue::Submission;
use super::redis_gate::RedisGate;
use crate::principal::Principal;
use crate::services::{audit_details, members};
use crate::{App, Error, Result};

/// Tries at ending a batch of reservations before giving up (PostgreSQL can pick it as
/// a deadlock victim against a member merge).
const ENDING_ATTEMPTS: usize = 8;
/// Reservations ended in one transaction at most (by the sweep, or a cancellation).
const ENDING_BATCH: usize = 500;

/// What to do when a SKU's crossed-out price is above what it really sold for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FalseOriginal {
    /// Refuse the sale (the default).
    Refuse,
    /// Create it and report the problem.
    Flag,
}

pub struct NewSale {
    pub name: String,
    pub sale: FlashSale,
    pub on_false_original: FalseOriginal,
    /// Put the Redis admission gate in front of the database (needs promotions.redis_url).
    pub redis_gate: bool,
}

/// A sale, its SKUs with stock left, and (on creation) the original-price checks.
pub struct Sale {
    pub row: FlashSaleRow,
    pub skus: Vec<FlashSkuRow>,
    pub price_checks: Vec<(String, PriceCheck)>,
}

pub async fn create(app: &App, principal: &Principal, new: NewSale) -> Result<Sale> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let name = crate::services::checked_name(&new.name)?;
    new.sale.check()?;
    if new.redis_gate && app.redis_gate.is_none() {
        return Err(InvalidInput::new(
            "gate",
            "this server has no Redis gate: set promotions.redis_url, or use gate none",
        )
        .into());
    }
    let ws = &principal.workspace_id;
    let mut price_checks = Vec::new();
    for (i, sku) in new.sale.skus.iter().enumerate() {
        let sales = app
            .store
            .sales_before(ws, &sku.sku, new.sale.starts_at)
            .await?;
        let check = check_original_price(sku.original_price_fen, sku.flash_price_fen, sales);
        if let (Some(violation), FalseOriginal::Refuse) = (check.violation, new.on_false_original) {
            return Err(InvalidInput::new(
                format!("skus[{i}].original_price_fen"),
                format!("{}: {}", violation.code(), violation.message()),
            )
            .into());
        }
        price_checks.push((sku.sku.clone(), check));
    }
    let now = app.clock.now();
    let row = FlashSaleRow {
        id: format!("fls_{}", new_id_body(now)),
        name,
        starts_at: new.sale.starts_at,
        ends_at: new.sale.ends_at,
        payment_timeout_seconds: new.sale.payment_timeout_seconds,
        per_member_limit: new.sale.per_member_limit,
        buckets: new.sale.buckets,
        gate: if new.redis_gate { "redis" } else { "none" }.into(),
        status: "active".into(),
        created_at: now,
    };
    let skus: Vec<(FlashSkuRow, Vec<i64>)> = new
        .sale
        .skus
        .iter()
        .map(|s| {
            (
                FlashSkuRow {
                    sku: s.sku.clone(),
                    flash_price_fen: s.flash_price_fen,
                    original_price_fen: s.original_price_fen,
                    stock: s.stock,
                    remaining: s.stock,
                },
                split_stock(s.stock, new.sale.buckets),
            )
        })
        .collect();
    let flagged: Vec<&str> = price_checks
        .iter()
        .filter(|(_, c)| c.violation.is_some())
        .map(|(sku, _)| sku.as_str())
        .collect();
    let mut tx = app.store.begin().await?;
    tx.insert_flash_sale(ws, &row, &skus).await?;
    tx.audit(&NewAuditEntry {
        workspace_id: ws.clone(),
        actor: principal.actor_ref(),
        action: "flash_sale.create",
        target: row.id.clone(),
        details: audit_details(&[
            ("name", &row.name),
            ("flagged_original_prices", &flagged.join(",")),
        ]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    if let (true, Some(gate)) = (new.redis_gate, &app.redis_gate) {
        for (sku, _) in &skus {
            let key = RedisGate::key(ws.as_str(), &row.id, &sku.sku);
            if let Err(err) = gate.raise_to(&key, sku.stock).await {
                // The sweep seeds it within a minute; until then the database decides.
                tracing::warn!(%err, sale = %row.id, "could not seed the redis gate");
            }
        }
    }
    Ok(Sale {
        row,
        skus: skus.into_iter().map(|(s, _)| s).collect(),
        price_checks,
    })
}

pub async fn sales(app: &App, principal: &Principal) -> Result<Vec<FlashSaleRow>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    Ok(app.store.flash_sales(&principal.workspace_id).await?)
}

pub async fn sale(app: &App, principal: &Principal, id: &str) -> Result<Sale> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let (row, skus) = app
        .store
        .flash_sale(&principal.workspace_id, id)
        .await
        .map_err(Error::not_found("flash_sale"))?;
    Ok(Sale {
        row,
        skus,
        price_checks: Vec::new(),
    })
}

pub struct ReserveInput {
    pub member_id: String,
    pub sku: String,
    pub quantity: i64,
    /// The storefront's order number, when it has one: that order's arrival pays it.
    pub order_id: Option<String>,
}

/// Reserves stock for a member, or answers why not (`flash_sold_out`,
/// `flash_limit_reached`, `flash_not_started`, `flash_ended`).
pub async fn reserve(
    app: &App,
    principal: &Principal,
    sale_id: &str,
    input: ReserveInput,
) -> Result<ReservationRow> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let now = app.clock.now();
    let cached = match app.flash_cache.sale(ws.as_str(), sale_id, now) {
        Some(cached) => cached,
        None => {
            let (sale, skus) = app
                .store
                .flash_sale(ws, sale_id)
                .await
                .map_err(Error::not_found("flash_sale"))?;
            let cached = std::sync::Arc::new((sale, skus.into_iter().map(|s| s.sku).collect()));
            app.flash_cache.keep_sale(ws.as_str(), cached.clone(), now);
            cached
        }
    };
    let (sale, skus) = (&cached.0, &cached.1);
    if !skus.contains(&input.sku) {
        return Err(
            InvalidInput::new("sku", format!("`{}` is not in this sale", input.sku)).into(),
        );
    }
    if !(1..=sale.per_member_limit).contains(&input.quantity) {
        return Err(InvalidInput::new(
            "quantity",
            format!(
                "must be 1 to {} (the per-member limit)",
                sale.per_member_limit
            ),
        )
        .into());
    }
    if let Some(order) = &input.order_id {
        crate::services::orders::check_external_id("order_id", order)?;
    }
    if sale.status != "active" {
        return Err(sale_cancelled());
    }
    match phase(sale.starts_at, sale.ends_at, now) {
        Phase::NotStarted => {
            return Err(Error::conflict(
                "flash_not_started",
                format!("this flash sale starts at {}", sale.starts_at.to_rfc3339()),
            ))
        }
        Phase::Ended => return Err(Error::conflict("flash_ended", "this flash sale has ended")),
        Phase::Open => {}
    }
    if app
        .flash_cache
        .is_sold_out(ws.as_str(), &sale.id, &input.sku, now)
    {
        return Err(sold_out());
    }
    let member = members::unerased(app, principal, &input.member_id).await?;
    let row = ReservationRow {
        id: format!("rsv_{}", new_id_body(now)),
        sale_id: sale.id.clone(),
        sku: input.sku,
        member_id: member.id.clone(),
        quantity: input.quantity,
        bucket: 0,
        status: "reserved".into(),
        order_id: input.order_id,
        reserved_at: now,
        expires_at: now.plus(Duration::from_secs(
            sale.payment_timeout_seconds.max(0) as u64
        )),
        settled_at: None,
    };
    let first_bucket = bucket_order(&member.id, sale.buckets)[0];
    let gate = match (&app.redis_gate, sale.gate.as_str()) {
        (Some(gate), "redis") => Some((gate, RedisGate::key(ws.as_str(), &sale.id, &row.sku))),
        _ => None,
    };
    let (quantity, sku) = (row.quantity, row.sku.clone());
    if let Some((gate, key)) = &gate {
        match gate.admit(key, quantity).await {
            Ok(true) => {}
            Ok(false) => {
                app.flash_cache
                    .mark_sold_out(ws.as_str(), &sale.id, &sku, now);
                return Err(sold_out());
            }
            // Without Redis the database alone decides, as without a gate.
            Err(err) => tracing::warn!(%err, "the redis gate did not answer"),
        }
    }
    let (reply, answer) = oneshot::channel();
    app.flash_queue()
        .send(Submission {
            workspace: ws.clone(),
            sale: sale.clone(),
            first_bucket,
            row,
            reply,
        })
        .await
        .map_err(|_| Error::Internal(anyhow::anyhow!("the flash-sale writer has stopped")))?;
    match answer.await {
        Ok(Ok(Ok(reservation))) => Ok(reservation),
        // The gate's units stay taken: the database has none, and a counter above the
        // stock must drain.
        Ok(Ok(Err(ReserveRefusal::SoldOut))) => {
            app.flash_cache
                .mark_sold_out(ws.as_str(), &sale.id, &sku, app.clock.now());
            Err(sold_out())
        }
        Ok(Ok(Err(ReserveRefusal::SaleCancelled))) => {
            app.flash_cache.forget_sale(ws.as_str(), &sale.id);
            Err(sale_cancelled())
        }
        Ok(Ok(Err(ReserveRefusal::LimitReached))) => {
            if let Some((gate, key)) = &gate {
                if let Err(err) = gate.give_back(key, quantity).await {
                    tracing::warn!(%err, "could not give units back to the redis gate");
                }
            }
            Err(Error::conflict(
                "flash_limit_reached",
                "this member already holds as many as the sale allows",
            ))
        }
        Ok(Err(message)) => Err(Error::Internal(anyhow::anyhow!(message))),
        Err(_) => Err(Error::Internal(anyhow::anyhow!(
            "the flash-sale writer dropped a reservation"
        ))),
    }
}

fn sale_cancelled() -> Error {
    Error::conflict("flash_ended", "this flash sale was cancelled")
}

fn sold_out() -> Error {
    Error::conflict("flash_sold_out", "sold out: no stock is left for this SKU")
}

/// Stock came back from an ended reservation: this node forgets that its SKU sold out,
/// and its sale's Redis gate (if it has one) gets the units back.
async fn give_back_to_gate(app: &App, ws: &WorkspaceId, ended: &ReservationRow) {
    app.flash_cache
        .forget_sold_out(ws.as_str(), &ended.sale_id, &ended.sku);
    let Some(gate) = &app.redis_gate else {
        return;
    };
    match app.store.flash_sale(ws, &ended.sale_id).await {
        Ok((sale, _)) if sale.gate == "redis" => {
            let key = RedisGate::key(ws.as_str(), &sale.id, &ended.sku);
            if let Err(err) = gate.give_back(&key, ended.quantity).await {
                // The sweep's reconciliation raises the counter again.
                tracing::warn!(%err, "could not give units back to the redis gate");
            }
        }
        _ => {}
    }
}

/// Raises every open gated sale's Redis counters to the stock the database holds (the
/// minute sweep): a restarted Redis, or units given back while it was away, never leave
/// the gate saying "sold out" while stock is left.
pub async fn reconcile_gates(app: &App) -> Result<usize> {
    let Some(gate) = &app.redis_gate else {
        return Ok(0);
    };
    let mut raised = 0;
    for (ws, sale, sku, remaining) in app.store.gated_flash_stock(app.clock.now()).await? {
        match gate
            .raise_to(&RedisGate::key(&ws, &sale, &sku), remaining)
            .await
        {
            Ok(_) => raised += 1,
            Err(err) => tracing::warn!(%err, "could not reconcile the redis gate"),
        }
    }
    Ok(raised)
}

pub async fn reservations(
    app: &App,
    principal: &Principal,
    sale_id: &str,
    member_id: Option<&str>,
) -> Result<Vec<ReservationRow>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let member = match member_id {
        Some(id) => Some(members::find(app, principal, id).await?.id),
        None => None,
    };
    Ok(app
        .store
        .flash_reservations(&principal.workspace_id, sale_id, member.as_deref())
        .await?)
}

/// Cancels a reservation before payment: its stock goes back at once.
pub async fn cancel(app: &App, principal: &Principal, id: &str) -> Result<ReservationRow> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let now = app.clock.now();
    let ended = end_reservations(app, ws, &[id.to_owned()], "cancelled", now)
        .await?
        .pop();
    if let Some(row) = &ended {
        give_back_to_gate(app, ws, row).await;
    }
    match ended {
        Some(row) => Ok(ReservationRow {
            status: "cancelled".into(),
            settled_at: Some(now),
            ..row
        }),
        None => Err(not_reserved(app, ws, id).await),
    }
}

/// Marks a reservation paid (when the order arrived without naming it beforehand).
pub async fn complete(
    app: &App,
    principal: &Principal,
    id: &str,
    order_id: &str,
) -> Result<ReservationRow> {
    principal.require_any(&[Scope::Storefront, Scope::Ingest, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let paid = tx.complete_flash_reservation(ws, id, order_id, now).await?;
    tx.commit().await?;
    match paid {
        Some(row) => Ok(row),
        None => Err(not_reserved(app, ws, id).await),
    }
}

async fn not_reserved(app: &App, ws: &WorkspaceId, id: &str) -> Error {
    match app.store.flash_reservation(ws, id).await {
        Ok(row) => Error::conflict(
            "reservation_not_reserved",
            format!("this reservation is already {}", row.status),
        ),
        Err(err) => Error::not_found("reservation")(err),
    }
}

/// Ends reservations whose payment time is up (the minute sweep); returns how many.
pub async fn expire_due(app: &App, limit: i64) -> Result<usize> {
    let now = app.clock.now();
    let mut by_workspace: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (workspace, id) in app.store.due_flash_reservations(now, limit).await? {
        by_workspace.entry(workspace).or_default().push(id);
    }
    let mut expired = 0;
    for (workspace, ids) in by_workspace {
        let ws = WorkspaceId::from_trusted(workspace);
        expired += end_reservations(app, &ws, &ids, "expired", now)
            .await?
            .len();
    }
    Ok(expired)
}

/// Ends those of `ids` still `reserved` (`expired` or `cancelled`), up to
/// `ENDING_BATCH` per transaction, going round again when one loses a race; returns
/// those it ended (one that had already ended is not among them).
pub(crate) async fn end_reservations(
    app: &App,
    ws: &WorkspaceId,
    ids: &[String],
    status: &str,
    now: Timestamp,
) -> Result<Vec<ReservationRow>> {
    let mut ended = Vec::new();
    for batch in ids.chunks(ENDING_BATCH) {
        ended.extend(end_batch(app, ws, batch, status, now).await?);
    }
    Ok(ended)
}

async fn end_batch(
    app: &App,
    ws: &WorkspaceId,
    ids: &[String],
    status: &str,
    now: Timestamp,
) -> Result<Vec<ReservationRow>> {
    for _ in 0..ENDING_ATTEMPTS {
        let mut tx = app.store.begin().await?;
        let ended = retry_on_race!(tx.end_flash_reservations(ws, ids, status, now).await);
        retry_on_race!(tx.commit().await);
        return Ok(ended);
    }
    Err(Error::Internal(anyhow::anyhow!(
        "ending flash-sale reservations kept losing races"
    )))
}
