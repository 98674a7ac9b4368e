//! Three `quanzi serve` processes on one PostgreSQL database take 64 concurrent spends
//! from one wallet: the successes never exceed the balance, and the books reconcile.

mod common;

use common::{three_nodes, Api};
use quanzi_store::testkit::TestDb;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_never_overdraw_one_wallet() {
    let db = TestDb::postgres().await;
    db.store().await;
    let (key, nodes) = three_nodes(&db.url, "ledger").await;
    let api = Api::new(&key);
    let identified: Value = api
        .post(
            &nodes[0].base,
            "/api/v1/members/identify",
            json!({"identities": [{"kind": "wechat_openid", "value": "o-hot"}]}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let member = identified["member"]["id"].as_str().unwrap().to_owned();
    let seeded: Value = api.post(
        &nodes[1].base,
        "/api/v1/loyalty/transfers",
        json!({"transfers": [{"id": "seed", "type": "earn", "member_id": member, "source": "seed", "amount": 1000}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(seeded["results"][0]["status"], "created");

    // 64 spends of 30 (1,920 points asked of 1,000), spread over the three nodes.
    let spends = (0..64).map(|i| {
        api.post(
            &nodes[i % 3].base,
            "/api/v1/loyalty/transfers",
            json!({"transfers": [{"id": format!("spend-{i}"), "type": "spend", "member_id": member, "sink": "mall", "amount": 30}]}),
        )
    });
    let mut ok = 0;
    for response in futures_util::future::join_all(spends).await {
        let body: Value = response.unwrap().json().await.unwrap();
        match body["results"][0]["status"].as_str() {
            Some("created") => ok += 1,
            _ => assert_eq!(body["results"][0]["code"], "insufficient_points", "{body}"),
        }
    }
    assert_eq!(ok, 33, "exactly the spends that fit must succeed");
    let points: Value = api
        .get(&nodes[2].base, &format!("/api/v1/members/{member}/points"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(points["available"], 1000 - 30 * ok);
    let books: Value = api
        .get(&nodes[0].base, "/api/v1/loyalty/reconciliation")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(books["reconciled"], true, "{books}");
}
