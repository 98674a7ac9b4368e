//! Anti-fraud end to end, on SQLite and PostgreSQL: a referral reward whose invitee
//! shares a device with another invitee is held with the reason, paid on approval or never
//! on rejection, decided once; bargain helpers younger than the minimum age are refused.

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

/// A referral program paying 100 points per invitee, and an inviter: (member id, code).
async fn program_and_inviter(server: &TestServer, key: &str) -> (String, String) {
    let response = send(
        server,
        key,
        Method::POST,
        "/api/v1/referral-programs",
        json!({"name": "邀请有礼", "per_invitee": {"points": 100}}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let inviter = member(server, key, "inviter").await;
    let code = get(
        server,
        key,
        &format!("/api/v1/members/{inviter}/invite-code"),
    )
    .await["invite_code"]
        .as_str()
        .unwrap()
        .to_owned();
    (inviter, code)
}

/// Binds `name` (created now) through `code` from `device`, then records their first order
/// (whose id it returns).
async fn invited_buyer(
    server: &TestServer,
    key: &str,
    code: &str,
    name: &str,
    device: &str,
) -> String {
    let m = member(server, key, name).await;
    let response = send(
        server,
        key,
        Method::POST,
        "/api/v1/referrals/bind",
        json!({"invite_code": code, "member_id": m, "device_id": device, "ip": "10.0.0.9"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    order(
        server,
        key,
        &format!("o-{name}"),
        name,
        json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 5000}]),
        0,
    )
    .await
}

on_both_backends! {
    a_reward_behind_a_shared_device_is_held_until_an_operator_decides(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let (inviter, code) = program_and_inviter(&server, admin).await;
        invited_buyer(&server, admin, &code, "b", "phone-1").await;
        assert_eq!(referral_pending(&server, admin, &inviter).await, 100, "nothing suspicious yet");
        invited_buyer(&server, admin, &code, "c", "phone-1").await;
        assert_eq!(referral_pending(&server, admin, &inviter).await, 100, "the second reward is held");
        let flags = get(&server, admin, "/api/v1/fraud/flags?status=open").await;
        let flag = flags["items"][0].clone();
        assert_eq!(flag["member_id"], inviter.as_str());
        assert_eq!(flag["signals"][0]["code"], "shared_device");
        assert!(flag["signals"][0]["reason"].as_str().unwrap().contains("device"));
        let refs = get(&server, admin, &format!("/api/v1/members/{inviter}/referrals")).await;
        assert!(refs["rewards"].as_array().unwrap().iter().any(|r| r["status"] == "held"), "{refs}");
        let path = format!("/api/v1/fraud/flags/{}/review", flag["id"].as_str().unwrap());
        let approved = json(send(&server, admin, Method::POST, &path, json!({"approve": true})).await).await;
        assert_eq!(approved["status"], "approved");
        assert_eq!(referral_pending(&server, admin, &inviter).await, 200, "approval pays it");
        let (code_, _) = error_of(send(&server, admin, Method::POST, &path, json!({"approve": false})).await, 409).await;
        assert_eq!(code_, "flag_decided");
        // A third one from the same phone, rejected: never paid.
        invited_buyer(&server, admin, &code, "d", "phone-1").await;
        let flags = get(&server, admin, "/api/v1/fraud/flags?status=open").await;
        let path = format!("/api/v1/fraud/flags/{}/review", flags["items"][0]["id"].as_str().unwrap());
        assert_eq!(send(&server, admin, Method::POST, &path, json!({"approve": false})).await.status(), 200);
        assert_eq!(referral_pending(&server, admin, &inviter).await, 200);
        let refs = get(&server, admin, &format!("/api/v1/members/{inviter}/referrals")).await;
        assert!(refs["rewards"].as_array().unwrap().iter().any(|r| r["status"] == "rejected"), "{refs}");
    }

    a_held_reward_approved_after_its_order_was_refunded_pays_nothing(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let (inviter, code) = program_and_inviter(&server, admin).await;
        invited_buyer(&server, admin, &code, "b", "phone-1").await;
        let held_order = invited_buyer(&server, admin, &code, "c", "phone-1").await;
        assert_eq!(referral_pending(&server, admin, &inviter).await, 100, "the second reward is held");
        // The order behind the held reward is refunded in full before anyone reviews it.
        refund(&server, admin, &held_order, "r-c", None).await;
        let flags = get(&server, admin, "/api/v1/fraud/flags?status=open").await;
        let path = format!("/api/v1/fraud/flags/{}/review", flags["items"][0]["id"].as_str().unwrap());
        assert_eq!(send(&server, admin, Method::POST, &path, json!({"approve": true})).await.status(), 200);
        assert_eq!(referral_pending(&server, admin, &inviter).await, 100, "nothing is paid for a refunded order");
    }

    bargain_helpers_younger_than_the_minimum_age_are_refused(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let response = send(&server, admin, Method::PUT, "/api/v1/fraud/rules", json!({
            "shared_device": true, "burst": [10, 10], "inactive_invitees": null,
            "refunds_after_reward": 3, "min_account_age_minutes": 30,
        })).await;
        assert_eq!(response.status(), 200);
        let response = send(&server, admin, Method::POST, "/api/v1/bargain-campaigns", json!({
            "name": "砍价", "sku": "tea", "start_price_fen": 9900, "floor_price_fen": 990,
            "helpers_needed": 3, "min_cut_fen": 1000, "max_cut_fen": 5000,
            "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(7 * 86_400)).to_rfc3339(),
        })).await;
        let campaign = json(response).await["id"].as_str().unwrap().to_owned();
        let owner = member(&server, admin, "owner").await;
        let bargain = json(send(&server, admin, Method::POST, &format!("/api/v1/bargain-campaigns/{campaign}/bargains"), json!({"member_id": owner})).await).await["id"].as_str().unwrap().to_owned();
        let fresh = member(&server, admin, "fresh").await;
        let help = format!("/api/v1/bargains/{bargain}/helps");
        let (code, _) = error_of(send(&server, admin, Method::POST, &help, json!({"member_id": fresh})).await, 409).await;
        assert_eq!(code, "flagged_young_account");
        server.clock.advance(Duration::from_secs(31 * 60));
        assert_eq!(send(&server, admin, Method::POST, &help, json!({"member_id": fresh})).await.status(), 201);
        let (_, field) = error_of(send(&server, admin, Method::PUT, "/api/v1/fraud/rules", json!({
            "shared_device": true, "burst": [1, 10],
        })).await, 400).await;
        assert_eq!(field.as_deref(), Some("burst"));
    }
}
