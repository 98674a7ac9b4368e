//! Fresh, empty, migrated databases for tests, on either engine.
//!
//! PostgreSQL tests connect to `QUANZI_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), create a database of their own and drop it
//! when the [`TestDb`] is dropped. They fail loudly when PostgreSQL is unreachable: a
//! skipped backend would hide exactly the bugs the suite exists to find.

use std::path::PathBuf;

use quanzi_domain::ids::random_base32;
use sqlx::{Connection, Executor};

use crate::connect::{Backend, Store, StoreOptions};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn admin_postgres_url() -> String {
    std::env::var("QUANZI_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    backend: Backend,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteDir(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("quanzi-test-{}", random_base32(12)));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self {
            url: format!("sqlite://{}", dir.join("quanzi.db").display()),
            backend: Backend::Sqlite,
            cleanup: Cleanup::SqliteDir(dir),
        }
    }

    pub async fn postgres() -> Self {
        sqlx::any::install_default_drivers();
        let admin_url = admin_postgres_url();
        let name = format!("quanzi_test_{}", random_base32(16));
        let mut conn = sqlx::AnyConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|err| {
                panic!(
                "PostgreSQL is needed for this test and is not reachable at {admin_url} ({err}); \
                 start it or set QUANZI_TEST_POSTGRES_URL"
            )
            });
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        conn.close().await.ok();
        let url = match admin_url.rsplit_once('/') {
            Some((server, _db)) => format!("{server}/{name}"),
            None => panic!("QUANZI_TEST_POSTGRES_URL must end in /database"),
        };
        Self {
            url,
            backend: Backend::Postgres,
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens and migrates the database.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, &StoreOptions::default())
            .await
            .expect("open test store");
        store.migrate().await.expect("migrate test store");
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs outside async; a short-lived runtime on its own thread does the
                // network work without touching the test's runtime.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    runtime.block_on(async move {
                        let mut conn = sqlx::AnyConnection::connect(&admin_url).await.ok()?;
                        conn.execute(
                            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                        )
                        .await
                        .ok()?;
                        conn.close().await.ok()
                    })
                })
                .join();
            }
        }
    }
}
