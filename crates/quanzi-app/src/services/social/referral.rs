//! Referral fission (裂变). Members get an invite code and a share link; a new member who
//! arrives through one is bound to the inviter (first touch, until the program's binding
//! expires; no self-referral, no loop through the invite chain). When the invitee's
//! first order is paid, the order's transaction pays the program's rewards — per invitee
//! within the inviter's daily and monthly caps, stage rewards once each, the invitee's
//! welcome reward — as points pending through the return window and tied to that order,
//! so a refund inside the window cancels them; coupon rewards are issued at once.
//! The inviter's row is locked while counting, so caps and stages hold under
//! concurrency.

use std::collections::BTreeMap;

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::calendar::TimeZone;
use quanzi_domain::ids::{new_id_body, WorkspaceId};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::loyalty::ledger::{OnTimeout, Operation, Request, Timeout};
use quanzi_domain::promotions::coupons::Channel;
use quanzi_domain::social::referral::{
    bind as bind_rule, invite_stats, invite_trees, on_first_paid_order, share_path, Binding,
    Candidate, Caps, InviteCode, InviteEdge, InviteStats, InviteeFacts, InviterStats,
    ReferralProgram, Reward, Stage, TreeLimits, TreeNode, MAX_ANCESTOR_DEPTH,
};
use quanzi_domain::time::Timestamp;
use quanzi_store::{
    BindingRow, NewAuditEntry, OrderRow, ReferralProgramRow, ReferralRewardRow, StoreError, Tx,
};
use serde::{Deserialize, Serialize};

use crate::principal::Principal;
use crate::services::promotions::coupons;
use crate::services::{audit_details, members};
use crate::{App, Error, Result};

const ATTEMPTS: usize = 8;

pub struct ProgramView {
    pub row: ReferralProgramRow,
    pub rules: ReferralProgram,
}

#[derive(Debug, Serialize, Deserialize)]
struct RewardDoc {
    points: i64,
    coupon_template: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ProgramDoc {
    per_invitee: Option<RewardDoc>,
    stages: Vec<(u32, RewardDoc)>,
    invitee_reward: Option<RewardDoc>,
    binding_days: u32,
    pending_days: u32,
    new_member_minutes: u32,
    per_day: Option<u32>,
    per_month: Option<u32>,
    active_from: Option<i64>,
    active_until: Option<i64>,
}

fn reward_doc(r: &Reward) -> RewardDoc {
    RewardDoc {
        points: r.points,
        coupon_template: r.coupon_template.clone(),
    }
}

fn reward_of(d: &RewardDoc) -> Reward {
    Reward {
        points: d.points,
        coupon_template: d.coupon_template.clone(),
    }
}

fn read(row: ReferralProgramRow) -> Result<ProgramView> {
    let doc: ProgramDoc = serde_json::from_str(&row.definition).map_err(|err| {
        Error::Internal(anyhow::anyhow!("program {} does not parse: {err}", row.id))
    })?;
    let rules = ReferralProgram {
        per_invitee: doc.per_invitee.as_ref().map(reward_of),
        stages: doc
            .stages
            .iter()
            .map(|(invitees, r)| Stage {
                invitees: *invitees,
                reward: reward_of(r),
            })
            .collect(),
        invitee_reward: doc.invitee_reward.as_ref().map(reward_of),
        binding_days: doc.binding_days,
        pending_days: doc.pending_days,
        new_member_minutes: doc.new_member_minutes,
        caps: Caps {
            per_day: doc.per_day,
            per_month: doc.per_month,
        },
        active_from: doc.active_from.map(Timestamp::from_millis),
        active_until: doc.active_until.map(Timestamp::from_millis),
    };
    Ok(ProgramView { row, rules })
}

pub async fn create_program(
    app: &App,
    principal: &Principal,
    name: &str,
    rules: ReferralProgram,
) -> Result<ProgramView> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let name = crate::services::checked_name(name)?;
    rules.check()?;
    let now = app.clock.now();
    let doc = ProgramDoc {
        per_invitee: rules.per_invitee.as_ref().map(reward_doc),
        stages: rules
            .stages
            .iter()
            .map(|s| (s.invitees, reward_doc(&s.reward)))
            .collect(),
        invitee_reward: rules.invitee_reward.as_ref().map(reward_doc),
        binding_days: rules.binding_days,
        pending_days: rules.pending_days,
        new_member_minutes: rules.new_member_minutes,
        per_day: rules.caps.per_day,
        per_month: rules.caps.per_month,
        active_from: rules.active_from.map(Timestamp::millis),
        active_until: rules.active_until.map(Timestamp::millis),
    };
    let row = ReferralProgramRow {
        id: format!("rfp_{}", new_id_body(now)),
        name: name.to_owned(),
        definition: serde_json::to_string(&doc).map_err(|e| Error::Internal(e.into()))?,
        status: "active".into(),
        created_at: now,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_referral_program(&principal.workspace_id, &row)
        .await?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "referral.program.create",
        target: row.id.clone(),
        details: audit_details(&[("name", &row.name)]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(ProgramView { row, rules })
}

pub async fn programs(app: &App, principal: &Principal) -> Result<Vec<ProgramView>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    app.store
        .referral_programs(&principal.workspace_id)
        .await?
        .into_iter()
        .map(read)
        .collect()
}

/// The newest active program: the one new bindings go to.
async fn active_program(app: &App, ws: &WorkspaceId) -> Result<ProgramView> {
    let row = app
        .store
        .referral_programs(ws)
        .await?
        .into_iter()
        .find(|p| p.status == "active")
        .ok_or_else(|| {
            Error::conflict(
                "no_referral_program",
                "this workspace runs no referral program",
            )
        })?;
    read(row)
}

/// A member's invite code, made on first asking: `(code, share path)`.
pub async fn invite_code(
    app: &App,
    principal: &Principal,
    member_id: &str,
) -> Result<(String, String)> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let member = members::unerased(app, principal, member_id).await?;
    for counter in 0..ATTEMPTS as u32 {
        if let Some(code) = app.store.invite_code_of(ws, &member.id).await? {
            let parsed = InviteCode::parse(&code)?;
            return Ok((code, share_path(&parsed)));
        }
        let code = InviteCode::derive(&member.id, counter);
        let mut tx = app.store.begin().await?;
        match tx
            .insert_invite_code(ws, code.as_str(), &member.id, app.clock.now())
            .await
        {
            // Another member's code collided, or this member got one meanwhile: go round.
            Err(StoreError::Conflict { .. }) => continue,
            other => other?,
        }
        tx.commit().await?;
        return Ok((code.as_str().to_owned(), share_path(&code)));
    }
    Err(Error::Internal(anyhow::anyhow!(
        "no free invite code was found"
    )))
}

/// Binds a member who arrived through `code` to its owner, in the active program.
/// Where the invitee arrived from, as the storefront saw it (for anti-fraud; only keyed
/// fingerprints are kept).
#[derive(Debug, Clone, Default)]
pub struct Arrival {
    pub device_id: Option<String>,
    pub ip: Option<String>,
}

pub async fn bind(
    app: &App,
    principal: &Principal,
    code: &str,
    member_id: &str,
    arrival: Arrival,
) -> Result<BindingRow> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let code = InviteCode::parse(code)?;
    for (field, value) in [("device_id", &arrival.device_id), ("ip", &arrival.ip)] {
        if value
            .as_ref()
            .is_some_and(|v| v.is_empty() || v.len() > 256)
        {
            return Err(InvalidInput::new(field, "must be 1 to 256 characters").into());
        }
    }
    let key = app.pii_key().await?;
    let device_hash = arrival
        .device_id
        .as_deref()
        .map(|d| key.fingerprint("device", d));
    let ip_hash = arrival
        .ip
        .as_deref()
        .map(|i| key.fingerprint("ip", i.trim()));
    let program = active_program(app, ws).await?;
    let inviter = app
        .store
        .invite_code_owner(ws, code.as_str())
        .await?
        .ok_or_else(|| InvalidInput::new("invite_code", "no member has this invite code"))?;
    let invitee = members::unerased(app, principal, member_id).await?;
    let facts = InviteeFacts {
        created_at: invitee.created_at,
        order_count: u32::try_from(invitee.order_count).unwrap_or(u32::MAX),
        first_seen_at: invitee.first_seen_at,
    };
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let mut tx = app.store.begin().await?;
        let existing = retry_on_race!(tx.referral_binding(ws, &program.row.id, &invitee.id).await)
            .map(|b| Binding::from_stored(b.inviter_id, b.invitee_id, b.bound_at, b.expires_at));
        let ancestors = retry_on_race!(
            tx.inviter_chain(ws, &program.row.id, &inviter, MAX_ANCESTOR_DEPTH)
                .await
        );
        let candidate = Candidate {
            inviter: &inviter,
            inviter_ancestors: &ancestors,
            invitee: &invitee.id,
            facts,
        };
        let bound = bind_rule(&program.rules, existing.as_ref(), &candidate, now)
            .map_err(|refusal| Error::conflict(refusal.code(), refusal.to_string()))?;
        let row = BindingRow {
            program_id: program.row.id.clone(),
            invitee_id: bound.invitee().to_owned(),
            inviter_id: bound.inviter().to_owned(),
            bound_at: bound.bound_at(),
            expires_at: bound.expires_at(),
            qualified_at: None,
            order_id: None,
            device_hash: device_hash.clone(),
            ip_hash: ip_hash.clone(),
        };
        if existing.as_ref() == Some(&bound) {
            return Ok(row);
        }
        if !retry_on_race!(tx.upsert_binding(ws, &row).await) {
            return Err(Error::conflict(
                "already_bound",
                "this member was invited by someone else first",
            ));
        }
        retry_on_race!(tx.commit().await);
        return Ok(row);
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a binding kept losing races"
    )))
}

/// The order hook: an invitee's first paid order pays the program's rewards, in the
/// order's transaction. Returns the ledger requests to apply with the order's points.
pub(crate) async fn on_first_order(
    tx: &mut Tx,
    ws: &WorkspaceId,
    tz: &TimeZone,
    order: &OrderRow,
    now: Timestamp,
) -> std::result::Result<Vec<Request>, StoreError> {
    let Some(program_row) = tx.active_referral_program(ws).await? else {
        return Ok(Vec::new());
    };
    let Ok(program) = read(program_row) else {
        return Ok(Vec::new());
    };
    let program_id = program.row.id.clone();
    let Some(binding) = tx
        .referral_binding(ws, &program_id, &order.member_id)
        .await?
    else {
        return Ok(Vec::new());
    };
    if binding.qualified_at.is_some() {
        return Ok(Vec::new());
    }
    let inviter = binding.inviter_id.clone();
    // Counting and paying under the inviter's lock: concurrent first orders of several
    // invitees of one inviter take turns, so caps and stages see each other.
    tx.lock_wallet(ws, &inviter, now).await?;
    let month_ago = now.minus(std::time::Duration::from_secs(32 * 86_400));
    let (qualified, rewarded_at) = tx
        .inviter_history(ws, &program_id, &inviter, month_ago)
        .await?;
    let stats = InviterStats::from_history(
        u32::try_from(qualified).unwrap_or(u32::MAX),
        rewarded_at,
        now,
        tz,
    );
    let domain_binding = Binding::from_stored(
        binding.inviter_id.clone(),
        binding.invitee_id.clone(),
        binding.bound_at,
        binding.expires_at,
    );
    let grants = on_first_paid_order(&program.rules, &domain_binding, stats, now);
    if !tx
        .qualify_binding(ws, &program_id, &order.member_id, &order.external_id, now)
        .await?
    {
        return Ok(Vec::new());
    }
    let signals = if grants.is_empty() {
        Vec::new()
    } else {
        super::fraud::signals_for_referral(tx, ws, &program_id, &binding, now).await?
    };
    let held = !signals.is_empty();
    let mut requests = Vec::new();
    for grant in &grants {
        let row = ReferralRewardRow {
            id: format!("rfr_{}", new_id_body(now)),
            program_id: program_id.clone(),
            inviter_id: binding.inviter_id.clone(),
            invitee_id: binding.invitee_id.clone(),
            member_id: grant.member.clone(),
            reason: grant.reason.code().to_owned(),
            stage: grant.stage.map(i64::from),
            points: grant.reward.points,
            coupon_template: grant.reward.coupon_template.clone(),
            order_id: order.id.clone(),
            pending_until: grant.pending_until,
            status: if held { "held" } else { "granted" }.into(),
            created_at: now,
        };
        // A flagged reward is recorded for review instead of paid.
        if !held {
            requests.extend(grant_now(tx, ws, &row, now).await?);
        }
        tx.insert_referral_reward(ws, &row).await?;
    }
    if held {
        super::fraud::flag_referral(tx, ws, &inviter, &order.id, &signals, now).await?;
    }
    Ok(requests)
}

/// Pays a reward now: its coupon at once, and the ledger request for its points (pending
/// until its return window ends). Both are tied to the invitee's order, so a full refund
/// cancels the points and revokes the coupon if it is still unused.
pub(crate) async fn grant_now(
    tx: &mut Tx,
    ws: &WorkspaceId,
    reward: &ReferralRewardRow,
    now: Timestamp,
) -> std::result::Result<Option<Request>, StoreError> {
    // A reward held for review and approved after the invitee's order was refunded in full
    // pays nothing: the refund already took back what it could (locked, so a refund
    // running now waits for this transaction).
    let (order, _) = tx.lock_order(ws, &reward.order_id).await?;
    if order.status == "refunded" {
        return Ok(None);
    }
    if let Some(template_id) = &reward.coupon_template {
        if let Ok(row) = tx.coupon_template_in(ws, template_id).await {
            if let Ok(template) = coupons::read(row) {
                if let Err(refusal) = coupons::issue_in(
                    tx,
                    ws,
                    &template,
                    &reward.member_id,
                    Channel::Journey,
                    Some(&reward.order_id),
                    now,
                )
                .await?
                {
                    tracing::info!(template = %template_id, code = refusal.code(), "referral coupon not given");
                }
            }
        }
    }
    if reward.points <= 0 {
        return Ok(None);
    }
    Ok(Some(Request {
        id: format!(
            "referral:{}:{}:{}:{}",
            reward.program_id,
            reward.invitee_id,
            reward.reason,
            reward.stage.unwrap_or(0)
        ),
        linked: false,
        op: Operation::Earn {
            member: reward.member_id.clone(),
            source: format!("referral.{}", reward.program_id),
            amount: reward.points,
            lot_expires_at: None,
            // Approved after its window, it settles at the next sweep.
            pending: Some(Timeout {
                at: reward.pending_until.max(now),
                action: OnTimeout::Post,
            }),
            order_id: Some(reward.order_id.clone()),
            reason: Some(format!("{} for {}", reward.reason, reward.invitee_id)),
        },
    }))
}

/// A member's referral picture: who invited them, whom they invited, what they earned.
pub async fn of_member(
    app: &App,
    principal: &Principal,
    member_id: &str,
) -> Result<(Vec<BindingRow>, Vec<ReferralRewardRow>)> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let member = members::find(app, principal, member_id).await?;
    let ws = &principal.workspace_id;
    Ok((
        app.store.referral_bindings_of(ws, &member.id).await?,
        app.store.referral_rewards_of(ws, &member.id).await?,
    ))
}

/// The invite tree's figures: K-factor overall and per generation, conversion, shares.
pub async fn stats(app: &App, principal: &Principal, program_id: &str) -> Result<InviteStats> {
    let bindings = program_bindings(app, principal, program_id).await?;
    stats_of(app, principal, &bindings).await
}

/// The figures and the program's largest invite trees cut to `limits` (who invited whom,
/// who converted), from one read of the bindings: the console shows both.
pub async fn stats_and_trees(
    app: &App,
    principal: &Principal,
    program_id: &str,
    limits: TreeLimits,
) -> Result<(InviteStats, Vec<TreeNode>)> {
    let bindings = program_bindings(app, principal, program_id).await?;
    let stats = stats_of(app, principal, &bindings).await?;
    Ok((stats, invite_trees(&edges_of(&bindings), limits)))
}

async fn stats_of(
    app: &App,
    principal: &Principal,
    bindings: &[BindingRow],
) -> Result<InviteStats> {
    let edges = edges_of(bindings);
    let in_tree: BTreeMap<&str, ()> = bindings
        .iter()
        .flat_map(|b| [(b.inviter_id.as_str(), ()), (b.invitee_id.as_str(), ())])
        .collect();
    let shares: Vec<(String, u64)> = app
        .store
        .share_counts(&principal.workspace_id)
        .await?
        .into_iter()
        .filter(|(m, _)| in_tree.contains_key(m.as_str()))
        .map(|(m, n)| (m, u64::try_from(n).unwrap_or(0)))
        .collect();
    Ok(invite_stats(&edges, &shares))
}

fn edges_of(bindings: &[BindingRow]) -> Vec<InviteEdge> {
    bindings
        .iter()
        .map(|b| InviteEdge {
            inviter: b.inviter_id.clone(),
            invitee: b.invitee_id.clone(),
            invited_at: b.bound_at,
            converted: b.qualified_at.is_some(),
        })
        .collect()
}

/// Every binding of a program the operator may analyse (404 for another workspace's).
async fn program_bindings(
    app: &App,
    principal: &Principal,
    program_id: &str,
) -> Result<Vec<BindingRow>> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    let ws = &principal.workspace_id;
    app.store
        .referral_program(ws, program_id)
        .await
        .map_err(Error::not_found("referral_program"))?;
    Ok(app.store.referral_bindings(ws, program_id).await?)
}
