//! The operator console end to end: login by form, pages that need a session, the
//! dashboard's numbers equal to the API's, the language switch, logout with the CSRF
//! token; flash sales, group buys, bargains, the referral tree and distribution shown as
//! the API made them, with forms whose fields the API accepts.

mod common;

use common::*;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::{json, Value};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn cookie_of(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

async fn login(
    server: &TestServer,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> Response {
    client
        .post(format!("{}/console/login", server.base))
        .form(&[
            ("email", email),
            ("password", password),
            ("next", "/console/dashboard?days=7"),
        ])
        .send()
        .await
        .unwrap()
}

/// The text of each body row's cells in the table with `id`, tags stripped.
fn table_rows(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    table
        .split("<tr")
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let mut text = String::new();
                    let mut in_tag = true;
                    for c in cell.chars() {
                        match c {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => text.push(c),
                            _ => {}
                        }
                    }
                    text.trim().to_owned()
                })
                .collect::<Vec<_>>()
        })
        .filter(|cells| !cells.is_empty())
        .collect()
}

/// The field names of the form with `id`, row indexes written `[]`.
fn form_fields(html: &str, id: &str) -> BTreeSet<String> {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no form {id}"));
    let form = &html[start..start + html[start..].find("</form>").unwrap()];
    form.split(" name=\"")
        .skip(1)
        .map(|rest| {
            let name = &rest[..rest.find('"').unwrap()];
            let mut out = String::new();
            let mut in_index = false;
            for c in name.chars() {
                match c {
                    '[' => {
                        in_index = true;
                        out.push_str("[]");
                    }
                    ']' => in_index = false,
                    c if !in_index => out.push(c),
                    _ => {}
                }
            }
            out
        })
        .collect()
}

/// The fields of a JSON request body as the console's script names them: `a.b`, and
/// `a[].b` for objects in a list.
fn body_fields(body: &Value) -> BTreeSet<String> {
    fn walk(prefix: &str, value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&name, v, out);
                }
            }
            Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
                for item in items {
                    walk(&format!("{prefix}[]"), item, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk("", body, &mut out);
    out
}

async fn page(server: &TestServer, client: &reqwest::Client, session: &str, path: &str) -> String {
    let response = client
        .get(format!("{}{path}", server.base))
        .header(COOKIE, session)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

async fn created(server: &TestServer, key: &str, path: &str, body: &Value) -> Value {
    let response = server
        .as_key(key, Method::POST, path)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{path}");
    json(response).await
}

on_both_backends! {
    an_operator_logs_in_and_sees_the_api_s_numbers(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("茶饮").await;
        let admin = &tenant.admin_key;
        order(&server, admin, "o-1", "a", json!([{"sku": "tea", "quantity": 2, "unit_price_fen": 12_345}]), 0).await;
        let client = no_redirects();

        // Pages need a session and send you to the login, coming back afterwards.
        let response = client.get(format!("{}/console/dashboard", server.base)).send().await.unwrap();
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()[LOCATION], "/console/login?next=/console/dashboard");

        let response = login(&server, &client, &tenant.owner_email, "wrong password").await;
        assert_eq!(response.status(), 401);
        let body = response.text().await.unwrap();
        assert!(body.contains("邮箱或密码不正确"), "{body}");

        let response = login(&server, &client, &tenant.owner_email, PASSWORD).await;
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()[LOCATION], "/console/dashboard?days=7");
        let session = cookie_of(&response, "quanzi_session").unwrap();

        let page = client.get(format!("{}/console/dashboard?days=7", server.base))
            .header(COOKIE, &session).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("<html lang=\"zh-CN\">"));
        assert!(html.contains("成交额 GMV"));
        // The same GMV the API reports for the period, formatted as yuan.
        assert!(html.contains("¥246.90"), "{html}");
        let csrf = html.split("name=\"csrf-token\" content=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

        // Every page renders real data for the session's workspace.
        let response = server.as_key(admin, Method::POST, "/api/v1/experiments").json(&json!({"key": "banner", "name": "横幅实验", "variants": [{"key": "control", "weight": 1}, {"key": "banner", "weight": 1}]})).send().await.unwrap();
        assert_eq!(response.status(), 201);
        let response = server.as_key(admin, Method::POST, "/api/v1/coupon-templates").json(&json!({"name": "满100减20", "kind": "amount_off", "threshold_fen": 10000, "amount_fen": 2000, "use_days": 7})).send().await.unwrap();
        assert_eq!(response.status(), 201);
        let template = json(response).await["id"].as_str().unwrap().to_owned();
        let member = member(&server, admin, "a").await;
        let response = server.as_key(admin, Method::POST, &format!("/api/v1/coupon-templates/{template}/claims")).json(&json!({"member_id": member})).send().await.unwrap();
        assert_eq!(response.status(), 201);
        for (path, expected) in [
            ("/console/promotions/coupons".to_owned(), "满100减20"),
            ("/console/analytics/experiments".to_owned(), "横幅实验"),
            ("/console/analytics/experiments/banner".to_owned(), "control"),
            ("/console/analytics/attribution".to_owned(), "0"),
            ("/console/analytics/funnel?steps=page_view,order".to_owned(), "order"),
            ("/console/analytics/retention".to_owned(), "留存热力图"),
            ("/console/analytics/alerts".to_owned(), "告警规则"),
            ("/console/segments".to_owned(), "新建分群"),
            ("/console/social".to_owned(), "风控待审核"),
            ("/console/loyalty".to_owned(), "fen_per_100_points"),
            ("/console/settings".to_owned(), tenant.owner_email.as_str()),
            ("/console/members".to_owned(), member.as_str()),
            (format!("/console/members/{member}"), "¥246.90"),
            // 满100减20 applies to a ¥246.90 cart: ¥226.90 to pay.
            (format!("/console/promotions/pricing?member={member}&cart=tea%2Ctea%2C123.45%2C2"), "¥226.90"),
        ] {
            let response = client.get(format!("{}{path}", server.base)).header(COOKIE, &session).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let html = response.text().await.unwrap();
            assert!(html.contains(expected), "{path} lacks {expected}");
        }
        let response = client.get(format!("{}/console/members/mem_nobody", server.base)).header(COOKIE, &session).send().await.unwrap();
        assert_eq!(response.status(), 404);
        assert!(response.text().await.unwrap().contains("没有找到"));

        // English by the switch; the cookie remembers it.
        let response = client.get(format!("{}/console/lang?to=en&back=/console/dashboard", server.base)).send().await.unwrap();
        assert_eq!(response.status(), 303);
        let lang = cookie_of(&response, "quanzi_lang").unwrap();
        let html = client.get(format!("{}/console/dashboard", server.base))
            .header(COOKIE, format!("{session}; {lang}")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<html lang=\"en\">") && html.contains("Active members"));
        // An outside `back` is never followed.
        let response = client.get(format!("{}/console/lang?to=en&back=https://evil.example", server.base)).send().await.unwrap();
        assert_eq!(response.headers()[LOCATION], "/console/dashboard");

        // Logout needs the session's CSRF token, then the session is over.
        let response = client.post(format!("{}/console/logout", server.base))
            .header(COOKIE, &session).form(&[("csrf", "forged")]).send().await.unwrap();
        assert_eq!(response.status(), 403);
        let response = client.post(format!("{}/console/logout", server.base))
            .header(COOKIE, &session).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(response.status(), 303);
        let response = client.get(format!("{}/console/dashboard", server.base))
            .header(COOKIE, &session).send().await.unwrap();
        assert_eq!(response.status(), 303);
        // The API agrees the session is gone.
        let response = server.request(Method::GET, "/api/v1/sessions/current").header(COOKIE, &session).send().await.unwrap();
        assert_eq!(response.status(), 401);
    }

    flash_sales_social_set_up_and_distribution_show_what_the_api_made(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("茶饮").await;
        let admin = &tenant.admin_key;
        let hour = Duration::from_secs(3600);

        // A flash sale: tea sells out (one paid, one still reserved); cake has one
        // cancelled and one expired reservation, so all of its stock is back.
        let sale_body = json!({
            "name": "双11零点秒杀", "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(hour).to_rfc3339(),
            "payment_timeout_seconds": 300, "per_member_limit": 1, "buckets": 2,
            "on_false_original": "refuse", "gate": "none",
            "skus": [
                {"sku": "tea-flash", "flash_price_fen": 9900, "original_price_fen": 19900, "stock": 2},
                {"sku": "cake-flash", "flash_price_fen": 1990, "original_price_fen": 2990, "stock": 5},
            ],
        });
        let sale = created(&server, admin, "/api/v1/flash-sales", &sale_body).await["id"].as_str().unwrap().to_owned();
        let reserve = format!("/api/v1/flash-sales/{sale}/reservations");
        let mut buyers = Vec::new();
        for name in ["fa", "fb", "fc", "fd"] {
            buyers.push(member(&server, admin, name).await);
        }
        let paid = created(&server, admin, &reserve, &json!({"member_id": buyers[0], "sku": "tea-flash"})).await;
        let done = server.as_key(admin, Method::POST, &format!("/api/v1/flash-reservations/{}/complete", paid["id"].as_str().unwrap()))
            .json(&json!({"order_id": "fs-1"})).send().await.unwrap();
        assert_eq!(done.status(), 200);
        let cancelled = created(&server, admin, &reserve, &json!({"member_id": buyers[2], "sku": "cake-flash"})).await;
        let done = server.as_key(admin, Method::POST, &format!("/api/v1/flash-reservations/{}/cancel", cancelled["id"].as_str().unwrap()))
            .send().await.unwrap();
        assert_eq!(done.status(), 200);
        created(&server, admin, &reserve, &json!({"member_id": buyers[3], "sku": "cake-flash"})).await;
        server.clock.advance(Duration::from_secs(301));
        quanzi_app::jobs::promotions::sweep(&server.app).await.unwrap();
        let waiting = created(&server, admin, &reserve, &json!({"member_id": buyers[1], "sku": "tea-flash"})).await["id"].as_str().unwrap().to_owned();

        // A group buy, a bargain, and a referral program where a invited b (who bought)
        // and c (who did not).
        let group_buy_body = json!({
            "name": "三人拼团·乌龙", "sku": "oolong", "group_price_fen": 1990, "original_price_fen": 3990,
            "group_size": 3, "duration_hours": 24, "per_member_limit": 1, "leader_points": 50,
            "virtual_completion_percent": 67, "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(hour * 24 * 7).to_rfc3339(),
        });
        created(&server, admin, "/api/v1/group-buys", &group_buy_body).await;
        let bargain_body = json!({
            "name": "砍到9块9", "sku": "cup", "start_price_fen": 5000, "floor_price_fen": 990, "helpers_needed": 5,
            "min_cut_fen": 100, "max_cut_fen": 2000, "duration_hours": 24, "mode": "must_reach_floor",
            "new_users_only": false, "starts_at": T0.to_rfc3339(), "ends_at": T0.plus(hour * 24 * 7).to_rfc3339(),
        });
        created(&server, admin, "/api/v1/bargain-campaigns", &bargain_body).await;
        created(&server, admin, "/api/v1/referral-programs", &json!({"name": "邀请有礼", "per_invitee": {"points": 100}})).await;
        let (a, b, c) = (member(&server, admin, "ra").await, member(&server, admin, "rb").await, member(&server, admin, "rc").await);
        let code = server.as_key(admin, Method::GET, &format!("/api/v1/members/{a}/invite-code")).send().await.unwrap();
        let code = json(code).await["invite_code"].as_str().unwrap().to_owned();
        for invitee in [&b, &c] {
            created(&server, admin, "/api/v1/referrals/bind", &json!({"invite_code": code, "member_id": invitee})).await;
        }
        order(&server, admin, "r-1", "rb", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 3000}]), 0).await;

        // Distribution: the promoter's first order settles at once (no freeze), the second
        // stays pending (7 days); 10 % for the promoter, 5 % for the upline.
        let settings = |freeze: u32| json!({"enabled": true, "levels": [{"level": 1, "rate_bp": 1000}, {"level": 2, "rate_bp": 500}], "freeze_days": freeze, "min_withdrawal_fen": 1000});
        let put = server.as_key(admin, Method::PUT, "/api/v1/distribution/settings").json(&settings(0)).send().await.unwrap();
        assert_eq!(put.status(), 200);
        let upline = member(&server, admin, "upline").await;
        created(&server, admin, "/api/v1/promoters", &json!({"member_id": upline})).await;
        let promoter = member(&server, admin, "promoter").await;
        let promoter_body = json!({"member_id": promoter, "upline_id": upline});
        created(&server, admin, "/api/v1/promoters", &promoter_body).await;
        let buyer = member(&server, admin, "buyer").await;
        let bind = server.as_key(admin, Method::POST, "/api/v1/distribution/bind").json(&json!({"promoter_id": promoter, "buyer_id": buyer})).send().await.unwrap();
        assert_eq!(bind.status(), 200);
        order(&server, admin, "d-1", "buyer", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 20000}]), 0).await;
        quanzi_app::jobs::social::sweep(&server.app).await.unwrap();
        let put = server.as_key(admin, Method::PUT, "/api/v1/distribution/settings").json(&settings(7)).send().await.unwrap();
        assert_eq!(put.status(), 200);
        order(&server, admin, "d-2", "buyer", json!([{"sku": "tea", "quantity": 1, "unit_price_fen": 5000}]), 0).await;
        // A rejected withdrawal gives its amount back: it is not counted as withdrawn.
        let rejected = created(&server, admin, &format!("/api/v1/promoters/{promoter}/withdrawals"), &json!({"amount_fen": 1000})).await;
        let reject = server.as_key(admin, Method::POST, &format!("/api/v1/withdrawals/{}/review", rejected["id"].as_str().unwrap()))
            .json(&json!({"action": "reject"})).send().await.unwrap();
        assert_eq!(reject.status(), 200);
        let withdrawal = created(&server, admin, &format!("/api/v1/promoters/{promoter}/withdrawals"), &json!({"amount_fen": 1500})).await;
        let withdrawal = withdrawal["id"].as_str().unwrap().to_owned();

        let client = no_redirects();
        let response = login(&server, &client, &tenant.owner_email, PASSWORD).await;
        assert_eq!(response.status(), 303);
        let session = cookie_of(&response, "quanzi_session").unwrap();

        // 秒杀: prices, stock, reservations by outcome, sold out only where it is.
        let html = page(&server, &client, &session, "/console/promotions/flash-sales").await;
        assert!(html.contains("双11零点秒杀") && html.contains(&sale), "{html}");
        assert!(html.contains("class=\"current\" href=\"/console/promotions/flash-sales\""));
        let rows = table_rows(&html, "flash-sales");
        assert_eq!(rows.len(), 2, "{rows:?}");
        // The sale's own cells span its SKU rows: name, slot, state.
        assert_eq!(rows[0].len(), 12);
        assert!(rows[0][2].starts_with("进行中"), "{:?}", rows[0]);
        // A live sale can be cancelled from its state cell, unpaid reservations optionally
        // released with it (the API test covers what that does).
        assert!(html.contains(&format!("data-api=\"/api/v1/flash-sales/{sale}/cancel\"")));
        assert!(html.contains("name=\"release_reservations\" type=\"checkbox\""));
        // SKU, flash price, original, stock, left, reserved, paid, expired, cancelled.
        let sku = |name: &str| {
            let row = rows.iter().find(|r| r.contains(&name.to_owned())).unwrap();
            row[row.len() - 9..].to_vec()
        };
        assert_eq!(sku("tea-flash"), ["tea-flash", "¥99.00", "¥199.00", "2", "0 已售罄", "1", "1", "0", "0"]);
        assert_eq!(sku("cake-flash"), ["cake-flash", "¥19.90", "¥29.90", "5", "5", "0", "0", "1", "1"]);
        assert_eq!(html.matches("已售罄").count(), 1);
        // The one reservation still waiting for payment, with its cancel button.
        let rows = table_rows(&html, "waiting");
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0][1], "tea-flash");
        assert_eq!(rows[0][2], buyers[1]);
        assert!(html.contains(&format!("data-api=\"/api/v1/flash-reservations/{waiting}/cancel\"")));
        // Every field the form sends is one the API took above.
        let fields = form_fields(&html, "new-flash-sale");
        assert_eq!(fields, body_fields(&sale_body));

        // 社交裂变: the new campaigns, their forms, and a's invite tree.
        let html = page(&server, &client, &session, "/console/social").await;
        let group_buy = table_rows(&html, "group-buys");
        assert_eq!(group_buy[0][..3], ["三人拼团·乌龙", "3", "0"]);
        assert_eq!(table_rows(&html, "bargains")[0][..5], ["砍到9块9", "cup", "¥50.00", "¥9.90", "5"]);
        assert_eq!(form_fields(&html, "new-group-buy"), body_fields(&group_buy_body));
        assert_eq!(form_fields(&html, "new-bargain"), body_fields(&bargain_body));
        let start = html.find("class=\"trees\"").expect("a drawn tree");
        let trees = &html[start..start + html[start..].find("</section>").unwrap()];
        assert_eq!(trees.matches("<svg class=\"tree\"").count(), 1);
        assert_eq!(trees.matches("<circle").count(), 3, "a, b and c");
        assert_eq!(trees.matches("class=\"node root\"").count(), 1);
        assert_eq!(trees.matches("class=\"node converted\"").count(), 1, "only b bought");
        let converted = &trees[trees.find("class=\"node converted\"").unwrap()..];
        assert!(converted[..converted.find("</g>").unwrap()].contains(&b[b.len() - 6..]), "b is the converted one");
        for m in [&a, &b, &c] {
            assert!(trees.contains(&format!("href=\"/console/members/{m}\"")), "{m} is drawn");
        }

        // 分销: the rates, both promoters' money, the withdrawal with its review actions.
        let html = page(&server, &client, &session, "/console/social/distribution").await;
        assert!(html.contains("class=\"current\" href=\"/console/social/distribution\""));
        assert!(!html.contains("class=\"current\" href=\"/console/social\""), "only the deepest section is lit");
        assert_eq!(table_rows(&html, "levels"), [["一级（推广员本人）", "10.0%", ""], ["二级（推广员的上级）", "5.0%", ""]]);
        let promoters = table_rows(&html, "promoters");
        assert_eq!(promoters.len(), 2);
        // Promoter, upline, status, joined, pending, settled, clawed back, withdrawn, available.
        assert_eq!(promoters[0][..2], [promoter.clone(), upline.clone()]);
        assert_eq!(promoters[0][4..], ["¥5.00", "¥20.00", "¥0.00", "¥15.00", "¥5.00"]);
        assert_eq!(promoters[1][..2], [upline.clone(), "—".to_owned()]);
        assert_eq!(promoters[1][4..], ["¥2.50", "¥10.00", "¥0.00", "¥0.00", "¥10.00"]);
        let queue = table_rows(&html, "withdrawals");
        assert_eq!(queue.len(), 1);
        assert_eq!(queue[0][1..4], [promoter.clone(), "¥15.00".to_owned(), "待审核".to_owned()]);
        let review = format!("data-api=\"/api/v1/withdrawals/{withdrawal}/review\"");
        assert_eq!(html.matches(&review).count(), 2, "approve and reject");
        assert!(html.contains("name=\"action\" value=\"approve\"") && html.contains("name=\"action\" value=\"reject\""));
        assert_eq!(form_fields(&html, "new-promoter"), body_fields(&promoter_body));
        // The settings document in the editor is the API's own: saving it unchanged works
        // and changes nothing.
        let doc = html.split("<textarea name=\"settings\" rows=\"14\">").nth(1).unwrap().split("</textarea>").next().unwrap()
            .replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
        let doc: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(doc["levels"][1]["rate_bp"], 500);
        let put = server.as_key(admin, Method::PUT, "/api/v1/distribution/settings").json(&doc).send().await.unwrap();
        assert_eq!(put.status(), 200);
        assert_eq!(json(put).await, doc);

        // What the approve button sends, with the session's CSRF token, moves it on to payment.
        let csrf = html.split("name=\"csrf-token\" content=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let approved = client.post(format!("{}/api/v1/withdrawals/{withdrawal}/review", server.base))
            .header(COOKIE, &session).header("x-csrf-token", &csrf).json(&json!({"action": "approve"})).send().await.unwrap();
        assert_eq!(approved.status(), 200);
        let html = page(&server, &client, &session, "/console/social/distribution").await;
        assert_eq!(table_rows(&html, "withdrawals")[0][3], "已通过，待打款");
        assert_eq!(html.matches(&review).count(), 1);
        assert!(html.contains("name=\"action\" value=\"pay\"") && !html.contains("value=\"approve\""));
    }
}

on_both_backends! {
    an_operator_of_two_workspaces_switches_between_them_and_the_old_session_ends(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("茶饮旗舰店").await;
        let second = quanzi_app::services::workspaces::create(&server.app, quanzi_app::services::workspaces::NewWorkspace {
            name: "咖啡快闪店",
            owner_email: &tenant.owner_email,
            owner_name: None,
            owner_password: None,
        }).await.unwrap();
        assert!(second.owner_existed);
        let second_id = second.workspace.id.to_string();
        // A workspace the operator does not belong to.
        let stranger = server.tenant("别家").await;
        // Only the second workspace has an order: the dashboard shows whose numbers it reads.
        order(&server, &second.admin_key, "o-1", "a", json!([{"sku": "latte", "quantity": 1, "unit_price_fen": 3_300}]), 0).await;

        let client = no_redirects();
        let response = login(&server, &client, &tenant.owner_email, PASSWORD).await;
        let first_session = cookie_of(&response, "quanzi_session").unwrap();
        let html = page(&server, &client, &first_session, "/console/dashboard").await;
        assert!(html.contains("action=\"/console/workspace\""), "no switch with two workspaces");
        assert!(html.contains(&format!("<option value=\"{}\" selected>茶饮旗舰店</option>", tenant.workspace_id)), "{html}");
        assert!(html.contains(&format!("<option value=\"{second_id}\">咖啡快闪店</option>")));
        assert!(!html.contains("¥33.00"));
        let csrf = html.split("name=\"csrf-token\" content=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

        let switch = |session: String, csrf: String, to: String| {
            client.post(format!("{}/console/workspace", server.base)).header(COOKIE, session)
                .form(&[("csrf", csrf), ("workspace_id", to)]).send()
        };
        // A forged token and a foreign workspace change nothing.
        let response = switch(first_session.clone(), "forged".into(), second_id.clone()).await.unwrap();
        assert_eq!(response.status(), 403);
        let response = switch(first_session.clone(), csrf.clone(), stranger.workspace_id.clone()).await.unwrap();
        assert_eq!(response.status(), 403);
        assert!(response.text().await.unwrap().contains("not a member"));
        let still = page(&server, &client, &first_session, "/console/dashboard").await;
        assert!(still.contains(&format!("<option value=\"{}\" selected>", tenant.workspace_id)));

        let response = switch(first_session.clone(), csrf, second_id.clone()).await.unwrap();
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()[LOCATION], "/console/dashboard");
        let second_session = cookie_of(&response, "quanzi_session").unwrap();
        assert_ne!(second_session, first_session);
        let html = page(&server, &client, &second_session, "/console/dashboard").await;
        assert!(html.contains(&format!("<option value=\"{second_id}\" selected>咖啡快闪店</option>")), "{html}");
        assert!(html.contains("¥33.00"), "the second workspace's GMV");
        // The session that switched is over.
        let old = client.get(format!("{}/console/dashboard", server.base)).header(COOKIE, &first_session).send().await.unwrap();
        assert_eq!(old.status(), 303);
        // The switch is in the new workspace's audit log.
        let settings = page(&server, &client, &second_session, "/console/settings").await;
        assert!(settings.contains("operator.switch_workspace"));

        // The RFM page before the first scoring run: the buyer is counted as unscored.
        let rfm = page(&server, &client, &second_session, "/console/analytics/rfm").await;
        assert!(rfm.contains("id=\"rfm-grid\""));
        assert!(rfm.contains("尚未评分"), "{rfm}");
        assert_eq!(table_rows(&rfm, "segments").len(), 11);
        // Retention by acquisition channel names the channel column.
        let retention = page(&server, &client, &second_session, "/console/analytics/retention?by=channel&period=day").await;
        assert!(retention.contains("<th>拆分</th>"), "{retention}");
        // The definition line speaks the console's language.
        assert!(retention.contains("留存口径") && retention.contains("按会员首个起始事件的拆分值拆分"), "{retention}");
        assert!(!retention.contains("retention of"), "{retention}");
        let unknown = page(&server, &client, &second_session, "/console/analytics/retention?by=secret_column").await;
        assert!(!unknown.contains("<th>拆分</th>"), "an unlisted column is ignored");
    }
}

on_both_backends! {
    the_audit_log_pages_back_in_time(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        for i in 0..105 {
            created(&server, &tenant.admin_key, "/api/v1/keys", &json!({"name": format!("key-{i:03}"), "scopes": ["ingest"]})).await;
        }
        let client = no_redirects();
        let session = cookie_of(&login(&server, &client, &tenant.owner_email, PASSWORD).await, "quanzi_session").unwrap();
        let newest = page(&server, &client, &session, "/console/settings").await;
        let first = table_rows(&newest, "audit");
        assert_eq!(first.len(), 100);
        let older = newest.split("href=\"/console/settings?audit_before=").nth(1).expect("an older page").split('"').next().unwrap().to_owned();
        let html = page(&server, &client, &session, &format!("/console/settings?audit_before={older}")).await;
        let second = table_rows(&html, "audit");
        // 105 keys and the workspace's own creation, at least, minus the first page.
        assert!(!second.is_empty());
        assert!(second.iter().all(|row| !first.contains(row)), "no entry shown twice");
        assert!(html.contains("← 最新") && !newest.contains("← 最新"), "a way back to the newest, on older pages only");
    }
}
