//! Who is calling, resolved once per request, and the scope check every use case makes.

use quanzi_domain::auth::{Role, Scope, Scopes};
use quanzi_domain::ids::{ApiKeyId, OperatorId, SessionId, WorkspaceId};

use crate::{Error, Result};

#[derive(Debug, Clone)]
pub enum Actor {
    ApiKey {
        id: ApiKeyId,
        scopes: Scopes,
    },
    Operator {
        id: OperatorId,
        role: Role,
        session: SessionId,
    },
    /// The local command line: whoever can run `quanzi` on the host owns the data anyway.
    Cli,
}

/// A caller bound to exactly one workspace: every query it makes is scoped by it.
#[derive(Debug, Clone)]
pub struct Principal {
    pub workspace_id: WorkspaceId,
    pub actor: Actor,
}

impl Principal {
    pub fn allows(&self, scope: Scope) -> bool {
        match &self.actor {
            Actor::ApiKey { scopes, .. } => scopes.contains(scope),
            Actor::Operator { role, .. } => role.grants(scope),
            Actor::Cli => true,
        }
    }

    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.allows(scope) {
            Ok(())
        } else {
            Err(Error::Forbidden(match &self.actor {
                Actor::ApiKey { .. } => format!("this API key lacks the `{scope}` scope"),
                Actor::Operator { role, .. } => {
                    format!("the {role} role cannot do this (needs `{scope}`)")
                }
                Actor::Cli => unreachable!("the command line is allowed everything"),
            }))
        }
    }

    /// Passes if the caller holds any of `scopes`.
    pub fn require_any(&self, scopes: &[Scope]) -> Result<()> {
        match scopes.iter().find(|s| self.allows(**s)) {
            Some(_) => Ok(()),
            None => Err(Error::Forbidden(format!(
                "this needs one of the scopes {}",
                scopes
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Console work: operators whose role is at least `least` (owner > admin > operator >
    /// analyst > partner), or API keys holding `scope`.
    pub fn require_console(&self, least: Role, scope: Scope) -> Result<()> {
        let allowed = match &self.actor {
            Actor::Operator { role, .. } => *role <= least,
            Actor::ApiKey { scopes, .. } => scopes.contains(scope),
            Actor::Cli => true,
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::Forbidden(match &self.actor {
                Actor::Operator { role, .. } => {
                    format!("the {role} role cannot do this (needs {least} or above)")
                }
                _ => format!("this API key lacks the `{scope}` scope"),
            }))
        }
    }

    /// The role an operator acts with; API keys with the admin scope act as admins.
    pub fn role(&self) -> Role {
        match &self.actor {
            Actor::Operator { role, .. } => *role,
            Actor::Cli => Role::Owner,
            Actor::ApiKey { scopes, .. } if scopes.contains(Scope::Admin) => Role::Admin,
            Actor::ApiKey { .. } => Role::Partner,
        }
    }

    /// The id recorded in audit entries.
    pub fn actor_ref(&self) -> String {
        match &self.actor {
            Actor::ApiKey { id, .. } => id.to_string(),
            Actor::Operator { id, .. } => id.to_string(),
            Actor::Cli => "cli".to_owned(),
        }
    }

    /// The command line acting on `workspace`.
    pub fn cli(workspace: WorkspaceId) -> Self {
        Self {
            workspace_id: workspace,
            actor: Actor::Cli,
        }
    }

    pub fn operator_id(&self) -> Option<&OperatorId> {
        match &self.actor {
            Actor::Operator { id, .. } => Some(id),
            Actor::ApiKey { .. } | Actor::Cli => None,
        }
    }
}
