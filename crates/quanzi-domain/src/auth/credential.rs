//! Bearer credentials: API keys (`qz_<id>_<secret>`) and session tokens (`<id>.<secret>`).
//!
//! The id part finds the stored row; only a SHA-256 of the secret is stored, and it is
//! compared in constant time. A fast hash is right here because the secret is 260 random
//! bits, not a password a person chose.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::{random_base32, ApiKeyId, SessionId};

const SECRET_CHARS: usize = 52;

/// A freshly generated secret; shown once, then only its hash is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn generate() -> Self {
        Self(random_base32(SECRET_CHARS))
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The stored SHA-256 (hex) of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHash(String);

impl SecretHash {
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Constant-time check that `secret` hashes to this value.
    pub fn matches(&self, secret: &Secret) -> bool {
        secret.hash().0.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

/// An API key as presented: `qz_` + the key id's body + `_` + the secret.
#[derive(Debug, Clone)]
pub struct ApiKeyToken {
    id: ApiKeyId,
    secret: Secret,
}

impl ApiKeyToken {
    pub const PREFIX: &'static str = "qz_";

    pub fn new(id: ApiKeyId, secret: Secret) -> Self {
        Self { id, secret }
    }

    /// Parses a presented token; `None` for anything that is not shaped like one of ours.
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(Self::PREFIX)?;
        let (body, secret) = rest.split_once('_')?;
        if secret.len() != SECRET_CHARS || !secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        Some(Self {
            id: ApiKeyId::from_body(body)?,
            secret: Secret(secret.to_owned()),
        })
    }

    pub fn id(&self) -> &ApiKeyId {
        &self.id
    }

    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The full token, to show the user exactly once.
    pub fn reveal(&self) -> String {
        format!(
            "{}{}_{}",
            Self::PREFIX,
            self.id.body(),
            self.secret.expose()
        )
    }
}

/// A console session cookie value: the session id's body, `.`, the secret.
#[derive(Debug, Clone)]
pub struct SessionToken {
    id: SessionId,
    secret: Secret,
}

impl SessionToken {
    pub fn new(id: SessionId, secret: Secret) -> Self {
        Self { id, secret }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let (body, secret) = raw.split_once('.')?;
        if secret.len() != SECRET_CHARS || !secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        Some(Self {
            id: SessionId::from_body(body)?,
            secret: Secret(secret.to_owned()),
        })
    }

    pub fn id(&self) -> &SessionId {
        &self.id
    }

    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    pub fn reveal(&self) -> String {
        format!("{}.{}", self.id.body(), self.secret.expose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn api_key_tokens_round_trip_and_match_only_their_hash() {
        let token = ApiKeyToken::new(
            ApiKeyId::generate(Timestamp::from_millis(9)),
            Secret::generate(),
        );
        let shown = token.reveal();
        assert!(shown.starts_with("qz_"));
        let parsed = ApiKeyToken::parse(&shown).unwrap();
        assert_eq!(parsed.id(), token.id());
        let stored = token.secret().hash();
        assert!(stored.matches(parsed.secret()));
        assert!(!stored.matches(&Secret::generate()));
    }

    #[test]
    fn malformed_tokens_are_not_ours() {
        for raw in ["", "qz_", "qz_abc_def", "Bearer x", "sk_live_123"] {
            assert!(ApiKeyToken::parse(raw).is_none(), "{raw}");
        }
        let good = ApiKeyToken::new(
            ApiKeyId::generate(Timestamp::from_millis(1)),
            Secret::generate(),
        )
        .reveal();
        assert!(ApiKeyToken::parse(&format!("{good}x")).is_none());
    }

    #[test]
    fn session_tokens_round_trip() {
        let token = SessionToken::new(
            SessionId::generate(Timestamp::from_millis(3)),
            Secret::generate(),
        );
        let parsed = SessionToken::parse(&token.reveal()).unwrap();
        assert_eq!(parsed.id(), token.id());
        assert!(token.secret().hash().matches(parsed.secret()));
        assert!(SessionToken::parse("nodot").is_none());
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::generate()), "Secret(<redacted>)");
    }
}
