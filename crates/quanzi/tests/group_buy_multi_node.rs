//! Group buying on three `quanzi serve` processes sharing one PostgreSQL database: 50
//! joiners at once for the 4 open seats of a group take exactly 4; a group that did not
//! fill fails at expiry (three sweepers at once, on an injected clock) and each of its
//! paid seats is refunded exactly once.

mod common;

use std::time::Duration;

use common::{app_at, three_nodes, Api};
use quanzi_domain::time::{Clock, SystemClock};
use quanzi_store::testkit::TestDb;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_fill_a_group_exactly_and_refund_a_failed_one_once() {
    let db = TestDb::postgres().await;
    db.store().await;
    let (key, nodes) = three_nodes(&db.url, "groups").await;
    let api = Api::new(&key);
    let now = SystemClock.now();
    let campaign: Value = api
        .post(
            &nodes[0].base,
            "/api/v1/group-buys",
            json!({
                "name": "5人团", "sku": "tea", "group_price_fen": 6900, "original_price_fen": 9900,
                "group_size": 5, "duration_hours": 1,
                "starts_at": now.minus(Duration::from_secs(60)).to_rfc3339(),
                "ends_at": now.plus(Duration::from_secs(86_400)).to_rfc3339(),
            }),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let campaign = campaign["id"]
        .as_str()
        .expect("campaign created")
        .to_owned();

    // 54 buyers with paid orders: two leaders, 50 joiners, 2 for the group that fails.
    let orders = (0..54).map(|i| {
        api.post(
            &nodes[i % 3].base,
            "/api/v1/orders",
            json!({"external_id": format!("o-{i}"), "buyer": {"kind": "wechat_openid", "value": format!("b-{i}")},
                   "items": [{"sku": "tea", "quantity": 1, "unit_price_fen": 6900}]}),
        )
    });
    let mut buyers = Vec::new();
    for (i, response) in futures_util::future::join_all(orders)
        .await
        .into_iter()
        .enumerate()
    {
        let body: Value = response.unwrap().json().await.unwrap();
        buyers.push((
            body["member_id"]
                .as_str()
                .expect("order recorded")
                .to_owned(),
            format!("o-{i}"),
            body["id"].as_str().unwrap().to_owned(),
        ));
    }
    let open = |who: &(String, String, String)| {
        api.post(
            &nodes[0].base,
            &format!("/api/v1/group-buys/{campaign}/groups"),
            json!({"member_id": who.0, "order_id": who.1}),
        )
    };
    let full: Value = open(&buyers[0]).await.unwrap().json().await.unwrap();
    let full = full["id"].as_str().unwrap().to_owned();
    let joins = (1..51).map(|i| {
        api.post(
            &nodes[i % 3].base,
            &format!("/api/v1/groups/{full}/join"),
            json!({"member_id": buyers[i].0, "order_id": buyers[i].1}),
        )
    });
    let mut joined = 0;
    for response in futures_util::future::join_all(joins).await {
        let response = response.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        match status {
            200 => joined += 1,
            _ => assert!(
                ["group_full", "group_closed"]
                    .contains(&body["error"]["code"].as_str().unwrap_or_default()),
                "{body}"
            ),
        }
    }
    assert_eq!(joined, 4, "exactly the open seats are taken");
    let group: Value = api
        .get(&nodes[1].base, &format!("/api/v1/groups/{full}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(group["joined"], 5);
    assert_eq!(group["status"], "succeeded");
    assert_eq!(group["members"].as_array().unwrap().len(), 5);

    // A second group gets three of its five members, then its hour runs out.
    let failing: Value = open(&buyers[51]).await.unwrap().json().await.unwrap();
    let failing = failing["id"].as_str().unwrap().to_owned();
    for (i, buyer) in buyers.iter().enumerate().skip(52) {
        let response = api
            .post(
                &nodes[i % 3].base,
                &format!("/api/v1/groups/{failing}/join"),
                json!({"member_id": buyer.0, "order_id": buyer.1}),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let later = now.plus(Duration::from_secs(2 * 3_600));
    let mut sweepers = Vec::new();
    for _ in 0..3 {
        let app = app_at(&db, later).await;
        sweepers.push(tokio::spawn(async move {
            quanzi_app::jobs::social::sweep(&app).await.unwrap()
        }));
    }
    let (mut ended, mut refunded) = (0, 0);
    for sweeper in sweepers {
        let report = sweeper.await.unwrap();
        ended += report.groups_ended;
        refunded += report.seats_refunded;
    }
    assert_eq!(ended, 1, "the group ends once");
    assert_eq!(refunded, 3, "each seat is refunded once");
    for buyer in &buyers[51..] {
        let order: Value = api
            .get(&nodes[2].base, &format!("/api/v1/orders/{}", buyer.2))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(order["status"], "refunded");
        assert_eq!(order["refunds"].as_array().unwrap().len(), 1, "{order}");
    }
    let order: Value = api
        .get(&nodes[2].base, &format!("/api/v1/orders/{}", buyers[0].2))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "paid", "the full group keeps its money");
}
