//! A real quanzi server on port 0 over a fresh database, and an HTTP client for it.

#![allow(dead_code)]

use std::sync::Arc;

use quanzi_app::config::Config;
use quanzi_app::services::workspaces::{self, NewWorkspace};
use quanzi_app::App;
use quanzi_domain::time::{ManualClock, Timestamp};
use quanzi_server::AppState;
use quanzi_store::testkit::TestDb;
use quanzi_store::Backend;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

pub const T0: Timestamp = Timestamp::from_millis(1_790_000_000_000);

pub struct TestServer {
    pub base: String,
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    _db: TestDb,
}

pub struct Tenant {
    pub workspace_id: String,
    pub admin_key: String,
    pub owner_email: String,
    pub owner_password: String,
}

pub const PASSWORD: &str = "correct horse battery";

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new(backend).await;
        let mut config = Config::default();
        config.database.url = db.url.clone();
        config.server.body_limit_bytes = 64 * 1024;
        config.jobs.poll_interval_ms = 20;
        config.server.shutdown_grace_seconds = 5;
        configure(&mut config);
        let clock = Arc::new(ManualClock::at(T0));
        let app = App::new(db.store().await, config, clock.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        tokio::spawn(quanzi_server::serve(
            listener,
            AppState::new(app.clone()),
            shutdown.clone(),
        ));
        Self {
            base,
            app,
            clock,
            client: reqwest::Client::new(),
            shutdown,
            _db: db,
        }
    }

    /// The test clock's time.
    pub fn clock_now(&self) -> Timestamp {
        use quanzi_domain::time::Clock;
        self.clock.now()
    }

    /// A workspace with an owner (password [`PASSWORD`]) and an admin key.
    pub async fn tenant(&self, name: &str) -> Tenant {
        let email = format!("owner-{}@example.com", quanzi_domain::ids::random_base32(8));
        let created = workspaces::create(
            &self.app,
            NewWorkspace {
                name,
                owner_email: &email,
                owner_name: None,
                owner_password: Some(PASSWORD),
            },
        )
        .await
        .unwrap();
        Tenant {
            workspace_id: created.workspace.id.to_string(),
            admin_key: created.admin_key,
            owner_email: email,
            owner_password: PASSWORD.to_owned(),
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    pub fn as_key(&self, key: &str, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(key)
    }

    /// Creates a key with `scopes` in the tenant's workspace and returns its secret.
    pub async fn key_with(&self, tenant: &Tenant, scopes: &[&str]) -> String {
        let response = self
            .as_key(&tenant.admin_key, Method::POST, "/api/v1/keys")
            .json(&serde_json::json!({"name": "test", "scopes": scopes}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        json(response).await["secret"].as_str().unwrap().to_owned()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The member id for a WeChat openid, identifying (and so creating) the member.
pub async fn member(server: &TestServer, key: &str, openid: &str) -> String {
    let response = server
        .as_key(key, Method::POST, "/api/v1/members/identify")
        .json(&serde_json::json!({"identities": [{"kind": "wechat_openid", "value": openid}]}))
        .send()
        .await
        .unwrap();
    json(response).await["member"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn json(response: Response) -> serde_json::Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Asserts the standard error shape and returns (code, field).
pub async fn error_of(response: Response, status: u16) -> (String, Option<String>) {
    assert_eq!(response.status().as_u16(), status);
    let body = json(response).await;
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    (
        error["code"].as_str().unwrap().to_owned(),
        error["field"].as_str().map(str::to_owned),
    )
}

/// Records a paid order for a WeChat buyer; returns its `ord_…` id.
pub async fn order(
    server: &TestServer,
    key: &str,
    external_id: &str,
    buyer: &str,
    items: Value,
    shipping_fen: i64,
) -> String {
    let response = server
        .as_key(key, Method::POST, "/api/v1/orders")
        .json(&json!({"external_id": external_id, "buyer": {"kind": "wechat_openid", "value": buyer}, "items": items, "shipping_fen": shipping_fen}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    json(response).await["id"].as_str().unwrap().to_owned()
}

/// Refunds an order (all of it, or `lines`).
pub async fn refund(
    server: &TestServer,
    key: &str,
    order: &str,
    external_id: &str,
    lines: Option<Value>,
) {
    let mut body = json!({"external_id": external_id});
    if let Some(lines) = lines {
        body["items"] = lines;
    }
    let response = server
        .as_key(
            key,
            Method::POST,
            &format!("/api/v1/orders/{order}/refunds"),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[allow(unused_imports)]
pub use quanzi_store::testkit::eventually;

/// Generates `mod $name { sqlite, postgres }` around an async test body taking the backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident($backend:ident) $body:block)*) => {$(
        mod $name {
            use super::*;
            async fn run($backend: quanzi_store::Backend) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { run(quanzi_store::Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { run(quanzi_store::Backend::Postgres).await }
        }
    )*};
}
