//! Referral fission (裂变) end to end, on SQLite and PostgreSQL: invite codes, binding
//! refusals (self-referral, loops, not new), rewards on the first paid order cancelled by
//! a refund inside the window, caps and stages under concurrency, and stats.

mod common;

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

async fn get(server: &TestServer, key: &str, path: &str) -> Value {
    let response = server.as_key(key, Method::GET, path).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    json(response).await
}

async fn program(server: &TestServer, key: &str, body: Value) -> String {
    let response = post(server, key, "/api/v1/referral-programs", body).await;
    assert_eq!(response.status(), 201);
    json(response).await["id"].as_str().unwrap().to_owned()
}

async fn code(server: &TestServer, key: &str, member: &str) -> String {
    let body = get(
        server,
        key,
        &format!("/api/v1/members/{member}/invite-code"),
    )
    .await;
    assert_eq!(
        body["share_path"],
        format!("/r/{}", body["invite_code"].as_str().unwrap())
    );
    body["invite_code"].as_str().unwrap().to_owned()
}

async fn bind(server: &TestServer, key: &str, code: &str, member: &str) -> Response {
    post(
        server,
        key,
        "/api/v1/referrals/bind",
        json!({"invite_code": code, "member_id": member}),
    )
    .await
}

/// Pending points from referral sources for a member.
async fn referral_pending(server: &TestServer, key: &str, member: &str) -> i64 {
    let pending = get(
        server,
        key,
        &format!("/api/v1/members/{member}/points/pending"),
    )
    .await;
    pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["debit"]
                .as_str()
                .is_some_and(|d| d.starts_with("source:referral."))
        })
        .map(|p| p["amount"].as_i64().unwrap())
        .sum()
}

on_both_backends! {
    binding_refuses_self_referral_loops_and_members_who_are_not_new(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        program(&server, admin, json!({"name": "邀请有礼", "per_invitee": {"points": 100}})).await;
        let a = member(&server, admin, "a").await;
        let b = member(&server, admin, "b").await;
        let c = member(&server, admin, "c").await;
        let code_a = code(&server, admin, &a).await;
        assert_eq!(code(&server, admin, &a).await, code_a, "a member keeps one code");
        let (reason, _) = error_of(bind(&server, admin, &code_a, &a).await, 409).await;
        assert_eq!(reason, "self_referral");
        assert_eq!(bind(&server, admin, &code_a, &b).await.status(), 201);
        // First touch: B stays A's.
        let code_c = code(&server, admin, &c).await;
        let (reason, _) = error_of(bind(&server, admin, &code_c, &b).await, 409).await;
        assert_eq!(reason, "already_bound");
        let code_b = code(&server, admin, &b).await;
        assert_eq!(bind(&server, admin, &code_b, &c).await.status(), 201);
        // A → B → C: C inviting A would close a loop.
        let (reason, _) = error_of(bind(&server, admin, &code_c, &a).await, 409).await;
        assert_eq!(reason, "referral_loop");
        // Someone who already ordered is not new.
        let d = member(&server, admin, "d").await;
        order(&server, admin, "d-1", "d", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 1000}]), 0).await;
        let (reason, _) = error_of(bind(&server, admin, &code_a, &d).await, 409).await;
        assert_eq!(reason, "not_new");
        let (_, field) = error_of(bind(&server, admin, "not a code!", &d).await, 400).await;
        assert_eq!(field.as_deref(), Some("invite_code"));
        let refs = get(&server, admin, &format!("/api/v1/members/{a}/referrals")).await;
        assert_eq!(refs["invitees"].as_array().unwrap().len(), 1);
    }

    a_first_order_pays_pending_rewards_that_a_refund_cancels(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let coupon = server.as_key(admin, reqwest::Method::POST, "/api/v1/coupon-templates").json(&json!({
            "name": "邀请礼券", "kind": "no_threshold", "amount_fen": 500, "use_days": 30, "channels": ["journey"],
        })).send().await.unwrap();
        assert_eq!(coupon.status(), 201);
        let coupon = json(coupon).await["id"].as_str().unwrap().to_owned();
        program(&server, admin, json!({
            "name": "邀请有礼", "per_invitee": {"points": 100, "coupon_template": coupon}, "invitee_reward": {"points": 50},
        })).await;
        let a = member(&server, admin, "a").await;
        let b = member(&server, admin, "b").await;
        let code_a = code(&server, admin, &a).await;
        assert_eq!(bind(&server, admin, &code_a, &b).await.status(), 201);
        let id = order(&server, admin, "b-1", "b", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 5000}]), 0).await;
        assert_eq!(referral_pending(&server, admin, &a).await, 100);
        assert_eq!(referral_pending(&server, admin, &b).await, 50);
        // A second order pays nothing more.
        order(&server, admin, "b-2", "b", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 5000}]), 0).await;
        assert_eq!(referral_pending(&server, admin, &a).await, 100);
        refund(&server, admin, &id, "r-1", None).await;
        assert_eq!(referral_pending(&server, admin, &a).await, 0, "the refund cancels the pending reward");
        assert_eq!(referral_pending(&server, admin, &b).await, 0);
        let coupons = get(&server, admin, &format!("/api/v1/members/{a}/coupons")).await;
        assert_eq!(coupons["items"][0]["granted_by_order"], id.as_str(), "{coupons}");
        assert_eq!(coupons["items"][0]["status"], "revoked", "the unused reward coupon goes with the refund");
        let refs = get(&server, admin, &format!("/api/v1/members/{a}/referrals")).await;
        assert!(refs["invitees"][0]["qualified_at"].is_string());
    }

    caps_and_stages_hold_when_invitees_order_at_once(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let id = program(&server, admin, json!({
            "name": "邀请有礼", "per_invitee": {"points": 100}, "per_day": 2,
            "stages": [{"invitees": 3, "reward": {"points": 1000}}],
        })).await;
        let a = member(&server, admin, "a").await;
        let code_a = code(&server, admin, &a).await;
        let mut names = Vec::new();
        for i in 0..5 {
            let name = format!("i{i}");
            let m = member(&server, admin, &name).await;
            assert_eq!(bind(&server, admin, &code_a, &m).await.status(), 201);
            names.push(name);
        }
        let orders = names.iter().map(|n| {
            server.as_key(admin, Method::POST, "/api/v1/orders")
                .json(&json!({"external_id": format!("o-{n}"), "buyer": {"kind": "wechat_openid", "value": n},
                              "items": [{"sku": "tea", "quantity": 1, "unit_price_fen": 5000}]}))
                .send()
        });
        for response in futures_util::future::join_all(orders).await {
            assert_eq!(response.unwrap().status(), 201);
        }
        // Two per-invitee rewards (the daily cap) and the 3-invitee stage once.
        assert_eq!(referral_pending(&server, admin, &a).await, 2 * 100 + 1000);
        let refs = get(&server, admin, &format!("/api/v1/members/{a}/referrals")).await;
        let reasons: Vec<&str> = refs["rewards"].as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap()).collect();
        assert_eq!(reasons.iter().filter(|r| **r == "referral_invitee").count(), 2, "{refs}");
        assert_eq!(reasons.iter().filter(|r| **r == "referral_stage").count(), 1, "{refs}");
        let stats = get(&server, admin, &format!("/api/v1/referral-programs/{id}/stats")).await;
        assert_eq!(stats["inviters"], 1);
        assert_eq!(stats["invitees"], 5);
        assert_eq!(stats["converted"], 5);
        assert_eq!(stats["k_factor"], 5.0);
        assert_eq!(stats["generations"][0]["k_factor"], 5.0);
    }
}
