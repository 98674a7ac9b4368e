use quanzi_domain::auth::{ApiKeyToken, Scope, Scopes, Secret};
use quanzi_domain::ids::ApiKeyId;
use quanzi_domain::input::KeyName;
use quanzi_store::{ApiKeyRow, NewApiKey, NewAuditEntry, Page};

use super::audit_details;
use crate::principal::{Actor, Principal};
use crate::{App, Error, Result};

pub struct CreatedKey {
    pub key: ApiKeyRow,
    /// The full token, shown once and never stored.
    pub token: String,
}

pub async fn create(
    app: &App,
    principal: &Principal,
    name: &str,
    scopes: &[String],
) -> Result<CreatedKey> {
    principal.require(Scope::Admin)?;
    let name = KeyName::parse(name)?;
    let scopes = Scopes::parse_list(scopes.iter().map(String::as_str))?;
    let now = app.clock.now();
    let token = ApiKeyToken::new(ApiKeyId::generate(now), Secret::generate());
    let new = NewApiKey {
        id: token.id().clone(),
        workspace_id: principal.workspace_id.clone(),
        name: name.into_string(),
        scopes,
        secret_hash: token.secret().hash(),
        created_by: principal.operator_id().cloned(),
        created_at: now,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_api_key(&new).await?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "api_key.create",
        target: new.id.to_string(),
        details: audit_details(&[("name", &new.name), ("scopes", &new.scopes.to_stored())]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(CreatedKey {
        key: ApiKeyRow {
            id: new.id,
            workspace_id: new.workspace_id,
            name: new.name,
            scopes: new.scopes,
            secret_hash: new.secret_hash,
            created_by: new.created_by,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        },
        token: token.reveal(),
    })
}

pub async fn revoke(app: &App, principal: &Principal, id: &str) -> Result<ApiKeyRow> {
    principal.require(Scope::Admin)?;
    let id = ApiKeyId::parse(id).map_err(|_| Error::NotFound { what: "api_key" })?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let row = tx
        .revoke_api_key(&principal.workspace_id, &id, now)
        .await
        .map_err(Error::not_found("api_key"))?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "api_key.revoke",
        target: id.to_string(),
        details: audit_details(&[("name", &row.name)]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn get(app: &App, principal: &Principal, id: &str) -> Result<ApiKeyRow> {
    principal.require(Scope::Admin)?;
    let id = ApiKeyId::parse(id).map_err(|_| Error::NotFound { what: "api_key" })?;
    app.store
        .api_key(&principal.workspace_id, &id)
        .await
        .map_err(Error::not_found("api_key"))
}

pub async fn list(
    app: &App,
    principal: &Principal,
    after: Option<&str>,
    limit: u32,
) -> Result<Page<ApiKeyRow>> {
    principal.require(Scope::Admin)?;
    Ok(app
        .store
        .api_keys(&principal.workspace_id, after, limit)
        .await?)
}

/// Resolves a presented bearer token to its workspace and scopes. Every failure reads the
/// same to the caller, so a probe learns nothing about which keys exist.
pub async fn authenticate(app: &App, presented: &str) -> Result<Principal> {
    const REFUSED: Error = Error::Unauthenticated("the API key is invalid or revoked");
    let token = ApiKeyToken::parse(presented).ok_or(REFUSED)?;
    let row = match app.store.api_key_for_auth(token.id()).await {
        Ok(row) => row,
        Err(quanzi_store::StoreError::NotFound) => return Err(REFUSED),
        Err(err) => return Err(err.into()),
    };
    if !row.secret_hash.matches(token.secret()) || row.revoked_at.is_some() {
        return Err(REFUSED);
    }
    let now = app.clock.now();
    if row
        .last_used_at
        .is_none_or(|at| now.since(at).as_secs() >= 60)
    {
        app.store.touch_api_key(&row.id, now).await?;
    }
    Ok(Principal {
        workspace_id: row.workspace_id,
        actor: Actor::ApiKey {
            id: row.id,
            scopes: row.scopes,
        },
    })
}
