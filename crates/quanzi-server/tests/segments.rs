//! Segments through the API, on SQLite and PostgreSQL.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn share(id: &str, device: &str) -> Value {
    json!({"event_id": id, "type": "share", "identity": {"kind": "device_id", "value": device}})
}

on_both_backends! {
    sharers_without_recent_orders_form_a_segment(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = &tenant.admin_key;
        // d1 shared twice and never ordered; d2 shared twice and ordered; d3 shared once.
        let events = json!([share("s1", "d1"), share("s2", "d1"), share("s3", "d2"), share("s4", "d2"), share("s5", "d3")]);
        assert_eq!(server.as_key(key, Method::POST, "/api/v1/events").json(&json!({"events": events})).send().await.unwrap().status(), 200);
        let order = json!({"external_id": "T1", "buyer": {"kind": "device_id", "value": "d2"}, "items": [{"sku": "x", "quantity": 1, "unit_price_fen": 100}]});
        assert_eq!(server.as_key(key, Method::POST, "/api/v1/orders").json(&order).send().await.unwrap().status(), 201);
        let condition = json!({"all": [
            {"event": {"type": "share", "within_days": 30, "op": "gte", "count": 2}},
            {"not": {"order": {"within_days": 60, "op": "gte", "count": 1}}}
        ]});
        let preview = json(server.as_key(key, Method::POST, "/api/v1/segments/preview").json(&json!({"condition": condition})).send().await.unwrap()).await;
        assert_eq!(preview["count"], 1);
        let d1 = json(server.as_key(key, Method::GET, "/api/v1/members/lookup?kind=device_id&value=d1").send().await.unwrap()).await;
        let d1 = d1["id"].as_str().unwrap().to_owned();
        assert_eq!(preview["sample"], json!([d1]));

        let bad = server.as_key(key, Method::POST, "/api/v1/segments/preview")
            .json(&json!({"condition": {"all": [{"event": {"type": "share", "within_days": 0, "op": "gte", "count": 2}}]}})).send().await.unwrap();
        let (_, field) = error_of(bad, 400).await;
        assert_eq!(field.as_deref(), Some("condition.all[0].event.within_days"));
        let bad = server.as_key(key, Method::POST, "/api/v1/segments/preview")
            .json(&json!({"condition": {"any": [{"trait": {"name": "city", "eq": "杭州"}}, {"lifecycle": {"in": ["sleepy"]}}]}})).send().await.unwrap();
        let (_, field) = error_of(bad, 400).await;
        assert_eq!(field.as_deref(), Some("condition.any[1].lifecycle.in[0]"));
        let bad = server.as_key(key, Method::POST, "/api/v1/segments/preview").json(&json!({"condition": {"magic": {}}})).send().await.unwrap();
        let (_, field) = error_of(bad, 400).await;
        assert_eq!(field.as_deref(), Some("condition"));

        let created = server.as_key(key, Method::POST, "/api/v1/segments").json(&json!({"name": "沉默分享者", "condition": condition})).send().await.unwrap();
        assert_eq!(created.status(), 201);
        let created = json(created).await;
        assert_eq!(created["member_count"], 1);
        let id = created["id"].as_str().unwrap().to_owned();
        let (code, _) = error_of(server.as_key(key, Method::POST, "/api/v1/segments").json(&json!({"name": "沉默分享者", "condition": condition})).send().await.unwrap(), 409).await;
        assert_eq!(code, "segment_exists");
        let of_member = json(server.as_key(key, Method::GET, &format!("/api/v1/members/{d1}/segments")).send().await.unwrap()).await;
        assert_eq!(of_member["items"][0]["id"], id.as_str());
        let csv = server.as_key(key, Method::GET, &format!("/api/v1/segments/{id}/export.csv")).send().await.unwrap();
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        assert_eq!(csv, format!("member_id,identities\n{d1},\"device_id:d1\"\n"));

        // d1 orders: after a refresh the segment is empty.
        let order = json!({"external_id": "T2", "buyer": {"kind": "device_id", "value": "d1"}, "items": [{"sku": "x", "quantity": 1, "unit_price_fen": 100}]});
        server.as_key(key, Method::POST, "/api/v1/orders").json(&order).send().await.unwrap();
        let refreshed = json(server.as_key(key, Method::POST, &format!("/api/v1/segments/{id}/refresh")).send().await.unwrap()).await;
        assert_eq!(refreshed["member_count"], 0);

        let other = server.tenant("b").await;
        error_of(server.as_key(&other.admin_key, Method::GET, &format!("/api/v1/segments/{id}")).send().await.unwrap(), 404).await;
        let theirs = json(server.as_key(&other.admin_key, Method::POST, "/api/v1/segments/preview").json(&json!({"condition": {"all": []}})).send().await.unwrap()).await;
        assert_eq!(theirs["count"], 0, "another workspace's members are not counted");
    }

    analysts_preview_but_do_not_save(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let add = server.as_key(&tenant.admin_key, Method::POST, "/api/v1/operators")
            .json(&json!({"email": "analyst@a.example", "name": "A", "password": PASSWORD, "role": "analyst"})).send().await.unwrap();
        assert_eq!(add.status(), 201);
        let login = server.request(Method::POST, "/api/v1/sessions").json(&json!({"email": "analyst@a.example", "password": PASSWORD})).send().await.unwrap();
        let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let csrf = json(login).await["csrf_token"].as_str().unwrap().to_owned();
        let preview = server.request(Method::POST, "/api/v1/segments/preview").header("cookie", &cookie).header("x-csrf-token", &csrf)
            .json(&json!({"condition": {"all": []}})).send().await.unwrap();
        assert_eq!(preview.status(), 200);
        let create = server.request(Method::POST, "/api/v1/segments").header("cookie", &cookie).header("x-csrf-token", &csrf)
            .json(&json!({"name": "x", "condition": {"all": []}})).send().await.unwrap();
        error_of(create, 403).await;
    }
}

on_both_backends! {
    tags_by_hand_and_by_rule_feed_segments(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = &tenant.admin_key;
        let events = json!([share("t1", "fan"), share("t2", "fan"), share("t3", "casual")]);
        server.as_key(key, Method::POST, "/api/v1/events").json(&json!({"events": events})).send().await.unwrap();
        let group = json(server.as_key(key, Method::POST, "/api/v1/tag-groups").json(&json!({"name": "口味偏好"})).send().await.unwrap()).await;
        let group_id = group["id"].as_str().unwrap().to_owned();
        error_of(server.as_key(key, Method::POST, "/api/v1/tag-groups").json(&json!({"name": "口味偏好"})).send().await.unwrap(), 409).await;
        let sweet = json(server.as_key(key, Method::POST, "/api/v1/tags").json(&json!({"group_id": group_id, "name": "爱吃甜"})).send().await.unwrap()).await;
        let sweet_id = sweet["id"].as_str().unwrap().to_owned();
        let sharer = server.as_key(key, Method::POST, "/api/v1/tags").json(&json!({"group_id": group_id, "name": "分享达人",
            "rule": {"event": {"type": "share", "within_days": 30, "op": "gte", "count": 2}}})).send().await.unwrap();
        assert_eq!(sharer.status(), 201);
        let sharer = json(sharer).await;
        let sharer_id = sharer["id"].as_str().unwrap().to_owned();
        let (_, field) = error_of(server.as_key(key, Method::POST, "/api/v1/tags").json(&json!({"group_id": group_id, "name": "x",
            "rule": {"event": {"type": "share", "within_days": 0, "op": "gte", "count": 2}}})).send().await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("rule.event.within_days"));
        let (_, field) = error_of(server.as_key(key, Method::POST, "/api/v1/tags").json(&json!({"group_id": "tgg_nope", "name": "x"})).send().await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("group_id"));

        let casual = json(server.as_key(key, Method::GET, "/api/v1/members/lookup?kind=device_id&value=casual").send().await.unwrap()).await;
        let casual = casual["id"].as_str().unwrap().to_owned();
        let tagged = json(server.as_key(key, Method::POST, &format!("/api/v1/members/{casual}/tags")).json(&json!({"tag_id": sweet_id})).send().await.unwrap()).await;
        assert_eq!(tagged["items"][0]["source"], "manual");
        let fan = json(server.as_key(key, Method::GET, "/api/v1/members/lookup?kind=device_id&value=fan").send().await.unwrap()).await;
        let fan_tags = json(server.as_key(key, Method::GET, &format!("/api/v1/members/{}/tags", fan["id"].as_str().unwrap())).send().await.unwrap()).await;
        assert_eq!(fan_tags["items"][0]["tag"]["id"], sharer_id.as_str());
        assert_eq!(fan_tags["items"][0]["source"], "rule");

        let by_tag = |tag: &str| server.as_key(key, Method::POST, "/api/v1/segments/preview").json(&json!({"condition": {"tag": {"id": tag}}})).send();
        assert_eq!(json(by_tag(&sweet_id).await.unwrap()).await["sample"], json!([casual]));
        assert_eq!(json(by_tag(&sharer_id).await.unwrap()).await["count"], 1);
        let groups = json(server.as_key(key, Method::GET, "/api/v1/tag-groups").send().await.unwrap()).await;
        assert_eq!(groups["items"][0]["tags"].as_array().unwrap().len(), 2);
        let untagged = json(server.as_key(key, Method::DELETE, &format!("/api/v1/members/{casual}/tags/{sweet_id}")).send().await.unwrap()).await;
        assert!(untagged["items"].as_array().unwrap().is_empty());
        let other = server.tenant("b").await;
        error_of(server.as_key(&other.admin_key, Method::POST, &format!("/api/v1/members/{casual}/tags")).json(&json!({"tag_id": sweet_id})).send().await.unwrap(), 404).await;
    }
}

on_both_backends! {
    tags_and_consents_follow_a_merge_and_the_latest_consent_wins(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = &tenant.admin_key;
        let identify = |identities: Value| server.as_key(key, Method::POST, "/api/v1/members/identify").json(&json!({"identities": identities})).send();
        let older = json(identify(json!([{"kind": "device_id", "value": "m-old"}])).await.unwrap()).await["member"]["id"].as_str().unwrap().to_owned();
        server.clock.advance(std::time::Duration::from_secs(60));
        let newer = json(identify(json!([{"kind": "device_id", "value": "m-new"}])).await.unwrap()).await["member"]["id"].as_str().unwrap().to_owned();
        let consent = |member: &str, granted: bool| server.as_key(key, Method::PUT, &format!("/api/v1/members/{member}/consents/sms"))
            .json(&json!({"granted": granted, "source": "test"})).send();
        consent(&older, true).await.unwrap();
        server.clock.advance(std::time::Duration::from_secs(60));
        consent(&newer, false).await.unwrap();
        let group = json(server.as_key(key, Method::POST, "/api/v1/tag-groups").json(&json!({"name": "g"})).send().await.unwrap()).await;
        let tag = json(server.as_key(key, Method::POST, "/api/v1/tags").json(&json!({"group_id": group["id"], "name": "t"})).send().await.unwrap()).await;
        server.as_key(key, Method::POST, &format!("/api/v1/members/{newer}/tags")).json(&json!({"tag_id": tag["id"]})).send().await.unwrap();

        let merged = json(identify(json!([{"kind": "device_id", "value": "m-old"}, {"kind": "device_id", "value": "m-new"}])).await.unwrap()).await;
        assert_eq!(merged["member"]["id"], older.as_str());
        let consents = json(server.as_key(key, Method::GET, &format!("/api/v1/members/{older}/consents")).send().await.unwrap()).await;
        assert_eq!(consents["items"][0]["granted"], false, "the newer member's later withdrawal stands");
        let tags = json(server.as_key(key, Method::GET, &format!("/api/v1/members/{older}/tags")).send().await.unwrap()).await;
        assert_eq!(tags["items"][0]["tag"]["id"], tag["id"]);
    }
}
