//! OneID, events and orders end to end, on SQLite and PostgreSQL.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn identify(server: &TestServer, key: &str, identities: Value) -> (u16, Value) {
    let response = server
        .as_key(key, Method::POST, "/api/v1/members/identify")
        .json(&json!({"identities": identities}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, json(response).await)
}

async fn send_events(server: &TestServer, key: &str, events: Value) -> Value {
    let response = server
        .as_key(key, Method::POST, "/api/v1/events")
        .json(&json!({"events": events}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    json(response).await
}

/// The member an identity belongs to (`GET /api/v1/members/lookup`), as JSON.
async fn lookup(server: &TestServer, key: &str, kind: &str, value: &str) -> Value {
    let path = format!("/api/v1/members/lookup?kind={kind}&value={value}");
    json(server.as_key(key, Method::GET, &path).send().await.unwrap()).await
}

fn event(id: &str, kind: &str, value: &str, event_type: &str) -> Value {
    json!({"event_id": id, "type": event_type, "identity": {"kind": kind, "value": value}, "channel": "wechat"})
}

on_both_backends! {
    identify_creates_links_and_masks(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let (status, first) = identify(&server, &tenant.admin_key, json!([{"kind": "phone", "value": "138 1234 1234"}])).await;
        assert_eq!(status, 201);
        let id = first["member"]["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("mem_"));
        assert_eq!(first["member"]["identities"][0]["display"], "138****1234");
        assert!(!first.to_string().contains("13812341234"));
        let (status, again) = identify(&server, &tenant.admin_key, json!([{"kind": "phone", "value": "+8613812341234"}, {"kind": "wechat_openid", "value": "oX1"}])).await;
        assert_eq!(status, 200);
        assert_eq!(again["member"]["id"], id.as_str());
        assert_eq!(again["member"]["identities"].as_array().unwrap().len(), 2);
        let found = lookup(&server, &tenant.admin_key, "phone", "13812341234").await;
        assert_eq!(found["id"], id.as_str());
        let (_, field) = error_of(server.as_key(&tenant.admin_key, Method::POST, "/api/v1/members/identify")
            .json(&json!({"identities": [{"kind": "qq", "value": "1"}]})).send().await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("identities[0].kind"));
        let (_, field) = error_of(server.as_key(&tenant.admin_key, Method::POST, "/api/v1/members/identify")
            .json(&json!({"identities": [{"kind": "phone", "value": "12"}]})).send().await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("identities[0].value"));
    }

    identities_never_cross_workspaces(backend) {
        let server = TestServer::start(backend).await;
        let a = server.tenant("a").await;
        let b = server.tenant("b").await;
        let (_, in_a) = identify(&server, &a.admin_key, json!([{"kind": "wechat_unionid", "value": "u-1"}])).await;
        let missing = server.as_key(&b.admin_key, Method::GET, "/api/v1/members/lookup?kind=wechat_unionid&value=u-1").send().await.unwrap();
        error_of(missing, 404).await;
        let a_id = in_a["member"]["id"].as_str().unwrap();
        error_of(server.as_key(&b.admin_key, Method::GET, &format!("/api/v1/members/{a_id}")).send().await.unwrap(), 404).await;
        let (status, in_b) = identify(&server, &b.admin_key, json!([{"kind": "wechat_unionid", "value": "u-1"}])).await;
        assert_eq!(status, 201, "the same identity in another workspace is another member");
        assert_ne!(in_b["member"]["id"], in_a["member"]["id"]);
    }

    naming_two_members_merges_them_into_the_older(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = &tenant.admin_key;
        let (_, older) = identify(&server, key, json!([{"kind": "wechat_openid", "value": "o-1"}])).await;
        server.clock.advance(Duration::from_secs(60));
        let (_, newer) = identify(&server, key, json!([{"kind": "douyin_id", "value": "d-1"}])).await;
        let (older, newer) = (older["member"]["id"].as_str().unwrap().to_owned(), newer["member"]["id"].as_str().unwrap().to_owned());
        send_events(&server, key, json!([event("e1", "douyin_id", "d-1", "share"), event("e2", "wechat_openid", "o-1", "page_view")])).await;
        let order = server.as_key(key, Method::POST, "/api/v1/orders").json(&json!({
            "external_id": "T1", "buyer": {"kind": "douyin_id", "value": "d-1"},
            "items": [{"sku": "apple", "quantity": 2, "unit_price_fen": 1500}]})).send().await.unwrap();
        assert_eq!(order.status(), 201);

        let (status, merged) = identify(&server, key, json!([{"kind": "wechat_openid", "value": "o-1"}, {"kind": "douyin_id", "value": "d-1"}, {"kind": "phone", "value": "13900001111"}])).await;
        assert_eq!(status, 200);
        assert_eq!(merged["member"]["id"], older.as_str());
        assert_eq!(merged["merged"], json!([newer]));
        assert_eq!(merged["member"]["identities"].as_array().unwrap().len(), 3);
        assert_eq!(merged["member"]["profile"]["event_count"], 2);
        assert_eq!(merged["member"]["profile"]["order_count"], 1);
        assert_eq!(merged["member"]["profile"]["gmv_fen"], 3000);
        assert_eq!(merged["member"]["merges"][0]["merged_id"], newer.as_str());
        let via_old_id = json(server.as_key(key, Method::GET, &format!("/api/v1/members/{newer}")).send().await.unwrap()).await;
        assert_eq!(via_old_id["id"], older.as_str(), "a merged id answers with the survivor");
        let timeline = json(server.as_key(key, Method::GET, &format!("/api/v1/members/{older}/timeline")).send().await.unwrap()).await;
        let kinds: HashSet<&str> = timeline["items"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, HashSet::from(["event", "order", "merge"]));
        // Naming them together again changes nothing.
        let (status, again) = identify(&server, key, json!([{"kind": "wechat_openid", "value": "o-1"}, {"kind": "douyin_id", "value": "d-1"}])).await;
        assert_eq!(status, 200);
        assert_eq!(again["merged"], json!([]));
        assert_eq!(again["member"]["profile"]["order_count"], 1);
    }

    concurrent_chained_identifies_end_in_one_member_holding_everything(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = &tenant.admin_key;
        const N: usize = 12;
        // Every identity starts as its own member with one event.
        for i in 0..N {
            identify(&server, key, json!([{"kind": "device_id", "value": format!("dev-{i}")}])).await;
        }
        let events: Vec<Value> = (0..N).map(|i| event(&format!("ev-{i}"), "device_id", &format!("dev-{i}"), "click")).collect();
        send_events(&server, key, Value::Array(events)).await;
        // Then link them pairwise in a chain, all at once: A–B, B–C, C–D, …
        let calls = (0..N - 1).map(|i| identify(&server, key, json!([
            {"kind": "device_id", "value": format!("dev-{i}")},
            {"kind": "device_id", "value": format!("dev-{}", i + 1)},
        ])));
        for (status, body) in futures_util::future::join_all(calls).await {
            assert!(status == 200, "{status}: {body}");
        }
        let mut ids = HashSet::new();
        for i in 0..N {
            let found = lookup(&server, key, "device_id", &format!("dev-{i}")).await;
            ids.insert(found["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(ids.len(), 1, "one member holds every identity");
        let id = ids.into_iter().next().unwrap();
        let member = json(server.as_key(key, Method::GET, &format!("/api/v1/members/{id}")).send().await.unwrap()).await;
        assert_eq!(member["identities"].as_array().unwrap().len(), N);
        assert_eq!(member["profile"]["event_count"], N as i64, "no event was lost or counted twice");
        let workspace = quanzi_domain::ids::WorkspaceId::parse(&tenant.workspace_id).unwrap();
        assert_eq!(server.app.store.live_member_count(&workspace).await.unwrap(), 1);
        assert_eq!(server.app.store.count_events(&workspace).await.unwrap(), N as i64);
    }

    a_batch_sent_five_times_stores_each_event_once(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let batch: Vec<Value> = (0..50).map(|i| event(&format!("b-{i}"), "wechat_openid", &format!("o-{}", i % 7), "page_view")).collect();
        let mut accepted = 0;
        for round in 0..5 {
            let mut events = batch.clone();
            events.push(event(&format!("new-{round}"), "wechat_openid", "o-new", "share"));
            let report = send_events(&server, &tenant.admin_key, Value::Array(events)).await;
            accepted += report["accepted"].as_u64().unwrap();
            if round == 0 {
                assert_eq!(report["accepted"], 51);
                assert_eq!(report["duplicates"], 0);
            } else {
                assert_eq!(report["accepted"], 1);
                assert_eq!(report["duplicates"], 50);
            }
        }
        assert_eq!(accepted, 55);
        let workspace = quanzi_domain::ids::WorkspaceId::parse(&tenant.workspace_id).unwrap();
        assert_eq!(server.app.store.count_events(&workspace).await.unwrap(), 55);
        let member = lookup(&server, &tenant.admin_key, "wechat_openid", "o-new").await;
        assert_eq!(member["profile"]["event_count"], 5);
        assert_eq!(member["profile"]["acquisition_channel"], "wechat");
    }

    bad_rows_are_reported_by_index_and_good_rows_stored(backend) {
        let server = TestServer::start_with(backend, |c| c.server.body_limit_bytes = 2 * 1024 * 1024).await;
        let tenant = server.tenant("a").await;
        let now_ms = server.app.clock.now().millis();
        let events = json!([
            event("ok-1", "phone", "13800000001", "page_view"),
            {"event_id": "bad-type", "type": "Page View", "identity": {"kind": "phone", "value": "13800000001"}},
            {"event_id": "bad-kind", "type": "click", "identity": {"kind": "qq", "value": "1"}},
            "not an object",
            {"event_id": "future", "type": "click", "identity": {"kind": "phone", "value": "13800000001"}, "timestamp": now_ms + 3_600_000},
            {"event_id": "late", "type": "click", "identity": {"kind": "phone", "value": "13800000001"}, "timestamp": "2020-01-01T00:00:00+08:00"},
            {"event_id": "ok-1", "type": "click", "identity": {"kind": "phone", "value": "13800000001"}},
            {"type": "click", "identity": {"kind": "phone", "value": "13800000001"}},
            {"event_id": "props", "type": "click", "identity": {"kind": "phone", "value": "13800000001"}, "properties": [1]},
        ]);
        let report = send_events(&server, &tenant.admin_key, events).await;
        assert_eq!(report["accepted"], 2, "{report}");
        assert_eq!(report["duplicates"], 1);
        let rejected: Vec<(u64, String)> = report["rejected"].as_array().unwrap().iter()
            .map(|r| (r["index"].as_u64().unwrap(), r["field"].as_str().unwrap().to_owned())).collect();
        assert_eq!(rejected, vec![
            (1, "events[1].type".to_owned()),
            (2, "events[2].identity.kind".to_owned()),
            (3, "events[3]".to_owned()),
            (4, "events[4].timestamp".to_owned()),
            (7, "events[7].event_id".to_owned()),
            (8, "events[8].properties".to_owned()),
        ]);
        let member = lookup(&server, &tenant.admin_key, "phone", "13800000001").await;
        assert_eq!(member["profile"]["first_seen_at"], "2019-12-31T16:00:00.000Z", "late events count");
        let too_many: Vec<Value> = (0..1001).map(|i| event(&format!("x{i}"), "device_id", "d", "click")).collect();
        let (_, field) = error_of(server.as_key(&tenant.admin_key, Method::POST, "/api/v1/events")
            .json(&json!({"events": too_many})).send().await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("events"));
        let ingest_key = server.key_with(&tenant, &["ingest"]).await;
        assert_eq!(server.as_key(&ingest_key, Method::POST, "/api/v1/events").json(&json!({"events": [event("k", "device_id", "d", "click")]})).send().await.unwrap().status(), 200);
        let admin_only = server.key_with(&tenant, &["admin"]).await;
        error_of(server.as_key(&admin_only, Method::POST, "/api/v1/events").json(&json!({"events": [event("k2", "device_id", "d", "click")]})).send().await.unwrap(), 403).await;
    }

    orders_are_idempotent_by_number_and_refunds_return_what_was_paid(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = &tenant.admin_key;
        let order = json!({
            "external_id": "T-100", "buyer": {"kind": "phone", "value": "13700001111"}, "channel": "douyin", "kol_id": "kol_7",
            "items": [{"sku": "peach", "category": "fruit", "quantity": 3, "unit_price_fen": 1000}, {"sku": "box", "quantity": 1, "unit_price_fen": 500}],
            "order_discount_fen": 700, "shipping_fen": 800, "paid_fen": 3600, "coupons": ["FULL30-7"]});
        let created = server.as_key(key, Method::POST, "/api/v1/orders").json(&order).send().await.unwrap();
        assert_eq!(created.status(), 201);
        let created = json(created).await;
        assert_eq!(created["paid_fen"], 3600);
        assert_eq!(created["items"][0]["net_fen"].as_i64().unwrap() + created["items"][1]["net_fen"].as_i64().unwrap(), 2800);
        let id = created["id"].as_str().unwrap().to_owned();
        let again = server.as_key(key, Method::POST, "/api/v1/orders").json(&order).send().await.unwrap();
        assert_eq!(again.status(), 200);
        assert_eq!(json(again).await["id"], id.as_str());
        let mut changed = order.clone();
        changed["items"][0]["quantity"] = json!(4);
        changed["paid_fen"] = json!(4600);
        let (code, _) = error_of(server.as_key(key, Method::POST, "/api/v1/orders").json(&changed).send().await.unwrap(), 409).await;
        assert_eq!(code, "order_conflict");
        let mut wrong_total = order.clone();
        wrong_total["external_id"] = json!("T-101");
        wrong_total["paid_fen"] = json!(1);
        let (_, field) = error_of(server.as_key(key, Method::POST, "/api/v1/orders").json(&wrong_total).send().await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("paid_fen"));

        let refund = |body: Value| server.as_key(key, Method::POST, &format!("/api/v1/orders/{id}/refunds")).json(&body).send();
        let partial = refund(json!({"external_id": "R-1", "items": [{"line": 0, "quantity": 1}], "reason": "七天无理由"})).await.unwrap();
        assert_eq!(partial.status(), 201);
        let partial = json(partial).await;
        assert_eq!(partial["order_status"], "partially_refunded");
        let first_amount = partial["refund"]["amount_fen"].as_i64().unwrap();
        assert_eq!(refund(json!({"external_id": "R-1", "items": [{"line": 0, "quantity": 1}], "reason": "七天无理由"})).await.unwrap().status(), 200);
        let (_, field) = error_of(refund(json!({"external_id": "R-2", "items": [{"line": 0, "quantity": 5}]})).await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("items[0].quantity"));
        let rest = json(refund(json!({"external_id": "R-3"})).await.unwrap()).await;
        assert_eq!(rest["order_status"], "refunded");
        assert_eq!(first_amount + rest["refund"]["amount_fen"].as_i64().unwrap(), 3600, "refunds add up to what was paid");
        error_of(refund(json!({"external_id": "R-4"})).await.unwrap(), 400).await;

        let member = lookup(&server, key, "phone", "13700001111").await;
        assert_eq!(member["profile"]["gmv_fen"], 3600);
        assert_eq!(member["profile"]["refund_fen"], 3600);
        assert_eq!(member["profile"]["acquisition_channel"], "douyin");
        let workspace = quanzi_domain::ids::WorkspaceId::parse(&tenant.workspace_id).unwrap();
        let facts = server.app.store.domain_events_for(&workspace, &id).await.unwrap();
        let topics: Vec<&str> = facts.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(topics, vec!["order.paid", "order.refunded", "order.refunded"], "the outbox carries the hooks");
        let other = server.tenant("b").await;
        error_of(server.as_key(&other.admin_key, Method::POST, &format!("/api/v1/orders/{id}/refunds")).json(&json!({"external_id": "X"})).send().await.unwrap(), 404).await;
    }

    concurrent_submissions_and_refunds_keep_the_money_right(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = &tenant.admin_key;
        let order = json!({"external_id": "T-9", "buyer": {"kind": "external_id", "value": "u-9"},
            "items": [{"sku": "tea", "quantity": 5, "unit_price_fen": 333}], "order_discount_fen": 15});
        let posts = (0..10).map(|_| server.as_key(key, Method::POST, "/api/v1/orders").json(&order).send());
        let mut created = 0;
        let mut ids = HashSet::new();
        for response in futures_util::future::join_all(posts).await {
            let response = response.unwrap();
            match response.status().as_u16() {
                201 => created += 1,
                200 => {}
                other => panic!("unexpected {other}"),
            }
            ids.insert(json(response).await["id"].as_str().unwrap().to_owned());
        }
        assert_eq!((created, ids.len()), (1, 1), "one order, however often it is sent");
        let id = ids.into_iter().next().unwrap();
        let refunds = (0..10).map(|i| server.as_key(key, Method::POST, &format!("/api/v1/orders/{id}/refunds"))
            .json(&json!({"external_id": format!("R-{i}"), "items": [{"line": 0, "quantity": 1}]})).send());
        let mut refunded = 0;
        let mut accepted = 0;
        for response in futures_util::future::join_all(refunds).await {
            let response = response.unwrap();
            match response.status().as_u16() {
                201 => {
                    accepted += 1;
                    refunded += json(response).await["refund"]["amount_fen"].as_i64().unwrap();
                }
                400 => { error_of(response, 400).await; }
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(accepted, 5, "only the five units can be refunded");
        assert_eq!(refunded, 5 * 333 - 15, "and together they return exactly what was paid");
        let member = lookup(&server, key, "external_id", "u-9").await;
        assert_eq!(member["profile"]["order_count"], 1);
        assert_eq!(member["profile"]["refund_fen"], refunded);
    }
}

on_both_backends! {
    rfm_scores_come_from_the_daily_job_and_lifecycle_follows_the_clock(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = &tenant.admin_key;
        for (i, fen) in [1000, 2000, 3000, 4000, 5000].iter().enumerate() {
            let order = json!({"external_id": format!("T-{i}"), "buyer": {"kind": "external_id", "value": format!("u-{i}")},
                "items": [{"sku": "s", "quantity": 1, "unit_price_fen": fen}]});
            assert_eq!(server.as_key(key, Method::POST, "/api/v1/orders").json(&order).send().await.unwrap().status(), 201);
        }
        let before = lookup(&server, key, "external_id", "u-4").await;
        assert!(before["rfm"].is_null());
        assert_eq!(before["lifecycle_stage"], "new");
        let job = json(server.as_key(key, Method::POST, "/api/v1/members/rfm/refresh").send().await.unwrap()).await;
        let job_id = job["job_id"].as_str().unwrap().to_owned();
        eventually(Duration::from_secs(30), || {
            let request = server.as_key(key, Method::GET, &format!("/api/v1/jobs/{job_id}")).send();
            async move { json(request.await.unwrap()).await["state"] == "done" }
        }).await;
        let best = lookup(&server, key, "external_id", "u-4").await;
        assert_eq!(best["rfm"]["monetary"], 5);
        let least = lookup(&server, key, "external_id", "u-0").await;
        assert_eq!(least["rfm"]["monetary"], 1);
        assert_eq!(least["rfm"]["frequency"], best["rfm"]["frequency"], "equal order counts score equally");

        server.clock.advance(Duration::from_secs(8 * 86_400));
        send_events(&server, key, json!([event("later", "external_id", "u-4", "share")])).await;
        let growing = lookup(&server, key, "external_id", "u-4").await;
        assert_eq!(growing["lifecycle_stage"], "growing");
        server.clock.advance(Duration::from_secs(31 * 86_400));
        let quiet = lookup(&server, key, "external_id", "u-4").await;
        assert_eq!(quiet["lifecycle_stage"], "churn_risk");
        server.clock.advance(Duration::from_secs(60 * 86_400));
        let dormant = lookup(&server, key, "external_id", "u-4").await;
        assert_eq!(dormant["lifecycle_stage"], "dormant");
    }
}

on_both_backends! {
    consent_gates_marketing_and_erasure_removes_personal_data(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = &tenant.admin_key;
        let (_, who) = identify(&server, key, json!([{"kind": "phone", "value": "13600001234"}, {"kind": "wechat_openid", "value": "o-p"}])).await;
        let id = who["member"]["id"].as_str().unwrap().to_owned();
        let set = |channel: &str, granted: bool| server.as_key(key, Method::PUT, &format!("/api/v1/members/{id}/consents/{channel}"))
            .json(&json!({"granted": granted, "source": "mini_program_signup"})).send();
        let granted = json(set("sms", true).await.unwrap()).await;
        assert_eq!(granted["items"][0]["channel"], "sms");
        assert_eq!(granted["items"][0]["granted"], true);
        server.clock.advance(Duration::from_secs(60));
        set("wecom", true).await.unwrap();
        let withdrawn = json(set("sms", false).await.unwrap()).await;
        let sms = withdrawn["items"].as_array().unwrap().iter().find(|c| c["channel"] == "sms").unwrap();
        assert_eq!(sms["granted"], false, "the latest decision stands");
        let (_, field) = error_of(set("fax", true).await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("channel"));
        let reachable = json(server.as_key(key, Method::POST, "/api/v1/segments/preview")
            .json(&json!({"condition": {"consent": {"channel": "wecom"}}})).send().await.unwrap()).await;
        assert_eq!(reachable["count"], 1);
        let by_sms = json(server.as_key(key, Method::POST, "/api/v1/segments/preview")
            .json(&json!({"condition": {"consent": {"channel": "sms"}}})).send().await.unwrap()).await;
        assert_eq!(by_sms["count"], 0, "withdrawn consent is no consent");

        send_events(&server, key, json!([{"event_id": "p1", "type": "comment", "identity": {"kind": "wechat_openid", "value": "o-p"},
            "properties": {"text": "我的电话 13600001234"}}])).await;
        let order = json!({"external_id": "P-1", "buyer": {"kind": "wechat_openid", "value": "o-p"}, "items": [{"sku": "x", "quantity": 1, "unit_price_fen": 990}]});
        server.as_key(key, Method::POST, "/api/v1/orders").json(&order).send().await.unwrap();
        let export = json(server.as_key(key, Method::GET, &format!("/api/v1/members/{id}/export")).send().await.unwrap()).await;
        assert_eq!(export["identities"].as_array().unwrap().len(), 2);
        assert!(export.to_string().contains("136****1234") && !export.to_string().contains("\"13600001234\""));
        assert_eq!(export["orders"][0]["paid_fen"], 990);
        let storefront = server.key_with(&tenant, &["storefront"]).await;
        error_of(server.as_key(&storefront, Method::GET, &format!("/api/v1/members/{id}/export")).send().await.unwrap(), 403).await;

        let erased = server.as_key(key, Method::POST, &format!("/api/v1/members/{id}/erase")).send().await.unwrap();
        assert_eq!(erased.status(), 200);
        let after = json(server.as_key(key, Method::GET, &format!("/api/v1/members/{id}/export")).send().await.unwrap()).await;
        assert!(after["identities"].as_array().unwrap().is_empty());
        assert!(after["consents"].as_array().unwrap().is_empty());
        assert_eq!(after["events"][0]["properties"], json!({}), "free text may hold personal data");
        assert_eq!(after["orders"][0]["paid_fen"], 990, "aggregates stay");
        assert!(after["member"]["erased_at"].is_string());
        error_of(server.as_key(key, Method::GET, "/api/v1/members/lookup?kind=phone&value=13600001234").send().await.unwrap(), 404).await;
        let everyone = json(server.as_key(key, Method::POST, "/api/v1/segments/preview").json(&json!({"condition": {"all": []}})).send().await.unwrap()).await;
        assert_eq!(everyone["count"], 0, "erased members leave every audience");
        let (status, again) = identify(&server, key, json!([{"kind": "phone", "value": "13600001234"}])).await;
        assert_eq!(status, 201, "the person starts afresh");
        assert_ne!(again["member"]["id"], id.as_str());
        let log = json(server.as_key(key, Method::GET, "/api/v1/audit-log").send().await.unwrap()).await;
        let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"member.erase") && actions.contains(&"member.export"));
    }
}

on_both_backends! {
    operators_find_members_by_whatever_they_have(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = &tenant.admin_key;
        let (_, li) = identify(&server, key, json!([{"kind": "phone", "value": "13512345678"}, {"kind": "wechat_unionid", "value": "uLi"}])).await;
        identify(&server, key, json!([{"kind": "email", "value": "wang@example.com"}])).await;
        let li_id = li["member"]["id"].as_str().unwrap().to_owned();
        let search = |q: &str| server.as_key(key, Method::GET, &format!("/api/v1/members?q={}", q.replace('+', "%2B").replace(' ', "%20"))).send();
        for q in ["135 1234 5678", "+8613512345678", "uLi", li_id.as_str()] {
            let found = json(search(q).await.unwrap()).await;
            assert_eq!(found["items"].as_array().unwrap().len(), 1, "{q}");
            assert_eq!(found["items"][0]["id"], li_id.as_str(), "{q}");
        }
        let found = json(search("WANG@example.com").await.unwrap()).await;
        assert_eq!(found["items"].as_array().unwrap().len(), 1);
        assert!(json(search("nobody").await.unwrap()).await["items"].as_array().unwrap().is_empty());
        let page = json(server.as_key(key, Method::GET, "/api/v1/members?limit=1").send().await.unwrap()).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        let next = page["next_cursor"].as_str().unwrap();
        let rest = json(server.as_key(key, Method::GET, &format!("/api/v1/members?limit=1&after={next}")).send().await.unwrap()).await;
        assert_eq!(rest["items"].as_array().unwrap().len(), 1);
        let other = server.tenant("b").await;
        assert!(json(server.as_key(&other.admin_key, Method::GET, "/api/v1/members?q=uLi").send().await.unwrap()).await["items"].as_array().unwrap().is_empty());
    }
}

on_both_backends! {
    overlapping_batches_sent_at_once_store_and_count_each_event_once(backend) {
        // Twelve batches at once, overlapping in event ids (in opposite orders) and in
        // new devices: on PostgreSQL two writers store groups side by side.
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let sends = (0..12).map(|round: usize| {
            let mut ids: Vec<usize> = (round * 40..round * 40 + 100).collect();
            if round % 2 == 1 {
                ids.reverse();
            }
            let events: Vec<Value> = ids.iter().map(|i| event(&format!("e-{i}"), "device_id", &format!("d-{}", i % 30), "click")).collect();
            server.as_key(&tenant.admin_key, Method::POST, "/api/v1/events").json(&json!({"events": events})).send()
        });
        let mut accepted = 0;
        for response in futures_util::future::join_all(sends).await {
            let response = response.unwrap();
            assert_eq!(response.status(), 200);
            let report = json(response).await;
            accepted += report["accepted"].as_u64().unwrap();
            assert_eq!(report["accepted"].as_u64().unwrap() + report["duplicates"].as_u64().unwrap(), 100);
        }
        let distinct = 11 * 40 + 100;
        assert_eq!(accepted, distinct, "every event id accepted exactly once");
        let ws = quanzi_domain::ids::WorkspaceId::parse(&tenant.workspace_id).unwrap();
        assert_eq!(server.app.store.count_events(&ws).await.unwrap(), distinct as i64);
        assert_eq!(server.app.store.live_member_count(&ws).await.unwrap(), 30, "one member per device");
        let mut counted = 0;
        for device in 0..30 {
            let member = lookup(&server, &tenant.admin_key, "device_id", &format!("d-{device}")).await;
            counted += member["profile"]["event_count"].as_u64().unwrap();
        }
        assert_eq!(counted, distinct, "each stored event counted once on its member");
    }

    concurrent_batches_of_two_workspaces_with_the_same_event_ids_stay_apart(backend) {
        let server = TestServer::start(backend).await;
        let a = server.tenant("a").await;
        let b = server.tenant("b").await;
        // The same event ids in both workspaces, sent at once so the writer groups them.
        let batch = |key: &str, n: usize| {
            let events: Vec<Value> = (0..n).map(|i| event(&format!("same-{i}"), "device_id", &format!("d-{i}"), "click")).collect();
            server.as_key(key, Method::POST, "/api/v1/events").json(&json!({"events": events})).send()
        };
        let sends = (0..6).map(|round| batch(if round % 2 == 0 { &a.admin_key } else { &b.admin_key }, 40));
        let mut accepted = 0;
        for response in futures_util::future::join_all(sends).await {
            let report = json(response.unwrap()).await;
            accepted += report["accepted"].as_u64().unwrap();
            assert_eq!(report["accepted"].as_u64().unwrap() + report["duplicates"].as_u64().unwrap(), 40);
        }
        assert_eq!(accepted, 80, "each workspace stored its 40 once");
        for tenant in [&a, &b] {
            let ws = quanzi_domain::ids::WorkspaceId::parse(&tenant.workspace_id).unwrap();
            assert_eq!(server.app.store.count_events(&ws).await.unwrap(), 40);
            assert_eq!(server.app.store.live_member_count(&ws).await.unwrap(), 40);
        }
    }
}

on_both_backends! {
    events_follow_a_merge_or_an_erasure_made_after_the_writer_remembered_their_member(backend) {
        // The ingest writer remembers which member each device belonged to; a merge or an
        // erasure since must still decide where the next events go.
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = &tenant.admin_key;
        let (_, older) = identify(&server, key, json!([{"kind": "wechat_openid", "value": "o-1"}])).await;
        server.clock.advance(Duration::from_secs(60));
        send_events(&server, key, json!([event("d1", "device_id", "dev-1", "click"), event("d2", "device_id", "dev-2", "click")])).await;
        let device = |value| lookup(&server, key, "device_id", value);
        let newer = device("dev-1").await["id"].as_str().unwrap().to_owned();
        let (_, merged) = identify(&server, key, json!([{"kind": "wechat_openid", "value": "o-1"}, {"kind": "device_id", "value": "dev-1"}])).await;
        assert_eq!(merged["merged"], json!([newer]));
        let survivor = older["member"]["id"].as_str().unwrap().to_owned();

        let erased_id = device("dev-2").await["id"].as_str().unwrap().to_owned();
        let erased = server.as_key(key, Method::POST, &format!("/api/v1/members/{erased_id}/erase")).send().await.unwrap();
        assert_eq!(erased.status(), 200);

        let report = send_events(&server, key, json!([event("d3", "device_id", "dev-1", "share"), event("d4", "device_id", "dev-2", "share")])).await;
        assert_eq!(report["accepted"], 2);
        let after_merge = device("dev-1").await;
        assert_eq!(after_merge["id"], survivor.as_str());
        assert_eq!(after_merge["profile"]["event_count"], 2, "the event before the merge and the one after");
        let timeline = json(server.as_key(key, Method::GET, &format!("/api/v1/members/{survivor}/timeline")).send().await.unwrap()).await;
        let events: HashSet<&str> = timeline["items"].as_array().unwrap().iter()
            .filter(|i| i["kind"] == "event").map(|i| i["detail"]["event_id"].as_str().unwrap()).collect();
        assert_eq!(events, HashSet::from(["d1", "d3"]));
        let afresh = device("dev-2").await;
        assert_ne!(afresh["id"], erased_id.as_str(), "an erased member gets nothing new");
        assert_eq!(afresh["profile"]["event_count"], 1);
        let export = json(server.as_key(key, Method::GET, &format!("/api/v1/members/{erased_id}/export")).send().await.unwrap()).await;
        assert_eq!(export["member"]["event_count"], 1);
        assert_eq!(export["events"].as_array().unwrap().len(), 1);
    }
}

on_both_backends! {
    merges_racing_ingestion_of_remembered_devices_lose_and_double_count_no_event(backend) {
        // Phone members first (older, so they survive), then events from devices, which
        // the ingest writer remembers; then more events for those devices while every
        // device member is merged into its phone member, all at once.
        const N: usize = 16;
        const ROUNDS: usize = 6;
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = &tenant.admin_key;
        for i in 0..N {
            identify(&server, key, json!([{"kind": "phone", "value": format!("1390000{i:04}")}])).await;
        }
        server.clock.advance(Duration::from_secs(60));
        let round = |r: usize| {
            let events: Vec<Value> = (0..N).map(|i| event(&format!("r{r}-{i}"), "device_id", &format!("dev-{i}"), "click")).collect();
            send_events(&server, key, Value::Array(events))
        };
        assert_eq!(round(0).await["accepted"], N);
        let ingest = futures_util::future::join_all((1..=ROUNDS).map(round));
        let merges = futures_util::future::join_all((0..N).map(|i| identify(&server, key, json!([
            {"kind": "phone", "value": format!("1390000{i:04}")},
            {"kind": "device_id", "value": format!("dev-{i}")},
        ]))));
        let (reports, merged) = tokio::join!(ingest, merges);
        for report in reports {
            assert_eq!(report["accepted"], N);
        }
        for (status, body) in merged {
            assert!(status == 200, "{status}: {body}");
        }
        let mut counted = 0;
        for i in 0..N {
            let phone = lookup(&server, key, "phone", &format!("1390000{i:04}")).await;
            let device = lookup(&server, key, "device_id", &format!("dev-{i}")).await;
            assert_eq!(device["id"], phone["id"], "the device belongs to its phone member");
            counted += phone["profile"]["event_count"].as_i64().unwrap();
        }
        assert_eq!(counted, ((ROUNDS + 1) * N) as i64, "every event is counted once, on a live member");
        let workspace = quanzi_domain::ids::WorkspaceId::parse(&tenant.workspace_id).unwrap();
        assert_eq!(server.app.store.live_member_count(&workspace).await.unwrap(), N as i64);
    }
}
