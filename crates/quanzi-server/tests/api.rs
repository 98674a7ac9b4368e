//! End-to-end: the real server on port 0, on SQLite and on PostgreSQL.

mod common;

use std::time::Duration;

use common::*;
use quanzi_domain::idempotency::{IdempotencyKey, RequestFingerprint};
use quanzi_domain::ids::WorkspaceId;
use reqwest::Method;
use serde_json::json;

on_both_backends! {
    requests_without_a_valid_key_are_refused_with_401(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("鲜果时光").await;
        let (code, _) = error_of(server.request(Method::GET, "/api/v1/workspace").send().await.unwrap(), 401).await;
        assert_eq!(code, "unauthenticated");
        error_of(server.as_key("qz_not_a_key", Method::GET, "/api/v1/workspace").send().await.unwrap(), 401).await;
        // Right shape, wrong secret.
        let last = if tenant.admin_key.ends_with('x') { "y" } else { "x" };
        let forged = format!("{}{last}", &tenant.admin_key[..tenant.admin_key.len() - 1]);
        error_of(server.as_key(&forged, Method::GET, "/api/v1/workspace").send().await.unwrap(), 401).await;
        let basic = server.request(Method::GET, "/api/v1/workspace").header("authorization", "Basic YTpi").send().await.unwrap();
        error_of(basic, 401).await;
        let ok = server.as_key(&tenant.admin_key, Method::GET, "/api/v1/workspace").send().await.unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(json(ok).await["id"], tenant.workspace_id.as_str());
    }

    a_revoked_key_stops_working_at_once(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let key = server.key_with(&tenant, &["ingest"]).await;
        assert_eq!(server.as_key(&key, Method::GET, "/api/v1/workspace").send().await.unwrap().status(), 200);
        let listed = json(server.as_key(&tenant.admin_key, Method::GET, "/api/v1/keys").send().await.unwrap()).await;
        let id = listed["items"].as_array().unwrap().iter()
            .find(|k| k["scopes"] == json!(["ingest"])).unwrap()["id"].as_str().unwrap().to_owned();
        let revoked = server.as_key(&tenant.admin_key, Method::DELETE, &format!("/api/v1/keys/{id}")).send().await.unwrap();
        assert_eq!(revoked.status(), 200);
        assert!(json(revoked).await["revoked_at"].is_string());
        error_of(server.as_key(&key, Method::GET, "/api/v1/workspace").send().await.unwrap(), 401).await;
        // Listing never shows secrets.
        let listed = server.as_key(&tenant.admin_key, Method::GET, "/api/v1/keys").send().await.unwrap().text().await.unwrap();
        assert!(!listed.contains(&key[key.len() - 20..]));
        assert!(!listed.contains("secret"));
    }

    a_key_without_the_scope_gets_403(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let ingest = server.key_with(&tenant, &["ingest", "storefront"]).await;
        let (code, _) = error_of(server.as_key(&ingest, Method::GET, "/api/v1/keys").send().await.unwrap(), 403).await;
        assert_eq!(code, "forbidden");
        let create = server.as_key(&ingest, Method::POST, "/api/v1/keys")
            .json(&json!({"name": "escalate", "scopes": ["admin"]})).send().await.unwrap();
        error_of(create, 403).await;
    }

    one_workspace_never_reaches_anothers_objects(backend) {
        let server = TestServer::start(backend).await;
        let a = server.tenant("a").await;
        let b = server.tenant("b").await;
        let a_key = json(server.as_key(&a.admin_key, Method::POST, "/api/v1/keys")
            .json(&json!({"name": "a's key", "scopes": ["ingest"]})).send().await.unwrap()).await;
        let a_key_id = a_key["id"].as_str().unwrap();
        let a_op = json(server.as_key(&a.admin_key, Method::POST, "/api/v1/operators")
            .json(&json!({"email": "ops@a.example", "name": "Ops", "password": PASSWORD, "role": "operator"})).send().await.unwrap()).await;
        let a_op_id = a_op["id"].as_str().unwrap();
        let a_jobs = json(server.as_key(&a.admin_key, Method::POST, "/api/v1/jobs/probes")
            .json(&json!({"count": 1})).send().await.unwrap()).await;
        let a_job_id = a_jobs["job_ids"][0].as_str().unwrap();

        for path in [
            format!("/api/v1/keys/{a_key_id}"),
            format!("/api/v1/operators/{a_op_id}"),
            format!("/api/v1/jobs/{a_job_id}"),
        ] {
            let response = server.as_key(&b.admin_key, Method::GET, &path).send().await.unwrap();
            let text = response.text().await.unwrap();
            assert!(text.contains("\"not_found\""), "{path}: {text}");
            assert!(!text.contains("a's key") && !text.contains("ops@a.example"), "{text}");
        }
        let revoke = server.as_key(&b.admin_key, Method::DELETE, &format!("/api/v1/keys/{a_key_id}")).send().await.unwrap();
        error_of(revoke, 404).await;
        let still = json(server.as_key(&a.admin_key, Method::GET, &format!("/api/v1/keys/{a_key_id}")).send().await.unwrap()).await;
        assert!(still["revoked_at"].is_null());
        for path in ["/api/v1/keys", "/api/v1/operators", "/api/v1/jobs", "/api/v1/audit-log"] {
            let text = server.as_key(&b.admin_key, Method::GET, path).send().await.unwrap().text().await.unwrap();
            assert!(!text.contains(a_key_id) && !text.contains(a_op_id) && !text.contains(a_job_id), "{path}: {text}");
        }
    }

    bad_json_is_refused_with_a_message_naming_the_field(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let post = |body: &'static str| server.as_key(&tenant.admin_key, Method::POST, "/api/v1/keys")
            .header("content-type", "application/json").body(body).send();
        let (code, field) = error_of(post("{\"name\": \"x\", \"scopes\": [").await.unwrap(), 400).await;
        assert_eq!((code.as_str(), field), ("malformed_json", None));
        let (code, field) = error_of(post("{\"name\": 5, \"scopes\": []}").await.unwrap(), 400).await;
        assert_eq!((code.as_str(), field.as_deref()), ("invalid_field", Some("name")));
        let (_, field) = error_of(post("{\"name\": \"x\", \"scopes\": [\"ingest\", 7]}").await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("scopes[1]"));
        let (_, field) = error_of(post("{\"scopes\": [\"ingest\"]}").await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("name"));
        let (_, field) = error_of(post("{\"name\": \"x\", \"scopes\": [\"root\"]}").await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("scopes"));
        let (_, field) = error_of(post("{\"name\": \"x\", \"scopes\": [\"ingest\"], \"admin\": true}").await.unwrap(), 400).await;
        assert!(field.is_some());
        let (_, field) = error_of(post("{\"name\": \"  \", \"scopes\": [\"ingest\"]}").await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("name"));
        let plain = server.as_key(&tenant.admin_key, Method::POST, "/api/v1/keys")
            .header("content-type", "text/plain").body("{}").send().await.unwrap();
        error_of(plain, 415).await;
        let (code, _) = error_of(server.as_key(&tenant.admin_key, Method::GET, "/api/v1/jobs?state=paused").send().await.unwrap(), 400).await;
        assert_eq!(code, "invalid_field");
        let (code, _) = error_of(server.as_key(&tenant.admin_key, Method::GET, "/api/v1/jobs?limit=lots").send().await.unwrap(), 400).await;
        assert_eq!(code, "invalid_query");
        // Nothing was created by any of the refused requests.
        let keys = json(server.as_key(&tenant.admin_key, Method::GET, "/api/v1/keys").send().await.unwrap()).await;
        assert_eq!(keys["items"].as_array().unwrap().len(), 1);
    }

    oversize_bodies_get_413_declared_or_streamed(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let big = format!("{{\"name\": \"{}\", \"scopes\": [\"ingest\"]}}", "x".repeat(70 * 1024));
        let declared = server.as_key(&tenant.admin_key, Method::POST, "/api/v1/keys")
            .header("content-type", "application/json").body(big.clone()).send().await.unwrap();
        let (code, _) = error_of(declared, 413).await;
        assert_eq!(code, "payload_too_large");
        // A body without Content-Length is cut off while it is read. Driven through the
        // router directly: over a socket the client may see the connection close before it
        // reads the 413, which would make the test depend on timing.
        let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(big.into_bytes())]);
        let request = axum::http::Request::post("/api/v1/keys")
            .header("authorization", format!("Bearer {}", tenant.admin_key))
            .header("content-type", "application/json")
            .body(axum::body::Body::from_stream(stream))
            .unwrap();
        let router = quanzi_server::app(quanzi_server::AppState::new(server.app.clone()));
        let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
        assert_eq!(response.status(), 413);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("payload_too_large"));
        let idempotent = server.as_key(&tenant.admin_key, Method::POST, "/api/v1/jobs/probes")
            .header("content-type", "application/json").header("idempotency-key", "big")
            .body(format!("{{\"count\": 1, \"pad\": \"{}\"}}", "y".repeat(70 * 1024))).send().await.unwrap();
        error_of(idempotent, 413).await;
    }

    unknown_routes_and_methods_answer_in_the_error_shape(backend) {
        let server = TestServer::start(backend).await;
        let (code, _) = error_of(server.request(Method::GET, "/api/v1/nothing-here").send().await.unwrap(), 404).await;
        assert_eq!(code, "route_not_found");
        let (code, _) = error_of(server.request(Method::PUT, "/healthz").send().await.unwrap(), 405).await;
        assert_eq!(code, "method_not_allowed");
    }

    the_same_idempotency_key_and_body_replays_the_first_response(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let send = |body: serde_json::Value, key: &'static str| server.as_key(&tenant.admin_key, Method::POST, "/api/v1/jobs/probes")
            .header("idempotency-key", key).json(&body).send();
        let first = send(json!({"count": 2}), "k1").await.unwrap();
        assert_eq!(first.status(), 202);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first = json(first).await;
        let again = send(json!({"count": 2}), "k1").await.unwrap();
        assert_eq!(again.status(), 202);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json(again).await, first);
        let (code, field) = error_of(send(json!({"count": 3}), "k1").await.unwrap(), 422).await;
        assert_eq!((code.as_str(), field.as_deref()), ("idempotency_key_reused", Some("Idempotency-Key")));
        // A 4xx answer is remembered too: the same bad request gets the same answer.
        error_of(send(json!({"count": 0}), "k2").await.unwrap(), 400).await;
        let replayed = send(json!({"count": 0}), "k2").await.unwrap();
        assert_eq!(replayed.headers()["idempotent-replayed"], "true");
        let jobs = json(server.as_key(&tenant.admin_key, Method::GET, "/api/v1/jobs").send().await.unwrap()).await;
        // Only probes count: the server's scheduler may add the workspace's daily jobs
        // (RFM, segments, tiers) whenever its tick falls within the test.
        let probes = jobs["items"].as_array().unwrap().iter().filter(|j| j["kind"] == "diagnostics.probe").count();
        assert_eq!(probes, 2, "only the first request ran: {jobs}");
        error_of(server.as_key(&tenant.admin_key, Method::POST, "/api/v1/jobs/probes")
            .header("idempotency-key", "bad key with spaces").json(&json!({"count": 1})).send().await.unwrap(), 400).await;
    }

    idempotency_keys_belong_to_one_workspace_and_expire_after_a_day(backend) {
        let server = TestServer::start(backend).await;
        let a = server.tenant("a").await;
        let b = server.tenant("b").await;
        let send = |key: &str| server.as_key(key, Method::POST, "/api/v1/jobs/probes")
            .header("idempotency-key", "shared").json(&json!({"count": 1})).send();
        let from_a = json(send(&a.admin_key).await.unwrap()).await;
        let from_b = send(&b.admin_key).await.unwrap();
        assert!(from_b.headers().get("idempotent-replayed").is_none());
        assert_ne!(json(from_b).await, from_a, "b's request ran on its own");
        server.clock.advance(Duration::from_secs(24 * 3600));
        let after_a_day = send(&a.admin_key).await.unwrap();
        assert!(after_a_day.headers().get("idempotent-replayed").is_none());
        assert_ne!(json(after_a_day).await, from_a);
    }

    a_key_still_in_flight_gets_409(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let body = serde_json::to_vec(&json!({"count": 1})).unwrap();
        // Another node holds the key mid-request.
        server.app.store.claim_idempotency_key(
            &WorkspaceId::parse(&tenant.workspace_id).unwrap(),
            &IdempotencyKey::parse("busy").unwrap(),
            &RequestFingerprint::of("POST", "/api/v1/jobs/probes", &body),
            server.app.clock.now(),
            Duration::from_secs(60),
            Duration::from_secs(86_400),
        ).await.unwrap();
        let response = server.as_key(&tenant.admin_key, Method::POST, "/api/v1/jobs/probes")
            .header("idempotency-key", "busy").header("content-type", "application/json").body(body.clone()).send().await.unwrap();
        let (code, _) = error_of(response, 409).await;
        assert_eq!(code, "idempotency_key_in_flight");
        // If that node died, the claim lapses and a retry runs.
        server.clock.advance(Duration::from_secs(61));
        let retry = server.as_key(&tenant.admin_key, Method::POST, "/api/v1/jobs/probes")
            .header("idempotency-key", "busy").header("content-type", "application/json").body(body).send().await.unwrap();
        assert_eq!(retry.status(), 202);
    }

    twenty_concurrent_requests_with_one_key_execute_once(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let requests = (0..20).map(|_| server.as_key(&tenant.admin_key, Method::POST, "/api/v1/jobs/probes")
            .header("idempotency-key", "burst").json(&json!({"count": 3})).send());
        let responses = futures_util::future::join_all(requests).await;
        let mut bodies = Vec::new();
        for response in responses {
            let response = response.unwrap();
            match response.status().as_u16() {
                202 => bodies.push(json(response).await),
                409 => { error_of(response, 409).await; }
                other => panic!("unexpected status {other}"),
            }
        }
        assert!(!bodies.is_empty());
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "every success is the same response");
        let jobs = json(server.as_key(&tenant.admin_key, Method::GET, "/api/v1/jobs?limit=200").send().await.unwrap()).await;
        // Only the probes: the periodic scheduler may have queued the workspace's daily jobs.
        let probes = jobs["items"].as_array().unwrap().iter().filter(|j| j["kind"] == "diagnostics.probe").count();
        assert_eq!(probes, 3, "the request executed exactly once");
    }

    operators_log_in_with_a_session_cookie_guarded_by_csrf(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let login = server.request(Method::POST, "/api/v1/sessions")
            .json(&json!({"email": tenant.owner_email.to_uppercase(), "password": PASSWORD})).send().await.unwrap();
        assert_eq!(login.status(), 201);
        let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let session = json(login).await;
        assert_eq!(session["role"], "owner");
        assert_eq!(session["workspace_id"], tenant.workspace_id.as_str());
        let csrf = session["csrf_token"].as_str().unwrap().to_owned();

        let me = json(server.request(Method::GET, "/api/v1/sessions/current").header("cookie", &cookie).send().await.unwrap()).await;
        assert_eq!(me["kind"], "operator");
        let create = |csrf: Option<&str>| {
            let mut request = server.request(Method::POST, "/api/v1/keys").header("cookie", &cookie)
                .json(&json!({"name": "from console", "scopes": ["storefront"]}));
            if let Some(csrf) = csrf { request = request.header("x-csrf-token", csrf); }
            request.send()
        };
        let (code, _) = error_of(create(None).await.unwrap(), 403).await;
        assert_eq!(code, "csrf_token_invalid");
        error_of(create(Some("wrong")).await.unwrap(), 403).await;
        assert_eq!(create(Some(&csrf)).await.unwrap().status(), 201);

        let logout = server.request(Method::DELETE, "/api/v1/sessions/current").header("cookie", &cookie)
            .header("x-csrf-token", &csrf).send().await.unwrap();
        assert_eq!(logout.status(), 204);
        error_of(server.request(Method::GET, "/api/v1/sessions/current").header("cookie", &cookie).send().await.unwrap(), 401).await;
    }

    sessions_expire(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let login = server.request(Method::POST, "/api/v1/sessions")
            .json(&json!({"email": tenant.owner_email, "password": PASSWORD})).send().await.unwrap();
        let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        server.clock.advance(Duration::from_secs(12 * 3600 + 1));
        error_of(server.request(Method::GET, "/api/v1/workspace").header("cookie", &cookie).send().await.unwrap(), 401).await;
    }

    repeated_wrong_passwords_are_throttled_until_the_window_passes(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let attempt = |password: &'static str| server.request(Method::POST, "/api/v1/sessions")
            .json(&json!({"email": tenant.owner_email, "password": password})).send();
        for _ in 0..5 {
            let (code, _) = error_of(attempt("wrong password!").await.unwrap(), 401).await;
            assert_eq!(code, "unauthenticated");
        }
        let locked = attempt(PASSWORD).await.unwrap();
        assert_eq!(locked.status(), 429);
        let retry_after: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry_after));
        error_of(locked, 429).await;
        // Unknown accounts get the same answer as wrong passwords.
        let (code, _) = error_of(server.request(Method::POST, "/api/v1/sessions")
            .json(&json!({"email": "nobody@example.com", "password": "whatever12"})).send().await.unwrap(), 401).await;
        assert_eq!(code, "unauthenticated");
        server.clock.advance(Duration::from_secs(901));
        assert_eq!(attempt(PASSWORD).await.unwrap().status(), 201);
    }

    roles_limit_what_operators_may_do(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let add = |key: &str, email: &str, role: &str| server.as_key(key, Method::POST, "/api/v1/operators")
            .json(&json!({"email": email, "name": "x", "password": PASSWORD, "role": role})).send();
        assert_eq!(add(&tenant.admin_key, "analyst@a.example", "analyst").await.unwrap().status(), 201);
        assert_eq!(add(&tenant.admin_key, "admin@a.example", "admin").await.unwrap().status(), 201);
        let (code, _) = error_of(add(&tenant.admin_key, "analyst@a.example", "operator").await.unwrap(), 409).await;
        assert_eq!(code, "operator_exists");
        let (_, field) = error_of(add(&tenant.admin_key, "x@a.example", "root").await.unwrap(), 400).await;
        assert_eq!(field.as_deref(), Some("role"));
        assert_eq!(add(&tenant.admin_key, "ops@a.example", "operator").await.unwrap().status(), 201);

        let srv = &server;
        let session = |email: &'static str| async move {
            let login = srv.request(Method::POST, "/api/v1/sessions")
                .json(&json!({"email": email, "password": PASSWORD})).send().await.unwrap();
            assert_eq!(login.status(), 201);
            let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
            let csrf = json(login).await["csrf_token"].as_str().unwrap().to_owned();
            (cookie, csrf)
        };
        let (cookie, csrf) = session("analyst@a.example").await;
        let denied = server.request(Method::POST, "/api/v1/operators").header("cookie", &cookie).header("x-csrf-token", &csrf)
            .json(&json!({"email": "z@a.example", "name": "z", "password": PASSWORD, "role": "partner"})).send().await.unwrap();
        error_of(denied, 403).await;
        error_of(server.request(Method::GET, "/api/v1/keys").header("cookie", &cookie).send().await.unwrap(), 403).await;

        let (cookie, csrf) = session("admin@a.example").await;
        let make_owner = server.request(Method::POST, "/api/v1/operators").header("cookie", &cookie).header("x-csrf-token", &csrf)
            .json(&json!({"email": "boss@a.example", "name": "boss", "password": PASSWORD, "role": "owner"})).send().await.unwrap();
        let (code, _) = error_of(make_owner, 403).await;
        assert_eq!(code, "forbidden");
    }

    probe_jobs_run_once_each_on_the_worker_pool(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        let response = json(server.as_key(&tenant.admin_key, Method::POST, "/api/v1/jobs/probes")
            .json(&json!({"count": 25})).send().await.unwrap()).await;
        let ids: Vec<String> = response["job_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        let store = server.app.store.clone();
        eventually(Duration::from_secs(30), || {
            let store = store.clone();
            async move { store.probe_run_counts().await.unwrap().len() == 25 }
        }).await;
        let counts = store.probe_run_counts().await.unwrap();
        assert!(counts.iter().all(|(id, n)| *n == 1 && ids.contains(id)));
        let job = json(server.as_key(&tenant.admin_key, Method::GET, &format!("/api/v1/jobs/{}", ids[0])).send().await.unwrap()).await;
        assert_eq!(job["state"], "done");
        assert_eq!(job["attempts"], 1);
    }

    operations_endpoints_describe_the_service(backend) {
        let server = TestServer::start(backend).await;
        let health = server.request(Method::GET, "/healthz").send().await.unwrap();
        assert_eq!(health.status(), 200);
        assert!(health.headers().contains_key("x-request-id"));
        let ready = json(server.request(Method::GET, "/readyz").send().await.unwrap()).await;
        assert_eq!(ready["status"], "ready");
        assert_eq!(ready["backend"], server.app.store.backend().as_str());
        let doc = json(server.request(Method::GET, "/api/v1/openapi.json").send().await.unwrap()).await;
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for path in ["/api/v1/keys", "/api/v1/keys/{id}", "/api/v1/operators", "/api/v1/sessions", "/api/v1/jobs/probes", "/api/v1/audit-log"] {
            assert!(doc["paths"].get(path).is_some(), "{path} missing from OpenAPI");
        }
        assert!(doc["components"]["schemas"].get("ErrorBody").is_some());
        let _ = server.request(Method::GET, "/api/v1/workspace").send().await.unwrap();
        let metrics = server.request(Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("quanzi_http_requests_total{method=\"GET\",route=\"/api/v1/workspace\",status=\"401\"} 1"), "{metrics}");
        assert!(metrics.contains("quanzi_build_info"));
        let root = no_redirect_client().get(format!("{}/", server.base)).send().await.unwrap();
        assert_eq!(root.headers()["location"], "/console");
        let zh = server.request(Method::GET, "/status").header("accept-language", "zh-CN,zh;q=0.9").send().await.unwrap().text().await.unwrap();
        assert!(zh.contains("lang=\"zh-CN\"") && zh.contains("存储") && zh.contains("/api/v1/keys"));
        let en = server.request(Method::GET, "/status?lang=en").send().await.unwrap().text().await.unwrap();
        assert!(en.contains("Storage") && en.contains(server.app.store.backend().as_str()));
    }

    server_errors_carry_the_request_id_and_nothing_internal(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        server.app.store.close().await;
        let ready = server.request(Method::GET, "/readyz").send().await.unwrap();
        assert_eq!(ready.status(), 503);
        let id = ready.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body = json(ready).await;
        assert_eq!(body["error"]["request_id"], id.as_str());
        let failed = server.as_key(&tenant.admin_key, Method::GET, "/api/v1/keys").send().await.unwrap();
        assert_eq!(failed.status(), 500);
        let text = failed.text().await.unwrap();
        assert!(text.contains("request_id") && !text.to_lowercase().contains("pool"), "{text}");
    }

    the_audit_log_records_who_did_what(backend) {
        let server = TestServer::start(backend).await;
        let tenant = server.tenant("a").await;
        server.key_with(&tenant, &["ingest"]).await;
        let log = json(server.as_key(&tenant.admin_key, Method::GET, "/api/v1/audit-log").send().await.unwrap()).await;
        let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, vec!["api_key.create", "workspace.create"]);
        assert_eq!(log["items"][0]["details"]["scopes"], "ingest");
    }
}

fn no_redirect_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

on_both_backends! {
    a_metrics_token_closes_the_metrics_to_everyone_without_it(backend) {
        let token = "scrape-me-please-0123456789";
        let server = TestServer::start_with(backend, |c| c.server.metrics_token = Some(token.into())).await;
        let scrape = |authorization: Option<String>| {
            let mut request = server.request(Method::GET, "/metrics");
            if let Some(value) = authorization {
                request = request.header("authorization", value);
            }
            request.send()
        };
        let response = scrape(None).await.unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.text().await.unwrap().contains("metrics_token"));
        assert_eq!(scrape(Some("Bearer wrong-token-of-some-length".into())).await.unwrap().status(), 401);
        assert_eq!(scrape(Some(token.into())).await.unwrap().status(), 401, "the scheme is required");
        let response = scrape(Some(format!("Bearer {token}"))).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.text().await.unwrap().contains("quanzi_build_info"));
    }
}
