//! Promotions end to end, on SQLite and PostgreSQL: coupon limits and budgets under
//! concurrency, checkout locks and their timeout, refunds, cart pricing explanations,
//! flash sales without oversell, and the original-price check.

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

async fn get(server: &TestServer, key: &str, path: &str) -> Value {
    let response = server.as_key(key, Method::GET, path).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    json(response).await
}

async fn template(server: &TestServer, key: &str, body: Value) -> String {
    let response = post(server, key, "/api/v1/coupon-templates", body).await;
    assert_eq!(response.status(), 201);
    json(response).await["id"].as_str().unwrap().to_owned()
}

async fn claim(server: &TestServer, key: &str, template: &str, member: &str) -> Response {
    post(
        server,
        key,
        &format!("/api/v1/coupon-templates/{template}/claims"),
        json!({"member_id": member}),
    )
    .await
}

async fn claimed(server: &TestServer, key: &str, template: &str, member: &str) -> String {
    let response = claim(server, key, template, member).await;
    assert_eq!(response.status(), 201);
    json(response).await["id"].as_str().unwrap().to_owned()
}

fn cart(member: &str, coupons: Option<Vec<&str>>) -> Value {
    let mut body = json!({
        "member_id": member,
        "items": [
            {"sku": "tea", "category": "drinks", "unit_price_fen": 20000, "quantity": 1},
            {"sku": "cup", "category": "ware", "unit_price_fen": 15000, "quantity": 1},
        ],
        "shipping_fen": 1000,
    });
    if let Some(coupons) = coupons {
        body["coupons"] = json!(coupons);
    }
    body
}

async fn checkout(
    server: &TestServer,
    key: &str,
    order: String,
    member: &str,
    coupons: Vec<&str>,
) -> Response {
    let mut body = cart(member, Some(coupons));
    body["order_id"] = json!(order);
    post(server, key, "/api/v1/checkouts", body).await
}

/// Creates a flash sale; its id.
async fn flash_sale(server: &TestServer, key: &str, body: Value) -> String {
    let response = post(server, key, "/api/v1/flash-sales", body).await;
    assert_eq!(response.status(), 201);
    json(response).await["id"].as_str().unwrap().to_owned()
}

async fn sweep(server: &TestServer) {
    quanzi_app::jobs::promotions::sweep(&server.app)
        .await
        .unwrap();
}

const MANJIAN: &str = r#"{"name": "满300减50", "kind": "amount_off", "threshold_fen": 30000, "amount_fen": 5000, "use_days": 7}"#;

fn manjian(extra: Value) -> Value {
    let mut body: Value = serde_json::from_str(MANJIAN).unwrap();
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

on_both_backends! {
    concurrent_claims_never_pass_the_quantity_or_a_members_claim_limit(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let tpl = template(&server, admin, manjian(json!({"total_quantity": 5, "per_member_claim_limit": 1}))).await;
        let mut members = Vec::new();
        for i in 0..10 {
            members.push(member(&server, admin, &format!("o{i}")).await);
        }
        // Every member tries twice at once: 20 claims for 5 coupons, one each at most.
        let claims = members.iter().chain(members.iter()).map(|m| claim(&server, &shop, &tpl, m));
        let mut won = Vec::new();
        for (i, response) in futures_util::future::join_all(claims).await.into_iter().enumerate() {
            match response.status().as_u16() {
                201 => won.push(members[i % 10].clone()),
                _ => {
                    let (code, _) = error_of(response, 409).await;
                    assert!(["coupon_sold_out", "coupon_claim_limit_reached"].contains(&code.as_str()), "{code}");
                }
            }
        }
        assert_eq!(won.len(), 5);
        let mut distinct = won.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 5, "no member claimed twice");
        let body = get(&server, admin, &format!("/api/v1/coupon-templates/{tpl}")).await;
        assert_eq!(body["issued"], 5);
    }

    fifty_concurrent_checkouts_with_one_single_use_coupon_lock_it_once(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let tpl = template(&server, admin, manjian(json!({}))).await;
        let m = member(&server, admin, "buyer").await;
        let coupon = claimed(&server, &shop, &tpl, &m).await;
        let attempts = (0..50).map(|i| checkout(&server, &shop, format!("order-{i}"), &m, vec![&coupon]));
        let mut winners = Vec::new();
        for (i, response) in futures_util::future::join_all(attempts).await.into_iter().enumerate() {
            if response.status() == 201 {
                let body = json(response).await;
                assert_eq!(body["price"]["total_fen"], 35000 - 5000 + 1000);
                assert_eq!(body["locked_coupons"][0]["id"], coupon);
                winners.push(format!("order-{i}"));
            } else {
                let (code, _) = error_of(response, 409).await;
                assert_eq!(code, "coupon_not_available");
            }
        }
        assert_eq!(winners.len(), 1, "exactly one checkout may hold the coupon");
        let body = get(&server, &shop, &format!("/api/v1/coupons/{coupon}")).await;
        assert_eq!(body["status"], "locked");
        assert_eq!(body["order_id"], winners[0].as_str());
        // The paid order redeems it.
        order(&server, admin, &winners[0], "buyer", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 30000}]), 0).await;
        let body = get(&server, &shop, &format!("/api/v1/coupons/{coupon}")).await;
        assert_eq!(body["status"], "used");
        assert_eq!(body["discount_fen"], 5000);
    }

    a_members_use_limit_holds_under_concurrent_checkouts(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let tpl = template(&server, admin, manjian(json!({"per_member_use_limit": 2}))).await;
        let m = member(&server, admin, "buyer").await;
        let mut coupons = Vec::new();
        for _ in 0..6 {
            coupons.push(claimed(&server, &shop, &tpl, &m).await);
        }
        let attempts = coupons.iter().enumerate().map(|(i, c)| checkout(&server, &shop, format!("order-{i}"), &m, vec![c]));
        let mut ok = 0;
        for response in futures_util::future::join_all(attempts).await {
            if response.status() == 201 {
                ok += 1;
            } else {
                let (code, _) = error_of(response, 409).await;
                assert_eq!(code, "coupon_limit_reached");
            }
        }
        assert_eq!(ok, 2);
        let locked = get(&server, &shop, &format!("/api/v1/members/{m}/coupons?status=locked")).await;
        assert_eq!(locked["items"].as_array().unwrap().len(), 2);
    }

    a_budget_caps_the_total_discount_under_concurrency_and_stops_claims(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        // Budget for 4 coupons of ¥50 and a bit: 4 may be used, never 5.
        let tpl = template(&server, admin, manjian(json!({"budget_fen": 23000}))).await;
        let mut pairs = Vec::new();
        for i in 0..12 {
            let m = member(&server, admin, &format!("o{i}")).await;
            let c = claimed(&server, &shop, &tpl, &m).await;
            pairs.push((m, c));
        }
        let attempts = pairs.iter().enumerate().map(|(i, (m, c))| checkout(&server, &shop, format!("order-{i}"), m, vec![c]));
        let mut ok = 0;
        for response in futures_util::future::join_all(attempts).await {
            if response.status() == 201 {
                ok += 1;
            } else {
                let (code, _) = error_of(response, 409).await;
                assert_eq!(code, "coupon_budget_exhausted");
            }
        }
        assert_eq!(ok, 4);
        let report = get(&server, admin, "/api/v1/promotions/liability").await;
        let row = &report["templates"][0];
        assert_eq!(row["booked_fen"], 20000);
        assert_eq!(row["budget_left_fen"], 3000);
        assert_eq!(row["budget_exhausted"], true);
        assert_eq!(row["locked"], 4);
        assert_eq!(row["available"], 8);
        let late = member(&server, admin, "late").await;
        let (code, _) = error_of(claim(&server, &shop, &tpl, &late).await, 409).await;
        assert_eq!(code, "coupon_budget_exhausted");
    }

    an_unpaid_checkout_gives_its_coupon_back_after_the_timeout_once(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let tpl = template(&server, admin, manjian(json!({"per_member_use_limit": 1, "budget_fen": 5000}))).await;
        let m = member(&server, admin, "buyer").await;
        let coupon = claimed(&server, &shop, &tpl, &m).await;
        let mut body = cart(&m, Some(vec![&coupon]));
        body["order_id"] = json!("o-1");
        body["timeout_seconds"] = json!(600);
        assert_eq!(post(&server, &shop, "/api/v1/checkouts", body).await.status(), 201);
        server.clock.advance(Duration::from_secs(601));
        sweep(&server).await;
        sweep(&server).await;
        let c = get(&server, &shop, &format!("/api/v1/coupons/{coupon}")).await;
        assert_eq!(c["status"], "available");
        assert_eq!(c["order_id"], Value::Null);
        let t = get(&server, admin, &format!("/api/v1/coupon-templates/{tpl}")).await;
        assert_eq!(t["booked_fen"], 0, "the budget came back once");
        // The use came back too: the limit of one lets the member check out again.
        assert_eq!(checkout(&server, &shop, "o-2".to_owned(), &m, vec![&coupon]).await.status(), 201);
        // A cancel gives it back at once.
        let released = json(post(&server, &shop, "/api/v1/checkouts/o-2/cancel", json!({})).await).await;
        assert_eq!(released["released_coupons"][0]["status"], "available");
    }

    a_full_refund_returns_the_coupon_unless_the_template_keeps_it(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let returned = template(&server, admin, manjian(json!({"per_member_use_limit": 1}))).await;
        let kept = template(&server, admin, manjian(json!({"name": "keep", "refund_policy": "keep", "per_member_use_limit": 1}))).await;
        let m = member(&server, admin, "buyer").await;
        let c1 = claimed(&server, &shop, &returned, &m).await;
        let c2 = claimed(&server, &shop, &kept, &m).await;
        for (order_no, coupon) in [("o-1", &c1), ("o-2", &c2)] {
            assert_eq!(checkout(&server, &shop, order_no.to_owned(), &m, vec![coupon]).await.status(), 201);
            let id = order(&server, admin, order_no, "buyer", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 30000}]), 0).await;
            refund(&server, admin, &id, &format!("r-{order_no}"), None).await;
        }
        assert_eq!(get(&server, &shop, &format!("/api/v1/coupons/{c1}")).await["status"], "available");
        assert_eq!(get(&server, &shop, &format!("/api/v1/coupons/{c2}")).await["status"], "used");
        let t = get(&server, admin, &format!("/api/v1/coupon-templates/{returned}")).await;
        assert_eq!(t["booked_fen"], 0);
        // Returned means usable again: the use count came back.
        assert_eq!(checkout(&server, &shop, "o-3".to_owned(), &m, vec![&c1]).await.status(), 201);
    }

    a_cart_priced_under_a_merged_members_id_uses_the_survivors_coupons(backend) {
        // Pricing reads the coupons under the id it was given, beside the member itself;
        // a merged id must still price with the survivor's coupons (and the merged one's,
        // which followed them).
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let coupon = template(&server, admin, json!(serde_json::from_str::<Value>(MANJIAN).unwrap())).await;
        let older = member(&server, admin, "wx-old").await;
        let newer = member(&server, admin, "wx-new").await;
        let held = claimed(&server, &shop, &coupon, &older).await;
        let response = post(&server, admin, "/api/v1/members/identify", json!({
            "identities": [{"kind": "wechat_openid", "value": "wx-old"}, {"kind": "wechat_openid", "value": "wx-new"}],
        })).await;
        assert_eq!(response.status(), 200);
        assert_eq!(json(response).await["member"]["id"], older.as_str());
        for asked in [&older, &newer] {
            let body = json(post(&server, &shop, "/api/v1/carts/price", cart(asked, None)).await).await;
            let applied: Vec<&str> = body["applied"].as_array().unwrap().iter().map(|a| a["offer_id"].as_str().unwrap()).collect();
            assert_eq!(applied, [held.as_str()], "priced as {asked}: {body}");
            assert_eq!(body["discount_fen"], 5000, "{body}");
        }
    }

    cart_pricing_picks_the_best_stack_and_explains_every_fen(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let response = post(&server, admin, "/api/v1/promotions", json!({
            "name": "满200减20", "kind": "threshold",
            "starts_at": "2026-09-01T00:00:00Z", "ends_at": "2026-12-31T00:00:00Z",
            "tiers": [{"at": 20000, "amount_off_fen": 2000}, {"at": 40000, "amount_off_fen": 6000}],
            "stacking": {"group": "shop", "stacks_with": ["coupon"]},
        })).await;
        assert_eq!(response.status(), 201);
        let stackable = template(&server, admin, manjian(json!({"name": "stackable", "stacking": {"group": "coupon", "stacks_with": ["shop"]}}))).await;
        let alone = template(&server, admin, json!({"name": "九折", "kind": "percent_off", "percent_off": 10, "use_days": 7})).await;
        let far = template(&server, admin, json!({"name": "满1000减200", "kind": "amount_off", "threshold_fen": 100000, "amount_fen": 20000, "use_days": 7})).await;
        let m = member(&server, admin, "buyer").await;
        let c_stack = claimed(&server, &shop, &stackable, &m).await;
        let c_alone = claimed(&server, &shop, &alone, &m).await;
        let c_far = claimed(&server, &shop, &far, &m).await;
        let body = json(post(&server, &shop, "/api/v1/carts/price", cart(&m, None)).await).await;
        // 350 yuan: 满200减20 + 满300减50 = 70 off beats 九折 alone (35 off).
        assert_eq!(body["subtotal_fen"], 35000);
        assert_eq!(body["discount_fen"], 7000, "{body}");
        assert_eq!(body["total_fen"], 35000 - 7000 + 1000);
        let applied: Vec<&str> = body["applied"].as_array().unwrap().iter().map(|a| a["offer_id"].as_str().unwrap()).collect();
        assert!(applied.contains(&c_stack.as_str()), "{body}");
        let lines = body["lines"].as_array().unwrap();
        let line_sum: i64 = lines.iter().map(|l| l["final_fen"].as_i64().unwrap()).sum();
        assert_eq!(line_sum, 35000 - 7000, "the lines add up to what is paid for items");
        for a in body["applied"].as_array().unwrap() {
            let spread: i64 = a["allocations"].as_array().unwrap().iter().map(|x| x["fen"].as_i64().unwrap()).sum();
            assert_eq!(spread, a["savings_fen"].as_i64().unwrap(), "{a}");
        }
        let reason = |id: &str| body["not_applied"].as_array().unwrap().iter().find(|n| n["offer_id"] == id).cloned().unwrap();
        assert_eq!(reason(&c_far)["reason"], "below_threshold");
        // Measured where it would apply: after 满200减20 and 满300减50.
        assert_eq!(reason(&c_far)["missing"], 100000 - (35000 - 7000));
        assert!(["not_combinable", "not_better"].contains(&reason(&c_alone)["reason"].as_str().unwrap()));
        // Asking for one coupon prices with that one.
        let body = json(post(&server, &shop, "/api/v1/carts/price", cart(&m, Some(vec![&c_alone]))).await).await;
        assert_eq!(body["discount_fen"], 3500, "{body}");
        // Pricing is deterministic.
        let again = json(post(&server, &shop, "/api/v1/carts/price", cart(&m, Some(vec![&c_alone]))).await).await;
        assert_eq!(body, again);
    }

    a_margin_floor_is_never_crossed(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let tpl = template(&server, admin, json!({"name": "无门槛100", "kind": "no_threshold", "amount_fen": 10000, "use_days": 7})).await;
        let m = member(&server, admin, "buyer").await;
        claimed(&server, &shop, &tpl, &m).await;
        let body = json(post(&server, &shop, "/api/v1/carts/price", json!({
            "member_id": m,
            "items": [{"sku": "tea", "category": "drinks", "unit_price_fen": 12000, "quantity": 1, "floor_unit_fen": 9000}],
        })).await).await;
        assert_eq!(body["lines"][0]["final_fen"], 9000, "{body}");
        assert_eq!(body["discount_fen"], 3000);
    }

    bad_promotion_input_is_refused_with_the_field_to_fix(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let (_, field) = error_of(post(&server, admin, "/api/v1/coupon-templates", manjian(json!({"amount_fen": 40000}))).await, 400).await;
        assert_eq!(field.as_deref(), Some("amount_fen"));
        let (_, field) = error_of(post(&server, admin, "/api/v1/coupon-templates", manjian(json!({"kind": "bogus"}))).await, 400).await;
        assert_eq!(field.as_deref(), Some("kind"));
        let (_, field) = error_of(post(&server, admin, "/api/v1/coupon-templates", manjian(json!({"use_days": null}))).await, 400).await;
        assert_eq!(field.as_deref(), Some("use_days"));
        let m = member(&server, admin, "buyer").await;
        let (_, field) = error_of(post(&server, admin, "/api/v1/carts/price", json!({
            "member_id": m, "items": [{"sku": "tea", "category": "drinks", "unit_price_fen": -1, "quantity": 1}],
        })).await, 400).await;
        assert_eq!(field.as_deref(), Some("items[0].unit_price_fen"));
        let (_, field) = error_of(post(&server, admin, "/api/v1/flash-sales", json!({
            "name": "秒杀", "starts_at": "2026-09-21T00:00:00Z", "ends_at": "2026-09-20T00:00:00Z",
            "skus": [{"sku": "tea", "flash_price_fen": 100, "original_price_fen": 200, "stock": 1}],
        })).await, 400).await;
        assert_eq!(field.as_deref(), Some("ends_at"));
        // Nothing was created by any of them.
        assert_eq!(get(&server, admin, "/api/v1/coupon-templates").await["items"], json!([]));
        assert_eq!(get(&server, admin, "/api/v1/flash-sales").await["items"], json!([]));
    }

    another_workspaces_coupons_and_sales_are_not_found(backend) {
        let server = TestServer::start(backend).await;
        let a = server.tenant("a").await;
        let b = server.tenant("b").await;
        let tpl = template(&server, &a.admin_key, manjian(json!({}))).await;
        let mb = member(&server, &b.admin_key, "o-b").await;
        let (code, _) = error_of(claim(&server, &b.admin_key, &tpl, &mb).await, 404).await;
        assert_eq!(code, "not_found");
        let response = server.as_key(&b.admin_key, Method::GET, &format!("/api/v1/coupon-templates/{tpl}")).send().await.unwrap();
        assert_eq!(response.status(), 404);
    }

    a_flash_sale_never_oversells_and_expired_reservations_return_stock_once(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let sale = flash_sale(&server, admin, json!({
            "name": "双11秒杀", "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(3600)).to_rfc3339(),
            "payment_timeout_seconds": 300, "per_member_limit": 1, "buckets": 4,
            "skus": [{"sku": "tea", "flash_price_fen": 9900, "original_price_fen": 19900, "stock": 7}],
        })).await;
        let mut members = Vec::new();
        for i in 0..20 {
            members.push(member(&server, admin, &format!("o{i}")).await);
        }
        let path = format!("/api/v1/flash-sales/{sale}/reservations");
        // Each member asks twice at once: 40 attempts for 7 units, one per member.
        let attempts = members.iter().chain(members.iter()).map(|m| post(&server, &shop, &path, json!({"member_id": m, "sku": "tea"})));
        let mut holders = Vec::new();
        let mut reservations = Vec::new();
        for response in futures_util::future::join_all(attempts).await {
            if response.status() == 201 {
                let body = json(response).await;
                holders.push(body["member_id"].as_str().unwrap().to_owned());
                reservations.push(body["id"].as_str().unwrap().to_owned());
            } else {
                let (code, _) = error_of(response, 409).await;
                assert!(["flash_sold_out", "flash_limit_reached"].contains(&code.as_str()), "{code}");
            }
        }
        assert_eq!(holders.len(), 7);
        holders.sort();
        holders.dedup();
        assert_eq!(holders.len(), 7, "no member holds two");
        let body = get(&server, admin, &format!("/api/v1/flash-sales/{sale}")).await;
        assert_eq!(body["skus"][0]["remaining"], 0);
        // One is paid, one cancelled (stock back at once), the rest time out.
        let paid = get(&server, admin, &format!("/api/v1/flash-sales/{sale}/reservations")).await["items"][0].clone();
        let done = post(&server, &shop, &format!("/api/v1/flash-reservations/{}/complete", paid["id"].as_str().unwrap()), json!({"order_id": "fs-1"})).await;
        assert_eq!(json(done).await["status"], "paid");
        let cancel_id = reservations.iter().find(|r| **r != paid["id"]).unwrap();
        let cancelled = post(&server, &shop, &format!("/api/v1/flash-reservations/{cancel_id}/cancel"), json!({})).await;
        assert_eq!(json(cancelled).await["status"], "cancelled");
        let (code, _) = error_of(post(&server, &shop, &format!("/api/v1/flash-reservations/{cancel_id}/cancel"), json!({})).await, 409).await;
        assert_eq!(code, "reservation_not_reserved");
        assert_eq!(get(&server, admin, &format!("/api/v1/flash-sales/{sale}")).await["skus"][0]["remaining"], 1);
        server.clock.advance(Duration::from_secs(301));
        sweep(&server).await;
        sweep(&server).await;
        assert_eq!(get(&server, admin, &format!("/api/v1/flash-sales/{sale}")).await["skus"][0]["remaining"], 6, "5 expired + 1 cancelled, each once");
        let all = get(&server, admin, &format!("/api/v1/flash-sales/{sale}/reservations")).await;
        let expired = all["items"].as_array().unwrap().iter().filter(|r| r["status"] == "expired").count();
        assert_eq!(expired, 5);
        // The member whose reservation lapsed may buy again.
        let lapsed = all["items"].as_array().unwrap().iter().find(|r| r["status"] == "expired").unwrap()["member_id"].clone();
        assert_eq!(post(&server, &shop, &path, json!({"member_id": lapsed, "sku": "tea"})).await.status(), 201);
    }

    a_cancelled_sale_takes_no_reservation_and_keeps_or_releases_the_unpaid_ones(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let new_sale = || json!({
            "name": "标错价", "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(3600)).to_rfc3339(),
            "skus": [{"sku": "tea", "flash_price_fen": 100, "original_price_fen": 19900, "stock": 5}],
        });
        let kept = flash_sale(&server, admin, new_sale()).await;
        let released = flash_sale(&server, admin, new_sale()).await;
        let (a, b) = (member(&server, admin, "a").await, member(&server, admin, "b").await);
        for sale in [&kept, &released] {
            let path = format!("/api/v1/flash-sales/{sale}/reservations");
            assert_eq!(post(&server, &shop, &path, json!({"member_id": a, "sku": "tea"})).await.status(), 201);
        }
        // Only operators cancel; a storefront key is refused and changes nothing.
        assert_eq!(post(&server, &shop, &format!("/api/v1/flash-sales/{kept}/cancel"), json!({})).await.status(), 403);
        assert_eq!(get(&server, admin, &format!("/api/v1/flash-sales/{kept}")).await["status"], "active");
        let (_, field) = error_of(post(&server, admin, &format!("/api/v1/flash-sales/{kept}/cancel"), json!({"release": true})).await, 400).await;
        assert!(field.is_some(), "an unknown field is named");

        // Every field is optional, so the body may be left out.
        let response = server.as_key(admin, Method::POST, &format!("/api/v1/flash-sales/{kept}/cancel")).send().await.unwrap();
        let done = json(response).await;
        assert_eq!(done["sale"]["status"], "cancelled", "{done}");
        assert_eq!(done["released_reservations"], 0);
        let (code, _) = error_of(post(&server, &shop, &format!("/api/v1/flash-sales/{kept}/reservations"), json!({"member_id": b, "sku": "tea"})).await, 409).await;
        assert_eq!(code, "flash_ended");
        let (code, _) = error_of(post(&server, admin, &format!("/api/v1/flash-sales/{kept}/cancel"), json!({})).await, 409).await;
        assert_eq!(code, "flash_sale_not_active");
        assert_eq!(post(&server, admin, "/api/v1/flash-sales/fls_01hzzzzzzzzzzzzzzzzzzzzzzz/cancel", json!({})).await.status(), 404);
        // The reservation made before the cancellation can still be paid.
        let before = get(&server, admin, &format!("/api/v1/flash-sales/{kept}/reservations")).await["items"][0].clone();
        assert_eq!(before["status"], "reserved");
        let paid = post(&server, &shop, &format!("/api/v1/flash-reservations/{}/complete", before["id"].as_str().unwrap()), json!({"order_id": "o-1"})).await;
        assert_eq!(json(paid).await["status"], "paid");

        let done = json(post(&server, admin, &format!("/api/v1/flash-sales/{released}/cancel"), json!({"release_reservations": true})).await).await;
        assert_eq!(done["released_reservations"], 1, "{done}");
        let items = get(&server, admin, &format!("/api/v1/flash-sales/{released}/reservations")).await["items"].clone();
        assert_eq!(items[0]["status"], "cancelled", "{items}");
        // Another workspace cannot see or cancel either sale.
        let other = server.tenant("b").await;
        assert_eq!(post(&server, &other.admin_key, &format!("/api/v1/flash-sales/{released}/cancel"), json!({})).await.status(), 404);
    }

    no_reservation_outlives_a_cancellation_that_releases_them(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let sale = flash_sale(&server, admin, json!({
            "name": "cancel in the rush", "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(3600)).to_rfc3339(),
            "buckets": 4, "skus": [{"sku": "tea", "flash_price_fen": 100, "original_price_fen": 19900, "stock": 30}],
        })).await;
        let mut members = Vec::new();
        for i in 0..40 {
            members.push(member(&server, admin, &format!("r{i}")).await);
        }
        let path = format!("/api/v1/flash-sales/{sale}/reservations");
        let attempts = futures_util::future::join_all(members.iter().map(|m| post(&server, &shop, &path, json!({"member_id": m, "sku": "tea"}))));
        let cancel_path = format!("/api/v1/flash-sales/{sale}/cancel");
        let cancel = post(&server, admin, &cancel_path, json!({"release_reservations": true}));
        let (answers, cancelled) = tokio::join!(attempts, cancel);
        assert_eq!(cancelled.status(), 200);
        for response in answers {
            if response.status() != 201 {
                let (code, _) = error_of(response, 409).await;
                assert!(["flash_ended", "flash_sold_out"].contains(&code.as_str()), "{code}");
            }
        }
        // A reservation committed after the cancellation would still be `reserved`.
        let items = get(&server, admin, &format!("/api/v1/flash-sales/{sale}/reservations")).await["items"].clone();
        let left = items.as_array().unwrap().iter().filter(|r| r["status"] == "reserved").count();
        assert_eq!(left, 0, "{items}");
        assert_eq!(error_of(post(&server, &shop, &path, json!({"member_id": members[0], "sku": "tea"})).await, 409).await.0, "flash_ended");
    }

    a_line_under_a_reservation_pays_the_flash_price_and_nothing_else_applies_to_it(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let sale = flash_sale(&server, admin, json!({
            "name": "双11秒杀", "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(3600)).to_rfc3339(),
            "payment_timeout_seconds": 300, "per_member_limit": 2,
            "skus": [{"sku": "tea", "flash_price_fen": 9900, "original_price_fen": 20000, "stock": 10}],
        })).await;
        let (m, other) = (member(&server, admin, "m").await, member(&server, admin, "other").await);
        let reserve = |who: &str| json!({"member_id": who, "sku": "tea", "quantity": 1});
        let path = format!("/api/v1/flash-sales/{sale}/reservations");
        let rsv = json(post(&server, &shop, &path, reserve(&m)).await).await["id"].as_str().unwrap().to_owned();
        let others = json(post(&server, &shop, &path, reserve(&other)).await).await["id"].as_str().unwrap().to_owned();
        // 满300减50 on the member's coupon: the cup alone (¥150) no longer reaches it.
        let coupon = claimed(&server, &shop, &template(&server, admin, manjian(json!({}))).await, &m).await;
        let flash_cart = |rsv: &str, quantity: i64| {
            let mut body = cart(&m, None);
            body["items"][0]["flash_reservation_id"] = json!(rsv);
            body["items"][0]["quantity"] = json!(quantity);
            body
        };
        let priced = json(post(&server, &shop, "/api/v1/carts/price", flash_cart(&rsv, 1)).await).await;
        assert_eq!(priced["lines"][0]["final_fen"], 9900, "{priced}");
        assert_eq!(priced["lines"][0]["discounts"], json!([{"offer_id": format!("flash:{rsv}"), "fen": 10100}]));
        assert_eq!(priced["lines"][1]["final_fen"], 15000, "the cup alone does not reach 满300");
        assert_eq!(priced["total_fen"], 9900 + 15000 + 1000);
        let applied = &priced["applied"][0];
        assert_eq!((applied["source"].as_str(), applied["label"].as_str()), (Some("flash_sale"), Some("双11秒杀")));
        let not_applied = priced["not_applied"].as_array().unwrap();
        assert!(not_applied.iter().any(|n| n["offer_id"] == coupon.as_str() && n["reason"] == "below_threshold"), "{priced}");
        // Another member's reservation, more than reserved, or a released one: refused.
        let (_, field) = error_of(post(&server, &shop, "/api/v1/carts/price", flash_cart(&others, 1)).await, 400).await;
        assert_eq!(field.as_deref(), Some("items[0].flash_reservation_id"));
        let (_, field) = error_of(post(&server, &shop, "/api/v1/carts/price", flash_cart(&rsv, 2)).await, 400).await;
        assert_eq!(field.as_deref(), Some("items[0].quantity"));
        // A checkout buys every unit a reservation holds (pricing fewer is fine).
        let pair = member(&server, admin, "pair").await;
        let held_two = json(post(&server, &shop, &path, json!({"member_id": pair, "sku": "tea", "quantity": 2})).await).await;
        let mut one_of_two = cart(&pair, None);
        one_of_two["items"][0]["flash_reservation_id"] = held_two["id"].clone();
        assert_eq!(post(&server, &shop, "/api/v1/carts/price", one_of_two.clone()).await.status(), 200);
        one_of_two["order_id"] = json!("o-pair");
        let (_, field) = error_of(post(&server, &shop, "/api/v1/checkouts", one_of_two).await, 400).await;
        assert_eq!(field.as_deref(), Some("items[0].quantity"));
        let mut wrong_sku = flash_cart(&rsv, 1);
        wrong_sku["items"][1]["flash_reservation_id"] = json!(rsv);
        let (_, field) = error_of(post(&server, &shop, "/api/v1/carts/price", wrong_sku).await, 400).await;
        assert_eq!(field.as_deref(), Some("items[1].flash_reservation_id"));

        // A checkout ties the reservation to its order; the order's arrival pays it.
        let mut body = flash_cart(&rsv, 1);
        body["order_id"] = json!("o-flash");
        assert_eq!(post(&server, &shop, "/api/v1/checkouts", body.clone()).await.status(), 201);
        // Checking out again without the flash line unties it; with it, ties it again.
        let mut without = cart(&m, None);
        without["order_id"] = json!("o-flash");
        assert_eq!(post(&server, &shop, "/api/v1/checkouts", without).await.status(), 201);
        let mine = get(&server, admin, &format!("{path}?member_id={m}")).await["items"][0].clone();
        assert!(mine["order_id"].is_null(), "{mine}");
        assert_eq!(post(&server, &shop, "/api/v1/checkouts", body.clone()).await.status(), 201);
        let mine = get(&server, admin, &format!("{path}?member_id={m}")).await["items"][0].clone();
        assert_eq!(mine["order_id"], "o-flash");
        // The checkout's coupon locks end when the reservation does, not 30 minutes on.
        let locked = json(post(&server, &shop, "/api/v1/checkouts", body.clone()).await).await;
        assert_eq!(locked["locked_until"], mine["expires_at"], "{locked}");
        let mut elsewhere = body.clone();
        elsewhere["order_id"] = json!("o-other");
        let (code, _) = error_of(post(&server, &shop, "/api/v1/checkouts", elsewhere.clone()).await, 409).await;
        assert_eq!(code, "reservation_not_reserved");
        // Cancelling that checkout frees the reservation for another order number.
        let cancelled = post(&server, &shop, "/api/v1/checkouts/o-flash/cancel", json!({})).await;
        assert_eq!(cancelled.status(), 200);
        assert_eq!(post(&server, &shop, "/api/v1/checkouts", elsewhere).await.status(), 201);
        order(&server, admin, "o-other", "m", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 9900}, {"sku": "cup", "quantity": 1, "unit_price_fen": 15000}]), 1000).await;
        let mine = get(&server, admin, &format!("{path}?member_id={m}")).await["items"][0].clone();
        assert_eq!((mine["status"].as_str(), mine["order_id"].as_str()), (Some("paid"), Some("o-other")), "{mine}");
        let (code, _) = error_of(post(&server, &shop, "/api/v1/carts/price", flash_cart(&rsv, 1)).await, 409).await;
        assert_eq!(code, "reservation_not_reserved");
    }

    a_merged_members_coupons_reservations_and_limits_follow_the_survivor(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let identify = |identities: Value| post(&server, &shop, "/api/v1/members/identify", json!({"identities": identities}));
        // The older member (created first) survives the merge.
        let older = json(identify(json!([{"kind": "wechat_unionid", "value": "u-1"}])).await).await["member"]["id"].as_str().unwrap().to_owned();
        let newer = member(&server, admin, "o-1").await;
        let tpl = template(&server, admin, manjian(json!({"per_member_claim_limit": 1}))).await;
        let coupon = claimed(&server, &shop, &tpl, &newer).await;
        let sale = flash_sale(&server, admin, json!({
            "name": "秒杀", "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(3600)).to_rfc3339(),
            "skus": [{"sku": "tea", "flash_price_fen": 9900, "original_price_fen": 19900, "stock": 5}],
        })).await;
        let path = format!("/api/v1/flash-sales/{sale}/reservations");
        assert_eq!(post(&server, &shop, &path, json!({"member_id": newer, "sku": "tea"})).await.status(), 201);

        let merged = json(identify(json!([{"kind": "wechat_unionid", "value": "u-1"}, {"kind": "wechat_openid", "value": "o-1"}])).await).await;
        assert_eq!(merged["member"]["id"], older.as_str(), "{merged}");
        let coupons = get(&server, &shop, &format!("/api/v1/members/{older}/coupons")).await;
        assert_eq!(coupons["items"][0]["id"], coupon.as_str(), "{coupons}");
        let held = get(&server, admin, &format!("{path}?member_id={older}")).await;
        assert_eq!(held["items"].as_array().unwrap().len(), 1, "{held}");
        // Limits the merged member used up stay used up for the survivor.
        let (code, _) = error_of(claim(&server, &shop, &tpl, &older).await, 409).await;
        assert_eq!(code, "coupon_claim_limit_reached");
        let (code, _) = error_of(post(&server, &shop, &path, json!({"member_id": older, "sku": "tea"})).await, 409).await;
        assert_eq!(code, "flash_limit_reached");
        // And the coupon works in the survivor's cart.
        let priced = json(post(&server, &shop, "/api/v1/carts/price", cart(&older, Some(vec![&coupon]))).await).await;
        assert_eq!(priced["applied"][0]["offer_id"], coupon.as_str(), "{priced}");
    }

    a_sale_answers_not_started_and_ended(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let sale = flash_sale(&server, admin, json!({
            "name": "later", "starts_at": T0.plus(Duration::from_secs(60)).to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(120)).to_rfc3339(),
            "skus": [{"sku": "tea", "flash_price_fen": 9900, "original_price_fen": 19900, "stock": 7}],
        })).await;
        let m = member(&server, admin, "o").await;
        let path = format!("/api/v1/flash-sales/{sale}/reservations");
        let (code, _) = error_of(post(&server, admin, &path, json!({"member_id": m, "sku": "tea"})).await, 409).await;
        assert_eq!(code, "flash_not_started");
        server.clock.advance(Duration::from_secs(121));
        let (code, _) = error_of(post(&server, admin, &path, json!({"member_id": m, "sku": "tea"})).await, 409).await;
        assert_eq!(code, "flash_ended");
    }

    a_false_original_price_is_refused_or_flagged(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        member(&server, admin, "buyer").await;
        // Sold at ¥129 three days before the sale.
        order(&server, admin, "past", "buyer", json!([{"sku": "tea", "quantity": 2, "unit_price_fen": 12900}]), 0).await;
        server.clock.advance(Duration::from_secs(3 * 86_400));
        let sale = |original: i64, mode: &str| json!({
            "name": "秒杀", "starts_at": server.clock_now().to_rfc3339(), "ends_at": server.clock_now().plus(Duration::from_secs(3600)).to_rfc3339(),
            "on_false_original": mode,
            "skus": [{"sku": "tea", "flash_price_fen": 9900, "original_price_fen": original, "stock": 7}],
        });
        let (code, field) = error_of(post(&server, admin, "/api/v1/flash-sales", sale(19900, "refuse")).await, 400).await;
        assert_eq!(code, "invalid_field");
        assert_eq!(field.as_deref(), Some("skus[0].original_price_fen"));
        let flagged = json(post(&server, admin, "/api/v1/flash-sales", sale(19900, "flag")).await).await;
        assert_eq!(flagged["price_checks"][0]["violation"], "false_original_price");
        assert_eq!(flagged["price_checks"][0]["reference_fen"], 12900);
        let honest = json(post(&server, admin, "/api/v1/flash-sales", sale(12900, "refuse")).await).await;
        assert_eq!(honest["price_checks"][0]["violation"], Value::Null);
        // A timed discount is checked the same way.
        let response = post(&server, admin, "/api/v1/promotions", json!({
            "name": "限时折扣", "kind": "timed_discount",
            "starts_at": server.clock_now().to_rfc3339(), "ends_at": server.clock_now().plus(Duration::from_secs(3600)).to_rfc3339(),
            "prices": {"tea": 9900}, "original_prices": {"tea": 15900},
        })).await;
        let (_, field) = error_of(response, 400).await;
        assert_eq!(field.as_deref(), Some("original_prices.tea"));
    }
}

/// Reads a Redis counter with a raw RESP `GET` (the tests need no Redis client).
async fn redis_get(key: &str) -> Option<i64> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut stream = tokio::net::TcpStream::connect("127.0.0.1:6379")
        .await
        .unwrap();
    let request = format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len());
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    reader.read_line(&mut head).await.unwrap();
    if head.starts_with("$-1") {
        return None;
    }
    let mut value = String::new();
    reader.read_line(&mut value).await.unwrap();
    Some(value.trim().parse().unwrap())
}

async fn redis_del(key: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect("127.0.0.1:6379")
        .await
        .unwrap();
    let request = format!("*2\r\n$3\r\nDEL\r\n${}\r\n{key}\r\n", key.len());
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = [0u8; 16];
    let _ = stream.read(&mut reply).await.unwrap();
}

on_both_backends! {
    a_redis_gate_turns_buyers_away_and_is_reconciled_with_the_database(backend) {
        let server = TestServer::start_with(backend, |config| {
            config.promotions.redis_url = Some("redis://127.0.0.1:6379".into());
        }).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let response = post(&server, admin, "/api/v1/flash-sales", json!({
            "name": "gated", "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(3600)).to_rfc3339(),
            "gate": "redis", "buckets": 2,
            "skus": [{"sku": "tea", "flash_price_fen": 9900, "original_price_fen": 19900, "stock": 5}],
        })).await;
        assert_eq!(response.status(), 201);
        let sale = json(response).await;
        assert_eq!(sale["gate"], "redis");
        let sale = sale["id"].as_str().unwrap().to_owned();
        let key = format!("quanzi:flash:{}:{sale}:tea", tenant.workspace_id);
        assert_eq!(redis_get(&key).await, Some(5), "the gate is seeded with the stock");
        let path = format!("/api/v1/flash-sales/{sale}/reservations");
        let mut members = Vec::new();
        for i in 0..12 {
            members.push(member(&server, admin, &format!("o{i}")).await);
        }
        let attempts = members.iter().map(|m| post(&server, admin, &path, json!({"member_id": m, "sku": "tea"})));
        let mut reserved = Vec::new();
        for response in futures_util::future::join_all(attempts).await {
            if response.status() == 201 {
                reserved.push(json(response).await["id"].as_str().unwrap().to_owned());
            } else {
                assert_eq!(error_of(response, 409).await.0, "flash_sold_out");
            }
        }
        assert_eq!(reserved.len(), 5);
        assert_eq!(redis_get(&key).await, Some(0));
        // A cancel gives the unit back to the database and the gate.
        let cancelled = post(&server, admin, &format!("/api/v1/flash-reservations/{}/cancel", reserved[0]), json!({})).await;
        assert_eq!(cancelled.status(), 200);
        assert_eq!(redis_get(&key).await, Some(1));
        // Redis forgets (a restart): the sweep raises the counter to the database's stock.
        redis_del(&key).await;
        sweep(&server).await;
        assert_eq!(redis_get(&key).await, Some(1));
        let late = member(&server, admin, "late").await;
        let again = post(&server, admin, &path, json!({"member_id": late, "sku": "tea"})).await;
        assert_eq!(again.status(), 201, "the returned unit sells again");
        assert_eq!(get(&server, admin, &format!("/api/v1/flash-sales/{sale}")).await["skus"][0]["remaining"], 0);
    }

    a_gated_sale_needs_a_configured_redis(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let response = post(&server, &tenant.admin_key, "/api/v1/flash-sales", json!({
            "name": "gated", "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(Duration::from_secs(3600)).to_rfc3339(),
            "gate": "redis",
            "skus": [{"sku": "tea", "flash_price_fen": 9900, "original_price_fen": 19900, "stock": 5}],
        })).await;
        assert_eq!(error_of(response, 400).await.1.as_deref(), Some("gate"));
    }
}

on_both_backends! {
    registration_hands_out_registration_coupons_once(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let welcome = template(&server, admin, json!({
            "name": "新人券", "kind": "no_threshold", "amount_fen": 1000, "use_days": 7,
            "channels": ["registration"], "total_quantity": 1,
        })).await;
        template(&server, admin, manjian(json!({"name": "claim only"}))).await;
        let first = member(&server, &shop, "new-1").await;
        let coupons = get(&server, &shop, &format!("/api/v1/members/{first}/coupons")).await;
        assert_eq!(coupons["items"].as_array().unwrap().len(), 1, "{coupons}");
        assert_eq!(coupons["items"][0]["template_id"], welcome.as_str());
        assert_eq!(coupons["items"][0]["source"], "registration");
        // Identifying again registers nobody; the next member finds the quantity gone.
        member(&server, &shop, "new-1").await;
        assert_eq!(get(&server, &shop, &format!("/api/v1/members/{first}/coupons")).await["items"].as_array().unwrap().len(), 1);
        let second = member(&server, &shop, "new-2").await;
        assert_eq!(get(&server, &shop, &format!("/api/v1/members/{second}/coupons")).await["items"], json!([]));
        // Members cannot claim a registration-only coupon.
        let (code, _) = error_of(claim(&server, &shop, &welcome, &second).await, 409).await;
        assert_eq!(code, "coupon_channel_not_allowed");
    }

    a_paid_order_receives_what_its_threshold_rule_grants(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let gift = template(&server, admin, json!({
            "name": "下次满100减10", "kind": "amount_off", "threshold_fen": 10000, "amount_fen": 1000,
            "use_days": 30, "channels": ["journey"],
        })).await;
        let response = post(&server, admin, "/api/v1/promotions", json!({
            "name": "满300送200积分和券", "kind": "threshold",
            "starts_at": "2026-09-01T00:00:00Z", "ends_at": "2026-12-31T00:00:00Z",
            "tiers": [{"at": 30000, "points": 200, "gift_coupons": [gift]}],
        })).await;
        assert_eq!(response.status(), 201);
        let m = member(&server, admin, "buyer").await;
        let mut body = cart(&m, None);
        body["order_id"] = json!("o-1");
        let done = json(post(&server, &shop, "/api/v1/checkouts", body).await).await;
        assert_eq!(done["price"]["applied"][0]["points"], 200, "{done}");
        let id = order(&server, admin, "o-1", "buyer", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 35000}]), 0).await;
        let coupons = get(&server, &shop, &format!("/api/v1/members/{m}/coupons")).await;
        assert_eq!(coupons["items"][0]["template_id"], gift.as_str(), "{coupons}");
        assert_eq!(coupons["items"][0]["granted_by_order"], id.as_str(), "{coupons}");
        let pending = get(&server, admin, &format!("/api/v1/members/{m}/points/pending")).await;
        let promotion_points: i64 = pending["items"].as_array().unwrap().iter()
            .filter(|p| p["debit"].as_str().is_some_and(|d| d.starts_with("source:promotion.")))
            .map(|p| p["amount"].as_i64().unwrap()).sum();
        assert_eq!(promotion_points, 200, "{pending}");
        // A full refund takes the points back with the order's own, and the unused gift.
        refund(&server, admin, &id, "r-1", None).await;
        let points = get(&server, admin, &format!("/api/v1/members/{m}/points")).await;
        assert_eq!(points["pending"], 0, "{points}");
        let coupons = get(&server, &shop, &format!("/api/v1/members/{m}/coupons")).await;
        assert_eq!(coupons["items"][0]["status"], "revoked", "{coupons}");
    }

    a_partial_refund_keeps_the_gift_and_a_used_gift_stays_used(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let gift = template(&server, admin, json!({
            "name": "下次无门槛5元", "kind": "no_threshold", "amount_fen": 500, "use_days": 30, "channels": ["journey"],
        })).await;
        let response = post(&server, admin, "/api/v1/promotions", json!({
            "name": "满300送券", "kind": "threshold",
            "starts_at": "2026-09-01T00:00:00Z", "ends_at": "2026-12-31T00:00:00Z",
            "tiers": [{"at": 30000, "gift_coupons": [gift]}],
        })).await;
        assert_eq!(response.status(), 201);
        let m = member(&server, admin, "buyer").await;
        let items = json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 20000}, {"sku": "cup", "quantity": 1, "unit_price_fen": 15000}]);
        for external in ["o-1", "o-2"] {
            let mut body = cart(&m, Some(vec![]));
            body["order_id"] = json!(external);
            assert_eq!(post(&server, &shop, "/api/v1/checkouts", body).await.status(), 201);
        }
        let first = order(&server, admin, "o-1", "buyer", items.clone(), 0).await;
        let second = order(&server, admin, "o-2", "buyer", items, 0).await;
        let coupons = get(&server, &shop, &format!("/api/v1/members/{m}/coupons")).await["items"].clone();
        let gift_of = |order: &str| coupons.as_array().unwrap().iter().find(|c| c["granted_by_order"] == order).unwrap()["id"].as_str().unwrap().to_owned();
        let (gift_1, gift_2) = (gift_of(&first), gift_of(&second));
        // The second order's gift is spent on a third order before the second is refunded.
        let mut body = cart(&m, Some(vec![&gift_2]));
        body["order_id"] = json!("o-3");
        assert_eq!(post(&server, &shop, "/api/v1/checkouts", body).await.status(), 201);
        order(&server, admin, "o-3", "buyer", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 19500}]), 0).await;
        // Refunding one line of the first order leaves it partly paid: its gift stays.
        refund(&server, admin, &first, "r-1", Some(json!([{"line": 1, "quantity": 1}]))).await;
        refund(&server, admin, &second, "r-2", None).await;
        let status = |id: String| {
            let server = &server;
            let shop = &shop;
            async move { get(server, shop, &format!("/api/v1/coupons/{id}")).await["status"].clone() }
        };
        assert_eq!(status(gift_1.clone()).await, "available");
        assert_eq!(status(gift_2).await, "used");
        // The first order's gift is locked by an unpaid checkout when the rest of that order
        // is refunded: it cannot be revoked then, and is when the lock ends.
        let mut body = cart(&m, Some(vec![&gift_1]));
        body["order_id"] = json!("o-4");
        assert_eq!(post(&server, &shop, "/api/v1/checkouts", body).await.status(), 201);
        refund(&server, admin, &first, "r-3", Some(json!([{"line": 0, "quantity": 1}]))).await;
        assert_eq!(status(gift_1.clone()).await, "locked");
        assert_eq!(post(&server, &shop, "/api/v1/checkouts/o-4/cancel", json!({})).await.status(), 200);
        assert_eq!(status(gift_1).await, "revoked");
    }
}
