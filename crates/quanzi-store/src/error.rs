use thiserror::Error;

/// What storage tells its callers. Database errors that callers can act on are mapped to
/// their meaning here, so nothing above this crate matches on SQL error codes.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; `what` names the rule (e.g. `operator_email`).
    #[error("{what} already exists")]
    Conflict { what: &'static str },
    /// A job's lease passed to another worker before this one finished.
    #[error("job lease lost")]
    LeaseLost,
    /// A stored value no longer parses: a bug or a manual edit, never user input.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(String),
    /// Something the transaction relied on changed under it (e.g. a member the caller
    /// remembered was merged meanwhile); the caller knows better now and should go again.
    #[error("{0} changed meanwhile")]
    Changed(&'static str),
}

impl StoreError {
    /// Maps a unique violation to [`StoreError::Conflict`], anything else to `Database`.
    pub(crate) fn unique(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |err| match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict { what },
            _ => StoreError::Database(err),
        }
    }
}

impl StoreError {
    /// Worth retrying the whole transaction: a uniqueness race lost to a concurrent writer,
    /// a premise that changed, or PostgreSQL breaking a deadlock or a serialization conflict.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Conflict { .. } | StoreError::Changed(_) => true,
            StoreError::Database(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("40P01") | Some("40001"))
            }
            _ => false,
        }
    }
}

impl From<quanzi_domain::input::InvalidInput> for StoreError {
    fn from(err: quanzi_domain::input::InvalidInput) -> Self {
        StoreError::Corrupt(err.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
