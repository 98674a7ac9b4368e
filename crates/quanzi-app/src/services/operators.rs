use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::OperatorId;
use quanzi_domain::input::{DisplayName, Email, Password};
use quanzi_store::{MembershipRow, NewAuditEntry, NewOperator, Page};

use super::audit_details;
use crate::principal::Principal;
use crate::{App, Error, Result};

pub struct NewMember<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
    pub role: &'a str,
}

/// Creates an operator account with a role in the caller's workspace. Nobody grants a role
/// above their own (admins cannot make owners).
pub async fn add(app: &App, principal: &Principal, input: NewMember<'_>) -> Result<MembershipRow> {
    principal.require(Scope::Admin)?;
    let email = Email::parse(input.email)?;
    let name = DisplayName::parse(input.name)?;
    let password = Password::parse(input.password)?;
    let role = Role::parse(input.role)?;
    if !principal.role().may_assign(role) {
        return Err(Error::Forbidden(format!(
            "the {} role cannot create {role} operators",
            principal.role()
        )));
    }
    let hash = app.passwords.hash(&password).await?;
    let now = app.clock.now();
    let id = OperatorId::generate(now);
    let mut tx = app.store.begin().await?;
    tx.insert_operator(&NewOperator {
        id: id.clone(),
        email: email.to_string(),
        name: name.into_string(),
        password_hash: hash,
        created_at: now,
    })
    .await
    .map_err(Error::on_conflict(
        "operator_exists",
        format!("an operator with email {email} already exists"),
    ))?;
    tx.insert_membership(&principal.workspace_id, &id, role, now)
        .await?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "operator.create",
        target: id.to_string(),
        details: audit_details(&[("email", email.as_str()), ("role", role.as_str())]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    get(app, principal, id.as_str()).await
}

pub async fn get(app: &App, principal: &Principal, id: &str) -> Result<MembershipRow> {
    principal.require(Scope::Admin)?;
    let id = OperatorId::parse(id).map_err(|_| Error::NotFound { what: "operator" })?;
    app.store
        .membership(&principal.workspace_id, &id)
        .await
        .map_err(Error::not_found("operator"))
}

pub async fn list(
    app: &App,
    principal: &Principal,
    after: Option<&str>,
    limit: u32,
) -> Result<Page<MembershipRow>> {
    principal.require(Scope::Admin)?;
    Ok(app
        .store
        .memberships(&principal.workspace_id, after, limit)
        .await?)
}
