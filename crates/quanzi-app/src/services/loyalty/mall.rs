//! The points mall. A redemption takes stock and holds the member's points in one
//! transaction; the hold settles when the cancellation window ends (the sweep posts it),
//! and cancelling inside the window voids the hold and puts the stock back. Per-member
//! limits are checked under the member's wallet lock, stock by a conditional update, so
//! neither can be beaten by sending requests at once.

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::new_id_body;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::loyalty::ledger::{LedgerError, OnTimeout, Operation, Outcome, Request};
use quanzi_store::{MallItemRow, NewAuditEntry, RedemptionRow};

use super::ledger::apply_in;
use crate::principal::Principal;
use crate::services::{audit_details, members};
use crate::{App, Error, Result};

/// Days a redemption can be cancelled before its points settle.
pub const CANCEL_WINDOW_DAYS: i64 = 7;
const ATTEMPTS: usize = 8;

pub struct NewItem {
    pub name: String,
    pub points: i64,
    pub cash_fen: i64,
    pub stock: i64,
    pub per_member_limit: Option<i64>,
}

pub async fn create_item(app: &App, principal: &Principal, new: NewItem) -> Result<MallItemRow> {
    principal.require_console(Role::Admin, Scope::Admin)?;
    let name = crate::services::checked_name(&new.name)?;
    if !(1..=100_000_000).contains(&new.points) {
        return Err(InvalidInput::new("points", "must be 1 to 100000000").into());
    }
    if !(0..=100_000_000).contains(&new.cash_fen) {
        return Err(InvalidInput::new("cash_fen", "must be 0 to 100000000").into());
    }
    if !(0..=100_000_000).contains(&new.stock) {
        return Err(InvalidInput::new("stock", "must be 0 to 100000000").into());
    }
    if new.per_member_limit.is_some_and(|l| l < 1) {
        return Err(InvalidInput::new(
            "per_member_limit",
            "must be at least 1, or absent for no limit",
        )
        .into());
    }
    let now = app.clock.now();
    let row = MallItemRow {
        id: format!("itm_{}", new_id_body(now)),
        name,
        points: new.points,
        cash_fen: new.cash_fen,
        stock: new.stock,
        per_member_limit: new.per_member_limit,
        active: true,
        created_at: now,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_mall_item(&principal.workspace_id, &row).await?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "mall.item.create",
        target: row.id.clone(),
        details: audit_details(&[
            ("name", &row.name),
            ("points", &row.points.to_string()),
            ("stock", &row.stock.to_string()),
        ]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn items(app: &App, principal: &Principal) -> Result<Vec<MallItemRow>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    Ok(app.store.mall_items(&principal.workspace_id).await?)
}

/// Redeems `quantity` of an item for a member.
pub async fn redeem(
    app: &App,
    principal: &Principal,
    item_id: &str,
    member_id: &str,
    quantity: i64,
) -> Result<RedemptionRow> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    if !(1..=100).contains(&quantity) {
        return Err(InvalidInput::new("quantity", "must be 1 to 100").into());
    }
    let ws = &principal.workspace_id;
    let item = app
        .store
        .mall_item(ws, item_id)
        .await
        .map_err(Error::not_found("mall_item"))?;
    let member = members::unerased(app, principal, member_id).await?;
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let mut tx = app.store.begin().await?;
        retry_on_race!(tx.lock_wallet(ws, &member.id, now).await);
        if let Some(limit) = item.per_member_limit {
            let held = tx.redeemed_quantity(ws, &item.id, &member.id).await?;
            if held + quantity > limit {
                return Err(Error::conflict(
                    "redemption_limit_reached",
                    format!("each member may redeem at most {limit} of this item; this member has {held}"),
                ));
            }
        }
        if !tx.take_stock(ws, &item.id, quantity).await? {
            return Err(Error::conflict(
                "out_of_stock",
                "not enough of this item is left",
            ));
        }
        let row = RedemptionRow {
            id: format!("rdm_{}", new_id_body(now)),
            item_id: item.id.clone(),
            member_id: member.id.clone(),
            quantity,
            points: item.points * quantity,
            cash_fen: item.cash_fen * quantity,
            status: "active".into(),
            created_at: now,
            cancelled_at: None,
        };
        let hold = Request {
            id: row.id.clone(),
            linked: false,
            op: Operation::Hold {
                member: member.id.clone(),
                sink: "mall".into(),
                amount: row.points,
                timeout_seconds: CANCEL_WINDOW_DAYS * 86_400,
                on_timeout: OnTimeout::Post,
                order_id: None,
            },
        };
        let applied = retry_on_race!(apply_in(&mut tx, ws, &[hold], now).await);
        if let Outcome::Failed { error, .. } = &applied.outcomes[0] {
            return Err(Error::conflict(error.as_str(), error.message()));
        }
        retry_on_race!(tx.insert_redemption(ws, &row).await);
        match tx.commit().await {
            Ok(()) => return Ok(row),
            Err(err) if err.is_transient() => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a redemption kept losing races"
    )))
}

/// Cancels a redemption inside its window: the points and the stock come back.
pub async fn cancel(
    app: &App,
    principal: &Principal,
    redemption_id: &str,
) -> Result<RedemptionRow> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let mut tx = app.store.begin().await?;
        let mut row = tx
            .lock_redemption(ws, redemption_id)
            .await
            .map_err(Error::not_found("redemption"))?;
        if row.status == "cancelled" {
            return Err(Error::conflict(
                "redemption_cancelled",
                "this redemption was already cancelled",
            ));
        }
        let void = Request {
            id: format!("cancel:{}", row.id),
            linked: false,
            op: Operation::Void {
                pending_id: row.id.clone(),
            },
        };
        let applied = retry_on_race!(apply_in(&mut tx, ws, &[void], now).await);
        match &applied.outcomes[0] {
            Outcome::Failed {
                error: LedgerError::PendingAlreadyPosted,
                ..
            } => {
                return Err(Error::conflict(
                    "redemption_settled",
                    format!("the {CANCEL_WINDOW_DAYS}-day cancellation window has passed"),
                ))
            }
            Outcome::Failed { error, .. } => {
                return Err(Error::conflict(error.as_str(), error.message()))
            }
            _ => {}
        }
        tx.return_stock(ws, &row.item_id, row.quantity).await?;
        tx.cancel_redemption(ws, &row.id, now).await?;
        match tx.commit().await {
            Ok(()) => {
                row.status = "cancelled".into();
                row.cancelled_at = Some(now);
                return Ok(row);
            }
            Err(err) if err.is_transient() => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a cancellation kept losing races"
    )))
}

pub async fn redemptions(
    app: &App,
    principal: &Principal,
    member_id: &str,
) -> Result<Vec<RedemptionRow>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let member = members::find(app, principal, member_id).await?;
    Ok(app
        .store
        .redemptions_of(&principal.workspace_id, &member.id)
        .await?)
}
