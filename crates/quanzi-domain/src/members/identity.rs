//! Identities a member is known by, their normal form, how they are looked up, and how
//! they are shown.
//!
//! Phone numbers and emails are personal information (PIPL): they are stored only as a
//! keyed hash (HMAC-SHA256 with the installation's PII key) for lookup and a mask for
//! display. Platform ids (openid, unionid, …) are pseudonymous already and are kept as they
//! are, so operators can match them against platform exports.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::input::InvalidInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentityKind {
    WechatOpenid,
    WechatUnionid,
    DouyinId,
    TmallId,
    Phone,
    Email,
    DeviceId,
    ExternalId,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 8] = [
        IdentityKind::WechatOpenid,
        IdentityKind::WechatUnionid,
        IdentityKind::DouyinId,
        IdentityKind::TmallId,
        IdentityKind::Phone,
        IdentityKind::Email,
        IdentityKind::DeviceId,
        IdentityKind::ExternalId,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::WechatOpenid => "wechat_openid",
            IdentityKind::WechatUnionid => "wechat_unionid",
            IdentityKind::DouyinId => "douyin_id",
            IdentityKind::TmallId => "tmall_id",
            IdentityKind::Phone => "phone",
            IdentityKind::Email => "email",
            IdentityKind::DeviceId => "device_id",
            IdentityKind::ExternalId => "external_id",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        IdentityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                InvalidInput::new(
                    "kind",
                    format!(
                        "`{raw}` is not an identity kind: use one of {}",
                        IdentityKind::ALL.map(|k| k.as_str()).join(", ")
                    ),
                )
            })
    }

    /// Personal information: stored hashed and shown masked.
    pub fn is_pii(self) -> bool {
        matches!(self, IdentityKind::Phone | IdentityKind::Email)
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An identity in normal form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity {
    kind: IdentityKind,
    value: String,
}

impl Identity {
    /// Normalises `raw`: phones to E.164 (`+8613812341234`; 11-digit mainland mobiles get
    /// +86), emails lowercased, other ids trimmed.
    pub fn parse(kind: IdentityKind, raw: &str) -> Result<Self, InvalidInput> {
        let value = match kind {
            IdentityKind::Phone => normalise_phone(raw)?,
            IdentityKind::Email => crate::input::Email::parse(raw)
                .map_err(|e| e.for_field("value"))?
                .as_str()
                .to_owned(),
            _ => {
                let trimmed = raw.trim();
                if trimmed.is_empty()
                    || trimmed.len() > 128
                    || trimmed.chars().any(char::is_control)
                {
                    return Err(InvalidInput::new(
                        "value",
                        format!("a {kind} must be 1 to 128 characters without control characters"),
                    ));
                }
                trimmed.to_owned()
            }
        };
        Ok(Self { kind, value })
    }

    pub fn kind(&self) -> IdentityKind {
        self.kind
    }

    /// The normal form. For PII this is only held in memory while a request runs.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// What is stored and searched: the value itself, or its keyed hash for PII.
    pub fn lookup_key(&self, key: &PiiKey) -> LookupKey {
        if self.kind.is_pii() {
            LookupKey(key.hash(self.kind.as_str(), &self.value))
        } else {
            LookupKey(self.value.clone())
        }
    }

    /// How the identity is shown: `138****1234`, `l***@example.com`, or the id itself.
    pub fn masked(&self) -> String {
        match self.kind {
            IdentityKind::Phone => mask_phone(&self.value),
            IdentityKind::Email => mask_email(&self.value),
            _ => self.value.clone(),
        }
    }
}

/// The stored lookup form of an identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LookupKey(String);

impl LookupKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }
}

/// The installation's secret for hashing PII. Without it a stolen database does not
/// reveal phone numbers by hashing the (small) space of all numbers.
#[derive(Clone)]
pub struct PiiKey(Vec<u8>);

impl PiiKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.to_vec())
    }

    /// A keyed fingerprint of a device id, an IP address or the like, so two can be
    /// compared (anti-fraud) without keeping the value itself.
    pub fn fingerprint(&self, kind: &str, value: &str) -> String {
        self.hash(kind, value)
    }

    /// HMAC-SHA256(key, kind ":" value), hex.
    fn hash(&self, kind: &str, value: &str) -> String {
        hex::encode(self.hmac(&[kind.as_bytes(), b":", value.as_bytes()].concat()))
    }

    /// HMAC-SHA256 (RFC 2104) over `message`.
    fn hmac(&self, message: &[u8]) -> [u8; 32] {
        const BLOCK: usize = 64;
        let mut key = if self.0.len() > BLOCK {
            Sha256::digest(&self.0).to_vec()
        } else {
            self.0.clone()
        };
        key.resize(BLOCK, 0);
        let inner_pad: Vec<u8> = key.iter().map(|b| b ^ 0x36).collect();
        let outer_pad: Vec<u8> = key.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::new()
            .chain_update(&inner_pad)
            .chain_update(message)
            .finalize();
        Sha256::new()
            .chain_update(&outer_pad)
            .chain_update(inner)
            .finalize()
            .into()
    }
}

impl fmt::Debug for PiiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiKey(<redacted>)")
    }
}

fn normalise_phone(raw: &str) -> Result<String, InvalidInput> {
    let invalid = || {
        InvalidInput::new(
            "value",
            format!(
                "`{}` is not a phone number: use 13812341234 or +8613812341234",
                raw.trim()
            ),
        )
    };
    let trimmed = raw.trim();
    let international = trimmed.starts_with('+') || trimmed.starts_with("00");
    let digits: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+'))
        .collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid());
    }
    let digits = digits.strip_prefix("00").unwrap_or(&digits).to_owned();
    let is_mainland_mobile = |d: &str| d.len() == 11 && d.starts_with('1');
    if !international && is_mainland_mobile(&digits) {
        return Ok(format!("+86{digits}"));
    }
    if let Some(national) = digits.strip_prefix("86") {
        if is_mainland_mobile(national) {
            return Ok(format!("+86{national}"));
        }
    }
    if international && (8..=15).contains(&digits.len()) {
        return Ok(format!("+{digits}"));
    }
    Err(invalid())
}

fn mask_phone(e164: &str) -> String {
    let national = e164.strip_prefix("+86").unwrap_or(e164);
    let chars: Vec<char> = national.chars().collect();
    if chars.len() < 7 {
        return "****".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(raw: &str) -> Result<String, InvalidInput> {
        Identity::parse(IdentityKind::Phone, raw).map(|i| i.value().to_owned())
    }

    #[test]
    fn mainland_numbers_in_every_common_spelling_normalise_to_one_form() {
        for raw in [
            "13812341234",
            "138 1234 1234",
            "138-1234-1234",
            "+86 138 1234 1234",
            "8613812341234",
            "008613812341234",
            "+8613812341234",
        ] {
            assert_eq!(phone(raw).unwrap(), "+8613812341234", "{raw}");
        }
        assert_eq!(phone("+1 415 555 0100").unwrap(), "+14155550100");
        for bad in ["", "abc", "12345", "+1", "1381234123x"] {
            assert!(phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_and_emails_are_masked_for_display() {
        assert_eq!(
            Identity::parse(IdentityKind::Phone, "13812341234")
                .unwrap()
                .masked(),
            "138****1234"
        );
        assert_eq!(
            Identity::parse(IdentityKind::Email, "Li.Lei@Example.com")
                .unwrap()
                .masked(),
            "l***@example.com"
        );
        assert_eq!(
            Identity::parse(IdentityKind::WechatOpenid, " oAbc ")
                .unwrap()
                .masked(),
            "oAbc"
        );
    }

    #[test]
    fn pii_is_looked_up_by_keyed_hash_and_other_ids_by_value() {
        let key = PiiKey::new(b"secret");
        let phone = Identity::parse(IdentityKind::Phone, "13812341234").unwrap();
        let lookup = phone.lookup_key(&key);
        assert_eq!(lookup.as_str().len(), 64);
        assert!(!lookup.as_str().contains("1381234"));
        assert_eq!(
            Identity::parse(IdentityKind::Phone, "+86 138 1234 1234")
                .unwrap()
                .lookup_key(&key),
            lookup
        );
        assert_ne!(phone.lookup_key(&PiiKey::new(b"other")), lookup);
        let openid = Identity::parse(IdentityKind::WechatOpenid, "o123").unwrap();
        assert_eq!(openid.lookup_key(&key).as_str(), "o123");
    }

    #[test]
    fn hmac_matches_the_rfc_4231_vector() {
        let mac = PiiKey::new(b"Jefe").hmac(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn unknown_kinds_are_refused_with_the_list_of_kinds() {
        let err = IdentityKind::parse("qq").unwrap_err();
        assert!(err.message().contains("wechat_openid"));
    }
}
