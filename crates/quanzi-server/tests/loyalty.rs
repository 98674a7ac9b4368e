//! The points ledger end to end, on SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn submit(server: &TestServer, key: &str, transfers: Value) -> Value {
    let response = server
        .as_key(key, Method::POST, "/api/v1/loyalty/transfers")
        .json(&json!({ "transfers": transfers }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    json(response).await
}

async fn points(server: &TestServer, key: &str, member: &str) -> Value {
    json(
        server
            .as_key(
                key,
                Method::GET,
                &format!("/api/v1/members/{member}/points"),
            )
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn reconciled(server: &TestServer, key: &str) {
    let body = json(
        server
            .as_key(key, Method::GET, "/api/v1/loyalty/reconciliation")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["reconciled"], true, "{body}");
}

fn statuses(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| match r["code"].as_str() {
            Some(code) => format!("{}:{code}", r["status"].as_str().unwrap()),
            None => r["status"].as_str().unwrap().to_owned(),
        })
        .collect()
}

on_both_backends! {
    earn_hold_post_void_and_spend_keep_the_books(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let m = member(&server, admin, "o1").await;
        let body = submit(&server, admin, json!([
            {"id": "e1", "type": "earn", "member_id": m, "source": "welcome", "amount": 100},
            {"id": "e2", "type": "earn", "member_id": m, "source": "double11", "amount": 50},
        ])).await;
        assert_eq!(statuses(&body), ["created", "created"]);
        assert_eq!(body["results"][0]["transfers"][0]["debit"], "source:welcome");
        assert_eq!(body["results"][0]["transfers"][0]["credit"], format!("wallet:{m}"));
        let body = submit(&server, &shop, json!([
            {"id": "h1", "type": "hold", "member_id": m, "sink": "checkout", "amount": 120, "timeout_seconds": 600},
            {"id": "s1", "type": "spend", "member_id": m, "sink": "mall", "amount": 40},
        ])).await;
        assert_eq!(statuses(&body), ["created", "failed:insufficient_points"]);
        let p = points(&server, &shop, &m).await;
        assert_eq!((p["available"].as_i64(), p["held"].as_i64()), (Some(30), Some(120)));
        let body = submit(&server, &shop, json!([
            {"id": "p1", "type": "post", "pending_id": "h1", "amount": 90},
            {"id": "v1", "type": "void", "pending_id": "h1"},
        ])).await;
        assert_eq!(statuses(&body), ["created", "failed:pending_already_posted"]);
        let p = points(&server, &shop, &m).await;
        assert_eq!((p["available"].as_i64(), p["held"].as_i64()), (Some(60), Some(0)));
        // The oldest lot went first: welcome is used up, 60 of double11's... no: 100 + 50,
        // 90 spent → welcome has 10 left, double11 all 50.
        let lots = json(server.as_key(&shop, Method::GET, &format!("/api/v1/members/{m}/points/lots")).send().await.unwrap()).await;
        let left: Vec<(String, i64)> = lots["items"].as_array().unwrap().iter()
            .map(|l| (l["source"].as_str().unwrap().to_owned(), l["remaining"].as_i64().unwrap())).collect();
        assert_eq!(left, [("welcome".to_owned(), 10), ("double11".to_owned(), 50)]);
        // The failed spend stays failed even though the points are there now.
        let body = submit(&server, &shop, json!([{"id": "s1", "type": "spend", "member_id": m, "sink": "mall", "amount": 40}])).await;
        assert_eq!(statuses(&body), ["failed:insufficient_points"]);
        assert_eq!(body["results"][0]["replayed"], true);
        // The same id with other fields is refused; with the same fields it answers the original.
        let body = submit(&server, admin, json!([
            {"id": "e1", "type": "earn", "member_id": m, "source": "welcome", "amount": 999},
            {"id": "e1", "type": "earn", "member_id": m, "source": "welcome", "amount": 100},
        ])).await;
        assert_eq!(statuses(&body), ["failed:exists_with_different_fields", "exists"]);
        assert_eq!(body["results"][1]["transfers"][0]["amount"], 100);
        let history = json(server.as_key(&shop, Method::GET, &format!("/api/v1/members/{m}/points/history?limit=2")).send().await.unwrap()).await;
        assert_eq!(history["items"].as_array().unwrap().len(), 2);
        assert!(history["next_cursor"].is_string());
        let rest = json(server.as_key(&shop, Method::GET, &format!("/api/v1/members/{m}/points/history?after={}", history["next_cursor"].as_str().unwrap())).send().await.unwrap()).await;
        assert_eq!(rest["items"].as_array().unwrap().len(), 2, "{rest}");
        let liability = json(server.as_key(admin, Method::GET, "/api/v1/loyalty/liability").send().await.unwrap()).await;
        assert_eq!(liability["outstanding"], 60);
        assert_eq!((liability["outstanding_fen"].as_i64(), liability["fen_per_100_points"].as_i64()), (Some(60), Some(100)));
        assert_eq!(liability["sinks"][0], json!({"sink": "checkout", "spent": 90}));
        let issued: i64 = liability["sources"].as_array().unwrap().iter().map(|s| s["issued"].as_i64().unwrap()).sum();
        assert_eq!(issued, 150);
        reconciled(&server, admin).await;
    }

    bad_requests_change_nothing_and_say_what_to_fix(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let other = server.tenant("b").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let m = member(&server, admin, "o1").await;
        let stranger = member(&server, &other.admin_key, "o2").await;
        let send = |key: String, transfers: Value| {
            server.as_key(&key, Method::POST, "/api/v1/loyalty/transfers").json(&json!({"transfers": transfers})).send()
        };
        let (code, _) = error_of(send(shop.clone(), json!([{"id": "x", "type": "earn", "member_id": m, "source": "s", "amount": 5}])).await.unwrap(), 403).await;
        assert_eq!(code, "forbidden");
        let (_, field) = error_of(send(admin.clone(), json!([
            {"id": "ok", "type": "earn", "member_id": m, "source": "s", "amount": 5},
            {"id": "y", "type": "earn", "member_id": stranger, "source": "s", "amount": 5},
        ])).await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("transfers[1].member_id"));
        let (_, field) = error_of(send(admin.clone(), json!([{"id": "z", "type": "gift", "member_id": m}])).await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("transfers[0].type"));
        let (_, field) = error_of(send(admin.clone(), json!([{"id": "bad id!", "type": "spend", "member_id": m, "amount": 1}])).await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("transfers[0].id"));
        let (_, field) = error_of(send(admin.clone(), json!([{"id": "s", "type": "earn", "member_id": m, "source": "Not OK", "amount": 1}])).await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("transfers[0].source"));
        let body = submit(&server, admin, json!([{"id": "neg", "type": "spend", "member_id": m, "amount": -3}])).await;
        assert_eq!(statuses(&body), ["failed:amount_must_be_positive"]);
        assert_eq!(points(&server, admin, &m).await["available"], 0);
        // Another workspace's member is not found, and cannot be read.
        let (code, _) = error_of(server.as_key(admin, Method::GET, &format!("/api/v1/members/{stranger}/points")).send().await.unwrap(), 404).await;
        assert_eq!(code, "not_found");
        reconciled(&server, admin).await;
    }

    one_transfer_id_sent_ten_times_at_once_takes_effect_once(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let m = member(&server, &tenant.admin_key, "o1").await;
        let sends = (0..10).map(|_| submit(&server, &tenant.admin_key, json!([
            {"id": "gift-1", "type": "earn", "member_id": m, "source": "gift", "amount": 77}
        ])));
        let answers = futures_util::future::join_all(sends).await;
        let created = answers.iter().filter(|a| a["results"][0]["status"] == "created").count();
        let existing = answers.iter().filter(|a| a["results"][0]["status"] == "exists").count();
        assert_eq!((created, existing), (1, 9));
        assert_eq!(points(&server, &tenant.admin_key, &m).await["available"], 77);
        reconciled(&server, &tenant.admin_key).await;
    }

    sixty_four_concurrent_spends_never_overdraw_a_wallet(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let m = member(&server, &tenant.admin_key, "o1").await;
        submit(&server, &tenant.admin_key, json!([{"id": "seed", "type": "earn", "member_id": m, "source": "seed", "amount": 1000}])).await;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        // 64 spends of 30 ask for 1920 points; 33 fit into 1000.
        let sends = (0..64).map(|i| submit(&server, &shop, json!([
            {"id": format!("spend-{i}"), "type": "spend", "member_id": m, "sink": "mall", "amount": 30}
        ])));
        let answers = futures_util::future::join_all(sends).await;
        let ok = answers.iter().filter(|a| a["results"][0]["status"] == "created").count() as i64;
        let refused = answers.iter().filter(|a| a["results"][0]["code"] == "insufficient_points").count() as i64;
        assert_eq!(ok + refused, 64);
        assert_eq!(ok, 33);
        assert_eq!(points(&server, &shop, &m).await["available"].as_i64(), Some(1000 - 30 * ok));
        reconciled(&server, &tenant.admin_key).await;
    }

    holds_lapse_and_points_expire_on_the_sweep_with_a_notice_first(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let m = member(&server, admin, "o1").await;
        let expires = T0.plus(Duration::from_secs(10 * 86_400)).to_rfc3339();
        submit(&server, admin, json!([
            {"id": "short", "type": "earn", "member_id": m, "source": "promo", "amount": 40, "expires_at": expires},
            {"id": "long", "type": "earn", "member_id": m, "source": "base", "amount": 60},
            {"id": "h", "type": "hold", "member_id": m, "amount": 50, "timeout_seconds": 900},
        ])).await;
        // The workers' own sweep may get there first; either way the outcome is the same.
        server.clock.advance(Duration::from_secs(901));
        quanzi_app::jobs::loyalty::sweep(&server.app).await.unwrap();
        let p = points(&server, admin, &m).await;
        assert_eq!((p["available"].as_i64(), p["held"].as_i64()), (Some(100), Some(0)));
        let body = submit(&server, admin, json!([{"id": "late", "type": "post", "pending_id": "h"}])).await;
        assert_eq!(statuses(&body), ["failed:pending_already_voided"]);
        // Within seven days of expiry the member is told, once.
        server.clock.advance(Duration::from_secs(4 * 86_400));
        quanzi_app::jobs::loyalty::sweep(&server.app).await.unwrap();
        quanzi_app::jobs::loyalty::sweep(&server.app).await.unwrap();
        let ws = quanzi_domain::ids::WorkspaceId::parse(&tenant.workspace_id).unwrap();
        let facts = server.app.store.domain_events_for(&ws, &m).await.unwrap();
        let notices: Vec<&(String, String)> = facts.iter().filter(|(topic, _)| topic == "points.expiring").collect();
        assert_eq!(notices.len(), 1, "{facts:?}");
        assert!(notices[0].1.contains("\"points\":40"), "{notices:?}");
        assert_eq!(points(&server, admin, &m).await["expiring_soon"], 40);
        server.clock.advance(Duration::from_secs(6 * 86_400));
        quanzi_app::jobs::loyalty::sweep(&server.app).await.unwrap();
        let p = points(&server, admin, &m).await;
        assert_eq!(p["available"], 60);
        let liability = json(server.as_key(admin, Method::GET, "/api/v1/loyalty/liability").send().await.unwrap()).await;
        assert_eq!(liability["expired_total"], 40);
        reconciled(&server, admin).await;
    }

    a_reversal_of_spent_points_becomes_debt_that_new_points_repay(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let m = member(&server, admin, "o1").await;
        submit(&server, admin, json!([
            {"id": "order-1", "type": "earn", "member_id": m, "source": "orders", "amount": 100, "order_id": "o-1"},
            {"id": "spent", "type": "spend", "member_id": m, "sink": "mall", "amount": 80},
        ])).await;
        let body = submit(&server, admin, json!([
            {"id": "refund-1", "type": "reverse", "lot_id": "order-1", "amount": 100, "shortfall": "clawback_future"}
        ])).await;
        let legs: Vec<(String, i64)> = body["results"][0]["transfers"].as_array().unwrap().iter()
            .map(|t| (t["kind"].as_str().unwrap().to_owned(), t["amount"].as_i64().unwrap())).collect();
        assert_eq!(legs, [("reverse".to_owned(), 20), ("debt".to_owned(), 80)]);
        let p = points(&server, admin, &m).await;
        assert_eq!((p["available"].as_i64(), p["debt"].as_i64(), p["net"].as_i64()), (Some(0), Some(80), Some(-80)));
        submit(&server, admin, json!([{"id": "later", "type": "earn", "member_id": m, "source": "checkin", "amount": 50}])).await;
        let p = points(&server, admin, &m).await;
        assert_eq!((p["available"].as_i64(), p["debt"].as_i64()), (Some(0), Some(30)));
        reconciled(&server, admin).await;
    }

    operators_adjust_points_with_a_reason_in_the_audit_log(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let m = member(&server, admin, "o1").await;
        let path = format!("/api/v1/members/{m}/points/adjustments");
        let response = server.as_key(admin, Method::POST, &path).json(&json!({"amount": 30, "reason": "客服补偿"})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let response = server.as_key(admin, Method::POST, &path).json(&json!({"amount": -50, "reason": "误发"})).send().await.unwrap();
        let (code, _) = error_of(response, 409).await;
        assert_eq!(code, "insufficient_points");
        let (_, field) = error_of(server.as_key(admin, Method::POST, &path).json(&json!({"amount": 5, "reason": " "})).send().await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("reason"));
        let shop = server.key_with(&tenant, &["storefront"]).await;
        error_of(server.as_key(&shop, Method::POST, &path).json(&json!({"amount": 5, "reason": "x"})).send().await.unwrap(), 403).await;
        let audit = json(server.as_key(admin, Method::GET, "/api/v1/audit-log").send().await.unwrap()).await;
        let adjustments: Vec<&Value> = audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "points.adjust").collect();
        assert_eq!(adjustments.len(), 1);
        assert!(adjustments[0]["details"].to_string().contains("客服补偿"));
        assert_eq!(points(&server, admin, &m).await["available"], 30);
    }

    settings_are_checked_with_field_paths(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let defaults = json(server.as_key(admin, Method::GET, "/api/v1/loyalty/settings").send().await.unwrap()).await;
        assert_eq!(defaults["orders"]["pending_days"], 7);
        assert_eq!(defaults["shortfall"], "negative_carry");
        let put = |body: Value| server.as_key(admin, Method::PUT, "/api/v1/loyalty/settings").json(&body).send();
        let (_, field) = error_of(put(json!({"checkin": {"cycle": "daily"}})).await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("checkin.cycle"));
        let (_, field) = error_of(put(json!({"checkin": {"consecutive": [{"at": 0, "points": 5}]}})).await.unwrap(), 400).await;
        assert!(field.as_deref().is_some_and(|f| f.starts_with("checkin.consecutive")), "{field:?}");
        let (_, field) = error_of(put(json!({"orders": {"expiry": "weeks:2"}})).await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("orders.expiry"));
        let (_, field) = error_of(put(json!({"surprise": 1})).await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("surprise"));
        let response = put(json!({"shortfall": "clawback_future", "checkin": {"base_points": 8, "cycle": "weekly"}})).await.unwrap();
        assert_eq!(response.status(), 200);
        let now = json(server.as_key(admin, Method::GET, "/api/v1/loyalty/settings").send().await.unwrap()).await;
        assert_eq!((now["shortfall"].as_str(), now["checkin"]["base_points"].as_i64()), (Some("clawback_future"), Some(8)));
    }
}

on_both_backends! {
    orders_earn_pending_points_that_settle_after_the_return_window(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let response = server.as_key(admin, Method::PUT, "/api/v1/loyalty/settings")
            .json(&json!({"orders": {"points_per_yuan": 2, "first_order_bonus": 50, "excluded_categories": ["gift_card"]}})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        // 2 × ¥128.50 tea (¥257, shipping never counts) and a gift card that earns nothing.
        let id = order(&server, admin, "T-1", "o1", json!([
            {"sku": "tea", "quantity": 2, "unit_price_fen": 12850},
            {"sku": "card", "category": "gift_card", "quantity": 1, "unit_price_fen": 10000}
        ]), 1000).await;
        let m = member(&server, admin, "o1").await;
        let p = points(&server, admin, &m).await;
        assert_eq!((p["available"].as_i64(), p["pending"].as_i64()), (Some(0), Some(257 * 2 + 50)));
        // A refund of one tea inside the window shrinks the pending points (¥128.50 left → 256).
        refund(&server, admin, &id, "R-1", Some(json!([{"line": 0, "quantity": 1}]))).await;
        let p = points(&server, admin, &m).await;
        assert_eq!(p["pending"].as_i64(), Some(256 + 50));
        // Seven days later the sweep settles them into lots.
        server.clock.advance(Duration::from_secs(7 * 86_400));
        quanzi_app::jobs::loyalty::sweep(&server.app).await.unwrap();
        let p = points(&server, admin, &m).await;
        assert_eq!((p["available"].as_i64(), p["pending"].as_i64()), (Some(306), Some(0)));
        // A second order earns no second first-order bonus.
        order(&server, admin, "T-2", "o1", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 5000}]), 0).await;
        assert_eq!(points(&server, admin, &m).await["pending"], 100);
        // The member spends 300; then the rest of the first order is refunded after the
        // window: its 256 points and the 50 bonus come back, 6 from the lots, 300 as debt.
        submit(&server, admin, json!([{"id": "mall-1", "type": "spend", "member_id": m, "sink": "mall", "amount": 300}])).await;
        refund(&server, admin, &id, "R-2", None).await;
        let p = points(&server, admin, &m).await;
        assert_eq!((p["available"].as_i64(), p["debt"].as_i64(), p["pending"].as_i64()), (Some(0), Some(300), Some(100)));
        // When the second order settles, its points repay the debt first.
        server.clock.advance(Duration::from_secs(7 * 86_400));
        quanzi_app::jobs::loyalty::sweep(&server.app).await.unwrap();
        let p = points(&server, admin, &m).await;
        assert_eq!((p["available"].as_i64(), p["debt"].as_i64()), (Some(0), Some(200)));
        let liability = json(server.as_key(admin, Method::GET, "/api/v1/loyalty/liability").send().await.unwrap()).await;
        let orders = liability["sources"].as_array().unwrap().iter().find(|s| s["source"] == "orders").unwrap().clone();
        assert_eq!((orders["issued"].as_i64(), orders["returned"].as_i64()), (Some(356), Some(256)));
        reconciled(&server, admin).await;
    }
}

on_both_backends! {
    the_mall_never_oversells_and_cancelling_returns_points_and_stock(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let response = server.as_key(admin, Method::POST, "/api/v1/loyalty/mall/items")
            .json(&json!({"name": "保温杯", "points": 100, "cash_fen": 990, "stock": 5, "per_member_limit": 2})).send().await.unwrap();
        assert_eq!(response.status(), 201);
        let item = json(response).await["id"].as_str().unwrap().to_owned();
        let (_, field) = error_of(server.as_key(admin, Method::POST, "/api/v1/loyalty/mall/items")
            .json(&json!({"name": "x", "points": 0, "stock": 1})).send().await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("points"));
        // Eight members with plenty of points race for five units, two each at most.
        let mut members = Vec::new();
        for i in 0..8 {
            let m = member(&server, admin, &format!("buyer-{i}")).await;
            submit(&server, admin, json!([{"id": format!("seed-{i}"), "type": "earn", "member_id": m, "source": "seed", "amount": 1000}])).await;
            members.push(m);
        }
        let path = format!("/api/v1/loyalty/mall/items/{item}/redemptions");
        let tries = members.iter().flat_map(|m| (0..3).map(move |_| m.clone())).map(|m| {
            server.as_key(&shop, Method::POST, &path).json(&json!({"member_id": m})).send()
        });
        let mut won = Vec::new();
        let mut codes = Vec::new();
        for response in futures_util::future::join_all(tries).await {
            let response = response.unwrap();
            if response.status() == 201 {
                won.push(json(response).await);
            } else {
                codes.push(json(response).await["error"]["code"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(won.len(), 5, "{codes:?}");
        let mut per_member: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for w in &won {
            *per_member.entry(w["member_id"].as_str().unwrap().to_owned()).or_default() += 1;
        }
        assert!(per_member.values().all(|&n| n <= 2), "{per_member:?}");
        assert!(codes.iter().all(|c| c == "out_of_stock" || c == "redemption_limit_reached"), "{codes:?}");
        let items = json(server.as_key(&shop, Method::GET, "/api/v1/loyalty/mall/items").send().await.unwrap()).await;
        assert_eq!(items["items"][0]["stock"], 0);
        let winner = won[0]["member_id"].as_str().unwrap().to_owned();
        let held = points(&server, &shop, &winner).await["held"].as_i64().unwrap();
        assert!(held >= 100);
        // Cancelling returns the points and the unit; a second cancel is refused.
        let cancel = format!("/api/v1/loyalty/mall/redemptions/{}/cancel", won[0]["id"].as_str().unwrap());
        assert_eq!(server.as_key(&shop, Method::POST, &cancel).send().await.unwrap().status(), 200);
        let (code, _) = error_of(server.as_key(&shop, Method::POST, &cancel).send().await.unwrap(), 409).await;
        assert_eq!(code, "redemption_cancelled");
        assert_eq!(points(&server, &shop, &winner).await["held"].as_i64(), Some(held - 100));
        let items = json(server.as_key(&shop, Method::GET, "/api/v1/loyalty/mall/items").send().await.unwrap()).await;
        assert_eq!(items["items"][0]["stock"], 1);
        // After the cancellation window the points settle and can no longer come back.
        server.clock.advance(Duration::from_secs(7 * 86_400));
        quanzi_app::jobs::loyalty::sweep(&server.app).await.unwrap();
        let settled = format!("/api/v1/loyalty/mall/redemptions/{}/cancel", won[1]["id"].as_str().unwrap());
        let (code, _) = error_of(server.as_key(&shop, Method::POST, &settled).send().await.unwrap(), 409).await;
        assert_eq!(code, "redemption_settled");
        let liability = json(server.as_key(admin, Method::GET, "/api/v1/loyalty/liability").send().await.unwrap()).await;
        assert_eq!(liability["sinks"][0], json!({"sink": "mall", "spent": 400}));
        reconciled(&server, admin).await;
        // A member without enough points gets nothing and the stock stays.
        let poor = member(&server, admin, "poor").await;
        let (code, _) = error_of(server.as_key(&shop, Method::POST, &path).json(&json!({"member_id": poor})).send().await.unwrap(), 409).await;
        assert_eq!(code, "insufficient_points");
        let items = json(server.as_key(&shop, Method::GET, "/api/v1/loyalty/mall/items").send().await.unwrap()).await;
        assert_eq!(items["items"][0]["stock"], 1);
    }
}

async fn tier(server: &TestServer, key: &str, member: &str) -> Value {
    json(
        server
            .as_key(key, Method::GET, &format!("/api/v1/members/{member}/tier"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

on_both_backends! {
    orders_lift_members_into_tiers_that_multiply_points_and_reviews_bring_them_down(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        // Tiers by spend, re-evaluated every 30 days on the last 30 days' spend.
        let response = server.as_key(admin, Method::PUT, "/api/v1/loyalty/settings")
            .json(&json!({"tiers": {"review_every_days": 30, "ladder": [
                {"code": "bronze", "name": "青铜", "threshold": 0},
                {"code": "silver", "name": "白银", "threshold": 1000, "points_multiplier_percent": 150, "discount_bp": 200}
            ]}})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        order(&server, admin, "T-1", "o1", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 50000}]), 0).await;
        let m = member(&server, admin, "o1").await;
        let t = tier(&server, admin, &m).await;
        assert_eq!((t["tier"].as_str(), t["next_tier"].as_str(), t["to_next"].as_i64()), (Some("bronze"), Some("silver"), Some(500)));
        // ¥600 more lifts the member to silver with this very order.
        order(&server, admin, "T-2", "o1", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 60000}]), 0).await;
        let t = tier(&server, admin, &m).await;
        assert_eq!((t["tier"].as_str(), t["benefits"]["points_multiplier_percent"].as_i64()), (Some("silver"), Some(150)));
        // The next order earns 1.5× (¥100 → 150 points, pending), and a partial refund
        // keeps the multiplier it was earned with.
        let id = order(&server, admin, "T-3", "o1", json!([{"sku": "tea", "quantity": 2, "unit_price_fen": 5000}]), 0).await;
        assert_eq!(points(&server, admin, &m).await["pending"], 500 + 600 + 150);
        refund(&server, admin, &id, "R-1", Some(json!([{"line": 0, "quantity": 1}]))).await;
        assert_eq!(points(&server, admin, &m).await["pending"], 500 + 600 + 75);
        // 31 quiet days later the review finds ¥0 in the window: back to bronze.
        server.clock.advance(Duration::from_secs(31 * 86_400));
        let ws = quanzi_domain::ids::WorkspaceId::parse(&tenant.workspace_id).unwrap();
        // (The workers' own daily review may run it first; the outcome is the same.)
        quanzi_app::services::loyalty::tiers::review(&server.app, &ws).await.unwrap();
        assert_eq!(tier(&server, admin, &m).await["tier"], "bronze");
        // Both changes are facts in the outbox.
        let facts = server.app.store.domain_events_for(&ws, &m).await.unwrap();
        let tiers: Vec<&String> = facts.iter().filter(|(topic, _)| topic == "member.tier_changed").map(|(_, payload)| payload).collect();
        assert_eq!(tiers.len(), 3, "{facts:?}");
        assert!(tiers[1].contains("\"to\":\"silver\"") && tiers[2].contains("\"to\":\"bronze\""), "{tiers:?}");
    }
}

async fn events(server: &TestServer, key: &str, events: Value) {
    let response = server
        .as_key(key, Method::POST, "/api/v1/events")
        .json(&json!({ "events": events }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

fn event(id: &str, kind: &str, properties: Value) -> Value {
    json!({"event_id": id, "type": kind, "identity": {"kind": "wechat_openid", "value": "fan"}, "properties": properties})
}

on_both_backends! {
    events_earn_under_rules_with_caps_windows_and_once_per_event(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let past = T0.minus(Duration::from_secs(3600)).to_rfc3339();
        let response = server.as_key(admin, Method::PUT, "/api/v1/loyalty/settings").json(&json!({"rules": [
            {"code": "share", "trigger": "share", "points": 5, "per_day": 10},
            {"code": "photo-review", "trigger": "review_with_photo", "points": 20},
            {"code": "survey", "trigger": "custom_event", "event_type": "survey_done", "points": 30, "active_until": past}
        ]})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let (_, field) = error_of(server.as_key(admin, Method::PUT, "/api/v1/loyalty/settings")
            .json(&json!({"rules": [{"code": "x", "trigger": "custom_event", "points": 3}]})).send().await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("rules[0].event_type"));
        // Three shares in a day pay 5 + 5 and then hit the cap of 10.
        events(&server, admin, json!([
            event("s1", "share", json!({})), event("s2", "share", json!({})), event("s3", "share", json!({})),
            event("r1", "review", json!({"photos": ["a.jpg"]})), event("r2", "review", json!({"stars": 5})),
            event("q1", "survey_done", json!({})),
        ])).await;
        let m = member(&server, admin, "fan").await;
        assert_eq!(points(&server, admin, &m).await["available"], 10 + 20);
        // The same events again pay nothing more.
        events(&server, admin, json!([event("s1", "share", json!({})), event("r1", "review", json!({"photos": ["a.jpg"]}))])).await;
        assert_eq!(points(&server, admin, &m).await["available"], 30);
        // Tomorrow the daily cap starts again.
        server.clock.advance(Duration::from_secs(86_400));
        events(&server, admin, json!([event("s4", "share", json!({}))])).await;
        assert_eq!(points(&server, admin, &m).await["available"], 35);
        let liability = json(server.as_key(admin, Method::GET, "/api/v1/loyalty/liability").send().await.unwrap()).await;
        let sources: Vec<(String, i64)> = liability["sources"].as_array().unwrap().iter()
            .map(|s| (s["source"].as_str().unwrap().to_owned(), s["issued"].as_i64().unwrap())).collect();
        assert_eq!(sources, [("rule.photo-review".to_owned(), 20), ("rule.share".to_owned(), 15)]);
        reconciled(&server, admin).await;
    }
}

on_both_backends! {
    points_follow_a_member_merge(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let older = member(&server, admin, "wx-1").await;
        // A douyin buyer pays an order (pending points) and earns 40 of which 10 are held.
        order(&server, admin, "D-1", "dy-placeholder", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 8000}]), 0).await;
        let newer = member(&server, admin, "dy-placeholder").await;
        submit(&server, admin, json!([
            {"id": "e-old", "type": "earn", "member_id": older, "source": "welcome", "amount": 100},
            {"id": "e-new", "type": "earn", "member_id": newer, "source": "welcome", "amount": 40},
            {"id": "h-new", "type": "hold", "member_id": newer, "amount": 10},
        ])).await;
        // One identify names both: the newer member merges into the older one.
        let response = server.as_key(admin, Method::POST, "/api/v1/members/identify")
            .json(&json!({"identities": [{"kind": "wechat_openid", "value": "wx-1"}, {"kind": "wechat_openid", "value": "dy-placeholder"}]}))
            .send().await.unwrap();
        assert_eq!(response.status(), 200);
        let merged = json(response).await;
        assert_eq!(merged["member"]["id"], older.as_str());
        let p = points(&server, admin, &older).await;
        assert_eq!((p["available"].as_i64(), p["held"].as_i64(), p["pending"].as_i64()), (Some(140), Some(0), Some(80)));
        // The merged id answers with the survivor, and its lots carry over intact.
        let lots = json(server.as_key(admin, Method::GET, &format!("/api/v1/members/{newer}/points/lots")).send().await.unwrap()).await;
        let mut ids: Vec<&str> = lots["items"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
        ids.sort();
        assert_eq!(ids, ["e-new", "e-old"]);
        // The order's points settle for the survivor after the return window.
        server.clock.advance(Duration::from_secs(7 * 86_400));
        quanzi_app::jobs::loyalty::sweep(&server.app).await.unwrap();
        assert_eq!(points(&server, admin, &older).await["available"], 220);
        reconciled(&server, admin).await;
    }
}

on_both_backends! {
    points_earned_while_their_member_is_merged_reach_the_survivor(backend) {
        // An earn names a member; the API resolves it to the live member and the ledger
        // writer books it a moment later. A merge committing in between must not leave
        // the points on the merged member's wallet, where the survivor never sees them.
        const NEWER: usize = 12;
        const EARNS: usize = 8;
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let survivor = member(&server, admin, "wx-main").await;
        let mut newer = Vec::new();
        for i in 0..NEWER {
            newer.push(member(&server, admin, &format!("dy-{i}")).await);
        }
        let earns = (0..NEWER * EARNS).map(|k| {
            let (server, m) = (&server, newer[k % NEWER].clone());
            async move {
                let body = submit(server, admin, json!([
                    {"id": format!("e-{k}"), "type": "earn", "member_id": m, "source": "welcome", "amount": 1},
                ])).await;
                assert_eq!(statuses(&body), ["created"], "{body}");
            }
        });
        let merges = (0..NEWER).map(|i| {
            let server = &server;
            async move {
                let response = server.as_key(admin, Method::POST, "/api/v1/members/identify")
                    .json(&json!({"identities": [
                        {"kind": "wechat_openid", "value": "wx-main"},
                        {"kind": "wechat_openid", "value": format!("dy-{i}")},
                    ]}))
                    .send().await.unwrap();
                assert_eq!(response.status(), 200);
            }
        });
        tokio::join!(futures_util::future::join_all(earns), futures_util::future::join_all(merges));
        let total = (NEWER * EARNS) as i64;
        assert_eq!(points(&server, admin, &survivor).await["available"], total);
        for m in &newer {
            assert_eq!(points(&server, admin, m).await["available"], total, "{m}");
        }
        reconciled(&server, admin).await;
    }
}

on_both_backends! {
    the_daily_review_pays_the_tier_birthday_gift_once_a_year(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        // T0 is 21 September in Shanghai. Silver (¥1,000 spent) gives 50 points.
        let response = server.as_key(admin, Method::POST, "/api/v1/members/identify")
            .json(&json!({"identities": [{"kind": "wechat_openid", "value": "bday"}], "traits": {"birthday": "1995-09-21"}}))
            .send().await.unwrap();
        let m = json(response).await["member"]["id"].as_str().unwrap().to_owned();
        let other = member(&server, admin, "no-bday").await;
        order(&server, admin, "B-1", "bday", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 120000}]), 0).await;
        order(&server, admin, "B-2", "no-bday", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 120000}]), 0).await;
        let ws = quanzi_domain::ids::WorkspaceId::parse(&tenant.workspace_id).unwrap();
        quanzi_app::services::loyalty::tiers::review(&server.app, &ws).await.unwrap();
        quanzi_app::services::loyalty::tiers::review(&server.app, &ws).await.unwrap();
        assert_eq!(points(&server, admin, &m).await["available"], 50);
        assert_eq!(points(&server, admin, &other).await["available"], 0);
        let lots = json(server.as_key(admin, Method::GET, &format!("/api/v1/members/{m}/points/lots")).send().await.unwrap()).await;
        assert_eq!(lots["items"][0]["source"], "birthday");
        assert!(lots["items"][0]["expires_at"].is_string());
    }
}
