use std::time::Duration;

use quanzi_domain::input::InvalidInput;
use quanzi_store::StoreError;

/// Why a use case did not do what was asked. Each variant maps to one HTTP status; the
/// `code` strings are part of the API and stable.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// `what` is the kind of object, e.g. `api_key`.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("too many attempts; try again in {} seconds", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// A 409 with a stable code and a message for the caller.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Error {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &'static str) -> impl FnOnce(StoreError) -> Error {
        move |err| match err {
            StoreError::NotFound => Error::NotFound { what },
            other => other.into(),
        }
    }
}

impl Error {
    /// Maps a uniqueness conflict to a `Conflict` with a stable code and a message for the
    /// caller; anything else passes through.
    pub fn on_conflict(
        code: &'static str,
        message: impl Into<String>,
    ) -> impl FnOnce(StoreError) -> Error {
        let message = message.into();
        move |err| match err {
            StoreError::Conflict { .. } => Error::Conflict { code, message },
            other => other.into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Error::NotFound { what: "object" },
            StoreError::Conflict { what } => Error::Conflict {
                code: "already_exists",
                message: format!("{what} already exists"),
            },
            other => Error::Internal(anyhow::Error::new(other)),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
