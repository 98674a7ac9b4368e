//! The operator console end to end: login by form, pages that need a session, the
//! dashboard's numbers equal to the API's, the language switch, logout with the CSRF
//! token.

mod common;

use common::*;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, Response};
use serde_json::json;

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
}
