use std::fmt;

use crate::input::InvalidInput;

/// What an API key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Send events, orders and refunds (server-to-server ingestion).
    Ingest,
    /// Act for a shopper: identify, claim coupons, join group buys, check in.
    Storefront,
    /// Manage the workspace: operators, keys, campaigns, jobs.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Ingest, Scope::Storefront, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Storefront => "storefront",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == raw)
            .ok_or_else(|| {
                InvalidInput::new(
                    "scopes",
                    format!("`{raw}` is not a scope: use ingest, storefront or admin"),
                )
            })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-empty set of scopes, kept sorted and without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Result<Self, InvalidInput> {
        let mut scopes: Vec<Scope> = scopes.into_iter().collect();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(InvalidInput::new(
                "scopes",
                "must name at least one of ingest, storefront, admin",
            ));
        }
        Ok(Self(scopes))
    }

    pub fn parse_list<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Self, InvalidInput> {
        Self::new(
            raw.into_iter()
                .map(|s| Scope::parse(s.trim()))
                .collect::<Result<Vec<_>, _>>()?,
        )
    }

    /// Parses the stored form `ingest,storefront`.
    pub fn parse_stored(raw: &str) -> Result<Self, InvalidInput> {
        Self::parse_list(raw.split(',').filter(|s| !s.is_empty()))
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_sorted_deduplicated_and_round_trip() {
        let scopes = Scopes::parse_list(["admin", "ingest", "admin"]).unwrap();
        assert_eq!(scopes.to_stored(), "ingest,admin");
        assert_eq!(Scopes::parse_stored(&scopes.to_stored()).unwrap(), scopes);
        assert!(scopes.contains(Scope::Admin));
        assert!(!scopes.contains(Scope::Storefront));
    }

    #[test]
    fn empty_or_unknown_scopes_are_refused_with_the_field_name() {
        assert_eq!(Scopes::parse_list([]).unwrap_err().field(), "scopes");
        let err = Scopes::parse_list(["ingest", "root"]).unwrap_err();
        assert!(err.message().contains("root"));
    }
}
