//! Acknowledged writes survive a SIGKILL of `quanzi serve` on SQLite.

mod common;

use common::{field, run, Node};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_acknowledged_before_a_sigkill_is_there_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("quanzi.db").display());
    let created = run(
        &[
            "workspace",
            "create",
            "--name",
            "restart",
            "--database",
            &url,
        ],
        &[],
    );
    let admin = field(&created, "api key");
    let client = reqwest::Client::new();

    let mut node = Node::start(&url, &[("QUANZI__JOBS__ENABLED", "false")]).await;
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let response = client
            .post(format!("{}/api/v1/keys", node.base))
            .bearer_auth(&admin)
            .json(&json!({"name": format!("key {i}"), "scopes": ["ingest"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = response.json().await.unwrap();
        acknowledged.push((
            body["id"].as_str().unwrap().to_owned(),
            body["secret"].as_str().unwrap().to_owned(),
        ));
    }
    let probes = client
        .post(format!("{}/api/v1/jobs/probes", node.base))
        .bearer_auth(&admin)
        .json(&json!({"count": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(probes.status(), 202);
    node.kill().await;

    let node = Node::start(&url, &[("QUANZI__JOBS__ENABLED", "false")]).await;
    let keys: serde_json::Value = client
        .get(format!("{}/api/v1/keys?limit=200", node.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    for (id, secret) in &acknowledged {
        assert!(listed.contains(&id.as_str()), "{id} survived");
        let works = client
            .get(format!("{}/api/v1/workspace", node.base))
            .bearer_auth(secret)
            .send()
            .await
            .unwrap();
        assert_eq!(works.status(), 200, "{id} still authenticates");
    }
    let jobs: serde_json::Value = client
        .get(format!("{}/api/v1/jobs", node.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jobs["items"].as_array().unwrap().len(), 5);
}
