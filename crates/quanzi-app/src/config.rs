//! Typed configuration: built-in defaults, then a TOML file, then `QUANZI__SECTION__KEY`
//! environment variables, each layer overriding the one before. Unknown keys are errors, so
//! a typo is reported instead of silently ignored.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub jobs: JobsConfig,
    pub auth: AuthConfig,
    pub idempotency: IdempotencyConfig,
    pub log: LogConfig,
    pub promotions: PromotionsConfig,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PromotionsConfig {
    /// `redis://host:port` of a Redis that flash sales with `gate: redis` use as an
    /// admission gate in front of the database; absent: no sale may use one.
    pub redis_url: Option<String>,
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port (printed at start).
    pub listen: String,
    /// Largest request body accepted, in bytes (larger → 413).
    pub body_limit_bytes: usize,
    /// Seconds in-flight requests get to finish after a shutdown signal.
    pub shutdown_grace_seconds: u64,
    /// When set (16 characters or more), `GET /metrics` answers only requests with
    /// `Authorization: Bearer <token>` (Prometheus: `authorization: {credentials: …}`).
    /// Unset, it is open: then keep the port off public networks.
    pub metrics_token: Option<String>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("shutdown_grace_seconds", &self.shutdown_grace_seconds)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://data/quanzi.db` (the default, created on first run) or `postgres://…`.
    /// May hold a password: it is redacted wherever it is shown.
    pub url: String,
    pub max_connections: u32,
    /// SQLite only: `full` survives power loss, `normal` only a process crash.
    pub sqlite_synchronous: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Run the worker pool inside `quanzi serve`.
    pub enabled: bool,
    /// Jobs one node runs at once.
    pub concurrency: u32,
    pub poll_interval_ms: u64,
    /// How long a claimed job stays with its worker without a heartbeat before other nodes
    /// may take it over.
    pub lease_seconds: u64,
    pub max_attempts: u32,
    pub backoff_base_seconds: u64,
    pub backoff_max_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub session_ttl_hours: u64,
    pub login_max_failures_per_email: u32,
    pub login_max_failures_per_address: u32,
    pub login_window_seconds: u64,
    /// Password hashes computed at once; argon2id takes ~19 MiB and tens of ms each.
    pub password_hash_concurrency: usize,
    /// Mark the session cookie `Secure` (serve behind HTTPS).
    pub secure_cookies: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IdempotencyConfig {
    pub ttl_hours: u64,
    /// How long a request's claim on a key blocks retries if its node dies mid-request.
    pub lock_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `pretty` for people, `json` for log collectors.
    pub format: String,
    /// A tracing filter such as `info` or `quanzi=debug,sqlx=warn`.
    pub filter: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            body_limit_bytes: 2 * 1024 * 1024,
            shutdown_grace_seconds: 20,
            metrics_token: None,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://data/quanzi.db".into(),
            max_connections: 10,
            sqlite_synchronous: "full".into(),
        }
    }
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &quanzi_store::connect::redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("sqlite_synchronous", &self.sqlite_synchronous)
            .finish()
    }
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            concurrency: 4,
            poll_interval_ms: 500,
            lease_seconds: 60,
            max_attempts: 10,
            backoff_base_seconds: 5,
            backoff_max_seconds: 3600,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_ttl_hours: 12,
            login_max_failures_per_email: 5,
            login_max_failures_per_address: 20,
            login_window_seconds: 900,
            password_hash_concurrency: 2,
            secure_cookies: false,
        }
    }
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            ttl_hours: 24,
            lock_seconds: 60,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "pretty".into(),
            filter: "info".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Parse { path: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

pub const ENV_PREFIX: &str = "QUANZI__";

impl Config {
    /// Defaults, then `file` if given, then the `QUANZI__…` variables of `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut merged = toml::Value::try_from(Config::default())
            .map_err(|err| ConfigError::Invalid(err.to_string()))?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let layer: toml::Value = toml::from_str(&text).map_err(|err| ConfigError::Parse {
                path: path.display().to_string(),
                message: err.message().to_owned(),
            })?;
            merge(&mut merged, layer);
        }
        let env: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        for (key, raw) in env {
            let path: Vec<String> = key[ENV_PREFIX.len()..]
                .split("__")
                .map(str::to_lowercase)
                .collect();
            set_path(&mut merged, &path, env_value(&raw))
                .map_err(|message| ConfigError::Invalid(format!("{key}: {message}")))?;
        }
        let config: Config = serde_path_to_error::deserialize(merged).map_err(|err| {
            ConfigError::Invalid(format!("{}: {}", err.path(), err.inner().message()))
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: &str| Err(ConfigError::Invalid(msg.to_owned()));
        if !matches!(self.database.sqlite_synchronous.as_str(), "full" | "normal") {
            return invalid("database.sqlite_synchronous must be `full` or `normal`");
        }
        if self
            .server
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.chars().count() < 16)
        {
            return invalid("server.metrics_token must be at least 16 characters");
        }
        if !matches!(self.log.format.as_str(), "pretty" | "json") {
            return invalid("log.format must be `pretty` or `json`");
        }
        if self.jobs.concurrency == 0 || self.jobs.lease_seconds == 0 || self.jobs.max_attempts == 0
        {
            return invalid(
                "jobs.concurrency, jobs.lease_seconds and jobs.max_attempts must be at least 1",
            );
        }
        if self.auth.password_hash_concurrency == 0 {
            return invalid("auth.password_hash_concurrency must be at least 1");
        }
        if self.server.body_limit_bytes < 1024 {
            return invalid("server.body_limit_bytes must be at least 1024");
        }
        if let Some(url) = &self.promotions.redis_url {
            if let Err(err) = crate::services::promotions::redis_gate::RedisGate::new(url) {
                return invalid(&err.to_string());
            }
        }
        Ok(())
    }

    /// The defaults as a commented TOML file.
    pub fn default_toml() -> String {
        let body = toml::to_string_pretty(&Config::default()).unwrap_or_default();
        format!(
            "# quanzi configuration. Every key is optional; these are the defaults.\n\
             # Each can also be set as an environment variable: QUANZI__SECTION__KEY,\n\
             # e.g. QUANZI__DATABASE__URL=postgres://quanzi@db/quanzi\n\n{body}"
        )
    }
}

/// An environment value is read as a TOML scalar when it parses as one (`8`, `true`),
/// otherwise as a plain string (`postgres://…`).
fn env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !v.is_table() && !v.is_array())
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn merge(base: &mut toml::Value, layer: toml::Value) {
    match (base, layer) {
        (toml::Value::Table(base), toml::Value::Table(layer)) => {
            for (key, value) in layer {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, layer) => *base = layer,
    }
}

fn set_path(root: &mut toml::Value, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut node = root;
    for part in parents {
        node = node
            .as_table_mut()
            .and_then(|t| t.get_mut(part))
            .ok_or_else(|| format!("unknown section `{part}`"))?;
    }
    let table = node.as_table_mut().ok_or("not a section")?;
    // Keep the default's type: a string setting given `8` stays the string "8".
    let value = match (table.get(last), value) {
        (Some(toml::Value::String(_)), v) if !v.is_str() => {
            toml::Value::String(v.to_string().trim_matches('"').to_owned())
        }
        (_, v) => v,
    };
    table.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_serve_sqlite_on_localhost_8080() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:8080");
        assert_eq!(config.database.url, "sqlite://data/quanzi.db");
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quanzi.toml");
        std::fs::write(
            &path,
            "[server]\nlisten = \"0.0.0.0:9000\"\n[jobs]\nconcurrency = 8\n",
        )
        .unwrap();
        let config = Config::load(
            Some(&path),
            env(&[
                ("QUANZI__JOBS__CONCURRENCY", "2"),
                ("QUANZI__DATABASE__URL", "postgres://u:p@h/db"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.listen, "0.0.0.0:9000");
        assert_eq!(config.jobs.concurrency, 2);
        assert_eq!(config.database.url, "postgres://u:p@h/db");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_reported() {
        let err = Config::load(None, env(&[("QUANZI__JOBS__CONCURENCY", "2")])).unwrap_err();
        assert!(err.to_string().contains("concurency"), "{err}");
        let err = Config::load(None, env(&[("QUANZI__NOPE__X", "2")])).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        let err = Config::load(None, env(&[("QUANZI__JOBS__CONCURRENCY", "many")])).unwrap_err();
        assert!(
            err.to_string().contains("concurrency") || err.to_string().contains("integer"),
            "{err}"
        );
        assert!(Config::load(None, env(&[("QUANZI__LOG__FORMAT", "xml")])).is_err());
        let err =
            Config::load(None, env(&[("QUANZI__SERVER__METRICS_TOKEN", "short")])).unwrap_err();
        assert!(err.to_string().contains("metrics_token"), "{err}");
    }

    #[test]
    fn the_metrics_token_is_never_printed() {
        let token = "a-long-enough-secret-token";
        let config = Config::load(None, env(&[("QUANZI__SERVER__METRICS_TOKEN", token)])).unwrap();
        assert_eq!(config.server.metrics_token.as_deref(), Some(token));
        assert!(!format!("{config:?}").contains(token));
    }

    #[test]
    fn the_default_file_parses_back_to_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("default.toml");
        std::fs::write(&path, Config::default_toml()).unwrap();
        assert_eq!(
            Config::load(Some(&path), env(&[])).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn the_database_password_never_appears_in_debug_output() {
        let mut config = Config::default();
        config.database.url = "postgres://quanzi:hunter22@db/quanzi".into();
        assert!(!format!("{config:?}").contains("hunter22"));
    }
}
