//! Operator login sessions for the console: email + password → a session bound to one
//! workspace, carried in an HttpOnly cookie, with a CSRF token for state-changing requests.

use std::time::Duration;

use quanzi_domain::auth::{Role, Secret, SessionToken, ThrottleVerdict};
use quanzi_domain::ids::{random_base32, SessionId, WorkspaceId};
use quanzi_domain::input::Email;
use quanzi_store::{NewAuditEntry, NewSession, OperatorRow, SessionRow, StoreError};
use subtle::ConstantTimeEq;

use super::audit_details;
use crate::principal::{Actor, Principal};
use crate::{App, Error, Result};

pub struct LoggedIn {
    pub token: String,
    pub session: SessionRow,
    pub operator: OperatorRow,
    pub role: Role,
    /// Every workspace the operator may switch to.
    pub workspaces: Vec<(WorkspaceId, Role)>,
}

const REFUSED: Error = Error::Unauthenticated("the email or password is wrong");

/// Checks the throttle, then the password; records the attempt either way.
pub async fn login(
    app: &App,
    email: &str,
    password: &str,
    address: &str,
    workspace: Option<&str>,
) -> Result<LoggedIn> {
    let email = Email::parse(email)?;
    let throttle = app.login_throttle();
    let now = app.clock.now();
    let (by_email, by_address) = app
        .store
        .login_failures_since(email.as_str(), address, throttle.window_start(now))
        .await?;
    if let ThrottleVerdict::Locked { retry_after } = throttle.verdict(
        now,
        by_email.count,
        by_email.oldest,
        by_address.count,
        by_address.oldest,
    ) {
        return Err(Error::RateLimited { retry_after });
    }

    let operator = match app.store.operator_by_email(email.as_str()).await {
        Ok(row) => Some(row),
        Err(StoreError::NotFound) => None,
        Err(err) => return Err(err.into()),
    };
    let usable = operator.as_ref().filter(|o| o.disabled_at.is_none());
    let matched = app
        .passwords
        .verify(password, usable.map(|o| o.password_hash.as_str()))
        .await?;
    app.store
        .record_login_attempt(email.as_str(), address, matched, now)
        .await?;
    let operator = match (matched, operator) {
        (true, Some(operator)) => operator,
        _ => return Err(REFUSED),
    };

    let workspaces = app.store.operator_workspaces(&operator.id).await?;
    let (workspace_id, role) = match workspace {
        Some(raw) => {
            let wanted = WorkspaceId::parse(raw).map_err(|e| e.for_field("workspace_id"))?;
            workspaces
                .iter()
                .find(|(id, _)| *id == wanted)
                .cloned()
                .ok_or_else(|| Error::Forbidden("you are not a member of that workspace".into()))?
        }
        None => workspaces
            .first()
            .cloned()
            .ok_or_else(|| Error::Forbidden("this account belongs to no workspace".into()))?,
    };

    open(
        app,
        operator,
        workspace_id,
        role,
        workspaces,
        "operator.login",
        audit_details(&[("address", address)]),
    )
    .await
}

/// A new session for `operator` in `workspace_id`, audited there as `action`.
async fn open(
    app: &App,
    operator: OperatorRow,
    workspace_id: WorkspaceId,
    role: Role,
    workspaces: Vec<(WorkspaceId, Role)>,
    action: &'static str,
    details: String,
) -> Result<LoggedIn> {
    let now = app.clock.now();
    let token = SessionToken::new(SessionId::generate(now), Secret::generate());
    let session = NewSession {
        id: token.id().clone(),
        operator_id: operator.id.clone(),
        workspace_id: workspace_id.clone(),
        secret_hash: token.secret().hash(),
        csrf_token: random_base32(32),
        created_at: now,
        expires_at: now.plus(Duration::from_secs(
            app.config.auth.session_ttl_hours * 3600,
        )),
    };
    let mut tx = app.store.begin().await?;
    tx.insert_session(&session).await?;
    tx.audit(&NewAuditEntry {
        workspace_id: workspace_id.clone(),
        actor: operator.id.to_string(),
        action,
        target: operator.id.to_string(),
        details,
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(LoggedIn {
        token: token.reveal(),
        session: SessionRow {
            id: session.id,
            operator_id: session.operator_id,
            workspace_id: session.workspace_id,
            secret_hash: session.secret_hash,
            csrf_token: session.csrf_token,
            created_at: session.created_at,
            expires_at: session.expires_at,
            revoked_at: None,
        },
        operator,
        role,
        workspaces,
    })
}

/// Moves a console session to another workspace of the same operator: a new session
/// there (with a fresh lifetime and CSRF token, as after a login) and the old one ended,
/// so one cookie never holds two workspaces. Without a membership there it is refused.
pub async fn switch_workspace(app: &App, principal: &Principal, to: &str) -> Result<LoggedIn> {
    let Actor::Operator { id, session, .. } = &principal.actor else {
        return Err(Error::Forbidden(
            "only a console session can switch workspaces".into(),
        ));
    };
    let wanted = WorkspaceId::parse(to).map_err(|e| e.for_field("workspace_id"))?;
    let workspaces = app.store.operator_workspaces(id).await?;
    let role = workspaces
        .iter()
        .find(|(workspace, _)| *workspace == wanted)
        .map(|(_, role)| *role)
        .ok_or_else(|| Error::Forbidden("you are not a member of that workspace".into()))?;
    let membership = app.store.membership(&wanted, id).await?;
    if membership.operator.disabled_at.is_some() {
        return Err(SESSION_REFUSED);
    }
    let details = audit_details(&[("from", principal.workspace_id.as_str())]);
    let switched = open(
        app,
        membership.operator,
        wanted,
        role,
        workspaces,
        "operator.switch_workspace",
        details,
    )
    .await?;
    app.store.revoke_session(session, app.clock.now()).await?;
    Ok(switched)
}

/// Every workspace the operator of a session belongs to, with its name.
pub async fn workspaces_of(app: &App, principal: &Principal) -> Result<Vec<(WorkspaceId, String)>> {
    let Actor::Operator { id, .. } = &principal.actor else {
        return Ok(Vec::new());
    };
    Ok(app.store.operator_workspace_names(id).await?)
}

/// A session cookie resolved to its caller, with the CSRF token its requests must carry.
pub struct SessionPrincipal {
    pub principal: Principal,
    pub csrf_token: String,
}

const SESSION_REFUSED: Error =
    Error::Unauthenticated("the session has expired or was ended; log in again");

pub async fn authenticate(app: &App, presented: &str) -> Result<SessionPrincipal> {
    let token = SessionToken::parse(presented).ok_or(SESSION_REFUSED)?;
    let session = match app.store.session(token.id()).await {
        Ok(row) => row,
        Err(StoreError::NotFound) => return Err(SESSION_REFUSED),
        Err(err) => return Err(err.into()),
    };
    let now = app.clock.now();
    if !session.secret_hash.matches(token.secret())
        || session.revoked_at.is_some()
        || session.expires_at <= now
    {
        return Err(SESSION_REFUSED);
    }
    // The role is read on every request, so a demotion takes effect at once.
    let membership = app
        .store
        .membership(&session.workspace_id, &session.operator_id)
        .await
        .map_err(|_| SESSION_REFUSED)?;
    if membership.operator.disabled_at.is_some() {
        return Err(SESSION_REFUSED);
    }
    Ok(SessionPrincipal {
        principal: Principal {
            workspace_id: session.workspace_id,
            actor: Actor::Operator {
                id: session.operator_id,
                role: membership.role,
                session: session.id,
            },
        },
        csrf_token: session.csrf_token,
    })
}

/// Whether a presented CSRF token matches the session's, in constant time.
pub fn csrf_matches(expected: &str, presented: &str) -> bool {
    expected.as_bytes().ct_eq(presented.as_bytes()).into()
}

pub async fn logout(app: &App, principal: &Principal) -> Result<()> {
    if let Actor::Operator { session, .. } = &principal.actor {
        app.store.revoke_session(session, app.clock.now()).await?;
    }
    Ok(())
}
