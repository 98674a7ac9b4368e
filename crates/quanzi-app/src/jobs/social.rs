//! `social.sweep`, every minute: group buys whose time is up end (succeeded, virtually
//! succeeded, or failed), and each seat of a failed group gets its full refund recorded,
//! once (the refund id is derived from the group and the member); distribution
//! commissions past their freeze period settle.

use std::sync::Arc;

use super::{handler_fn, JobHandler, JobRun};
use crate::services::social::{distribution, group_buy};
use crate::App;

pub const SWEEP_KIND: &str = "social.sweep";
const BATCH: i64 = 200;

pub fn handler() -> Arc<dyn JobHandler> {
    handler_fn(run)
}

async fn run(run: JobRun) -> anyhow::Result<()> {
    let report = sweep(&run.app).await?;
    if report != SweepReport::default() {
        tracing::info!(?report, "social sweep");
    }
    Ok(())
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub groups_ended: usize,
    pub seats_refunded: usize,
    pub commissions_settled: u64,
}

pub async fn sweep(app: &App) -> anyhow::Result<SweepReport> {
    let (groups_ended, seats_refunded) = group_buy::expire_due(app, BATCH).await?;
    Ok(SweepReport {
        groups_ended,
        seats_refunded,
        commissions_settled: distribution::settle_due(app, BATCH).await?,
    })
}
