//! Runs the real `quanzi` binary as child processes.

#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_quanzi");

/// A running `quanzi serve`.
pub struct Node {
    pub child: Child,
    pub base: String,
    pub node_id: String,
}

impl Node {
    /// Starts `quanzi serve --listen 127.0.0.1:0` with `env` and waits for its
    /// "listening on" line, which carries the port and the node id.
    pub async fn start(database: &str, env: &[(&str, &str)]) -> Node {
        let mut command = Command::new(BIN);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            .env("QUANZI__LOG__FILTER", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start quanzi serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("quanzi serve did not start within a minute")
            .unwrap()
            .expect("quanzi serve exited before listening");
        // "quanzi 0.1.0 listening on http://127.0.0.1:PORT/ (node node_x, …)"
        let base = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split('/').take(3).collect::<Vec<_>>().join("/").into())
            .unwrap_or_else(|| panic!("unexpected start line: {line}"));
        let node_id = line
            .split("(node ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_else(|| panic!("no node id in: {line}"))
            .to_owned();
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Node {
            child,
            base,
            node_id,
        }
    }

    /// SIGKILL: no shutdown hooks, no flushing, like a power cut for the process.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("kill quanzi serve");
    }
}

/// Runs a `quanzi` subcommand to completion and returns its stdout.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = std::process::Command::new(BIN);
    command.args(args).env("QUANZI__LOG__FILTER", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run quanzi");
    assert!(
        output.status.success(),
        "quanzi {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A workspace made with the CLI and three `quanzi serve` nodes over `database`: the
/// workspace's admin key and the nodes.
pub async fn three_nodes(database: &str, workspace: &str) -> (String, [Node; 3]) {
    let created = run(
        &[
            "workspace",
            "create",
            "--name",
            workspace,
            "--database",
            database,
        ],
        &[],
    );
    let key = field(&created, "api key");
    let nodes = [
        Node::start(database, &[]).await,
        Node::start(database, &[]).await,
        Node::start(database, &[]).await,
    ];
    (key, nodes)
}

/// An app over the test database whose clock stands at `at`, as another node's would:
/// for running sweeps on an injected clock beside the real nodes.
pub async fn app_at(
    db: &quanzi_store::testkit::TestDb,
    at: quanzi_domain::time::Timestamp,
) -> quanzi_app::App {
    let mut config = quanzi_app::config::Config::default();
    config.database.url = db.url.clone();
    quanzi_app::App::new(
        db.store().await,
        config,
        std::sync::Arc::new(quanzi_domain::time::ManualClock::at(at)),
    )
}

/// The value after `label` on the line starting with it, e.g. `api key    qz_…`.
pub fn field(output: &str, label: &str) -> String {
    output
        .lines()
        .find(|l| l.starts_with(label))
        .and_then(|l| l[label.len()..].split_whitespace().next())
        .unwrap_or_else(|| panic!("no `{label}` in:\n{output}"))
        .to_owned()
}

#[allow(unused_imports)]
pub use quanzi_store::testkit::eventually;

/// Requests to the nodes with the workspace's admin key.
pub struct Api {
    client: reqwest::Client,
    key: String,
}

impl Api {
    pub fn new(key: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            key: key.to_owned(),
        }
    }

    pub fn post(
        &self,
        base: &str,
        path: &str,
        body: serde_json::Value,
    ) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> {
        self.client
            .post(format!("{base}{path}"))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
    }

    pub fn get(
        &self,
        base: &str,
        path: &str,
    ) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> {
        self.client
            .get(format!("{base}{path}"))
            .bearer_auth(&self.key)
            .send()
    }
}
