use quanzi_domain::auth::{ApiKeyToken, Role, Scope, Scopes, Secret};
use quanzi_domain::ids::{random_base32, ApiKeyId, OperatorId, WorkspaceId};
use quanzi_domain::input::{DisplayName, Email, Password, WorkspaceName};
use quanzi_store::{NewApiKey, NewAuditEntry, NewOperator, StoreError, WorkspaceRow};

use super::audit_details;
use crate::principal::Principal;
use crate::{App, Error, Result};

/// The default time zone for calendar rules (check-in days, month ends): the seeds' brands
/// operate in China.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

pub struct NewWorkspace<'a> {
    pub name: &'a str,
    pub owner_email: &'a str,
    pub owner_name: Option<&'a str>,
    /// `None` generates one and returns it once.
    pub owner_password: Option<&'a str>,
}

pub struct CreatedWorkspace {
    pub workspace: WorkspaceRow,
    pub owner_id: OperatorId,
    pub owner_email: String,
    /// Set when the owner account was created here with a generated password.
    pub generated_password: Option<String>,
    /// The owner already had an account (in another workspace) and was added as owner.
    pub owner_existed: bool,
    pub admin_key_id: ApiKeyId,
    /// The admin API key, shown once.
    pub admin_key: String,
}

/// Creates a workspace, its owner (or makes an existing operator its owner) and an admin
/// API key, all in one transaction.
pub async fn create(app: &App, input: NewWorkspace<'_>) -> Result<CreatedWorkspace> {
    let name = WorkspaceName::parse(input.name)?;
    let email = Email::parse(input.owner_email)?;
    let owner_name = match input.owner_name {
        Some(raw) => DisplayName::parse(raw)?,
        None => DisplayName::parse(email.as_str().split('@').next().unwrap_or("owner"))?,
    };
    let now = app.clock.now();
    let existing = match app.store.operator_by_email(email.as_str()).await {
        Ok(row) => Some(row),
        Err(StoreError::NotFound) => None,
        Err(err) => return Err(err.into()),
    };
    let (password_hash, generated_password) = match (&existing, input.owner_password) {
        (Some(_), _) => (None, None),
        (None, Some(raw)) => (
            Some(app.passwords.hash(&Password::parse(raw)?).await?),
            None,
        ),
        (None, None) => {
            let generated = random_base32(20);
            let hash = app.passwords.hash(&Password::parse(&generated)?).await?;
            (Some(hash), Some(generated))
        }
    };

    let workspace = WorkspaceRow {
        id: WorkspaceId::generate(now),
        name: name.into_string(),
        time_zone: DEFAULT_TIME_ZONE.to_owned(),
        created_at: now,
    };
    let owner_id = existing
        .as_ref()
        .map(|o| o.id.clone())
        .unwrap_or_else(|| OperatorId::generate(now));
    let token = ApiKeyToken::new(ApiKeyId::generate(now), Secret::generate());
    let key = NewApiKey {
        id: token.id().clone(),
        workspace_id: workspace.id.clone(),
        name: "admin (created with the workspace)".to_owned(),
        scopes: Scopes::new(Scope::ALL)?,
        secret_hash: token.secret().hash(),
        created_by: Some(owner_id.clone()),
        created_at: now,
    };

    let mut tx = app.store.begin().await?;
    tx.insert_workspace(&workspace).await?;
    if let Some(hash) = password_hash {
        tx.insert_operator(&NewOperator {
            id: owner_id.clone(),
            email: email.to_string(),
            name: owner_name.into_string(),
            password_hash: hash,
            created_at: now,
        })
        .await
        .map_err(Error::on_conflict(
            "operator_exists",
            format!("an operator with email {email} was created at the same time; try again"),
        ))?;
    }
    tx.insert_membership(&workspace.id, &owner_id, Role::Owner, now)
        .await?;
    tx.insert_api_key(&key).await?;
    let actor = Principal::cli(workspace.id.clone()).actor_ref();
    tx.audit(&NewAuditEntry {
        workspace_id: workspace.id.clone(),
        actor,
        action: "workspace.create",
        target: workspace.id.to_string(),
        details: audit_details(&[("name", &workspace.name), ("owner", owner_id.as_str())]),
        at: now,
    })
    .await?;
    tx.commit().await?;

    Ok(CreatedWorkspace {
        workspace,
        owner_id,
        owner_email: email.to_string(),
        generated_password,
        owner_existed: existing.is_some(),
        admin_key_id: token.id().clone(),
        admin_key: token.reveal(),
    })
}

pub async fn get(app: &App, principal: &Principal) -> Result<WorkspaceRow> {
    app.store
        .workspace(&principal.workspace_id)
        .await
        .map_err(Error::not_found("workspace"))
}

/// Sets the zone calendar rules use (check-in days, month ends, expiry at month end).
/// Only zones without daylight saving time are accepted (see `calendar::TimeZone`).
pub async fn set_time_zone(app: &App, principal: &Principal, raw: &str) -> Result<WorkspaceRow> {
    principal.require_console(
        quanzi_domain::auth::Role::Admin,
        quanzi_domain::auth::Scope::Admin,
    )?;
    let zone = quanzi_domain::calendar::TimeZone::parse(raw)?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    tx.set_workspace_time_zone(&principal.workspace_id, zone.name())
        .await
        .map_err(Error::not_found("workspace"))?;
    tx.audit(&quanzi_store::NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "workspace.time_zone",
        target: principal.workspace_id.to_string(),
        details: super::audit_details(&[("time_zone", zone.name())]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    get(app, principal).await
}

/// The workspace's zone for calendar rules.
pub async fn time_zone(
    app: &App,
    workspace: &quanzi_domain::ids::WorkspaceId,
) -> Result<quanzi_domain::calendar::TimeZone> {
    let row = app
        .store
        .workspace(workspace)
        .await
        .map_err(Error::not_found("workspace"))?;
    // Zones were checked when set; an older unknown one falls back to the default.
    Ok(quanzi_domain::calendar::TimeZone::parse(&row.time_zone).unwrap_or_default())
}

pub async fn list_all(app: &App) -> Result<Vec<WorkspaceRow>> {
    Ok(app.store.workspaces().await?)
}

/// Who did what in the caller's workspace, newest first. Admins only: it names people.
pub async fn audit_log(
    app: &App,
    principal: &Principal,
    before: Option<&str>,
    limit: u32,
) -> Result<quanzi_store::Page<quanzi_store::AuditEntry>> {
    principal.require(quanzi_domain::auth::Scope::Admin)?;
    Ok(app
        .store
        .audit_log(&principal.workspace_id, before, limit)
        .await?)
}
