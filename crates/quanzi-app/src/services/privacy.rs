//! PIPL rights: marketing consent per channel, and a member's export and erasure on request.

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::members::{check_source, ConsentChannel};
use quanzi_store::{ConsentRow, NewAuditEntry};

use super::audit_details;
use crate::principal::Principal;
use crate::{App, Result};

/// Records a member's yes or no for marketing on a channel (from the storefront, a form, a
/// support call). The latest decision per channel stands; every change is kept in the outbox.
pub async fn set_consent(
    app: &App,
    principal: &Principal,
    member: &str,
    channel: &str,
    granted: bool,
    source: &str,
) -> Result<Vec<ConsentRow>> {
    principal.require_any(&[Scope::Storefront, Scope::Ingest, Scope::Admin])?;
    let channel = ConsentChannel::parse(channel)?;
    let source = check_source(source)?;
    let ws = &principal.workspace_id;
    let member = super::members::unerased(app, principal, member).await?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    tx.set_consent(
        ws,
        &member.id,
        &ConsentRow {
            channel,
            granted,
            source,
            at: now,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(app.store.member_consents(ws, &member.id).await?)
}

pub async fn consents(app: &App, principal: &Principal, member: &str) -> Result<Vec<ConsentRow>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let member = super::members::find(app, principal, member).await?;
    Ok(app
        .store
        .member_consents(&principal.workspace_id, &member.id)
        .await?)
}

/// Whether marketing may be sent to the member on `channel`: only after a recorded yes.
pub fn may_market(consents: &[ConsentRow], channel: ConsentChannel) -> bool {
    consents.iter().any(|c| c.channel == channel && c.granted)
}

/// Everything quanzi holds about a member, for a data-access request.
pub struct MemberExport {
    pub member: quanzi_store::MemberRow,
    pub identities: Vec<quanzi_store::IdentityRow>,
    pub consents: Vec<ConsentRow>,
    pub events: Vec<quanzi_store::EventRow>,
    pub orders: Vec<quanzi_store::OrderRow>,
    pub merges: Vec<quanzi_store::MergeRow>,
    pub segments: Vec<quanzi_store::SegmentRow>,
}

/// Exports the member (admins; audited). Phones and emails appear masked: quanzi keeps only
/// their keyed hashes, never the numbers.
pub async fn export(app: &App, principal: &Principal, member: &str) -> Result<MemberExport> {
    principal.require_console(Role::Admin, Scope::Admin)?;
    let ws = &principal.workspace_id;
    let member = super::members::find(app, principal, member).await?;
    let export = MemberExport {
        identities: app.store.member_identities(ws, &member.id).await?,
        consents: app.store.member_consents(ws, &member.id).await?,
        events: app.store.member_events(ws, &member.id, None, 500).await?,
        orders: app.store.member_orders(ws, &member.id, 500).await?,
        merges: app.store.member_merges(ws, &member.id).await?,
        segments: app.store.member_segments(ws, &member.id).await?,
        member,
    };
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    tx.audit(&NewAuditEntry {
        workspace_id: ws.clone(),
        actor: principal.actor_ref(),
        action: "member.export",
        target: export.member.id.clone(),
        details: audit_details(&[]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(export)
}

/// Erases the member's personal information (admins; audited). Orders and counts stay,
/// attached to an id that no longer leads to a person.
pub async fn erase(
    app: &App,
    principal: &Principal,
    member: &str,
) -> Result<quanzi_store::MemberRow> {
    principal.require_console(Role::Admin, Scope::Admin)?;
    let ws = &principal.workspace_id;
    let member = super::members::find(app, principal, member).await?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    tx.lock_live_members(ws, std::slice::from_ref(&member.id), true)
        .await?;
    tx.erase_member(ws, &member.id, now).await?;
    tx.audit(&NewAuditEntry {
        workspace_id: ws.clone(),
        actor: principal.actor_ref(),
        action: "member.erase",
        target: member.id.clone(),
        details: audit_details(&[]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(app.store.member(ws, &member.id).await?)
}
