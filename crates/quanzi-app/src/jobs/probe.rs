//! `diagnostics.probe`: waits `work_ms` (standing in for real work), then records one
//! execution row in the same transaction that completes the job. Counting those rows shows
//! whether every job ran exactly once, across nodes and crashes.

use std::sync::Arc;
use std::time::Duration;

use super::{handler_fn, JobHandler, JobRun};

pub const PROBE_KIND: &str = "diagnostics.probe";

pub fn handler() -> Arc<dyn JobHandler> {
    handler_fn(run)
}

async fn run(run: JobRun) -> anyhow::Result<()> {
    let work_ms = parse_work_ms(&run.job.payload);
    if work_ms > 0 {
        tokio::time::sleep(Duration::from_millis(work_ms)).await;
    }
    let mut tx = run.app.store.begin().await?;
    tx.record_probe_run(&run.job.lease.job_id, &run.app.node_id, run.app.clock.now())
        .await?;
    run.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Reads `{"work_ms": N}`; anything else means no work. (The payload is ours: written by
/// `services::jobs::enqueue_probes`.)
fn parse_work_ms(payload: &str) -> u64 {
    payload
        .split("\"work_ms\":")
        .nth(1)
        .map(|rest| {
            rest.trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_work_duration() {
        assert_eq!(super::parse_work_ms("{\"work_ms\":25}"), 25);
        assert_eq!(super::parse_work_ms("{\"work_ms\": 7}"), 7);
        assert_eq!(super::parse_work_ms("{}"), 0);
    }
}
