//! Bargaining (砍价) end to end, on SQLite and PostgreSQL: cuts within bounds that reach
//! the floor exactly at the last needed helper, one help per helper per campaign, helper
//! rules, concurrency, and the two purchase modes.

mod common;

use std::time::Duration;

use common::*;
use reqwest::{Method, Response};
use serde_json::{json, Value};

async fn post(server: &TestServer, key: &str, path: &str, body: Value) -> Response {
    server
        .as_key(key, Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn campaign(server: &TestServer, key: &str, extra: Value) -> String {
    let mut body = json!({
        "name": "砍到9.9", "sku": "tea", "start_price_fen": 9900, "floor_price_fen": 990,
        "helpers_needed": 5, "min_cut_fen": 500, "max_cut_fen": 3000,
        "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(7 * 86_400)).to_rfc3339(),
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let response = post(server, key, "/api/v1/bargain-campaigns", body).await;
    assert_eq!(response.status(), 201);
    json(response).await["id"].as_str().unwrap().to_owned()
}

async fn start(server: &TestServer, key: &str, campaign: &str, member: &str) -> String {
    let response = post(
        server,
        key,
        &format!("/api/v1/bargain-campaigns/{campaign}/bargains"),
        json!({"member_id": member}),
    )
    .await;
    assert_eq!(response.status(), 201);
    json(response).await["id"].as_str().unwrap().to_owned()
}

async fn help(server: &TestServer, key: &str, bargain: &str, helper: &str) -> Response {
    post(
        server,
        key,
        &format!("/api/v1/bargains/{bargain}/helps"),
        json!({"member_id": helper}),
    )
    .await
}

on_both_backends! {
    helpers_cut_within_bounds_and_reach_the_floor_exactly_at_the_last_one(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let id = campaign(&server, admin, json!({})).await;
        let owner = member(&server, admin, "owner").await;
        let bargain = start(&server, admin, &id, &owner).await;
        let purchase = format!("/api/v1/bargains/{bargain}/purchase");
        let (code, _) = error_of(post(&server, admin, &purchase, json!({"order_id": "b-1"})).await, 409).await;
        assert_eq!(code, "floor_not_reached");
        let mut price = 9900;
        for i in 0..5 {
            let helper = member(&server, admin, &format!("h{i}")).await;
            let body = json(help(&server, admin, &bargain, &helper).await).await;
            let cut = body["help"]["cut_fen"].as_i64().unwrap();
            assert!((500..=3000).contains(&cut), "{body}");
            price -= cut;
            assert_eq!(body["help"]["price_after_fen"], price);
            assert!(price >= 990);
        }
        assert_eq!(price, 990, "the floor is reached exactly at the last needed helper");
        let late = member(&server, admin, "late").await;
        let (code, _) = error_of(help(&server, admin, &bargain, &late).await, 409).await;
        assert_eq!(code, "bargain_complete");
        let bought = json(post(&server, admin, &purchase, json!({"order_id": "b-1"})).await).await;
        assert_eq!(bought["state"], "purchased");
        assert_eq!(bought["price_fen"], 990);
        assert_eq!(bought["helps"].as_array().unwrap().len(), 5);
    }

    a_helper_helps_once_per_campaign_and_never_their_own_bargain(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let id = campaign(&server, admin, json!({})).await;
        let a = member(&server, admin, "a").await;
        let b = member(&server, admin, "b").await;
        let helper = member(&server, admin, "helper").await;
        let first = start(&server, admin, &id, &a).await;
        let second = start(&server, admin, &id, &b).await;
        let (code, _) = error_of(post(&server, admin, &format!("/api/v1/bargain-campaigns/{id}/bargains"), json!({"member_id": a})).await, 409).await;
        assert_eq!(code, "bargain_exists");
        let (code, _) = error_of(help(&server, admin, &first, &a).await, 409).await;
        assert_eq!(code, "own_bargain");
        assert_eq!(help(&server, admin, &first, &helper).await.status(), 201);
        let (code, _) = error_of(help(&server, admin, &second, &helper).await, 409).await;
        assert_eq!(code, "already_helped");
        let body = json(server.as_key(admin, Method::GET, &format!("/api/v1/bargains/{second}")).send().await.unwrap()).await;
        assert_eq!(body["helpers"], 0, "a refused help takes no position");
        assert_eq!(body["price_fen"], 9900);
    }

    concurrent_helpers_never_pass_the_helpers_needed(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let id = campaign(&server, admin, json!({"helpers_needed": 3, "min_cut_fen": 1000, "max_cut_fen": 5000})).await;
        let owner = member(&server, admin, "owner").await;
        let bargain = start(&server, admin, &id, &owner).await;
        let mut helpers = Vec::new();
        for i in 0..12 {
            helpers.push(member(&server, admin, &format!("h{i}")).await);
        }
        let attempts = helpers.iter().map(|h| help(&server, admin, &bargain, h));
        let mut ok = 0;
        for response in futures_util::future::join_all(attempts).await {
            if response.status() == 201 {
                ok += 1;
            } else {
                assert_eq!(error_of(response, 409).await.0, "bargain_complete");
            }
        }
        assert_eq!(ok, 3);
        let body = json(server.as_key(admin, Method::GET, &format!("/api/v1/bargains/{bargain}")).send().await.unwrap()).await;
        assert_eq!(body["price_fen"], 990);
        let positions: Vec<i64> = body["helps"].as_array().unwrap().iter().map(|h| h["position"].as_i64().unwrap()).collect();
        assert_eq!(positions, [0, 1, 2]);
    }

    new_users_only_refuses_members_the_brand_already_knew(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let id = campaign(&server, admin, json!({"new_users_only": true, "mode": "buy_at_current"})).await;
        let old = member(&server, admin, "old").await;
        server.clock.advance(Duration::from_secs(60));
        let owner = member(&server, admin, "owner").await;
        let bargain = start(&server, admin, &id, &owner).await;
        server.clock.advance(Duration::from_secs(60));
        let (code, _) = error_of(help(&server, admin, &bargain, &old).await, 409).await;
        assert_eq!(code, "not_a_new_user");
        let fresh = member(&server, admin, "fresh").await;
        assert_eq!(help(&server, admin, &bargain, &fresh).await.status(), 201);
        // buy_at_current: the member may buy before the floor, at the price reached.
        let body = json(server.as_key(admin, Method::GET, &format!("/api/v1/bargains/{bargain}")).send().await.unwrap()).await;
        assert_eq!(body["purchase_price_fen"], body["price_fen"]);
        // A bargain past its time takes no help and sells nothing.
        server.clock.advance(Duration::from_secs(25 * 3_600));
        let later = member(&server, admin, "later").await;
        let (code, _) = error_of(help(&server, admin, &bargain, &later).await, 409).await;
        assert_eq!(code, "bargain_closed");
        let (code, _) = error_of(post(&server, admin, &format!("/api/v1/bargains/{bargain}/purchase"), json!({"order_id": "x"})).await, 409).await;
        assert_eq!(code, "bargain_closed");
    }

    impossible_bargains_are_refused_with_the_field_to_fix(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let mut body = json!({
            "name": "x", "sku": "tea", "start_price_fen": 9900, "floor_price_fen": 990,
            "helpers_needed": 5, "min_cut_fen": 3000, "max_cut_fen": 4000,
            "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(86_400)).to_rfc3339(),
        });
        let (_, field) = error_of(post(&server, admin, "/api/v1/bargain-campaigns", body.clone()).await, 400).await;
        assert_eq!(field.as_deref(), Some("min_cut_fen"));
        body["min_cut_fen"] = json!(100);
        body["mode"] = json!("haggle");
        let (_, field) = error_of(post(&server, admin, "/api/v1/bargain-campaigns", body).await, 400).await;
        assert_eq!(field.as_deref(), Some("mode"));
    }
}
