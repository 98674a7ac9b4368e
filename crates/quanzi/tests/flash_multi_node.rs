//! A flash sale on three `quanzi serve` processes sharing one PostgreSQL database: 2,000
//! buyers at once for 100 units, one per member, never oversold; then three sweepers at
//! once return the stock of the reservations that were never paid, exactly once; and a sale
//! cancelled on one node mid-rush takes no reservation on any node after the cancellation.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{app_at, three_nodes, Api, Node};
use futures_util::StreamExt;
use quanzi_domain::time::{Clock, SystemClock};
use quanzi_store::testkit::TestDb;
use serde_json::{json, Value};

const STOCK: i64 = 100;
const MEMBERS: usize = 1_500;
/// The first 500 members try twice, on two different nodes.
const TWICE: usize = 500;

/// Creates a sale open from a minute ago for an hour (`sale` gives the rest); its id.
async fn open_sale(api: &Api, base: &str, mut sale: Value) -> String {
    let now = SystemClock.now();
    sale["starts_at"] = json!(now.minus(Duration::from_secs(60)).to_rfc3339());
    sale["ends_at"] = json!(now.plus(Duration::from_secs(3600)).to_rfc3339());
    let created: Value = api
        .post(base, "/api/v1/flash-sales", sale)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["id"].as_str().expect("sale created").to_owned()
}

/// `count` members identified as `{prefix}-{i}`, spread over the nodes; their ids in order.
async fn identify_buyers(api: &Api, nodes: &[Node; 3], prefix: &str, count: usize) -> Vec<String> {
    let identify = (0..count).map(|i| {
        api.post(
            &nodes[i % 3].base,
            "/api/v1/members/identify",
            json!({"identities": [{"kind": "wechat_openid", "value": format!("{prefix}-{i}")}]}),
        )
    });
    futures_util::stream::iter(identify)
        .buffered(64)
        .then(|response| async move {
            let body: Value = response.unwrap().json().await.unwrap();
            body["member"]["id"].as_str().unwrap().to_owned()
        })
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_sell_exactly_the_stock_once_per_member() {
    let db = TestDb::postgres().await;
    db.store().await;
    let (key, nodes) = three_nodes(&db.url, "flash").await;
    let api = Api::new(&key);
    let now = SystemClock.now();
    let sale = open_sale(
        &api,
        &nodes[0].base,
        json!({
            "name": "双11 0点秒杀",
        "payment_timeout_seconds": 60,
        "per_member_limit": 1,
        "buckets": 4,
        "skus": [{"sku": "tea", "flash_price_fen": 9900, "original_price_fen": 19900, "stock": STOCK}],
        }),
    )
    .await;

    let members = identify_buyers(&api, &nodes, "buyer", MEMBERS).await;

    // 2,000 attempts, many in flight at once, spread over the nodes.
    let path = format!("/api/v1/flash-sales/{sale}/reservations");
    let attempts = (0..MEMBERS + TWICE).map(|i| {
        let member = &members[i % MEMBERS];
        api.post(
            &nodes[i % 3].base,
            &path,
            json!({"member_id": member, "sku": "tea"}),
        )
    });
    let answers: Vec<Value> = futures_util::stream::iter(attempts)
        .buffer_unordered(400)
        .then(|response| async move {
            let response = response.unwrap();
            let status = response.status().as_u16();
            let mut body: Value = response.json().await.unwrap();
            body["status_code"] = json!(status);
            body
        })
        .collect()
        .await;
    let mut holders = Vec::new();
    for body in &answers {
        match body["status_code"].as_u64() {
            Some(201) => holders.push(body["member_id"].as_str().unwrap().to_owned()),
            _ => assert!(
                ["flash_sold_out", "flash_limit_reached"]
                    .contains(&body["error"]["code"].as_str().unwrap_or_default()),
                "{body}"
            ),
        }
    }
    assert_eq!(holders.len() as i64, STOCK, "exactly the stock is reserved");
    let distinct: BTreeSet<&String> = holders.iter().collect();
    assert_eq!(distinct.len(), holders.len(), "no member holds two");
    let detail: Value = api
        .get(&nodes[1].base, &format!("/api/v1/flash-sales/{sale}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["skus"][0]["remaining"], 0);

    // Two minutes later nobody has paid: three sweepers at once, as three nodes would.
    let later = now.plus(Duration::from_secs(120));
    let mut sweepers = Vec::new();
    for _ in 0..3 {
        let app = app_at(&db, later).await;
        sweepers.push(tokio::spawn(async move {
            quanzi_app::jobs::promotions::sweep(&app).await.unwrap()
        }));
    }
    let mut expired = 0;
    for sweeper in sweepers {
        expired += sweeper.await.unwrap().reservations_expired;
    }
    assert_eq!(expired as i64, STOCK, "each reservation expires once");
    let detail: Value = api
        .get(&nodes[2].base, &format!("/api/v1/flash-sales/{sale}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        detail["skus"][0]["remaining"], STOCK,
        "the stock came back exactly once"
    );
}

/// Cancelling a sale while three nodes take reservations for it: once the cancellation
/// (with `release_reservations`) has answered, no reservation is left waiting for payment —
/// one committed after it on any node would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_on_one_node_stops_every_node_at_once() {
    const BUYERS: usize = 900;
    const CANCEL_AFTER: usize = 300;
    let db = TestDb::postgres().await;
    db.store().await;
    let (key, nodes) = three_nodes(&db.url, "flash-cancel").await;
    let api = Api::new(&key);
    let sale = open_sale(
        &api,
        &nodes[0].base,
        json!({
            "name": "标错价的秒杀",
        "buckets": 4,
        "skus": [{"sku": "tea", "flash_price_fen": 100, "original_price_fen": 19900, "stock": 5000}],
        }),
    )
    .await;
    let members = identify_buyers(&api, &nodes, "rush", BUYERS).await;

    // The cancellation goes out once the first answers are in, with the rest in flight.
    let answered = std::sync::atomic::AtomicUsize::new(0);
    let started_cancelling = tokio::sync::Notify::new();
    let path = format!("/api/v1/flash-sales/{sale}/reservations");
    let attempts = futures_util::stream::iter((0..BUYERS).map(|i| {
        api.post(
            &nodes[i % 3].base,
            &path,
            json!({"member_id": members[i], "sku": "tea"}),
        )
    }))
    .buffer_unordered(200)
    .then(|response| {
        let (answered, started_cancelling) = (&answered, &started_cancelling);
        async move {
            let response = response.unwrap();
            if answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == CANCEL_AFTER {
                started_cancelling.notify_one();
            }
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }
    })
    .collect::<Vec<_>>();
    let cancel_path = format!("/api/v1/flash-sales/{sale}/cancel");
    let cancel = async {
        started_cancelling.notified().await;
        api.post(
            &nodes[1].base,
            &cancel_path,
            json!({"release_reservations": true}),
        )
        .await
        .unwrap()
    };
    let (answers, cancelled) = tokio::join!(attempts, cancel);
    assert_eq!(cancelled.status(), 200);
    let released = cancelled.json::<Value>().await.unwrap()["released_reservations"]
        .as_u64()
        .unwrap();
    let reserved = answers.iter().filter(|(status, _)| *status == 201).count();
    for (status, body) in &answers {
        assert!(
            *status == 201 || body["error"]["code"] == "flash_ended",
            "{status} {body}"
        );
    }
    assert!(
        reserved >= CANCEL_AFTER / 2,
        "the rush was under way: {reserved}"
    );
    assert!(reserved < BUYERS, "the cancellation turned buyers away");
    let list: Value = api
        .get(&nodes[2].base, &path)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    let waiting = items.iter().filter(|r| r["status"] == "reserved").count();
    assert_eq!(waiting, 0, "a reservation committed after the cancellation");
    assert_eq!(items.len(), reserved, "every 201 is stored");
    assert_eq!(
        released as usize, reserved,
        "the cancellation released every one"
    );
}
