//! Group buying (拼团) end to end, on SQLite and PostgreSQL: seats never oversubscribed,
//! success with the leader's reward, failure with every seat refunded once, virtual
//! completion, and stats.

mod common;

use std::time::Duration;

use common::*;
use quanzi_domain::ids::WorkspaceId;
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

async fn campaign(server: &TestServer, key: &str, extra: Value) -> String {
    let mut body = json!({
        "name": "3人团", "sku": "tea", "group_price_fen": 6900, "original_price_fen": 9900,
        "group_size": 3, "duration_hours": 24, "leader_points": 100,
        "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(30 * 86_400)).to_rfc3339(),
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let response = post(server, key, "/api/v1/group-buys", body).await;
    assert_eq!(response.status(), 201);
    json(response).await["id"].as_str().unwrap().to_owned()
}

/// A member who paid for the campaign SKU: (member id, order number, order id).
async fn buyer(server: &TestServer, key: &str, name: &str) -> (String, String, String) {
    let m = member(server, key, name).await;
    let order_no = format!("gb-{name}");
    let id = order(
        server,
        key,
        &order_no,
        name,
        json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 6900}]),
        0,
    )
    .await;
    (m, order_no, id)
}

async fn seat(
    server: &TestServer,
    key: &str,
    path: &str,
    who: &(String, String, String),
) -> Response {
    post(
        server,
        key,
        path,
        json!({"member_id": who.0, "order_id": who.1}),
    )
    .await
}

async fn order_status(server: &TestServer, key: &str, id: &str) -> (String, usize) {
    let body = get(server, key, &format!("/api/v1/orders/{id}")).await;
    (
        body["status"].as_str().unwrap().to_owned(),
        body["refunds"].as_array().map_or(0, Vec::len),
    )
}

on_both_backends! {
    a_full_group_succeeds_and_pays_its_leader(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let id = campaign(&server, admin, json!({})).await;
        let a = buyer(&server, admin, "a").await;
        let b = buyer(&server, admin, "b").await;
        let c = buyer(&server, admin, "c").await;
        let d = buyer(&server, admin, "d").await;
        let opened = seat(&server, admin, &format!("/api/v1/group-buys/{id}/groups"), &a).await;
        assert_eq!(opened.status(), 201);
        let group = json(opened).await["id"].as_str().unwrap().to_owned();
        let join = format!("/api/v1/groups/{group}/join");
        // Someone else's order buys nothing.
        let (_, field) = error_of(post(&server, admin, &join, json!({"member_id": d.0, "order_id": a.1})).await, 400).await;
        assert_eq!(field.as_deref(), Some("order_id"));
        assert_eq!(json(seat(&server, admin, &join, &b).await).await["joined"], 2);
        let (code, _) = error_of(seat(&server, admin, &join, &b).await, 409).await;
        assert_eq!(code, "already_in_group");
        let full = json(seat(&server, admin, &join, &c).await).await;
        assert_eq!(full["status"], "succeeded");
        assert_eq!(full["seats_left"], 0);
        let (code, _) = error_of(seat(&server, admin, &join, &d).await, 409).await;
        assert_eq!(code, "group_full");
        let pending = get(&server, admin, &format!("/api/v1/members/{}/points/pending", a.0)).await;
        let leader_points: i64 = pending["items"].as_array().unwrap().iter()
            .filter(|p| p["debit"].as_str().is_some_and(|s| s.starts_with("source:group_buy.")))
            .map(|p| p["amount"].as_i64().unwrap()).sum();
        assert_eq!(leader_points, 100, "{pending}");
        // A leader may lead one group of this campaign.
        let (code, _) = error_of(seat(&server, admin, &format!("/api/v1/group-buys/{id}/groups"), &a).await, 409).await;
        assert!(["group_limit_reached", "order_already_used"].contains(&code.as_str()), "{code}");
    }

    concurrent_joiners_never_take_more_seats_than_there_are(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let id = campaign(&server, admin, json!({"group_size": 3})).await;
        let leader = buyer(&server, admin, "leader").await;
        let group = json(seat(&server, admin, &format!("/api/v1/group-buys/{id}/groups"), &leader).await).await["id"].as_str().unwrap().to_owned();
        let mut joiners = Vec::new();
        for i in 0..12 {
            joiners.push(buyer(&server, admin, &format!("j{i}")).await);
        }
        let join = format!("/api/v1/groups/{group}/join");
        let attempts = joiners.iter().map(|j| seat(&server, admin, &join, j));
        let mut ok = 0;
        for response in futures_util::future::join_all(attempts).await {
            if response.status() == 200 {
                ok += 1;
            } else {
                let (code, _) = error_of(response, 409).await;
                assert!(["group_full", "group_closed"].contains(&code.as_str()), "{code}");
            }
        }
        assert_eq!(ok, 2);
        let body = get(&server, admin, &format!("/api/v1/groups/{group}")).await;
        assert_eq!(body["joined"], 3);
        assert_eq!(body["members"].as_array().unwrap().len(), 3);
    }

    an_unfilled_group_fails_at_expiry_and_refunds_every_seat_once(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let id = campaign(&server, admin, json!({"group_size": 4})).await;
        let a = buyer(&server, admin, "a").await;
        let b = buyer(&server, admin, "b").await;
        let group = json(seat(&server, admin, &format!("/api/v1/group-buys/{id}/groups"), &a).await).await["id"].as_str().unwrap().to_owned();
        assert_eq!(seat(&server, admin, &format!("/api/v1/groups/{group}/join"), &b).await.status(), 200);
        server.clock.advance(Duration::from_secs(24 * 3_600 + 1));
        for _ in 0..3 {
            quanzi_app::jobs::social::sweep(&server.app).await.unwrap();
        }
        let body = get(&server, admin, &format!("/api/v1/groups/{group}")).await;
        assert_eq!(body["status"], "failed");
        assert!(body["members"].as_array().unwrap().iter().all(|m| m["refunded_at"].is_string()), "{body}");
        for who in [&a, &b] {
            assert_eq!(order_status(&server, admin, &who.2).await, ("refunded".to_owned(), 1), "one refund per seat");
        }
        let ws = WorkspaceId::from_trusted(tenant.workspace_id.clone());
        let facts = server.app.store.domain_events_for(&ws, &group).await.unwrap();
        let refunds: Vec<_> = facts.iter().filter(|(topic, _)| topic == "group_buy.refund_required").collect();
        assert_eq!(refunds.len(), 2, "{facts:?}");
        // Nobody joins a group that has ended.
        let c = buyer(&server, admin, "c").await;
        let (code, _) = error_of(seat(&server, admin, &format!("/api/v1/groups/{group}/join"), &c).await, 409).await;
        assert_eq!(code, "group_closed");
        let stats = get(&server, admin, &format!("/api/v1/group-buys/{id}/stats")).await;
        assert_eq!(stats["failed"], 1);
        assert_eq!(stats["joins"], 2);
    }

    virtual_completion_succeeds_a_group_above_its_threshold(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let id = campaign(&server, admin, json!({"group_size": 4, "virtual_completion_percent": 50})).await;
        assert_eq!(get(&server, admin, &format!("/api/v1/group-buys/{id}")).await["virtual_completion_percent"], 50);
        let a = buyer(&server, admin, "a").await;
        let b = buyer(&server, admin, "b").await;
        let group = json(seat(&server, admin, &format!("/api/v1/group-buys/{id}/groups"), &a).await).await["id"].as_str().unwrap().to_owned();
        seat(&server, admin, &format!("/api/v1/groups/{group}/join"), &b).await;
        server.clock.advance(Duration::from_secs(24 * 3_600 + 1));
        quanzi_app::jobs::social::sweep(&server.app).await.unwrap();
        let body = get(&server, admin, &format!("/api/v1/groups/{group}")).await;
        assert_eq!(body["status"], "succeeded_virtually");
        assert_eq!(order_status(&server, admin, &a.2).await.0, "paid", "nobody is refunded");
    }

    bad_campaigns_are_refused_with_the_field_to_fix(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        for (extra, field) in [
            (json!({"group_size": 1}), "group_size"),
            (json!({"group_price_fen": 9900}), "group_price_fen"),
            (json!({"duration_hours": 0}), "duration_hours"),
            (json!({"virtual_completion_percent": 100}), "virtual_completion_percent"),
        ] {
            let mut body = json!({
                "name": "x", "sku": "tea", "group_price_fen": 6900, "original_price_fen": 9900, "group_size": 3,
                "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(86_400)).to_rfc3339(),
            });
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            let (_, got) = error_of(post(&server, admin, "/api/v1/group-buys", body).await, 400).await;
            assert_eq!(got.as_deref(), Some(field));
        }
        assert_eq!(get(&server, admin, "/api/v1/group-buys").await["items"], json!([]));
    }
}
