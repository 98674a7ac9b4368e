//! Daily check-in through the API with an injected clock: local days in the workspace's
//! zone, streaks across midnight and month ends, make-ups, and one check-in per day under
//! concurrency. On SQLite and PostgreSQL.

mod common;

use common::*;
use quanzi_domain::time::Timestamp;
use reqwest::Method;
use serde_json::{json, Value};

fn at(server: &TestServer, rfc3339: &str) {
    server.clock.set(Timestamp::parse_rfc3339(rfc3339).unwrap());
}

async fn check_in(server: &TestServer, key: &str, member: &str) -> (u16, Value) {
    let response = server
        .as_key(
            key,
            Method::POST,
            &format!("/api/v1/members/{member}/checkins"),
        )
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, json(response).await)
}

async fn available(server: &TestServer, key: &str, member: &str) -> i64 {
    let body = json(
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
    .await;
    body["available"].as_i64().unwrap()
}

on_both_backends! {
    check_ins_follow_local_days_across_midnight_and_month_ends(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let shop = server.key_with(&tenant, &["storefront"]).await;
        let m = member(&server, &tenant.admin_key, "o1").await;
        // 23:59 on 31 January in Shanghai (UTC+8) is still the 31st.
        at(&server, "2027-01-31T15:59:00Z");
        let (status, first) = check_in(&server, &shop, &m).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!((first["date"].as_str(), first["streak"].as_i64(), first["points"].as_i64()), (Some("2027-01-31"), Some(1), Some(5)));
        // One minute later it is 1 February there: a new day, and the streak goes on.
        at(&server, "2027-01-31T16:00:00Z");
        let (_, second) = check_in(&server, &shop, &m).await;
        assert_eq!((second["date"].as_str(), second["streak"].as_i64()), (Some("2027-02-01"), Some(2)));
        at(&server, "2027-02-01T03:00:00Z");
        let (status, again) = check_in(&server, &shop, &m).await;
        assert_eq!(status, 409);
        assert_eq!(again["error"]["code"], "already_checked_in");
        // Day 3 of the streak pays the day-3 bonus.
        at(&server, "2027-02-01T16:30:00Z");
        let (_, third) = check_in(&server, &shop, &m).await;
        assert_eq!((third["streak"].as_i64(), third["points"].as_i64()), (Some(3), Some(15)));
        assert_eq!(third["bonuses"][0], json!({"kind": "consecutive", "rung": 3, "points": 10}));
        // 3 February is missed: 4 February starts again at 1.
        at(&server, "2027-02-04T01:00:00Z");
        let (_, fourth) = check_in(&server, &shop, &m).await;
        assert_eq!((fourth["date"].as_str(), fourth["streak"].as_i64()), (Some("2027-02-04"), Some(1)));
        assert_eq!(available(&server, &shop, &m).await, 30);
        // A make-up of 3 February costs 20 points and joins the streak back together.
        let response = server.as_key(&shop, Method::POST, &format!("/api/v1/members/{m}/checkins/makeup"))
            .json(&json!({"date": "2027-02-03"})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let made = json(response).await;
        assert_eq!((made["cost"].as_i64(), made["streak"].as_i64()), (Some(20), Some(5)));
        assert_eq!(available(&server, &shop, &m).await, 10);
        let response = server.as_key(&shop, Method::POST, &format!("/api/v1/members/{m}/checkins/makeup"))
            .json(&json!({"date": "2027-02-04"})).send().await.unwrap();
        let (code, _) = error_of(response, 409).await;
        assert_eq!(code, "makeup_not_in_past");
        let calendar = json(server.as_key(&shop, Method::GET, &format!("/api/v1/members/{m}/checkins?since=2027-01-01")).send().await.unwrap()).await;
        assert_eq!(calendar["streak"], 5);
        let days: Vec<&str> = calendar["days"].as_array().unwrap().iter().map(|d| d["date"].as_str().unwrap()).collect();
        assert_eq!(days, ["2027-01-31", "2027-02-01", "2027-02-02", "2027-02-03", "2027-02-04"]);
    }

    the_workspace_zone_decides_the_day(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let admin = &tenant.admin_key;
        let m = member(&server, admin, "o1").await;
        let set_zone = |zone: &'static str| server.as_key(admin, Method::PATCH, "/api/v1/workspace").json(&json!({"time_zone": zone})).send();
        let (_, field) = error_of(set_zone("Europe/Berlin").await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("time_zone"));
        let response = set_zone("America/Sao_Paulo").await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(json(response).await["time_zone"], "America/Sao_Paulo");
        // 02:30 UTC on 1 March is still 28 February in São Paulo (UTC−3): the month's last day.
        at(&server, "2027-03-01T02:30:00Z");
        let (_, first) = check_in(&server, admin, &m).await;
        assert_eq!(first["date"], "2027-02-28");
        at(&server, "2027-03-01T03:00:00Z");
        let (_, second) = check_in(&server, admin, &m).await;
        assert_eq!((second["date"].as_str(), second["streak"].as_i64()), (Some("2027-03-01"), Some(2)));
        // In Tokyo (UTC+9) the same instant is already later on 1 March: no second check-in.
        set_zone("Asia/Tokyo").await.unwrap();
        at(&server, "2027-03-01T14:59:00Z");
        let (status, _) = check_in(&server, admin, &m).await;
        assert_eq!(status, 409);
        at(&server, "2027-03-01T15:00:00Z");
        let (_, third) = check_in(&server, admin, &m).await;
        assert_eq!((third["date"].as_str(), third["streak"].as_i64()), (Some("2027-03-02"), Some(3)));
    }

    ten_simultaneous_check_ins_pay_once(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let m = member(&server, &tenant.admin_key, "o1").await;
        let tries = (0..10).map(|_| check_in(&server, &tenant.admin_key, &m));
        let answers = futures_util::future::join_all(tries).await;
        let ok = answers.iter().filter(|(status, _)| *status == 200).count();
        let refused = answers.iter().filter(|(status, body)| *status == 409 && body["error"]["code"] == "already_checked_in").count();
        assert_eq!((ok, refused), (1, 9));
        assert_eq!(available(&server, &tenant.admin_key, &m).await, 5);
    }

    check_in_can_be_switched_off(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let m = member(&server, &tenant.admin_key, "o1").await;
        let response = server.as_key(&tenant.admin_key, Method::PUT, "/api/v1/loyalty/settings")
            .json(&json!({"checkin": {"enabled": false}})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let (status, body) = check_in(&server, &tenant.admin_key, &m).await;
        assert_eq!((status, body["error"]["code"].as_str()), (409, Some("checkin_disabled")));
    }
}
