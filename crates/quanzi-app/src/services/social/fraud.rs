//! Anti-fraud for social rewards. When an invitee's first order would pay referral
//! rewards, the signals of `quanzi_domain::social::fraud` are assessed in the order's
//! transaction; any signal holds the rewards (recorded, not paid) and opens a flag with
//! the reasons. An operator approves (the rewards are paid then, still tied to the order,
//! so a refund cancels them) or rejects (they never are). Bargain helps from accounts
//! younger than the configured age are refused.

use std::time::Duration;

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::{new_id_body, WorkspaceId};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::social::fraud::{assess, FraudRules, RewardFacts, Signal};
use quanzi_domain::time::Timestamp;
use quanzi_store::{BindingRow, FraudFlagRow, NewAuditEntry, StoreError, Tx};
use serde::{Deserialize, Serialize};

use crate::principal::Principal;
use crate::services::audit_details;
use crate::services::loyalty::ledger::apply_in;
use crate::{App, Error, Result};

const ATTEMPTS: usize = 8;

#[derive(Debug, Serialize, Deserialize)]
struct RulesDoc {
    shared_device: bool,
    burst: Option<(u32, u32)>,
    inactive_invitees: Option<(u32, u32)>,
    refunds_after_reward: Option<u32>,
    min_account_age_minutes: Option<u32>,
}

fn parse(raw: Option<String>) -> FraudRules {
    raw.and_then(|json| serde_json::from_str::<RulesDoc>(&json).ok())
        .map(|d| FraudRules {
            shared_device: d.shared_device,
            burst: d.burst,
            inactive_invitees: d.inactive_invitees,
            refunds_after_reward: d.refunds_after_reward,
            min_account_age_minutes: d.min_account_age_minutes,
        })
        .unwrap_or_default()
}

pub async fn rules(app: &App, principal: &Principal) -> Result<FraudRules> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    Ok(parse(
        app.store.fraud_settings(&principal.workspace_id).await?,
    ))
}

pub async fn put_rules(app: &App, principal: &Principal, rules: FraudRules) -> Result<FraudRules> {
    principal.require_console(Role::Admin, Scope::Admin)?;
    rules.check()?;
    let doc = RulesDoc {
        shared_device: rules.shared_device,
        burst: rules.burst,
        inactive_invitees: rules.inactive_invitees,
        refunds_after_reward: rules.refunds_after_reward,
        min_account_age_minutes: rules.min_account_age_minutes,
    };
    let now = app.clock.now();
    let json = serde_json::to_string(&doc).map_err(|e| Error::Internal(e.into()))?;
    let mut tx = app.store.begin().await?;
    tx.put_fraud_settings(&principal.workspace_id, &json, now)
        .await?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "fraud.rules",
        target: principal.workspace_id.to_string(),
        details: "{}".into(),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(rules)
}

/// The signals an invitee's qualification raises, read in the order's transaction.
pub(crate) async fn signals_for_referral(
    tx: &mut Tx,
    ws: &WorkspaceId,
    program_id: &str,
    binding: &BindingRow,
    now: Timestamp,
) -> std::result::Result<Vec<Signal>, StoreError> {
    let rules = parse(tx.fraud_settings_in(ws).await?);
    let invitees = tx
        .inviter_invitees(ws, program_id, &binding.inviter_id)
        .await?;
    let burst_since = now.minus(Duration::from_secs(
        u64::from(rules.burst.map_or(0, |(_, minutes)| minutes)) * 60,
    ));
    let week_ago = now.minus(Duration::from_secs(7 * 86_400));
    let old: Vec<_> = invitees
        .iter()
        .filter(|(_, at, _)| *at <= week_ago)
        .collect();
    let facts = RewardFacts {
        device_shared_with: tx
            .device_sharers(ws, program_id, &binding.inviter_id, &binding.invitee_id)
            .await?,
        recent_bindings: invitees
            .iter()
            .filter(|(_, at, _)| *at >= burst_since)
            .count() as u32,
        old_invitees: old.len() as u32,
        inactive_old_invitees: old.iter().filter(|(_, _, acted)| !acted).count() as u32,
        refunded_after_reward: tx
            .refunds_after_reward(ws, program_id, &binding.inviter_id)
            .await? as u32,
        // Account age is a signal for bargain helpers, not for invitees.
        invitee_created_at: Timestamp::from_millis(0),
    };
    Ok(assess(&rules, &facts, now))
}

/// Opens a flag for the rewards an order's qualification would have paid.
pub(crate) async fn flag_referral(
    tx: &mut Tx,
    ws: &WorkspaceId,
    inviter: &str,
    order_id: &str,
    signals: &[Signal],
    now: Timestamp,
) -> std::result::Result<(), StoreError> {
    let signals_json = serde_json::Value::from(
        signals
            .iter()
            .map(|s| serde_json::json!({"code": s.code(), "reason": s.reason()}))
            .collect::<Vec<_>>(),
    )
    .to_string();
    tx.insert_fraud_flag(
        ws,
        &FraudFlagRow {
            id: format!("frd_{}", new_id_body(now)),
            subject_kind: "referral_reward".into(),
            subject_id: order_id.to_owned(),
            member_id: inviter.to_owned(),
            signals: signals_json,
            status: "open".into(),
            created_at: now,
            reviewed_at: None,
            reviewer: None,
        },
    )
    .await
}

/// Refuses a bargain helper younger than the workspace's minimum account age.
pub(crate) async fn check_helper_age(
    app: &App,
    ws: &WorkspaceId,
    created_at: Timestamp,
    now: Timestamp,
) -> Result<()> {
    let rules = parse(app.store.fraud_settings(ws).await?);
    let facts = RewardFacts {
        invitee_created_at: created_at,
        ..RewardFacts::default()
    };
    let rules = FraudRules {
        shared_device: false,
        burst: None,
        inactive_invitees: None,
        refunds_after_reward: None,
        ..rules
    };
    if let Some(signal) = assess(&rules, &facts, now).first() {
        return Err(Error::Conflict {
            code: "flagged_young_account",
            message: signal.reason(),
        });
    }
    Ok(())
}

pub async fn flags(
    app: &App,
    principal: &Principal,
    status: Option<&str>,
) -> Result<Vec<FraudFlagRow>> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    if status.is_some_and(|s| !["open", "approved", "rejected"].contains(&s)) {
        return Err(InvalidInput::new("status", "must be open, approved or rejected").into());
    }
    Ok(app
        .store
        .fraud_flags(&principal.workspace_id, status)
        .await?)
}

/// Decides a flag: approving pays the held rewards, rejecting never does. Each flag is
/// decided once.
pub async fn review(
    app: &App,
    principal: &Principal,
    id: &str,
    approve: bool,
) -> Result<FraudFlagRow> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let ws = &principal.workspace_id;
    let status = if approve { "approved" } else { "rejected" };
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let mut tx = app.store.begin().await?;
        let Some(flag) = retry_on_race!(
            tx.decide_fraud_flag(ws, id, status, &principal.actor_ref(), now)
                .await
        ) else {
            drop(tx);
            let exists = app
                .store
                .fraud_flags(ws, None)
                .await?
                .into_iter()
                .any(|f| f.id == id);
            return Err(if exists {
                Error::Conflict {
                    code: "flag_decided",
                    message: "this flag was already decided".into(),
                }
            } else {
                Error::NotFound { what: "fraud_flag" }
            });
        };
        if approve {
            let held = retry_on_race!(tx.held_referral_rewards(ws, &flag.subject_id).await);
            let mut requests = Vec::new();
            for reward in &held {
                if let Some(request) =
                    retry_on_race!(super::referral::grant_now(&mut tx, ws, reward, now).await)
                {
                    requests.push(request);
                }
            }
            if !requests.is_empty() {
                retry_on_race!(apply_in(&mut tx, ws, &requests, now).await);
            }
        }
        retry_on_race!(
            tx.decide_held_rewards(
                ws,
                &flag.subject_id,
                if approve { "granted" } else { "rejected" }
            )
            .await
        );
        retry_on_race!(
            tx.audit(&NewAuditEntry {
                workspace_id: ws.clone(),
                actor: principal.actor_ref(),
                action: "fraud.review",
                target: id.to_owned(),
                details: audit_details(&[("status", status)]),
                at: now,
            })
            .await
        );
        retry_on_race!(tx.commit().await);
        return Ok(flag);
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a review kept losing races"
    )))
}
