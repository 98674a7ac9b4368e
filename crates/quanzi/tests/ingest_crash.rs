//! SIGKILL `quanzi serve` in the middle of a sustained ingest: after a restart every event
//! the server acknowledged is stored, on SQLite and on PostgreSQL.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::{field, run, Node};
use quanzi_domain::ids::WorkspaceId;
use quanzi_store::testkit::TestDb;
use quanzi_store::{Backend, Store, StoreOptions};
use serde_json::json;

async fn acknowledged_events_survive_a_sigkill(backend: Backend) {
    let db = TestDb::new(backend).await;
    db.store().await;
    let created = run(
        &[
            "workspace",
            "create",
            "--name",
            "crash",
            "--database",
            &db.url,
        ],
        &[],
    );
    let key = field(&created, "api key");
    let workspace = WorkspaceId::parse(&field(&created, "workspace")).unwrap();
    let mut node = Node::start(&db.url, &[("QUANZI__JOBS__ENABLED", "false")]).await;

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let (base, sender_acked) = (node.base.clone(), acked.clone());
    // Four senders keep batches in flight all the time.
    let senders: Vec<_> = (0..4)
        .map(|sender| {
            let (base, key, acked) = (base.clone(), key.clone(), sender_acked.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for batch in 0.. {
                    let ids: Vec<String> = (0..200).map(|i| format!("s{sender}-b{batch}-e{i}")).collect();
                    let events: Vec<_> = ids
                        .iter()
                        .enumerate()
                        .map(|(i, id)| json!({"event_id": id, "type": "page_view", "identity": {"kind": "device_id", "value": format!("dev-{}", i % 50)}}))
                        .collect();
                    let sent = client.post(format!("{base}/api/v1/events")).bearer_auth(&key).json(&json!({"events": events})).send().await;
                    match sent {
                        Ok(response) if response.status() == 200 => {
                            let body: serde_json::Value = match response.json().await {
                                Ok(body) => body,
                                Err(_) => return,
                            };
                            assert_eq!(body["accepted"], 200);
                            acked.lock().unwrap().extend(ids);
                        }
                        // The server died: whatever was in flight was never acknowledged.
                        _ => return,
                    }
                }
            })
        })
        .collect();
    common::eventually(std::time::Duration::from_secs(60), || {
        let acked = acked.clone();
        async move { acked.lock().unwrap().len() >= 20 * 200 }
    })
    .await;
    node.kill().await;
    for sender in senders {
        sender.await.unwrap();
    }

    let _restarted = Node::start(&db.url, &[("QUANZI__JOBS__ENABLED", "false")]).await;
    let store = Store::connect(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    let stored: HashSet<String> = store
        .event_ids(&workspace)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 4000);
    let missing: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_event_through_a_sigkill() {
    acknowledged_events_survive_a_sigkill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_acknowledged_event_through_a_sigkill() {
    acknowledged_events_survive_a_sigkill(Backend::Postgres).await;
}
