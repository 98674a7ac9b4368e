//! Coupon templates and handing coupons out: members claim them, operators grant them,
//! registration and journeys issue them. Each claim counts against the member's claim
//! limit and the template's quantity in one transaction, both by conditional updates, so
//! no number of concurrent requests gets past either; a template whose budget cannot pay
//! for one more coupon stops issuing by itself.

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::{new_id_body, WorkspaceId};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::promotions::coupons::{Channel, CouponRefusal, CouponRules};
use quanzi_domain::time::Timestamp;
use quanzi_store::{CouponRow, CouponTemplateRow, NewAuditEntry, Tx};

use super::coupon_doc::CouponDoc;
use crate::principal::Principal;
use crate::services::{audit_details, members};
use crate::{App, Error, Result};

const ATTEMPTS: usize = 8;

/// A template with its rules read back.
pub struct Template {
    pub row: CouponTemplateRow,
    pub rules: CouponRules,
}

pub(crate) fn refused(refusal: CouponRefusal) -> Error {
    Error::Conflict {
        code: refusal.code(),
        message: refusal.message().to_owned(),
    }
}

pub(crate) fn read(row: CouponTemplateRow) -> Result<Template> {
    let rules = CouponDoc::parse(&row.definition)
        .map_err(|err| Error::Internal(err.context(format!("coupon template {}", row.id))))?;
    Ok(Template { row, rules })
}

pub async fn create_template(
    app: &App,
    principal: &Principal,
    name: &str,
    rules: CouponRules,
) -> Result<Template> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let name = crate::services::checked_name(name)?;
    rules.check()?;
    let now = app.clock.now();
    let row = CouponTemplateRow {
        id: format!("cpt_{}", new_id_body(now)),
        name: name.to_owned(),
        definition: serde_json::to_string(&CouponDoc::from(&rules))
            .map_err(|err| Error::Internal(err.into()))?,
        status: "active".into(),
        claim_starts_at: rules.claim_starts_at,
        claim_ends_at: rules.claim_ends_at,
        total_quantity: rules.total_quantity,
        issued: 0,
        per_member_claim_limit: rules.per_member_claim_limit,
        per_member_use_limit: rules.per_member_use_limit,
        budget_fen: rules.budget_fen,
        booked_fen: 0,
        max_discount_fen: rules.kind.max_discount_fen(),
        created_at: now,
        updated_at: now,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_coupon_template(&principal.workspace_id, &row)
        .await?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "coupon_template.create",
        target: row.id.clone(),
        details: audit_details(&[("name", &row.name), ("kind", rules.kind.as_str())]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(Template { row, rules })
}

pub async fn templates(app: &App, principal: &Principal) -> Result<Vec<Template>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    app.store
        .coupon_templates(&principal.workspace_id)
        .await?
        .into_iter()
        .map(read)
        .collect()
}

pub async fn template(app: &App, principal: &Principal, id: &str) -> Result<Template> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    read(
        app.store
            .coupon_template(&principal.workspace_id, id)
            .await
            .map_err(Error::not_found("coupon_template"))?,
    )
}

/// Pauses (`active = false`) or resumes a template. Paused templates issue nothing;
/// coupons already claimed stay usable.
pub async fn set_active(
    app: &App,
    principal: &Principal,
    id: &str,
    active: bool,
) -> Result<Template> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let now = app.clock.now();
    let status = if active { "active" } else { "paused" };
    let mut tx = app.store.begin().await?;
    if !tx
        .set_coupon_template_status(&principal.workspace_id, id, status, now)
        .await?
    {
        return Err(Error::NotFound {
            what: "coupon_template",
        });
    }
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "coupon_template.status",
        target: id.to_owned(),
        details: audit_details(&[("status", status)]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    template(app, principal, id).await
}

/// A member claims a coupon (`Channel::Claim`), or it is issued to them another way.
pub async fn claim(
    app: &App,
    principal: &Principal,
    template_id: &str,
    member_id: &str,
    channel: Channel,
) -> Result<CouponRow> {
    match channel {
        Channel::Claim => principal.require_any(&[Scope::Storefront, Scope::Admin])?,
        _ => principal.require_console(Role::Operator, Scope::Admin)?,
    }
    let ws = &principal.workspace_id;
    let template = template(app, principal, template_id).await?;
    let member = members::unerased(app, principal, member_id).await?;
    let rules = &template.rules;
    if !rules.channels.contains(&channel) {
        return Err(refused(CouponRefusal::ChannelNotAllowed));
    }
    check_audience(app, principal, rules, &member.id).await?;
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        rules.claim_open(now).map_err(refused)?;
        let mut tx = app.store.begin().await?;
        match issue_in(&mut tx, ws, &template, &member.id, channel, None, now).await {
            Ok(Ok(coupon)) => {
                retry_on_race!(tx.commit().await);
                return Ok(coupon);
            }
            Ok(Err(CouponRefusal::SoldOut)) => {
                drop(tx);
                // Say which gate closed, from the template as it is now.
                let now_row = app.store.coupon_template(ws, template_id).await?;
                return Err(refused(why_not_issued(&now_row)));
            }
            Ok(Err(refusal)) => return Err(refused(refusal)),
            Err(err) if err.is_transient() => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a claim kept losing races"
    )))
}

/// Counts and stores one coupon in `tx`, or says why not (`SoldOut` standing for any
/// closed template gate). A refusal undoes what it counted, so `tx` may go on (a gift
/// coupon refused inside an order's transaction leaves the order alone).
pub(crate) async fn issue_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    template: &Template,
    member: &str,
    channel: Channel,
    granted_by_order: Option<&str>,
    now: Timestamp,
) -> std::result::Result<std::result::Result<CouponRow, CouponRefusal>, quanzi_store::StoreError> {
    let ws_row = &template.row;
    if !tx
        .count_coupon_claim(ws, &ws_row.id, member, ws_row.per_member_claim_limit)
        .await?
    {
        return Ok(Err(CouponRefusal::ClaimLimitReached));
    }
    if !tx.issue_coupon(ws, &ws_row.id, now).await? {
        if ws_row.per_member_claim_limit.is_some() {
            tx.uncount_coupon_claim(ws, &ws_row.id, member).await?;
        }
        return Ok(Err(CouponRefusal::SoldOut));
    }
    let (valid_from, valid_until) = template.rules.use_window.for_claim(now);
    let coupon = CouponRow {
        id: format!("cpn_{}", new_id_body(now)),
        template_id: ws_row.id.clone(),
        member_id: member.to_owned(),
        status: "available".into(),
        source: channel.as_str().into(),
        claimed_at: now,
        valid_from,
        valid_until,
        order_id: None,
        locked_until: None,
        discount_fen: 0,
        used_at: None,
        returned_at: None,
        ended_at: None,
        granted_by_order: granted_by_order.map(str::to_owned),
    };
    tx.insert_coupon(ws, &coupon).await?;
    Ok(Ok(coupon))
}

/// Gives a member who just registered every active template handed out on registration
/// (`channels` includes `registration`, no audience: a new member is in no segment or
/// tier yet), in the registration's transaction. Templates that cannot give one now
/// (closed claim window, sold out, budget spent) are skipped.
pub(crate) async fn grant_on_registration(
    tx: &mut Tx,
    ws: &WorkspaceId,
    member: &str,
    now: Timestamp,
) -> std::result::Result<Vec<CouponRow>, quanzi_store::StoreError> {
    let mut granted = Vec::new();
    for row in tx.active_coupon_templates_in(ws).await? {
        let Ok(template) = read(row) else {
            continue;
        };
        let rules = &template.rules;
        if !rules.channels.contains(&Channel::Registration)
            || rules.audience != Default::default()
            || rules.claim_open(now).is_err()
        {
            continue;
        }
        if let Ok(coupon) =
            issue_in(tx, ws, &template, member, Channel::Registration, None, now).await?
        {
            granted.push(coupon);
        }
    }
    Ok(granted)
}

fn why_not_issued(row: &CouponTemplateRow) -> CouponRefusal {
    if row.status != "active" {
        CouponRefusal::Paused
    } else if row.budget_exhausted() {
        CouponRefusal::BudgetExhausted
    } else {
        CouponRefusal::SoldOut
    }
}

async fn check_audience(
    app: &App,
    principal: &Principal,
    rules: &CouponRules,
    member: &str,
) -> Result<()> {
    let ws = &principal.workspace_id;
    if !rules.audience.tiers.is_empty() {
        let tier = app.store.member_tier(ws, member).await?;
        if !tier.is_some_and(|t| rules.audience.tiers.contains(&t.tier)) {
            return Err(refused(CouponRefusal::NotInAudience));
        }
    }
    if let Some(segment) = &rules.audience.segment_id {
        let segments = app.store.member_segments(ws, member).await?;
        if !segments.iter().any(|s| &s.id == segment) {
            return Err(refused(CouponRefusal::NotInAudience));
        }
    }
    Ok(())
}

pub async fn member_coupons(
    app: &App,
    principal: &Principal,
    member_id: &str,
    status: Option<&str>,
) -> Result<Vec<CouponRow>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    if let Some(status) = status {
        if !["available", "locked", "used", "expired", "revoked"].contains(&status) {
            return Err(InvalidInput::new(
                "status",
                "must be available, locked, used, expired or revoked",
            )
            .into());
        }
    }
    let member = members::find(app, principal, member_id).await?;
    Ok(app
        .store
        .coupons_of(&principal.workspace_id, &member.id, status)
        .await?)
}

pub async fn coupon(app: &App, principal: &Principal, id: &str) -> Result<CouponRow> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    app.store
        .coupon(&principal.workspace_id, id)
        .await
        .map_err(Error::not_found("coupon"))
}

/// Revokes an available coupon (an operator's decision, audited).
pub async fn revoke(app: &App, principal: &Principal, id: &str) -> Result<CouponRow> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    if !tx.revoke_coupon(&principal.workspace_id, id, now).await? {
        drop(tx);
        let coupon = coupon(app, principal, id).await?;
        return Err(Error::Conflict {
            code: "coupon_not_available",
            message: format!(
                "only an available coupon can be revoked; this one is {}",
                coupon.status
            ),
        });
    }
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "coupon.revoke",
        target: id.to_owned(),
        details: "{}".into(),
        at: now,
    })
    .await?;
    tx.commit().await?;
    coupon(app, principal, id).await
}
