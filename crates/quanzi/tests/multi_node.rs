//! Three `quanzi serve` processes on one PostgreSQL database share one job queue: 1,000
//! jobs each run exactly once, also when one process is SIGKILLed while it holds jobs.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{eventually, field, run, Node};
use quanzi_domain::jobs::JobState;
use quanzi_store::testkit::TestDb;
use quanzi_store::{Store, StoreOptions};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_run_a_thousand_jobs_exactly_once_despite_a_sigkill() {
    let db = TestDb::postgres().await;
    db.store().await;
    let created = run(
        &[
            "workspace",
            "create",
            "--name",
            "multi-node",
            "--database",
            &db.url,
        ],
        &[],
    );
    let key = field(&created, "api key");
    let env = [
        ("QUANZI__JOBS__LEASE_SECONDS", "2"),
        ("QUANZI__JOBS__POLL_INTERVAL_MS", "50"),
        ("QUANZI__JOBS__CONCURRENCY", "4"),
    ];
    let mut doomed = Node::start(&db.url, &env).await;
    let survivors = [
        Node::start(&db.url, &env).await,
        Node::start(&db.url, &env).await,
    ];

    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/api/v1/jobs/probes", doomed.base))
        .bearer_auth(&key)
        .json(&json!({"count": 1000, "work_ms": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let ids: Vec<String> = response.json::<serde_json::Value>().await.unwrap()["job_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1000);

    // Kill the first node while it is holding jobs mid-run.
    let store = Store::connect(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    let workspace = quanzi_domain::ids::WorkspaceId::parse(&field(&created, "workspace")).unwrap();
    let doomed_id = doomed.node_id.clone();
    eventually(Duration::from_secs(60), || {
        let (store, workspace, doomed_id) = (store.clone(), workspace.clone(), doomed_id.clone());
        async move {
            let running = store
                .jobs(&workspace, Some(JobState::Running), None, 200)
                .await
                .unwrap();
            running
                .items
                .iter()
                .any(|j| j.locked_by.as_deref() == Some(doomed_id.as_str()))
        }
    })
    .await;
    doomed.kill().await;

    // Every probe has run once it has an execution row (the row commits with the job).
    eventually(Duration::from_secs(180), || {
        let store = store.clone();
        async move { store.probe_run_counts().await.unwrap().len() >= 1000 }
    })
    .await;

    let runs: HashMap<String, i64> = store
        .probe_run_counts()
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(runs.len(), 1000, "every job ran");
    for id in &ids {
        assert_eq!(runs.get(id), Some(&1), "{id} ran exactly once");
    }
    let by_node: HashMap<String, i64> = store
        .probe_runs_by_node()
        .await
        .unwrap()
        .into_iter()
        .collect();
    for node in &survivors {
        assert!(
            by_node.get(&node.node_id).copied().unwrap_or(0) > 0,
            "{} did work",
            node.node_id
        );
    }
    // The jobs the killed node held were retried by the others after their lease expired.
    let mut retried = 0;
    let mut after = None;
    loop {
        let page = store
            .jobs(&workspace, None, after.as_deref(), 200)
            .await
            .unwrap();
        // Only the probes: the nodes also schedule their daily jobs in this workspace.
        let probes: Vec<_> = page
            .items
            .iter()
            .filter(|j| j.kind == "diagnostics.probe")
            .collect();
        retried += probes.iter().filter(|j| j.attempts >= 2).count();
        assert!(probes.iter().all(|j| j.state == JobState::Done));
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    assert!(retried >= 1, "the killed node's jobs were taken over");
}
