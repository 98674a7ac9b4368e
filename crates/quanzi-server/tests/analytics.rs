//! Analytics on stored data end to end, on SQLite and PostgreSQL: metric series with
//! seasonal baselines, overview totals, anomaly alert rules that fire once per bucket
//! and pause coupon templates, and experiments from assignment to results.

mod common;

use std::time::Duration;

use common::*;
use quanzi_app::services::analytics::alerts::evaluate_due;
use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::{Clock, Timestamp};
use reqwest::{Method, Response};
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;
const SHANGHAI: i64 = 8 * 3_600_000;

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

/// Midnight in Shanghai (the workspace's default zone) on or before T0.
fn local_midnight() -> i64 {
    (T0.millis() + SHANGHAI).div_euclid(DAY) * DAY - SHANGHAI
}

fn rfc(ms: i64) -> String {
    Timestamp::from_millis(ms).to_rfc3339()
}

/// One order of ten ¥10 units at local noon of `day`, and a refund of `refunded` units.
async fn trading_day(server: &TestServer, key: &str, day: i64, refunded: i64) {
    let noon = local_midnight() + day * DAY + 12 * 3_600_000;
    let response = send(
        server,
        key,
        Method::POST,
        "/api/v1/orders",
        json!({
            "external_id": format!("d{day}"),
            "buyer": {"kind": "wechat_openid", "value": format!("buyer-{}", day % 5)},
            "items": [{"sku": "tea", "quantity": 10, "unit_price_fen": 1000}],
            "paid_at": rfc(noon),
        }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let order = json(response).await["id"].as_str().unwrap().to_owned();
    if refunded > 0 {
        let response = send(
            server,
            key,
            Method::POST,
            &format!("/api/v1/orders/{order}/refunds"),
            json!({
                "external_id": format!("r{day}"),
                "items": [{"line": 0, "quantity": refunded}],
                "refunded_at": rfc(noon + 3_600_000),
            }),
        )
        .await;
        assert_eq!(response.status(), 201);
    }
}

on_both_backends! {
    a_refund_spike_fires_its_rule_once_and_pauses_the_coupon_channel(backend) {
        // No worker pool: the scheduled `analytics.alerts` job must not judge first.
        let server = TestServer::start_with(backend, |c| c.jobs.enabled = false).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        server.clock.set(Timestamp::from_millis(local_midnight() + 36 * DAY + 60_000));
        // Five weeks of ordinary days (one unit of ten refunded), then a bad yesterday.
        for day in 0..35 {
            trading_day(&server, admin, day, 1).await;
        }
        trading_day(&server, admin, 35, 6).await;

        let response = send(&server, admin, Method::POST, "/api/v1/coupon-templates", json!({"name": "无门槛10", "kind": "no_threshold", "amount_fen": 1000, "use_days": 7})).await;
        assert_eq!(response.status(), 201);
        let template = json(response).await["id"].as_str().unwrap().to_owned();

        // Bad input names the field and creates nothing.
        for (body, field) in [
            (json!({"name": "x", "metric": "refunds"}), "metric"),
            (json!({"name": "x", "metric": "refund_rate", "threshold": -1}), "threshold"),
            (json!({"name": "x", "metric": "refund_rate", "lookback_weeks": 99}), "lookback_weeks"),
            (json!({"name": "x", "metric": "refund_rate", "pause_coupon_templates": ["cpt_nope"]}), "actions.pause_coupon_templates[0]"),
        ] {
            let (_, got) = error_of(send(&server, admin, Method::POST, "/api/v1/alerts/rules", body).await, 400).await;
            assert_eq!(got.as_deref(), Some(field));
        }
        assert_eq!(get(&server, admin, "/api/v1/alerts/rules").await["items"].as_array().unwrap().len(), 0);

        let response = send(&server, admin, Method::POST, "/api/v1/alerts/rules", json!({
            "name": "退款激增", "metric": "refund_rate", "direction": "up",
            "lookback_weeks": 4, "pause_coupon_templates": [template],
        }))
        .await;
        assert_eq!(response.status(), 201);
        let rule = json(response).await["id"].as_str().unwrap().to_owned();
        // A GMV rule on the same days stays quiet: every day sold the same.
        let response = send(&server, admin, Method::POST, "/api/v1/alerts/rules", json!({"name": "GMV", "metric": "gmv", "lookback_weeks": 4})).await;
        assert_eq!(response.status(), 201);

        assert_eq!(evaluate_due(&server.app).await.unwrap(), 1);
        // Judged once per bucket: running again (any node, any minute) fires nothing.
        assert_eq!(evaluate_due(&server.app).await.unwrap(), 0);

        let alerts = get(&server, admin, "/api/v1/alerts").await["items"].as_array().unwrap().clone();
        assert_eq!(alerts.len(), 1);
        let alert = &alerts[0];
        assert_eq!(alert["rule_id"], rule.as_str());
        assert_eq!(alert["metric"], "refund_rate");
        assert_eq!(alert["bucket_start"], rfc(local_midnight() + 35 * DAY));
        assert_eq!(alert["details"]["value"], 0.6);
        assert_eq!(alert["details"]["expected"], 0.1);
        assert_eq!(alert["details"]["paused_coupon_templates"], json!([template]));
        let tpl = get(&server, admin, &format!("/api/v1/coupon-templates/{template}")).await;
        assert_eq!(tpl["status"], "paused");

        let ws = WorkspaceId::from_trusted(tenant.workspace_id.clone());
        let facts = server.app.store.domain_events_for(&ws, &rule).await.unwrap();
        assert_eq!(facts.len(), 1);
        assert_eq!(facts[0].0, "alert.fired");

        let id = alert["id"].as_str().unwrap();
        let response = send(&server, admin, Method::POST, &format!("/api/v1/alerts/{id}/acknowledge"), json!({})).await;
        assert_eq!(response.status(), 200);
        assert_eq!(json(response).await["status"], "acknowledged");
        assert_eq!(get(&server, admin, "/api/v1/alerts?status=open").await["items"].as_array().unwrap().len(), 0);

        // The series shows the same judgement, and another workspace sees none of it.
        let series = get(&server, admin, &format!("/api/v1/analytics/metrics/refund_rate?from={}&to={}&lookback_weeks=4",
            urlencode(&rfc(local_midnight() + 30 * DAY)), urlencode(&rfc(local_midnight() + 36 * DAY)))).await;
        let points = series["points"].as_array().unwrap();
        assert_eq!(points.len(), 6);
        assert!(points[..5].iter().all(|p| p["anomalous"] == false && p["value"] == 0.1));
        assert_eq!(points[5]["anomalous"], true);
        let other = server.tenant("b").await;
        assert_eq!(get(&server, &other.admin_key, "/api/v1/alerts").await["items"].as_array().unwrap().len(), 0);
        let quiet = get(&server, &other.admin_key, "/api/v1/analytics/metrics/gmv").await;
        assert!(quiet["points"].as_array().unwrap().iter().all(|p| p["value"].is_null()));
    }

    the_overview_counts_distinct_members_over_the_period_beside_the_previous_one(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        server.clock.set(Timestamp::from_millis(local_midnight() + 14 * DAY));
        for day in 0..14 {
            trading_day(&server, admin, day, if day == 10 { 5 } else { 0 }).await;
        }
        let path = format!("/api/v1/analytics/overview?from={}&to={}",
            urlencode(&rfc(local_midnight() + 7 * DAY)), urlencode(&rfc(local_midnight() + 14 * DAY)));
        let body = get(&server, admin, &path).await;
        let current = &body["current"];
        assert_eq!(current["orders"], 7);
        assert_eq!(current["gmv_fen"], 70_000);
        assert_eq!(current["refund_fen"], 5_000);
        // Five buyers rotate through the days: counted once each over the week.
        assert_eq!(current["buyers"], 5);
        assert_eq!(current["active_members"], 5);
        assert_eq!(current["uv_value_fen"], 14_000.0);
        assert_eq!(body["previous"]["orders"], 7);
        assert_eq!(body["previous"]["refund_fen"], 0);
        let (_, field) = error_of(server.as_key(admin, Method::GET, "/api/v1/analytics/overview?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z").send().await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("to"));
    }

    attribution_on_stored_journeys_credits_every_model_with_the_period_s_orders(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let start = local_midnight();
        server.clock.set(Timestamp::from_millis(start + 10 * DAY));
        // a: douyin → wechat, buys ¥100; b: wechat only, buys ¥50; c: douyin, never buys;
        // d buys with no touch at all (direct).
        touches(&server, admin, "a", &["douyin", "wechat"], start + DAY).await;
        touches(&server, admin, "b", &["wechat"], start + DAY).await;
        touches(&server, admin, "c", &["douyin"], start + DAY).await;
        for (buyer, fen) in [("a", 10_000), ("b", 5_000), ("d", 2_000)] {
            let response = send(&server, admin, Method::POST, "/api/v1/orders", json!({
                "external_id": format!("o-{buyer}"), "buyer": {"kind": "wechat_openid", "value": buyer},
                "items": [{"sku": "tea", "quantity": 1, "unit_price_fen": fen}], "paid_at": rfc(start + 2 * DAY),
            })).await;
            assert_eq!(response.status(), 201);
        }
        let body = json!({"from": rfc(start), "to": rfc(start + 10 * DAY), "models": ["first", "last", "linear", "markov1", "shapley"]});
        let response = send(&server, admin, Method::POST, "/api/v1/analytics/attribution", body).await;
        assert_eq!(response.status(), 200);
        let r = json(response).await;
        assert_eq!(r["converting_journeys"], 2);
        assert_eq!(r["non_converting_journeys"], 1);
        assert_eq!(r["unattributed_conversions"], 1);
        assert_eq!(r["unattributed_value"], 2_000.0);
        assert_eq!(r["total_conversions"], 2.0);
        assert_eq!(r["total_value"], 15_000.0);
        let credit = |model: &str, channel: &str| -> f64 {
            let m = r["models"].as_array().unwrap().iter().find(|m| m["model"] == model).unwrap();
            m["credits"].as_array().unwrap().iter().find(|c| c["channel"] == channel).map_or(0.0, |c| c["conversions"].as_f64().unwrap())
        };
        assert_eq!(credit("first", "douyin"), 1.0);
        assert_eq!(credit("last", "wechat"), 2.0);
        assert_eq!(credit("linear", "douyin"), 0.5);
        for model in ["first", "last", "linear", "markov1", "shapley"] {
            let total = credit(model, "douyin") + credit(model, "wechat");
            assert!((total - 2.0).abs() < 1e-9, "{model}: {total}");
        }
        for (body, field) in [
            (json!({"from": rfc(start), "to": rfc(start + DAY), "touch": "phone"}), "touch"),
            (json!({"from": rfc(start), "to": rfc(start + DAY), "models": ["last", "markov9"]}), "models[1]"),
            (json!({"from": rfc(start + DAY), "to": rfc(start)}), "to"),
            (json!({"from": "yesterday", "to": rfc(start)}), "from"),
        ] {
            let (_, got) = error_of(send(&server, admin, Method::POST, "/api/v1/analytics/attribution", body).await, 400).await;
            assert_eq!(got.as_deref(), Some(field));
        }
        // Another workspace's journeys are its own: none.
        let other = server.tenant("b").await;
        let r = json(send(&server, &other.admin_key, Method::POST, "/api/v1/analytics/attribution", json!({"from": rfc(start), "to": rfc(start + 10 * DAY)})).await).await;
        assert_eq!(r["total_conversions"], 0.0);
        assert_eq!(r["models"].as_array().unwrap().len(), 0);
    }

    a_funnel_over_stored_events_and_orders_counts_each_member_at_their_deepest_step(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let start = local_midnight();
        server.clock.set(Timestamp::from_millis(start + 10 * DAY));
        // Five viewers from douyin or wechat; three add to cart; two of them buy; one of
        // the buyers bought before adding to cart (not in order).
        let event = |buyer: &str, kind: &str, minute: i64, channel: &str| json!({
            "event_id": format!("{buyer}-{kind}"), "type": kind,
            "identity": {"kind": "wechat_openid", "value": buyer},
            "timestamp": rfc(start + DAY + minute * 60_000), "channel": channel,
        });
        let events = json!({"events": [
            event("a", "page_view", 0, "douyin"), event("a", "add_to_cart", 5, "douyin"),
            event("b", "page_view", 0, "douyin"), event("b", "add_to_cart", 5, "douyin"),
            event("c", "page_view", 0, "wechat"), event("c", "add_to_cart", 50, "wechat"),
            event("d", "page_view", 0, "wechat"), event("e", "page_view", 0, "wechat"),
        ]});
        let response = send(&server, admin, Method::POST, "/api/v1/events", events).await;
        assert_eq!(json(response).await["accepted"], 8);
        for (buyer, minute) in [("a", 10), ("b", 30), ("c", 20)] {
            let response = send(&server, admin, Method::POST, "/api/v1/orders", json!({
                "external_id": format!("o-{buyer}"), "buyer": {"kind": "wechat_openid", "value": buyer},
                "items": [{"sku": "tea", "quantity": 1, "unit_price_fen": 100}], "paid_at": rfc(start + DAY + minute * 60_000),
            })).await;
            assert_eq!(response.status(), 201);
        }
        let body = json!({"from": rfc(start), "to": rfc(start + 10 * DAY), "steps": ["page_view", "add_to_cart", "order"], "breakdown": "channel"});
        let response = send(&server, admin, Method::POST, "/api/v1/analytics/funnel", body).await;
        assert_eq!(response.status(), 200);
        let f = json(response).await;
        let members: Vec<u64> = f["steps"].as_array().unwrap().iter().map(|s| s["members"].as_u64().unwrap()).collect();
        assert_eq!(members, vec![5, 3, 2]);
        assert_eq!(f["steps"][2]["overall"], 0.4);
        assert_eq!(f["converted"], 2);
        assert_eq!(f["mode"], "ordered");
        assert_eq!(f["window_seconds"], 7 * 86_400);
        let douyin = f["breakdown_rows"].as_array().unwrap().iter().find(|r| r["value"] == "douyin").unwrap();
        assert_eq!(douyin["members"], json!([2, 2, 2]));
        // A 15-minute window loses b (bought 30 minutes after viewing).
        let body = json!({"from": rfc(start), "to": rfc(start + 10 * DAY), "steps": ["page_view", "add_to_cart", "order"], "window": "15m"});
        let f = json(send(&server, admin, Method::POST, "/api/v1/analytics/funnel", body).await).await;
        assert_eq!(f["steps"][2]["members"], 1);
        for (body, field) in [
            (json!({"from": rfc(start), "to": rfc(start + DAY), "steps": []}), "steps"),
            (json!({"from": rfc(start), "to": rfc(start + DAY), "steps": ["a"], "mode": "sideways"}), "mode"),
            (json!({"from": rfc(start), "to": rfc(start + DAY), "steps": ["a"], "window": "forever"}), "window"),
            (json!({"from": rfc(start), "to": rfc(start + DAY), "steps": ["a"], "breakdown": "phone"}), "breakdown"),
            (json!({"from": rfc(start), "to": rfc(start + DAY), "steps": ["a", "a"]}), "steps"),
        ] {
            let (_, got) = error_of(send(&server, admin, Method::POST, "/api/v1/analytics/funnel", body).await, 400).await;
            assert_eq!(got.as_deref(), Some(field));
        }
    }

    lifetime_value_is_fitted_on_stored_orders_and_members_are_ranked_by_it(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let start = local_midnight();
        server.clock.set(Timestamp::from_millis(start + 90 * DAY));
        let mut orders = Vec::new();
        for i in 0..30i64 {
            // Member i buys (i % 5) + 1 times, 7 to 20 days apart, ¥30 to ¥120 each.
            for k in 0..(i % 5) + 1 {
                orders.push(json!({
                    "external_id": format!("m{i}-{k}"), "buyer": {"kind": "wechat_openid", "value": format!("m{i}")},
                    "items": [{"sku": "tea", "quantity": 1, "unit_price_fen": 3000 + 300 * i}],
                    "paid_at": rfc(start + (i % 10) * DAY + k * (7 + i % 14) * DAY),
                }));
            }
        }
        for o in &orders {
            assert_eq!(send(&server, admin, Method::POST, "/api/v1/orders", o.clone()).await.status(), 201);
        }
        let r = get(&server, admin, "/api/v1/analytics/clv?top=30").await;
        assert_eq!(r["customers"], 30);
        assert_eq!(r["repeat_customers"], 24);
        assert_eq!(r["p_alive_histogram"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).sum::<u64>(), 30);
        for param in ["r", "alpha", "a", "b", "p", "q", "gamma"] {
            assert!(r[param]["value"].as_f64().unwrap() > 0.0, "{param}: {}", r[param]);
        }
        let top = r["top"].as_array().unwrap();
        let values: Vec<f64> = top.iter().map(|m| m["clv_fen"].as_f64().unwrap()).collect();
        assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
        assert!(top.iter().all(|m| (0.0..=1.0).contains(&m["p_alive"].as_f64().unwrap())));
        let total: f64 = values.iter().sum();
        assert!((r["total_clv_fen"].as_f64().unwrap() - total).abs() < 1e-6 * total);
        let (_, field) = error_of(server.as_key(admin, Method::GET, "/api/v1/analytics/clv?periods=0").send().await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("periods"));
        let other = server.tenant("b").await;
        let (_, field) = error_of(server.as_key(&other.admin_key, Method::GET, "/api/v1/analytics/clv").send().await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("as_of"));
    }

    retention_cohorts_count_members_who_came_back_each_week(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        // A local Monday: weeks run Monday to Sunday.
        let day_number = (local_midnight() + SHANGHAI).div_euclid(DAY);
        let monday = local_midnight() - (day_number + 3).rem_euclid(7) * DAY;
        server.clock.set(Timestamp::from_millis(monday + 30 * DAY));
        // a, b, c first buy in week 0; a comes back in week 1, b in week 2, d starts in week 1.
        for (buyer, day) in [("a", 0), ("b", 1), ("c", 2), ("a", 8), ("b", 15), ("d", 9)] {
            let response = send(&server, admin, Method::POST, "/api/v1/orders", json!({
                "external_id": format!("o-{buyer}-{day}"), "buyer": {"kind": "wechat_openid", "value": buyer},
                "items": [{"sku": "tea", "quantity": 1, "unit_price_fen": 100}], "paid_at": rfc(monday + day * DAY + 3_600_000),
            })).await;
            assert_eq!(response.status(), 201);
        }
        let body = json!({"from": rfc(monday), "to": rfc(monday + 28 * DAY), "start": "order", "return_event": "order", "period": "week", "periods": 3});
        let response = send(&server, admin, Method::POST, "/api/v1/analytics/retention", body).await;
        assert_eq!(response.status(), 200);
        let r = json(response).await;
        let cohorts = r["cohorts"].as_array().unwrap();
        assert_eq!(cohorts[0]["size"], 3);
        // Week 3 has not begun by the latest fact: not reported rather than zero.
        assert_eq!(cohorts[0]["retained"], json!([0, 1, 1, null]));
        assert_eq!(cohorts[1]["size"], 1);
        assert_eq!(r["members"], 4);
        assert!(r["definition"].as_str().unwrap().contains("order"));
        for (body, field) in [
            (json!({"from": rfc(monday), "to": rfc(monday + DAY), "start": "order", "return_event": "order", "period": "year"}), "period"),
            (json!({"from": rfc(monday), "to": rfc(monday + DAY), "start": "order", "return_event": "order", "periods": 0}), "periods"),
            (json!({"from": rfc(monday), "to": rfc(monday + DAY), "start": "", "return_event": "order"}), "start"),
        ] {
            let (_, got) = error_of(send(&server, admin, Method::POST, "/api/v1/analytics/retention", body).await, 400).await;
            assert_eq!(got.as_deref(), Some(field));
        }
    }

    an_experiment_assigns_stably_records_exposure_once_and_reports_results(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let (_, field) = error_of(send(&server, admin, Method::POST, "/api/v1/experiments", json!({"key": "Bad Key", "name": "x", "variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}]})).await, 400).await;
        assert_eq!(field.as_deref(), Some("key"));
        let (_, field) = error_of(send(&server, admin, Method::POST, "/api/v1/experiments", json!({"key": "k", "name": "x", "variants": [{"key": "a", "weight": 1}]})).await, 400).await;
        assert_eq!(field.as_deref(), Some("variants"));

        let response = send(&server, admin, Method::POST, "/api/v1/experiments", json!({
            "key": "checkout-banner", "name": "结算页横幅", "variants": [{"key": "control", "weight": 1}, {"key": "banner", "weight": 1}],
            "holdout_share": 0.1, "window_days": 7,
        }))
        .await;
        assert_eq!(response.status(), 201);
        let experiment = json(response).await;
        assert_eq!(experiment["status"], "draft");
        let (code, _) = error_of(send(&server, admin, Method::POST, "/api/v1/experiments", json!({"key": "checkout-banner", "name": "again", "variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}]})).await, 409).await;
        assert_eq!(code, "experiment_key_taken");

        // A draft answers the control and records nothing.
        let m0 = member(&server, admin, "m0").await;
        let body = json(send(&server, admin, Method::POST, "/api/v1/experiments/checkout-banner/assign", json!({"member_id": m0})).await).await;
        assert_eq!(body["variant"], "control");
        assert_eq!(body["recorded"], false);

        let response = send(&server, admin, Method::POST, "/api/v1/experiments/checkout-banner/start", json!({})).await;
        assert_eq!(response.status(), 200);
        let mut variants = std::collections::HashMap::new();
        for i in 0..60 {
            let m = member(&server, admin, &format!("m{i}")).await;
            let first = json(send(&server, admin, Method::POST, "/api/v1/experiments/checkout-banner/assign", json!({"member_id": m})).await).await;
            let again = json(send(&server, admin, Method::POST, "/api/v1/experiments/checkout-banner/assign", json!({"member_id": m})).await).await;
            assert_eq!(first["variant"], again["variant"], "assignment is stable");
            assert_eq!(first["recorded"], true);
            let v = first["variant"].as_str().unwrap_or("holdout").to_owned();
            // Banner members buy; control and holdout members do not.
            if v == "banner" {
                server.clock.advance(Duration::from_secs(60));
                order(&server, admin, &format!("o{i}"), &format!("m{i}"), json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 5000 + 100 * i}]), 0).await;
            }
            *variants.entry(v).or_insert(0u64) += 1;
        }
        let results = get(&server, admin, "/api/v1/experiments/checkout-banner/results").await;
        let arms = results["arms"].as_array().unwrap();
        assert_eq!(arms[0]["key"], "control");
        assert_eq!(arms[0]["members"], variants.get("control").copied().unwrap_or(0));
        assert_eq!(arms[1]["members"], variants.get("banner").copied().unwrap_or(0));
        assert_eq!(arms[1]["converted"], arms[1]["members"]);
        assert_eq!(arms[0]["converted"], 0);
        assert_eq!(results["holdout"]["members"], variants.get("holdout").copied().unwrap_or(0));
        let comparison = &results["comparisons"][0];
        assert_eq!(comparison["variant"], "banner");
        assert!(comparison["conversion"]["chance_to_win"].as_f64().unwrap() > 0.999);
        // The control's revenue has no variance (nobody bought): the test says why.
        assert!(comparison["revenue"].is_null());
        assert!(!comparison["notes"].as_array().unwrap().is_empty());
        assert!(results["srm"]["p_value"].as_f64().is_some());

        // Stopped: the results stay counted up to the stop; it cannot start again.
        let response = send(&server, admin, Method::POST, "/api/v1/experiments/checkout-banner/stop", json!({})).await;
        assert_eq!(response.status(), 200);
        let (code, _) = error_of(send(&server, admin, Method::POST, "/api/v1/experiments/checkout-banner/start", json!({})).await, 409).await;
        assert_eq!(code, "experiment_status");
        let other = server.tenant("b").await;
        let response = server.as_key(&other.admin_key, Method::GET, "/api/v1/experiments/checkout-banner").send().await.unwrap();
        assert_eq!(response.status(), 404);
    }
}

/// Touches by `buyer` on `channels`, one minute apart starting at `start`.
async fn touches(server: &TestServer, key: &str, buyer: &str, channels: &[&str], start: i64) {
    let events: Vec<Value> = channels
        .iter()
        .enumerate()
        .map(|(i, channel)| {
            json!({
                "event_id": format!("{buyer}-{i}-{start}"), "type": "page_view",
                "identity": {"kind": "wechat_openid", "value": buyer},
                "timestamp": rfc(start + i as i64 * 60_000), "channel": channel,
            })
        })
        .collect();
    let response = send(
        server,
        key,
        Method::POST,
        "/api/v1/events",
        json!({"events": events}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["accepted"], channels.len());
}

fn urlencode(raw: &str) -> String {
    raw.replace('+', "%2B").replace(':', "%3A")
}

on_both_backends! {
    the_rfm_distribution_counts_the_scored_profiles_by_cell_segment_and_stage(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let other = server.tenant("b").await;
        // Buyer i places i + 1 orders of ¥10 × (i + 1); one of buyer 4's is refunded in full.
        let mut net = 0;
        let mut last = String::new();
        for i in 0..5i64 {
            for n in 0..=i {
                last = order(&server, admin, &format!("o-{i}-{n}"), &format!("buyer-{i}"),
                    json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 1000 * (i + 1)}]), 0).await;
                net += 1000 * (i + 1);
            }
        }
        let refund = send(&server, admin, Method::POST, &format!("/api/v1/orders/{last}/refunds"),
            json!({"external_id": "r-1", "items": [{"line": 0, "quantity": 1}]})).await;
        assert_eq!(refund.status(), 201, "{:?}", refund.text().await);
        net -= 5000;
        // A visitor who never bought, and a buyer in another workspace.
        let events = send(&server, admin, Method::POST, "/api/v1/events", json!({"events": [{"event_id": "e-1", "type": "page_view",
            "identity": {"kind": "wechat_openid", "value": "visitor"}, "timestamp": server.clock.now().to_rfc3339()}]})).await;
        assert_eq!(events.status(), 200);
        order(&server, &other.admin_key, "x-1", "elsewhere", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 99_900}]), 0).await;

        let before = get(&server, admin, "/api/v1/analytics/rfm").await;
        assert!(before["scored_at"].is_null());
        assert_eq!(before["scored_members"], 0);
        assert_eq!(before["unscored"]["members"], 6);

        let job = json(send(&server, admin, Method::POST, "/api/v1/members/rfm/refresh", json!({})).await).await;
        let job_id = job["job_id"].as_str().unwrap().to_owned();
        eventually(Duration::from_secs(30), || {
            let request = server.as_key(admin, Method::GET, &format!("/api/v1/jobs/{job_id}")).send();
            async move { json(request.await.unwrap()).await["state"] == "done" }
        }).await;

        let rfm = get(&server, admin, "/api/v1/analytics/rfm").await;
        assert!(rfm["scored_at"].is_string(), "{rfm}");
        assert_eq!(rfm["scored_members"], 5);
        assert_eq!(rfm["unscored"]["members"], 1, "the visitor has no score");
        let cells: Vec<&Value> = rfm["grid"].as_array().unwrap().iter().flat_map(|row| row.as_array().unwrap()).collect();
        assert_eq!(cells.len(), 25);
        assert_eq!(cells.iter().map(|c| c["members"].as_u64().unwrap()).sum::<u64>(), 5);
        let segments = rfm["segments"].as_array().unwrap();
        assert_eq!(segments.len(), 11);
        assert_eq!(segments.iter().map(|s| s["members"].as_u64().unwrap()).sum::<u64>(), 5);
        assert_eq!(segments.iter().map(|s| s["net_fen"].as_i64().unwrap()).sum::<i64>(), net, "net of this workspace only");
        // Frequency quintiles over 1..5 orders put each buyer in its own column.
        assert_eq!(rfm["frequency"], json!([1, 1, 1, 1, 1]));
        let stages: u64 = rfm["lifecycle"].as_array().unwrap().iter().map(|s| s["members"].as_u64().unwrap()).sum();
        assert_eq!(stages, 6);
        assert_eq!(rfm["lifecycle"][0], json!({"stage": "new", "members": 6}));

        // Later, nobody came back: the stages move with the clock, the scores stay.
        server.clock.advance(Duration::from_secs(95 * 86_400));
        let later = get(&server, admin, "/api/v1/analytics/rfm").await;
        assert_eq!(later["lifecycle"][4], json!({"stage": "dormant", "members": 6}));
        assert_eq!(later["scored_members"], 5);

        // Storefront keys read no analytics.
        let key = json(send(&server, admin, Method::POST, "/api/v1/keys", json!({"name": "shop", "scopes": ["storefront"]})).await).await;
        let response = send(&server, key["secret"].as_str().unwrap(), Method::GET, "/api/v1/analytics/rfm", json!(null)).await;
        assert_eq!(response.status(), 403);
    }
}

on_both_backends! {
    merged_members_keep_one_exposure_per_experiment(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        for key in ["banner", "price"] {
            let response = send(&server, admin, Method::POST, "/api/v1/experiments", json!({
                "key": key, "name": key, "variants": [{"key": "control", "weight": 1}, {"key": "treatment", "weight": 1}]})).await;
            assert_eq!(response.status(), 201);
            assert_eq!(send(&server, admin, Method::POST, &format!("/api/v1/experiments/{key}/start"), json!({})).await.status(), 200);
        }
        let assign = |key: &'static str, member: String| {
            let request = server.as_key(admin, Method::POST, &format!("/api/v1/experiments/{key}/assign")).json(&json!({"member_id": member})).send();
            async move { json(request.await.unwrap()).await }
        };
        // Two members, later found to be one person: both saw `banner`, only the second saw `price`.
        let first = member(&server, admin, "wx-1").await;
        server.clock.advance(Duration::from_secs(60));
        let second = member(&server, admin, "wx-2").await;
        let survivor_variant = assign("banner", first.clone()).await["variant"].clone();
        assign("banner", second.clone()).await;
        let price_variant = assign("price", second.clone()).await["variant"].clone();

        let merged = send(&server, admin, Method::POST, "/api/v1/members/identify", json!({"identities": [
            {"kind": "wechat_openid", "value": "wx-1"}, {"kind": "wechat_openid", "value": "wx-2"}]})).await;
        assert_eq!(merged.status(), 200);
        let survivor = json(merged).await["member"]["id"].as_str().unwrap().to_owned();
        assert_eq!(survivor, first, "the older member survives");

        let exposed = |key: &'static str| {
            let request = server.as_key(admin, Method::GET, &format!("/api/v1/experiments/{key}/results")).send();
            async move {
                let results = json(request.await.unwrap()).await;
                results["arms"].as_array().unwrap().iter().map(|a| a["members"].as_u64().unwrap()).sum::<u64>()
                    + results["holdout"]["members"].as_u64().unwrap_or(0)
            }
        };
        assert_eq!(exposed("banner").await, 1, "one person, one exposure");
        assert_eq!(exposed("price").await, 1, "the merged member's exposure follows the survivor");
        // Assignment is sticky: the survivor sees the variants that were counted for it.
        assert_eq!(assign("banner", survivor.clone()).await["variant"], survivor_variant);
        assert_eq!(assign("price", survivor).await["variant"], price_variant, "the moved exposure's variant");
    }
}

on_both_backends! {
    buckets_missed_while_no_node_ran_are_judged_when_one_comes_back(backend) {
        // No worker pool: this test is the only one judging, when it says so (the
        // scheduler would judge as soon as the clock moves, before the days' orders exist).
        let server = TestServer::start_with(backend, |c| c.jobs.enabled = false).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        server.clock.set(Timestamp::from_millis(local_midnight() + 35 * DAY + 60_000));
        for day in 0..35 {
            trading_day(&server, admin, day, 1).await;
        }
        let response = send(&server, admin, Method::POST, "/api/v1/alerts/rules", json!({
            "name": "退款激增", "metric": "refund_rate", "direction": "up", "lookback_weeks": 4})).await;
        assert_eq!(response.status(), 201);
        // A new rule judges only the newest completed day: an ordinary one.
        assert_eq!(evaluate_due(&server.app).await.unwrap(), 0);

        // Then no node runs for four days; two of them have a refund spike.
        server.clock.set(Timestamp::from_millis(local_midnight() + 39 * DAY + 60_000));
        for (day, refunded) in [(35, 6), (36, 1), (37, 7), (38, 1)] {
            trading_day(&server, admin, day, refunded).await;
        }
        assert_eq!(evaluate_due(&server.app).await.unwrap(), 2);
        assert_eq!(evaluate_due(&server.app).await.unwrap(), 0, "each bucket is judged once");
        let alerts = get(&server, admin, "/api/v1/alerts").await["items"].as_array().unwrap().clone();
        let mut days: Vec<String> = alerts.iter().map(|a| a["bucket_start"].as_str().unwrap().to_owned()).collect();
        days.sort();
        assert_eq!(days, [rfc(local_midnight() + 35 * DAY), rfc(local_midnight() + 37 * DAY)]);
        assert!(alerts.iter().all(|a| a["details"]["late"] == true));
        let ws = WorkspaceId::from_trusted(tenant.workspace_id.clone());
        let rule = alerts[0]["rule_id"].as_str().unwrap();
        assert_eq!(server.app.store.domain_events_for(&ws, rule).await.unwrap().len(), 2);

        // After a long outage only the last week is judged: no flood of stale alerts.
        server.clock.set(Timestamp::from_millis(local_midnight() + 60 * DAY + 60_000));
        for day in 39..60 {
            trading_day(&server, admin, day, if day == 45 || day == 58 { 9 } else { 1 }).await;
        }
        assert_eq!(evaluate_due(&server.app).await.unwrap(), 1, "day 58 is in the last week, day 45 is not");
    }
}
