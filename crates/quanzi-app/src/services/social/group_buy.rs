//! Group buying (拼团). A leader opens a group with a paid order for the campaign's SKU;
//! others join with theirs until every seat is taken (the group succeeds at once, and the
//! leader earns the campaign's leader points, pending through the return window like
//! order points). A group still open when its time runs out succeeds virtually if the
//! campaign allows it and enough seats are taken, and fails otherwise: the sweep ends it
//! once, writes a `group_buy.refund_required` fact per seat for webhooks, and records a
//! full refund of every seat's order through the order/refund use case (refund ids are
//! derived from group and member, so a retry refunds nothing twice).

use std::time::Duration;

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::{new_id_body, WorkspaceId};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::loyalty::ledger::{Operation, Request};
use quanzi_domain::social::group_buy::{outcome_at_expiry, Campaign, Outcome};
use quanzi_domain::time::Timestamp;
use quanzi_store::{
    GroupBuyCampaignRow, GroupBuyStats, GroupMemberRow, GroupRow, JoinRefusal, NewAuditEntry,
    StoreError, Tx,
};
use serde::{Deserialize, Serialize};

use crate::principal::Principal;
use crate::services::loyalty::ledger::apply_in;
use crate::services::loyalty::orders::schedule;
use crate::services::loyalty::settings;
use crate::services::{audit_details, members, orders, workspaces};
use crate::{App, Error, Result};

const ATTEMPTS: usize = 8;

/// A campaign with its rules read back.
pub struct CampaignView {
    pub row: GroupBuyCampaignRow,
    pub rules: Campaign,
}

/// A group and who is in it.
pub struct GroupView {
    pub group: GroupRow,
    pub members: Vec<GroupMemberRow>,
    pub virtual_completion_percent: Option<u32>,
}

/// The stored form of a campaign's rules.
#[derive(Debug, Serialize, Deserialize)]
struct CampaignDoc {
    group_price_fen: i64,
    original_price_fen: i64,
    duration_seconds: i64,
    per_member_limit: i64,
    leader_points: i64,
    virtual_completion_percent: Option<u32>,
}

fn read(row: GroupBuyCampaignRow) -> Result<CampaignView> {
    let doc: CampaignDoc = serde_json::from_str(&row.definition).map_err(|err| {
        Error::Internal(anyhow::anyhow!("campaign {} does not parse: {err}", row.id))
    })?;
    let rules = Campaign {
        sku: row.sku.clone(),
        group_price_fen: doc.group_price_fen,
        original_price_fen: doc.original_price_fen,
        group_size: row.group_size,
        duration_seconds: doc.duration_seconds,
        per_member_limit: doc.per_member_limit,
        leader_points: doc.leader_points,
        virtual_completion_percent: doc.virtual_completion_percent,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
    };
    Ok(CampaignView { row, rules })
}

fn refused(refusal: JoinRefusal) -> Error {
    match refusal {
        JoinRefusal::GroupFull => {
            Error::conflict("group_full", "every seat in this group is taken")
        }
        JoinRefusal::GroupClosed => Error::conflict("group_closed", "this group is no longer open"),
        JoinRefusal::AlreadyInGroup => {
            Error::conflict("already_in_group", "this member is already in this group")
        }
        JoinRefusal::LimitReached => Error::conflict(
            "group_limit_reached",
            "this member is in as many groups of this campaign as allowed",
        ),
        JoinRefusal::OrderUsed => Error::conflict(
            "order_already_used",
            "this order already bought a seat in a group",
        ),
    }
}

pub async fn create_campaign(
    app: &App,
    principal: &Principal,
    name: &str,
    rules: Campaign,
) -> Result<CampaignView> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let name = crate::services::checked_name(name)?;
    rules.check()?;
    let now = app.clock.now();
    let doc = CampaignDoc {
        group_price_fen: rules.group_price_fen,
        original_price_fen: rules.original_price_fen,
        duration_seconds: rules.duration_seconds,
        per_member_limit: rules.per_member_limit,
        leader_points: rules.leader_points,
        virtual_completion_percent: rules.virtual_completion_percent,
    };
    let row = GroupBuyCampaignRow {
        id: format!("gbc_{}", new_id_body(now)),
        name: name.to_owned(),
        definition: serde_json::to_string(&doc).map_err(|e| Error::Internal(e.into()))?,
        sku: rules.sku.clone(),
        group_size: rules.group_size,
        starts_at: rules.starts_at,
        ends_at: rules.ends_at,
        status: "active".into(),
        created_at: now,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_group_buy_campaign(&principal.workspace_id, &row)
        .await?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "group_buy.campaign.create",
        target: row.id.clone(),
        details: audit_details(&[("name", &row.name), ("sku", &row.sku)]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(CampaignView { row, rules })
}

pub async fn campaigns(app: &App, principal: &Principal) -> Result<Vec<CampaignView>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    app.store
        .group_buy_campaigns(&principal.workspace_id)
        .await?
        .into_iter()
        .map(read)
        .collect()
}

pub async fn campaign(app: &App, principal: &Principal, id: &str) -> Result<CampaignView> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    read(
        app.store
            .group_buy_campaign(&principal.workspace_id, id)
            .await
            .map_err(Error::not_found("group_buy_campaign"))?,
    )
}

/// Checks that `order_id` is a paid order of `member` that bought the campaign's SKU.
async fn seat_order(
    app: &App,
    ws: &WorkspaceId,
    rules: &Campaign,
    member: &str,
    order_id: &str,
) -> Result<()> {
    let Some((_, buyer, status, skus)) = app.store.order_for_seat(ws, order_id).await? else {
        return Err(InvalidInput::new(
            "order_id",
            format!("no order `{order_id}` is recorded: record the paid order first (POST /api/v1/orders)"),
        )
        .into());
    };
    if buyer != member {
        return Err(InvalidInput::new("order_id", "this order was paid by another member").into());
    }
    if status != "paid" {
        return Err(InvalidInput::new("order_id", format!("this order is {status}")).into());
    }
    if !skus.contains(&rules.sku) {
        return Err(InvalidInput::new(
            "order_id",
            format!("this order does not buy the campaign's SKU `{}`", rules.sku),
        )
        .into());
    }
    Ok(())
}

fn open_window(rules: &Campaign, now: Timestamp) -> Result<()> {
    if now < rules.starts_at {
        return Err(Error::conflict(
            "campaign_not_started",
            "this group buy has not started",
        ));
    }
    if now >= rules.ends_at {
        return Err(Error::conflict(
            "campaign_ended",
            "this group buy has ended",
        ));
    }
    Ok(())
}

/// A leader opens a group with a paid order.
pub async fn open(
    app: &App,
    principal: &Principal,
    campaign_id: &str,
    member_id: &str,
    order_id: &str,
) -> Result<GroupView> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let view = campaign(app, principal, campaign_id).await?;
    let member = members::unerased(app, principal, member_id).await?;
    seat_order(app, ws, &view.rules, &member.id, order_id).await?;
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        open_window(&view.rules, now)?;
        // A group never outlives its campaign.
        let expires_at = now
            .plus(Duration::from_secs(view.rules.duration_seconds as u64))
            .min(view.rules.ends_at);
        let group = GroupRow {
            id: format!("grp_{}", new_id_body(now)),
            campaign_id: view.row.id.clone(),
            leader_id: member.id.clone(),
            seats: view.rules.group_size,
            joined: 1,
            status: "open".into(),
            opened_at: now,
            expires_at,
            ended_at: None,
        };
        let leader = GroupMemberRow {
            group_id: group.id.clone(),
            member_id: member.id.clone(),
            order_id: order_id.to_owned(),
            leader: true,
            joined_at: now,
            refunded_at: None,
        };
        let mut tx = app.store.begin().await?;
        match tx
            .open_group(ws, &group, &leader, view.rules.per_member_limit)
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(refusal)) => return Err(refused(refusal)),
            Err(err) if err.is_transient() => continue,
            Err(err) => return Err(err.into()),
        }
        retry_on_race!(tx.commit().await);
        return Ok(GroupView {
            group,
            members: vec![leader],
            virtual_completion_percent: view.rules.virtual_completion_percent,
        });
    }
    Err(Error::Internal(anyhow::anyhow!(
        "opening a group kept losing races"
    )))
}

/// A member takes a seat with a paid order; the last seat completes the group.
pub async fn join(
    app: &App,
    principal: &Principal,
    group_id: &str,
    member_id: &str,
    order_id: &str,
) -> Result<GroupView> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let group = app
        .store
        .group(ws, group_id)
        .await
        .map_err(Error::not_found("group"))?;
    let view = campaign(app, principal, &group.campaign_id).await?;
    let member = members::unerased(app, principal, member_id).await?;
    seat_order(app, ws, &view.rules, &member.id, order_id).await?;
    let loyalty = settings::load(app, ws).await?;
    let tz = workspaces::time_zone(app, ws).await?;
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let joiner = GroupMemberRow {
            group_id: group.id.clone(),
            member_id: member.id.clone(),
            order_id: order_id.to_owned(),
            leader: false,
            joined_at: now,
            refunded_at: None,
        };
        let mut tx = app.store.begin().await?;
        let after = match tx
            .join_group(ws, &group.id, &joiner, view.rules.per_member_limit, now)
            .await
        {
            Ok(Ok(after)) => after,
            Ok(Err(refusal)) => return Err(refused(refusal)),
            Err(err) if err.is_transient() => continue,
            Err(err) => return Err(err.into()),
        };
        if after.status == Outcome::Succeeded.as_str() {
            retry_on_race!(completed(&mut tx, ws, &view, &after, &loyalty, &tz, now).await);
        }
        retry_on_race!(tx.commit().await);
        let members = app.store.group_members(ws, &group.id).await?;
        return Ok(GroupView {
            group: after,
            members,
            virtual_completion_percent: view.rules.virtual_completion_percent,
        });
    }
    Err(Error::Internal(anyhow::anyhow!(
        "joining a group kept losing races"
    )))
}

/// A group succeeded (full or virtually): the leader's points and the outbox fact, in
/// the transaction that ended it.
async fn completed(
    tx: &mut Tx,
    ws: &WorkspaceId,
    view: &CampaignView,
    group: &GroupRow,
    loyalty: &settings::LoyaltySettings,
    tz: &quanzi_domain::calendar::TimeZone,
    now: Timestamp,
) -> std::result::Result<(), StoreError> {
    let members = tx.group_members_in(ws, &group.id).await?;
    tx.emit(
        ws,
        "group_buy.succeeded",
        &group.id,
        &serde_json::json!({
            "group_id": group.id,
            "campaign_id": group.campaign_id,
            "status": group.status,
            "members": members.iter().map(|m| &m.member_id).collect::<Vec<_>>(),
        })
        .to_string(),
        now,
    )
    .await?;
    if view.rules.leader_points <= 0 {
        return Ok(());
    }
    let Some(leader) = members.iter().find(|m| m.leader) else {
        return Ok(());
    };
    let Some(order) = tx.order_by_external_id(ws, &leader.order_id).await? else {
        return Ok(());
    };
    // Pending through the return window and tied to the leader's order, so a refund of
    // it takes the points back.
    let rule = loyalty
        .orders
        .clone()
        .unwrap_or_else(settings::default_order_points);
    let (pending, lot_expires_at) = schedule(&rule, order.paid_at, now, tz);
    let request = Request {
        id: format!("group-leader:{}", group.id),
        linked: false,
        op: Operation::Earn {
            member: leader.member_id.clone(),
            source: format!("group_buy.{}", view.row.id),
            amount: view.rules.leader_points,
            lot_expires_at,
            pending,
            order_id: Some(order.id.clone()),
            reason: Some(format!("leader of group {}", group.id)),
        },
    };
    apply_in(tx, ws, &[request], now).await.map(|_| ())
}

pub async fn group(app: &App, principal: &Principal, id: &str) -> Result<GroupView> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let group = app
        .store
        .group(ws, id)
        .await
        .map_err(Error::not_found("group"))?;
    let view = campaign(app, principal, &group.campaign_id).await?;
    let members = app.store.group_members(ws, id).await?;
    Ok(GroupView {
        group,
        members,
        virtual_completion_percent: view.rules.virtual_completion_percent,
    })
}

pub async fn open_groups(
    app: &App,
    principal: &Principal,
    campaign_id: &str,
) -> Result<Vec<GroupRow>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    campaign(app, principal, campaign_id).await?;
    Ok(app
        .store
        .open_groups(&principal.workspace_id, campaign_id, app.clock.now())
        .await?)
}

/// Campaign figures with the shares tagged with it, for share-to-join conversion.
pub async fn stats(
    app: &App,
    principal: &Principal,
    campaign_id: &str,
) -> Result<(GroupBuyStats, i64)> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    campaign(app, principal, campaign_id).await?;
    let ws = &principal.workspace_id;
    Ok((
        app.store.group_buy_stats(ws, campaign_id).await?,
        app.store.campaign_shares(ws, campaign_id).await?,
    ))
}

/// Ends groups whose time is up, then records the refunds failed groups owe (the minute
/// sweep). Returns (groups ended, seats refunded).
pub async fn expire_due(app: &App, limit: i64) -> Result<(usize, usize)> {
    let now = app.clock.now();
    let mut ended = 0;
    for (workspace, id) in app.store.due_groups(now, limit).await? {
        let ws = WorkspaceId::from_trusted(workspace);
        if end_one(app, &ws, &id, now).await? {
            ended += 1;
        }
    }
    let mut refunded = 0;
    for (workspace, group_id, member, order) in app.store.unrefunded_failed_seats(limit).await? {
        let ws = WorkspaceId::from_trusted(workspace);
        if refund_seat(app, &ws, &group_id, &member, &order).await? {
            refunded += 1;
        }
    }
    Ok((ended, refunded))
}

async fn end_one(app: &App, ws: &WorkspaceId, id: &str, now: Timestamp) -> Result<bool> {
    let group = app.store.group(ws, id).await?;
    let view = read(app.store.group_buy_campaign(ws, &group.campaign_id).await?)?;
    let outcome = outcome_at_expiry(
        group.seats,
        group.joined,
        view.rules.virtual_completion_percent,
    );
    let loyalty = settings::load(app, ws).await?;
    let tz = workspaces::time_zone(app, ws).await?;
    for _ in 0..ATTEMPTS {
        let mut tx = app.store.begin().await?;
        let Some(ended) = retry_on_race!(tx.end_group(ws, id, outcome.as_str(), now).await) else {
            return Ok(false);
        };
        if outcome == Outcome::Failed {
            for seat in retry_on_race!(tx.group_members_in(ws, id).await) {
                let fact = serde_json::json!({
                    "group_id": id,
                    "campaign_id": ended.campaign_id,
                    "member_id": seat.member_id,
                    "order_id": seat.order_id,
                    "reason": "group_buy_failed",
                });
                retry_on_race!(
                    tx.emit(ws, "group_buy.refund_required", id, &fact.to_string(), now)
                        .await
                );
            }
        } else {
            retry_on_race!(completed(&mut tx, ws, &view, &ended, &loyalty, &tz, now).await);
        }
        retry_on_race!(tx.commit().await);
        return Ok(true);
    }
    Err(Error::Internal(anyhow::anyhow!(
        "ending a group kept losing races"
    )))
}

/// Records the full refund of a failed group's seat (idempotent by its refund id) and
/// marks the seat refunded; false if it already was.
async fn refund_seat(
    app: &App,
    ws: &WorkspaceId,
    group_id: &str,
    member: &str,
    order_external: &str,
) -> Result<bool> {
    let system = Principal::cli(ws.clone());
    if let Some((order_id, _, status, _)) = app.store.order_for_seat(ws, order_external).await? {
        if status != "refunded" {
            let refunded = orders::refund(
                app,
                &system,
                &order_id,
                orders::RefundInput {
                    external_id: format!("group-buy-{group_id}-{member}"),
                    lines: None,
                    reason: Some(format!("group {group_id} did not fill")),
                    refunded_at: None,
                },
            )
            .await;
            // Another node's sweep may have refunded it a moment ago; an order with
            // nothing left to refund is what this step wants.
            if let Err(err) = refunded {
                let now_refunded = matches!(
                    app.store.order_for_seat(ws, order_external).await?,
                    Some((_, _, status, _)) if status == "refunded"
                );
                if !now_refunded {
                    return Err(err);
                }
            }
        }
    }
    let mut tx = app.store.begin().await?;
    let marked = tx
        .mark_group_member_refunded(ws, group_id, member, app.clock.now())
        .await?;
    tx.commit().await?;
    Ok(marked)
}
