//! `promotions.sweep`, every minute: flash-sale reservations whose payment time is up
//! give their stock back, coupons locked by orders that never paid return to their
//! members (with the use and budget they booked), and coupons past their use window
//! expire, and Redis gate counters are raised to the stock the database holds. Each step is a conditional update, so two sweeps never undo anything twice.

use std::sync::Arc;

use super::{handler_fn, JobHandler, JobRun};
use crate::services::promotions::{checkout, flash};
use crate::App;

pub const SWEEP_KIND: &str = "promotions.sweep";
const BATCH: i64 = 500;

pub fn handler() -> Arc<dyn JobHandler> {
    handler_fn(run)
}

async fn run(run: JobRun) -> anyhow::Result<()> {
    let report = sweep(&run.app).await?;
    if report != SweepReport::default() {
        tracing::info!(?report, "promotions sweep");
    }
    Ok(())
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub reservations_expired: usize,
    pub coupon_locks_released: usize,
    pub coupons_expired: u64,
    /// Redis gate counters checked against the database.
    pub gates_reconciled: usize,
}

pub async fn sweep(app: &App) -> anyhow::Result<SweepReport> {
    Ok(SweepReport {
        reservations_expired: flash::expire_due(app, BATCH).await?,
        coupon_locks_released: checkout::release_due(app, BATCH).await?,
        coupons_expired: checkout::expire_coupons(app, BATCH).await?,
        gates_reconciled: flash::reconcile_gates(app).await?,
    })
}
