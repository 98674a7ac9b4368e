//! Use cases, one module per area. Each function checks what the caller may do, validates
//! input into domain types, and makes its change in one transaction with an audit entry.

/// Inside a retry loop: the value of a storage result, `continue` (go round again) when
/// it lost a race to a concurrent writer, or return its error.
macro_rules! retry_on_race {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(err) if err.is_transient() => continue,
            Err(err) => return Err(err.into()),
        }
    };
}

pub mod analytics;
pub mod api_keys;
pub mod events;
pub(crate) mod group_commit;
pub(crate) mod identity_cache;
pub(crate) mod ingest_queue;
pub mod jobs;
pub mod loyalty;
pub mod members;
pub mod operators;
pub mod orders;
pub mod privacy;
pub mod promotions;
pub mod segments;
pub mod sessions;
pub mod social;
pub mod tags;
pub mod workspaces;

/// A display name (of a coupon template, a campaign, an item…): trimmed, 1 to 100
/// characters.
pub(crate) fn checked_name(raw: &str) -> Result<String, quanzi_domain::input::InvalidInput> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(quanzi_domain::input::InvalidInput::new(
            "name",
            "must be 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

/// Audit details as a JSON object of string fields (no serde_json in this crate: the
/// values are ids and names we escape ourselves).
pub(crate) fn audit_details(fields: &[(&str, &str)]) -> String {
    let body = fields
        .iter()
        .map(|(k, v)| format!("\"{}\":\"{}\"", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join(",");
    format!("{{{body}}}")
}

fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn audit_details_escape_quotes_and_controls() {
        assert_eq!(
            super::audit_details(&[("name", "a\"b\n")]),
            "{\"name\":\"a\\\"b\\u000a\"}"
        );
    }
}
