use std::fmt;

use super::Scope;
use crate::input::InvalidInput;

/// An operator's role inside one workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Created the workspace; manages everything including other owners.
    Owner,
    /// Manages operators (except owners), keys and every feature.
    Admin,
    /// Runs campaigns: coupons, communities, content; no operator or key management.
    Operator,
    /// Reads reports and exports; changes nothing.
    Analyst,
    /// A KOL or distribution partner: sees only their own links and commissions.
    Partner,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Operator,
        Role::Analyst,
        Role::Partner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Analyst => "analyst",
            Role::Partner => "partner",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == raw)
            .ok_or_else(|| {
                InvalidInput::new(
                    "role",
                    format!(
                        "`{raw}` is not a role: use owner, admin, operator, analyst or partner"
                    ),
                )
            })
    }

    /// What a logged-in operator of this role may do with the API, in API-key terms.
    pub fn grants(self, scope: Scope) -> bool {
        match self {
            Role::Owner | Role::Admin => true,
            Role::Operator => matches!(scope, Scope::Storefront | Scope::Ingest),
            Role::Analyst | Role::Partner => false,
        }
    }

    /// Whether an operator of this role may give `other` to someone: nobody hands out more
    /// power than they hold, and only owners make owners.
    pub fn may_assign(self, other: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => other != Role::Owner,
            _ => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
        assert_eq!(Role::parse("root").unwrap_err().field(), "role");
    }

    #[test]
    fn only_owners_and_admins_hold_the_admin_scope() {
        assert!(Role::Owner.grants(Scope::Admin));
        assert!(Role::Admin.grants(Scope::Admin));
        assert!(!Role::Operator.grants(Scope::Admin));
        assert!(Role::Operator.grants(Scope::Storefront));
        assert!(!Role::Analyst.grants(Scope::Ingest));
    }

    #[test]
    fn admins_cannot_make_owners() {
        assert!(Role::Owner.may_assign(Role::Owner));
        assert!(!Role::Admin.may_assign(Role::Owner));
        assert!(Role::Admin.may_assign(Role::Analyst));
        assert!(!Role::Operator.may_assign(Role::Partner));
    }
}
