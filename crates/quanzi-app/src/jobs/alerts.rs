//! `analytics.alerts`, every minute: judges each enabled alert rule's newest completed
//! bucket once (rules remember the bucket they judged) and fires the anomalies.

use std::sync::Arc;

use super::{handler_fn, JobHandler, JobRun};
use crate::services::analytics::alerts;

pub const ALERTS_KIND: &str = "analytics.alerts";

pub fn handler() -> Arc<dyn JobHandler> {
    handler_fn(run)
}

async fn run(run: JobRun) -> anyhow::Result<()> {
    let fired = alerts::evaluate_due(&run.app).await?;
    if fired > 0 {
        tracing::info!(fired, "anomaly alerts fired");
    }
    Ok(())
}
