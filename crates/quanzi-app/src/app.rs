use std::sync::Arc;
use std::time::Duration;

use quanzi_domain::auth::LoginThrottle;
use quanzi_domain::ids::random_base32;
use quanzi_domain::jobs::RetryPolicy;
use quanzi_domain::members::PiiKey;
use quanzi_domain::time::{Clock, SystemClock};
use quanzi_store::{SqliteSync, Store, StoreOptions};

use crate::config::Config;
use crate::passwords::PasswordHasher;

/// Everything a use case needs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub passwords: PasswordHasher,
    /// This process's name among the nodes sharing the database (in job leases and logs).
    pub node_id: Arc<str>,
    /// The key phones and emails are hashed with, read once from the database.
    pii_key: Arc<tokio::sync::OnceCell<PiiKey>>,
    /// The group-commit writer for event ingestion, started on first use.
    ingest_queue: Arc<std::sync::OnceLock<crate::services::ingest_queue::Queue>>,
    /// The group-commit writer for ledger batches from the API, started on first use.
    ledger_queue: Arc<std::sync::OnceLock<crate::services::loyalty::queue::Queue>>,
    /// The Redis admission gate for flash sales, when `promotions.redis_url` is set.
    pub redis_gate: Option<Arc<crate::services::promotions::redis_gate::RedisGate>>,
    /// Running flash sales and sold-out SKUs this node has seen.
    pub(crate) flash_cache: Arc<crate::services::promotions::flash_cache::FlashCache>,
    /// Identities the ingest writer has seen, and their members (a hint it checks).
    pub(crate) identity_cache: Arc<crate::services::identity_cache::IdentityCache>,
    /// The group-commit writer for flash-sale reservations, started on first use.
    flash_queue: Arc<std::sync::OnceLock<crate::services::promotions::flash_queue::Queue>>,
}

impl App {
    pub fn new(store: Store, config: Config, clock: Arc<dyn Clock>) -> Self {
        // A malformed URL was refused when the configuration was checked; here it only
        // means no gate.
        let redis_gate = config
            .promotions
            .redis_url
            .as_deref()
            .and_then(|url| crate::services::promotions::redis_gate::RedisGate::new(url).ok())
            .map(Arc::new);
        Self {
            redis_gate,
            flash_cache: Arc::default(),
            identity_cache: Arc::default(),
            store,
            clock,
            passwords: PasswordHasher::new(config.auth.password_hash_concurrency),
            config: Arc::new(config),
            node_id: format!("node_{}", random_base32(10)).into(),
            pii_key: Arc::new(tokio::sync::OnceCell::new()),
            ingest_queue: Arc::new(std::sync::OnceLock::new()),
            ledger_queue: Arc::new(std::sync::OnceLock::new()),
            flash_queue: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// A clone for a writer task: without queues of its own, so a queue's only senders
    /// are the app's users and its task ends once they are gone.
    fn writer_app(&self) -> App {
        let mut writer_app = self.clone();
        writer_app.ingest_queue = Arc::new(std::sync::OnceLock::new());
        writer_app.ledger_queue = Arc::new(std::sync::OnceLock::new());
        writer_app.flash_queue = Arc::new(std::sync::OnceLock::new());
        writer_app
    }

    pub(crate) fn flash_queue(&self) -> &crate::services::promotions::flash_queue::Queue {
        self.flash_queue
            .get_or_init(|| crate::services::promotions::flash_queue::start(self.writer_app()))
    }

    pub(crate) fn ledger_queue(&self) -> &crate::services::loyalty::queue::Queue {
        self.ledger_queue
            .get_or_init(|| crate::services::loyalty::queue::start(self.writer_app()))
    }

    pub(crate) fn ingest_queue(&self) -> &crate::services::ingest_queue::Queue {
        self.ingest_queue
            .get_or_init(|| crate::services::ingest_queue::start(self.writer_app()))
    }

    /// The installation's PII hashing key, made on first use and shared by every node
    /// through the database.
    pub async fn pii_key(&self) -> anyhow::Result<PiiKey> {
        let key = self
            .pii_key
            .get_or_try_init(|| async {
                let secret = self
                    .store
                    .instance_secret("pii_hash_key", self.clock.now())
                    .await?;
                Ok::<_, anyhow::Error>(PiiKey::new(secret.as_bytes()))
            })
            .await?;
        Ok(key.clone())
    }

    /// Opens (and migrates) the configured database with the system clock.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database.url, &store_options(&config)).await?;
        store.migrate().await?;
        Ok(Self::new(store, config, Arc::new(SystemClock)))
    }

    pub fn login_throttle(&self) -> LoginThrottle {
        LoginThrottle {
            max_failures_per_email: self.config.auth.login_max_failures_per_email,
            max_failures_per_address: self.config.auth.login_max_failures_per_address,
            window: Duration::from_secs(self.config.auth.login_window_seconds),
        }
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.config.jobs.max_attempts,
            base: Duration::from_secs(self.config.jobs.backoff_base_seconds),
            max: Duration::from_secs(self.config.jobs.backoff_max_seconds),
        }
    }
}

pub fn store_options(config: &Config) -> StoreOptions {
    StoreOptions {
        max_connections: config.database.max_connections,
        sqlite_sync: if config.database.sqlite_synchronous == "normal" {
            SqliteSync::Normal
        } else {
            SqliteSync::Full
        },
        ..StoreOptions::default()
    }
}
