//! The `Idempotency-Key` rules: the same key with the same request replays the stored
//! response; the same key with another request is refused (422); a key whose first request
//! is still running is refused (409). Keys belong to one workspace and expire.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::input::InvalidInput;
use crate::time::Timestamp;

/// How long a key is remembered.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);

/// A client-chosen key: 1–255 visible ASCII characters (a UUID is typical).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if !raw.is_empty() && raw.len() <= 255 && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidInput::new(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters, such as a UUID",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A digest of what was asked: method, path with query, and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFingerprint(String);

impl RequestFingerprint {
    pub fn of(method: &str, path_and_query: &str, body: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        for part in [method.as_bytes(), path_and_query.as_bytes(), body] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        Self(hex::encode(hasher.finalize()))
    }

    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key's record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub fingerprint: RequestFingerprint,
    /// False while the first request is still being handled.
    pub completed: bool,
    pub expires_at: Timestamp,
    /// An in-flight claim older than this is taken to belong to a crashed node.
    pub locked_until: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No live record: run the request (after claiming the key).
    Execute,
    /// Same request, finished: send the stored response.
    Replay,
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
    /// A claim left by a node that died mid-request: take it over and run.
    TakeOver,
}

pub fn decide(
    existing: Option<&KeyRecord>,
    request: &RequestFingerprint,
    now: Timestamp,
) -> Decision {
    let Some(record) = existing else {
        return Decision::Execute;
    };
    if record.expires_at <= now {
        return Decision::TakeOver;
    }
    if &record.fingerprint != request {
        return Decision::Mismatch;
    }
    if record.completed {
        Decision::Replay
    } else if record.locked_until <= now {
        Decision::TakeOver
    } else {
        Decision::InFlight
    }
}

/// Which responses are remembered: successes and the client's own mistakes repeat
/// identically; server errors, conflicts and throttling are worth retrying, so they are not.
pub fn should_store(status: u16) -> bool {
    (200..300).contains(&status)
        || ((400..500).contains(&status) && !matches!(status, 408 | 409 | 429))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fp: &RequestFingerprint, completed: bool) -> KeyRecord {
        KeyRecord {
            fingerprint: fp.clone(),
            completed,
            expires_at: Timestamp::from_millis(100_000),
            locked_until: Timestamp::from_millis(50_000),
        }
    }

    #[test]
    fn decision_table() {
        let now = Timestamp::from_millis(10_000);
        let a = RequestFingerprint::of("POST", "/api/v1/x", b"{\"a\":1}");
        let b = RequestFingerprint::of("POST", "/api/v1/x", b"{\"a\":2}");
        assert_eq!(decide(None, &a, now), Decision::Execute);
        assert_eq!(decide(Some(&record(&a, true)), &a, now), Decision::Replay);
        assert_eq!(decide(Some(&record(&a, true)), &b, now), Decision::Mismatch);
        assert_eq!(
            decide(Some(&record(&a, false)), &a, now),
            Decision::InFlight
        );
        assert_eq!(
            decide(Some(&record(&a, false)), &b, now),
            Decision::Mismatch
        );
    }

    #[test]
    fn expired_keys_and_abandoned_claims_are_taken_over() {
        let a = RequestFingerprint::of("POST", "/p", b"");
        assert_eq!(
            decide(Some(&record(&a, true)), &a, Timestamp::from_millis(100_000)),
            Decision::TakeOver
        );
        assert_eq!(
            decide(Some(&record(&a, false)), &a, Timestamp::from_millis(60_000)),
            Decision::TakeOver
        );
    }

    #[test]
    fn fingerprints_separate_path_from_body() {
        assert_ne!(
            RequestFingerprint::of("POST", "/ab", b"c"),
            RequestFingerprint::of("POST", "/a", b"bc")
        );
    }

    #[test]
    fn keys_must_be_visible_ascii() {
        assert!(IdempotencyKey::parse("3f2a-11").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }

    #[test]
    fn only_repeatable_answers_are_stored() {
        assert!(should_store(201));
        assert!(should_store(422));
        assert!(!should_store(409));
        assert!(!should_store(500));
    }
}
