//! Distribution (分销) end to end, on SQLite and PostgreSQL: two levels and never a third,
//! partial refunds clawing back in proportion at both levels, settlement after the freeze
//! period, binding policies, and withdrawals.

mod common;

use std::time::Duration;

use common::*;
use reqwest::{Method, Response};
use serde_json::{json, Value};

async fn send(server: &TestServer, key: &str, method: Method, path: &str, body: Value) -> Response {
    server
        .as_key(key, method, path)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get(server: &TestServer, key: &str, path: &str) -> Value {
    let response = server.as_key(key, Method::GET, path).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    json(response).await
}

async fn setup(server: &TestServer, key: &str, binding: &str) {
    let response = send(
        server,
        key,
        Method::PUT,
        "/api/v1/distribution/settings",
        json!({
            "enabled": true, "binding": binding,
            "levels": [{"level": 1, "rate_bp": 1000}, {"level": 2, "rate_bp": 500}],
            "freeze_days": 7, "min_withdrawal_fen": 1000,
        }),
    )
    .await;
    assert_eq!(response.status(), 200);
}

async fn promoter(server: &TestServer, key: &str, name: &str, upline: Option<&str>) -> String {
    let m = member(server, key, name).await;
    let response = send(
        server,
        key,
        Method::POST,
        "/api/v1/promoters",
        json!({"member_id": m, "upline_id": upline}),
    )
    .await;
    assert_eq!(response.status(), 201);
    m
}

async fn bind(server: &TestServer, key: &str, promoter: &str, buyer: &str) -> String {
    let response = send(
        server,
        key,
        Method::POST,
        "/api/v1/distribution/bind",
        json!({"promoter_id": promoter, "buyer_id": buyer}),
    )
    .await;
    assert_eq!(response.status(), 200);
    json(response).await["promoter_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn dashboard(server: &TestServer, key: &str, promoter: &str) -> Value {
    get(
        server,
        key,
        &format!("/api/v1/promoters/{promoter}/dashboard"),
    )
    .await
}

on_both_backends! {
    two_levels_earn_a_third_never_and_refunds_claw_back_at_both(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        setup(&server, admin, "permanent").await;
        let top = promoter(&server, admin, "top", None).await;
        let mid = promoter(&server, admin, "mid", Some(&top)).await;
        let low = promoter(&server, admin, "low", Some(&mid)).await;
        let buyer = member(&server, admin, "buyer").await;
        assert_eq!(bind(&server, admin, &mid, &buyer).await, mid);
        let id = order(&server, admin, "o-1", "buyer", json!([
            {"sku": "tea", "quantity": 2, "unit_price_fen": 5000},
            {"sku": "cup", "quantity": 1, "unit_price_fen": 5000},
        ]), 0).await;
        // ¥150 paid: 10 % for the promoter, 5 % for their upline.
        assert_eq!(dashboard(&server, admin, &mid).await["pending_fen"], 1500);
        assert_eq!(dashboard(&server, admin, &top).await["pending_fen"], 750);
        // One of the two teas comes back: 10 % and 5 % of ¥50 are clawed back.
        let response = send(&server, admin, Method::POST, &format!("/api/v1/orders/{id}/refunds"),
            json!({"external_id": "r-1", "items": [{"line": 0, "quantity": 1}]})).await;
        assert_eq!(response.status(), 201);
        let d = dashboard(&server, admin, &mid).await;
        assert_eq!(d["pending_fen"], 1000);
        assert_eq!(d["clawed_back_fen"], 500);
        assert_eq!(dashboard(&server, admin, &top).await["pending_fen"], 500);
        // A buyer of the lowest promoter pays two levels: low and mid, never top.
        let other = member(&server, admin, "other").await;
        bind(&server, admin, &low, &other).await;
        order(&server, admin, "o-2", "other", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 10000}]), 0).await;
        assert_eq!(dashboard(&server, admin, &low).await["pending_fen"], 1000);
        assert_eq!(dashboard(&server, admin, &mid).await["pending_fen"], 1000 + 500);
        assert_eq!(dashboard(&server, admin, &top).await["pending_fen"], 500, "no third level");
        // A promoter's own purchase earns nothing.
        let (code, _) = error_of(send(&server, admin, Method::POST, "/api/v1/distribution/bind", json!({"promoter_id": mid, "buyer_id": mid})).await, 409).await;
        assert_eq!(code, "self_binding");
    }

    commissions_settle_after_the_freeze_and_withdrawals_spend_only_what_settled(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        setup(&server, admin, "permanent").await;
        let p = promoter(&server, admin, "p", None).await;
        let buyer = member(&server, admin, "buyer").await;
        bind(&server, admin, &p, &buyer).await;
        order(&server, admin, "o-1", "buyer", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 20000}]), 0).await;
        let withdraw = format!("/api/v1/promoters/{p}/withdrawals");
        let (code, _) = error_of(send(&server, admin, Method::POST, &withdraw, json!({"amount_fen": 1000})).await, 409).await;
        assert_eq!(code, "insufficient_commission", "pending commission cannot be withdrawn");
        server.clock.advance(Duration::from_secs(7 * 86_400 + 1));
        quanzi_app::jobs::social::sweep(&server.app).await.unwrap();
        let d = dashboard(&server, admin, &p).await;
        assert_eq!(d["settled_fen"], 2000);
        assert_eq!(d["available_fen"], 2000);
        let (_, field) = error_of(send(&server, admin, Method::POST, &withdraw, json!({"amount_fen": 500})).await, 400).await;
        assert_eq!(field.as_deref(), Some("amount_fen"), "below the minimum");
        let first = json(send(&server, admin, Method::POST, &withdraw, json!({"amount_fen": 1500})).await).await;
        let (code, _) = error_of(send(&server, admin, Method::POST, &withdraw, json!({"amount_fen": 1000})).await, 409).await;
        assert_eq!(code, "insufficient_commission");
        let id = first["id"].as_str().unwrap();
        let rejected = json(send(&server, admin, Method::POST, &format!("/api/v1/withdrawals/{id}/review"), json!({"action": "reject", "note": "bank details missing"})).await).await;
        assert_eq!(rejected["status"], "rejected");
        assert_eq!(dashboard(&server, admin, &p).await["available_fen"], 2000);
        let second = json(send(&server, admin, Method::POST, &withdraw, json!({"amount_fen": 2000})).await).await;
        let id = second["id"].as_str().unwrap();
        let (code, _) = error_of(send(&server, admin, Method::POST, &format!("/api/v1/withdrawals/{id}/review"), json!({"action": "pay"})).await, 409).await;
        assert_eq!(code, "withdrawal_state", "pay needs an approved withdrawal");
        for action in ["approve", "pay"] {
            let reviewed = send(&server, admin, Method::POST, &format!("/api/v1/withdrawals/{id}/review"), json!({"action": action})).await;
            assert_eq!(reviewed.status(), 200);
        }
        let d = dashboard(&server, admin, &p).await;
        let paid = d["withdrawals"].as_array().unwrap().iter().find(|w| w["id"] == id).unwrap().clone();
        assert_eq!(paid["status"], "paid");
        assert_eq!(d["available_fen"], 0);
    }

    binding_policies_decide_which_promoter_keeps_the_buyer(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        setup(&server, admin, "permanent").await;
        let first = promoter(&server, admin, "first", None).await;
        let second = promoter(&server, admin, "second", None).await;
        let buyer = member(&server, admin, "buyer").await;
        bind(&server, admin, &first, &buyer).await;
        assert_eq!(bind(&server, admin, &second, &buyer).await, first, "first touch keeps the buyer");
        setup(&server, admin, "latest").await;
        assert_eq!(bind(&server, admin, &second, &buyer).await, second, "the latest link wins");
        let response = send(&server, admin, Method::PUT, "/api/v1/distribution/settings", json!({
            "enabled": true, "levels": [{"level": 1, "rate_bp": 1000}, {"level": 2, "rate_bp": 500}, {"level": 3, "rate_bp": 100}],
        })).await;
        let (_, field) = error_of(response, 400).await;
        assert!(field.unwrap().contains("level"), "a third level is refused");
    }
}
