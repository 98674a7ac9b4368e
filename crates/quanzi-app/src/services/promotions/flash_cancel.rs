//! Cancelling a whole flash sale (a wrong price, a supplier that cannot deliver): no
//! reservation is taken once the cancellation has committed, on any node. Reservations
//! already made stay payable unless the operator releases them too — a buyer may be
//! paying at that moment, and whether to honour the price is the operator's call. A sale
//! that has already ended can be cancelled too (its record then says so).

use quanzi_domain::auth::{Role, Scope};
use quanzi_store::NewAuditEntry;

use super::flash::Sale;
use crate::principal::Principal;
use crate::services::audit_details;
use crate::{App, Error, Result};

const ATTEMPTS: usize = 8;

pub struct Cancelled {
    pub sale: Sale,
    /// Unpaid reservations ended with the sale (0 unless asked for).
    pub released: usize,
}

pub async fn cancel_sale(
    app: &App,
    principal: &Principal,
    id: &str,
    release_reservations: bool,
) -> Result<Cancelled> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let ws = &principal.workspace_id;
    // On PostgreSQL the cancellation can lose a deadlock to a member merge holding a
    // bucket it needs (reservation groups and the sweep keep its lock order and cannot):
    // it goes round again.
    let mut done = false;
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let mut tx = app.store.begin().await?;
        if !retry_on_race!(tx.cancel_flash_sale(ws, id).await) {
            drop(tx);
            let (row, _) = app
                .store
                .flash_sale(ws, id)
                .await
                .map_err(Error::not_found("flash_sale"))?;
            return Err(Error::conflict(
                "flash_sale_not_active",
                format!("this flash sale is already {}", row.status),
            ));
        }
        retry_on_race!(
            tx.audit(&NewAuditEntry {
                workspace_id: ws.clone(),
                actor: principal.actor_ref(),
                action: "flash_sale.cancel",
                target: id.to_owned(),
                details: audit_details(&[(
                    "release_reservations",
                    &release_reservations.to_string(),
                )]),
                at: now,
            })
            .await
        );
        retry_on_race!(tx.commit().await);
        done = true;
        break;
    }
    if !done {
        return Err(Error::Internal(anyhow::anyhow!(
            "cancelling a flash sale kept losing races"
        )));
    }
    app.flash_cache.forget_sale(ws.as_str(), id);
    // No reservation can be added any more, so the unpaid ones are a closed list. They
    // are ended after the cancellation commits, in batches as the sweep ends them:
    // ending them while holding the sale's buckets could deadlock with a reservation
    // group waiting for a bucket while holding a member's hold. Should this stop
    // half-way, the rest expire with their payment time as usual.
    let released = if release_reservations {
        let unpaid = app.store.unpaid_flash_reservations(ws, id).await?;
        super::flash::end_reservations(app, ws, &unpaid, "cancelled", app.clock.now())
            .await?
            .len()
    } else {
        0
    };
    let (row, skus) = app
        .store
        .flash_sale(ws, id)
        .await
        .map_err(Error::not_found("flash_sale"))?;
    Ok(Cancelled {
        sale: Sale {
            row,
            skus,
            price_checks: Vec::new(),
        },
        released,
    })
}
