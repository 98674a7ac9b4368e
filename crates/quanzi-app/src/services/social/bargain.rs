//! Bargaining (砍价). A member starts a bargain on a campaign's SKU and shares it; each
//! helper cuts the price by the next cut of the bargain's seeded sequence, which stays
//! within the campaign's per-helper range and reaches the floor exactly at the last
//! needed helper (`quanzi_domain::social::bargain`). A helper helps once per campaign,
//! never on their own bargain, and — when the campaign says so — only if they are new to
//! the brand (no orders, and first seen after the bargain started). The member buys at the
//! floor, or at the current price in `buy_at_current` mode, while the bargain is open.

use std::time::Duration;

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::new_id_body;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::social::bargain::{
    cut_for, price_after, purchase_price, BargainMode, BargainRules,
};
use quanzi_domain::time::Timestamp;
use quanzi_store::{BargainCampaignRow, BargainRow, HelpRow, NewAuditEntry};
use serde::{Deserialize, Serialize};

use crate::principal::Principal;
use crate::services::{audit_details, members};
use crate::{App, Error, Result};

const ATTEMPTS: usize = 8;

pub struct CampaignView {
    pub row: BargainCampaignRow,
    pub rules: BargainRules,
}

pub struct BargainView {
    pub bargain: BargainRow,
    pub helps: Vec<HelpRow>,
    /// What the member would pay now, if they may buy now.
    pub purchase_price_fen: Option<i64>,
    /// `open`, `expired` or `purchased`.
    pub state: &'static str,
}

#[derive(Debug, Serialize, Deserialize)]
struct CampaignDoc {
    start_price_fen: i64,
    floor_price_fen: i64,
    helpers_needed: usize,
    min_cut_fen: i64,
    max_cut_fen: i64,
    duration_seconds: i64,
    buy_at_current: bool,
    new_users_only: bool,
}

fn read(row: BargainCampaignRow) -> Result<CampaignView> {
    let doc: CampaignDoc = serde_json::from_str(&row.definition).map_err(|err| {
        Error::Internal(anyhow::anyhow!("campaign {} does not parse: {err}", row.id))
    })?;
    let rules = BargainRules {
        start_price_fen: doc.start_price_fen,
        floor_price_fen: doc.floor_price_fen,
        helpers_needed: doc.helpers_needed,
        min_cut_fen: doc.min_cut_fen,
        max_cut_fen: doc.max_cut_fen,
        duration_seconds: doc.duration_seconds,
        mode: if doc.buy_at_current {
            BargainMode::BuyAtCurrent
        } else {
            BargainMode::MustReachFloor
        },
        new_users_only: doc.new_users_only,
    };
    Ok(CampaignView { row, rules })
}

pub struct NewCampaign {
    pub name: String,
    pub sku: String,
    pub rules: BargainRules,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

pub async fn create_campaign(
    app: &App,
    principal: &Principal,
    new: NewCampaign,
) -> Result<CampaignView> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let name = crate::services::checked_name(&new.name)?;
    quanzi_domain::promotions::coupons::check_code("sku", &new.sku)?;
    new.rules.check()?;
    if new.ends_at <= new.starts_at {
        return Err(InvalidInput::new("ends_at", "must be after starts_at").into());
    }
    let now = app.clock.now();
    let r = &new.rules;
    let doc = CampaignDoc {
        start_price_fen: r.start_price_fen,
        floor_price_fen: r.floor_price_fen,
        helpers_needed: r.helpers_needed,
        min_cut_fen: r.min_cut_fen,
        max_cut_fen: r.max_cut_fen,
        duration_seconds: r.duration_seconds,
        buy_at_current: r.mode == BargainMode::BuyAtCurrent,
        new_users_only: r.new_users_only,
    };
    let row = BargainCampaignRow {
        id: format!("bgc_{}", new_id_body(now)),
        name: name.to_owned(),
        definition: serde_json::to_string(&doc).map_err(|e| Error::Internal(e.into()))?,
        sku: new.sku.clone(),
        starts_at: new.starts_at,
        ends_at: new.ends_at,
        status: "active".into(),
        created_at: now,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_bargain_campaign(&principal.workspace_id, &row)
        .await?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "bargain.campaign.create",
        target: row.id.clone(),
        details: audit_details(&[("name", &row.name), ("sku", &row.sku)]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(CampaignView {
        row,
        rules: new.rules,
    })
}

pub async fn campaigns(app: &App, principal: &Principal) -> Result<Vec<CampaignView>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    app.store
        .bargain_campaigns(&principal.workspace_id)
        .await?
        .into_iter()
        .map(read)
        .collect()
}

pub async fn campaign(app: &App, principal: &Principal, id: &str) -> Result<CampaignView> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    read(
        app.store
            .bargain_campaign(&principal.workspace_id, id)
            .await
            .map_err(Error::not_found("bargain_campaign"))?,
    )
}

fn view(
    rules: &BargainRules,
    bargain: BargainRow,
    helps: Vec<HelpRow>,
    now: Timestamp,
) -> BargainView {
    let state = if bargain.status == "purchased" {
        "purchased"
    } else if now >= bargain.expires_at {
        "expired"
    } else {
        "open"
    };
    let purchase_price_fen = (state == "open")
        .then(|| purchase_price(rules, bargain.seed as u64, bargain.helpers as usize))
        .flatten();
    BargainView {
        bargain,
        helps,
        purchase_price_fen,
        state,
    }
}

/// A member starts their bargain (one per campaign).
pub async fn start(
    app: &App,
    principal: &Principal,
    campaign_id: &str,
    member_id: &str,
) -> Result<BargainView> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let campaign = campaign(app, principal, campaign_id).await?;
    let member = members::unerased(app, principal, member_id).await?;
    let now = app.clock.now();
    if now < campaign.row.starts_at {
        return Err(Error::conflict(
            "campaign_not_started",
            "this bargain campaign has not started",
        ));
    }
    if now >= campaign.row.ends_at {
        return Err(Error::conflict(
            "campaign_ended",
            "this bargain campaign has ended",
        ));
    }
    let rules = &campaign.rules;
    let row = BargainRow {
        id: format!("bgn_{}", new_id_body(now)),
        campaign_id: campaign.row.id.clone(),
        member_id: member.id.clone(),
        // Non-negative so it survives a BIGINT column unchanged.
        seed: (rand::random::<u64>() >> 1) as i64,
        helpers: 0,
        helpers_needed: rules.helpers_needed as i64,
        price_fen: rules.start_price_fen,
        floor_fen: rules.floor_price_fen,
        status: "open".into(),
        started_at: now,
        expires_at: now
            .plus(Duration::from_secs(rules.duration_seconds.max(0) as u64))
            .min(campaign.row.ends_at),
        order_id: None,
        purchased_at: None,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_bargain(ws, &row)
        .await
        .map_err(Error::on_conflict(
            "bargain_exists",
            "this member already has a bargain in this campaign",
        ))?;
    tx.commit().await?;
    Ok(view(rules, row, Vec::new(), now))
}

pub async fn get(app: &App, principal: &Principal, id: &str) -> Result<BargainView> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let bargain = app
        .store
        .bargain(ws, id)
        .await
        .map_err(Error::not_found("bargain"))?;
    let campaign = campaign(app, principal, &bargain.campaign_id).await?;
    let helps = app.store.bargain_helps(ws, id).await?;
    Ok(view(&campaign.rules, bargain, helps, app.clock.now()))
}

/// A helper cuts the price. 409 `bargain_complete` (the floor is reached), `bargain_closed`
/// (expired or purchased), `already_helped` (once per campaign), `own_bargain`,
/// `not_a_new_user`, `flagged_young_account` (anti-fraud's minimum account age).
pub async fn help(
    app: &App,
    principal: &Principal,
    bargain_id: &str,
    helper_id: &str,
) -> Result<(HelpRow, BargainView)> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let bargain = app
        .store
        .bargain(ws, bargain_id)
        .await
        .map_err(Error::not_found("bargain"))?;
    let campaign = campaign(app, principal, &bargain.campaign_id).await?;
    let rules = &campaign.rules;
    let helper = members::unerased(app, principal, helper_id).await?;
    super::fraud::check_helper_age(app, ws, helper.created_at, app.clock.now()).await?;
    if helper.id == bargain.member_id {
        return Err(Error::conflict(
            "own_bargain",
            "a member cannot help their own bargain",
        ));
    }
    if rules.new_users_only {
        let first_seen = helper.first_seen_at.unwrap_or(helper.created_at);
        if helper.order_count > 0 || first_seen.min(helper.created_at) < bargain.started_at {
            return Err(Error::conflict(
                "not_a_new_user",
                "only members new to the brand (no orders, first seen after the bargain started) may help",
            ));
        }
    }
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let mut tx = app.store.begin().await?;
        let Some(after) = retry_on_race!(tx.take_help_position(ws, bargain_id, now).await) else {
            drop(tx);
            let current = app.store.bargain(ws, bargain_id).await?;
            return Err(if current.helpers >= current.helpers_needed {
                Error::conflict("bargain_complete", "this bargain already reached its floor")
            } else {
                Error::conflict("bargain_closed", "this bargain has expired or was bought")
            });
        };
        let position = after.helpers - 1;
        let help = HelpRow {
            helper_id: helper.id.clone(),
            position,
            cut_fen: cut_for(rules, after.seed as u64, position as usize),
            price_after: price_after(rules, after.seed as u64, after.helpers as usize),
            helped_at: now,
        };
        if !retry_on_race!(tx.record_help(ws, &after, &help).await) {
            return Err(Error::conflict(
                "already_helped",
                "this member has already helped a bargain in this campaign",
            ));
        }
        retry_on_race!(tx.commit().await);
        let helps = app.store.bargain_helps(ws, bargain_id).await?;
        let bargain = BargainRow {
            price_fen: help.price_after,
            ..after
        };
        return Ok((help, view(rules, bargain, helps, now)));
    }
    Err(Error::Internal(anyhow::anyhow!("a help kept losing races")))
}

/// The member buys at the price reached (the floor in `must_reach_floor` mode); the
/// storefront charges it and records `order_id` as usual.
pub async fn purchase(
    app: &App,
    principal: &Principal,
    bargain_id: &str,
    order_id: &str,
) -> Result<BargainView> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    crate::services::orders::check_external_id("order_id", order_id)?;
    let ws = &principal.workspace_id;
    let current = get(app, principal, bargain_id).await?;
    if current.state != "open" {
        return Err(Error::conflict(
            "bargain_closed",
            format!("this bargain is {}", current.state),
        ));
    }
    if current.purchase_price_fen.is_none() {
        return Err(Error::conflict(
            "floor_not_reached",
            format!(
                "this campaign sells only at the floor: {} more helper(s) needed",
                current.bargain.helpers_needed - current.bargain.helpers
            ),
        ));
    }
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let Some(bought) = tx.purchase_bargain(ws, bargain_id, order_id, now).await? else {
        return Err(Error::conflict(
            "bargain_closed",
            "this bargain was bought a moment ago",
        ));
    };
    tx.commit().await?;
    let campaign = campaign(app, principal, &bought.campaign_id).await?;
    Ok(view(&campaign.rules, bought, current.helps, now))
}
