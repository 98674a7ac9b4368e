//! Daily check-in (签到): one per member and calendar day in the workspace's time zone,
//! with streak and cumulative ladders and paid make-ups of missed days. Points move through
//! the ledger in the same transaction that records the day, under the member's wallet
//! lock, so two check-ins racing on one day give one day and one reward.

use quanzi_domain::auth::Scope;
use quanzi_domain::calendar::LocalDate;
use quanzi_domain::loyalty::checkin::{self as rules, CheckinError, CheckinPolicy};
use quanzi_domain::loyalty::ledger::{Operation, Outcome, Request};
use quanzi_store::CheckinRow;

use super::ledger::apply_in;
use super::settings;
use crate::principal::Principal;
use crate::services::{members, workspaces};
use crate::{App, Error, Result};

const ATTEMPTS: usize = 8;

/// What a check-in or make-up earned.
pub struct CheckedIn {
    pub member_id: String,
    pub date: LocalDate,
    pub streak: u32,
    pub cycle_count: u32,
    /// Points credited (base plus bonuses); zero for a make-up without a bonus.
    pub points: i64,
    /// `(kind, rung, points)` of each bonus paid.
    pub bonuses: Vec<(&'static str, u32, i64)>,
    /// Points a make-up cost.
    pub cost: i64,
}

/// The member's calendar: check-in days from `since` and the current streak.
pub struct Calendar {
    pub member_id: String,
    pub today: LocalDate,
    pub streak: u32,
    pub days: Vec<CheckinRow>,
}

fn conflict(err: CheckinError) -> Error {
    Error::Conflict {
        code: err.as_str(),
        message: err.to_string(),
    }
}

async fn policy(
    app: &App,
    principal: &Principal,
) -> Result<(CheckinPolicy, settings::LoyaltySettings)> {
    let settings = settings::load(app, &principal.workspace_id).await?;
    let policy = settings.checkin.clone().ok_or_else(|| Error::Conflict {
        code: "checkin_disabled",
        message: "check-in is switched off in this workspace's loyalty settings".into(),
    })?;
    Ok((policy, settings))
}

fn parse_days(rows: &[CheckinRow]) -> Result<Vec<LocalDate>> {
    rows.iter()
        .map(|r| {
            LocalDate::parse(&r.day).map_err(|_| {
                Error::Internal(anyhow::anyhow!(
                    "stored check-in day {} does not parse",
                    r.day
                ))
            })
        })
        .collect()
}

/// Checks the member in for today (in the workspace's zone).
pub async fn check_in(app: &App, principal: &Principal, member_id: &str) -> Result<CheckedIn> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let (policy, settings) = policy(app, principal).await?;
    let tz = workspaces::time_zone(app, &principal.workspace_id).await?;
    let member = members::unerased(app, principal, member_id).await?;
    let ws = &principal.workspace_id;
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let today = LocalDate::of(now, &tz);
        let mut tx = app.store.begin().await?;
        retry_on_race!(tx.lock_wallet(ws, &member.id, now).await);
        let history = parse_days(&tx.checkins_since(ws, &member.id, "0000-00-00").await?)?;
        let reward = rules::check_in(&policy, &history, today).map_err(conflict)?;
        let points = reward.total_points();
        let transfer_id = format!("checkin:{}:{today}", member.id);
        if points > 0 {
            let earn = Request {
                id: transfer_id.clone(),
                linked: false,
                op: Operation::Earn {
                    member: member.id.clone(),
                    source: "checkin".into(),
                    amount: points,
                    lot_expires_at: settings.checkin_expiry.expires_at(now, &tz),
                    pending: None,
                    order_id: None,
                    reason: Some(format!("check-in {today}, day {}", reward.streak())),
                },
            };
            match apply_in(&mut tx, ws, &[earn], now).await {
                Ok(applied) => ledger_ok(&applied.outcomes[0])?,
                Err(err) if err.is_transient() => continue,
                Err(err) => return Err(err.into()),
            }
        }
        let row = CheckinRow {
            day: today.to_string(),
            makeup: false,
            points,
            transfer_id,
        };
        retry_on_race!(tx.insert_checkin(ws, &member.id, &row, now).await);
        retry_on_race!(tx.commit().await);
        return Ok(CheckedIn {
            member_id: member.id,
            date: today,
            streak: reward.streak(),
            cycle_count: reward.cycle_count(),
            points,
            bonuses: reward
                .bonuses()
                .iter()
                .map(|b| (b.kind().as_str(), b.rung(), b.points()))
                .collect(),
            cost: 0,
        });
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a check-in kept losing races"
    )))
}

/// Fills a missed past day for the policy's cost in points.
pub async fn make_up(
    app: &App,
    principal: &Principal,
    member_id: &str,
    raw_date: &str,
) -> Result<CheckedIn> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let missed = LocalDate::parse(raw_date).map_err(|e| e.for_field("date"))?;
    let (policy, settings) = policy(app, principal).await?;
    let tz = workspaces::time_zone(app, &principal.workspace_id).await?;
    let member = members::unerased(app, principal, member_id).await?;
    let ws = &principal.workspace_id;
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let today = LocalDate::of(now, &tz);
        let mut tx = app.store.begin().await?;
        retry_on_race!(tx.lock_wallet(ws, &member.id, now).await);
        let rows = tx.checkins_since(ws, &member.id, "0000-00-00").await?;
        let history = parse_days(&rows)?;
        let period_start = policy.makeup_period_start(today).to_string();
        let used = rows
            .iter()
            .filter(|r| r.makeup && r.day >= period_start)
            .count() as u32;
        let outcome = rules::make_up(&policy, &history, missed, today, used).map_err(conflict)?;
        let id = format!("makeup:{}:{missed}", member.id);
        let bonus = outcome.bonus_points();
        let mut requests = Vec::new();
        if outcome.cost_points() > 0 {
            requests.push(Request {
                id: id.clone(),
                linked: bonus > 0,
                op: Operation::Spend {
                    member: member.id.clone(),
                    sink: "checkin_makeup".into(),
                    amount: outcome.cost_points(),
                    order_id: None,
                    reason: Some(format!("make-up of {missed}")),
                },
            });
        }
        if bonus > 0 {
            requests.push(Request {
                id: format!("makeup-bonus:{}:{missed}", member.id),
                linked: false,
                op: Operation::Earn {
                    member: member.id.clone(),
                    source: "checkin".into(),
                    amount: bonus,
                    lot_expires_at: settings.checkin_expiry.expires_at(now, &tz),
                    pending: None,
                    order_id: None,
                    reason: Some(format!("make-up of {missed}: cumulative bonus")),
                },
            });
        }
        if !requests.is_empty() {
            match apply_in(&mut tx, ws, &requests, now).await {
                Ok(applied) => {
                    for outcome in &applied.outcomes {
                        ledger_ok(outcome)?;
                    }
                }
                Err(err) if err.is_transient() => continue,
                Err(err) => return Err(err.into()),
            }
        }
        let row = CheckinRow {
            day: missed.to_string(),
            makeup: true,
            points: bonus,
            transfer_id: id,
        };
        retry_on_race!(tx.insert_checkin(ws, &member.id, &row, now).await);
        retry_on_race!(tx.commit().await);
        return Ok(CheckedIn {
            member_id: member.id,
            date: missed,
            streak: outcome.streak(),
            cycle_count: outcome.cycle_count(),
            points: bonus,
            bonuses: outcome
                .bonuses()
                .iter()
                .map(|b| (b.kind().as_str(), b.rung(), b.points()))
                .collect(),
            cost: outcome.cost_points(),
        });
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a make-up kept losing races"
    )))
}

/// A ledger refusal inside a check-in is the caller's problem (e.g. not enough points for
/// a make-up): answer it as a conflict and roll everything back.
fn ledger_ok(outcome: &Outcome) -> Result<()> {
    match outcome {
        Outcome::Created(_) | Outcome::Exists => Ok(()),
        Outcome::Failed { error, .. } => Err(Error::Conflict {
            code: error.as_str(),
            message: error.message().to_owned(),
        }),
    }
}

/// The member's check-ins from `since` (default: the first of this month) and the streak.
pub async fn calendar(
    app: &App,
    principal: &Principal,
    member_id: &str,
    since: Option<&str>,
) -> Result<Calendar> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let (policy, _) = policy(app, principal).await?;
    let tz = workspaces::time_zone(app, &principal.workspace_id).await?;
    let member = members::find(app, principal, member_id).await?;
    let today = LocalDate::of(app.clock.now(), &tz);
    let since = match since {
        Some(raw) => LocalDate::parse(raw).map_err(|e| e.for_field("since"))?,
        None => today.start_of_month(),
    };
    let all = app
        .store
        .checkins_since(&principal.workspace_id, &member.id, "0000-00-00")
        .await?;
    let history = parse_days(&all)?;
    let streak = rules::current_streak(&policy, &history, today);
    let since = since.to_string();
    Ok(Calendar {
        member_id: member.id,
        today,
        streak,
        days: all.into_iter().filter(|r| r.day >= since).collect(),
    })
}
