//! Member tiers by growth value. A member's tier is re-decided whenever it can have
//! changed for them — after an order, when their tier is read, and at the daily review —
//! and every change is a `member.tier_changed` fact in the outbox. Upgrades happen as soon
//! as growth crosses a threshold; downgrades only at a review, and only when the workspace
//! re-evaluates tiers on a rolling window. The daily review also pays each member's tier
//! birthday gift on their birthday (a `birthday` trait, `YYYY-MM-DD` or `MM-DD`), once a
//! year, valid for 30 days.

use quanzi_domain::auth::Scope;
use quanzi_domain::calendar::{LocalDate, TimeZone};
use quanzi_domain::ids::WorkspaceId;
use std::time::Duration;

use quanzi_domain::loyalty::ledger::{Operation, Request};
use quanzi_domain::loyalty::tiers::{evaluate, is_birthday, GrowthBasis, Tier, TierDecision};
use quanzi_domain::time::Timestamp;
use quanzi_store::{StoreError, Tx};

use super::ledger::apply_in;
use super::settings::{self, TierProgram};
use crate::principal::Principal;
use crate::services::{members, workspaces};
use crate::{App, Error, Result};

/// What `refresh` found: the member's tier now and their growth values.
pub struct Standing {
    pub member_id: String,
    pub tier: Tier,
    pub lifetime_growth: i64,
    pub window_growth: i64,
    pub changed: Option<(String, String)>,
}

async fn growth(
    tx: &mut Tx,
    ws: &WorkspaceId,
    member: &str,
    basis: GrowthBasis,
    since: Timestamp,
) -> Result<i64, StoreError> {
    Ok(match basis {
        GrowthBasis::PointsEarned => {
            basis.for_points_earned(tx.points_earned_since(ws, member, since).await?)
        }
        GrowthBasis::SpendFen { .. } => basis.for_spend(tx.spend_since(ws, member, since).await?),
    })
}

/// Re-decides the member's tier inside `tx` and records a change.
pub(crate) async fn refresh(
    tx: &mut Tx,
    ws: &WorkspaceId,
    program: &TierProgram,
    tz: &TimeZone,
    member: &str,
    periodic_review: bool,
    now: Timestamp,
) -> Result<Standing, StoreError> {
    // The member's wallet lock serialises decisions about them, so two reviews (or a
    // review and an order) never both record the same change.
    tx.lock_wallet(ws, member, now).await?;
    let current = tx.member_tier(ws, member).await?;
    let lifetime = growth(tx, ws, member, program.basis, Timestamp::from_millis(0)).await?;
    let window = match program.downgrade.window_start(LocalDate::of(now, tz)) {
        Some(start) => growth(tx, ws, member, program.basis, start.start_in(tz)).await?,
        None => lifetime,
    };
    let decision = evaluate(
        &program.ladder,
        program.downgrade,
        current.as_ref().map(|c| c.tier.as_str()),
        lifetime,
        window,
        periodic_review,
    );
    let (tier, changed) = match decision {
        TierDecision::Assign { to } => (to.clone(), Some(("none".to_owned(), to.code.clone()))),
        TierDecision::Upgrade { from, to } | TierDecision::Downgrade { from, to } => {
            (to.clone(), Some((from.code.clone(), to.code.clone())))
        }
        TierDecision::Keep => {
            let code = current
                .as_ref()
                .map(|c| c.tier.as_str())
                .unwrap_or_default();
            let tier = program
                .ladder
                .get(code)
                .cloned()
                .unwrap_or_else(|| program.ladder.tier_for(lifetime).clone());
            (tier, None)
        }
    };
    if changed.is_some() || periodic_review {
        tx.set_member_tier(
            ws,
            member,
            &tier.code,
            changed.is_some(),
            periodic_review,
            now,
        )
        .await?;
    }
    if let Some((from, to)) = &changed {
        let payload = format!(
            "{{\"member_id\":\"{member}\",\"from\":\"{from}\",\"to\":\"{to}\",\"growth\":{}}}",
            if program.downgrade == Default::default() {
                lifetime
            } else {
                window
            }
        );
        tx.emit(ws, "member.tier_changed", member, &payload, now)
            .await?;
    }
    Ok(Standing {
        member_id: member.to_owned(),
        tier,
        lifetime_growth: lifetime,
        window_growth: window,
        changed,
    })
}

/// The member's tier, benefits and growth, re-decided first.
pub async fn standing(
    app: &App,
    principal: &Principal,
    member_id: &str,
) -> Result<(Standing, TierProgram)> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let member = members::find(app, principal, member_id).await?;
    let ws = &principal.workspace_id;
    let program = settings::load(app, ws)
        .await?
        .tiers
        .ok_or_else(|| Error::Conflict {
            code: "tiers_disabled",
            message: "tiers are switched off in this workspace's loyalty settings".into(),
        })?;
    let tz = workspaces::time_zone(app, ws).await?;
    for _ in 0..8 {
        let now = app.clock.now();
        let mut tx = app.store.begin().await?;
        let standing =
            retry_on_race!(refresh(&mut tx, ws, &program, &tz, &member.id, false, now).await);
        match tx.commit().await {
            Ok(()) => return Ok((standing, program)),
            Err(err) if err.is_transient() => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a tier refresh kept losing races"
    )))
}

/// The daily review of a workspace: every member who may hold a tier is re-decided, with
/// downgrades allowed where the workspace re-evaluates on a window. Returns the changes.
pub async fn review(app: &App, ws: &WorkspaceId) -> anyhow::Result<usize> {
    let Some(program) = settings::load(app, ws)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .tiers
    else {
        return Ok(0);
    };
    let tz = workspaces::time_zone(app, ws)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut changes = 0;
    // In member order, which is wallet-code order: the order ledger batches lock in.
    let mut candidates = app.store.tier_candidates(ws).await?;
    candidates.sort();
    for chunk in candidates.chunks(200) {
        let now = app.clock.now();
        let today = LocalDate::of(now, &tz);
        let traits = app.store.member_traits(ws, chunk).await?;
        let mut tx = app.store.begin().await?;
        for member in chunk {
            let periodic = match program.downgrade.next_review(LocalDate::of(now, &tz)) {
                // A member is reviewed for a downgrade once per period.
                Some(_) => match tx
                    .member_tier(ws, member)
                    .await?
                    .and_then(|t| t.reviewed_at)
                {
                    Some(last) => program
                        .downgrade
                        .next_review(LocalDate::of(last, &tz))
                        .is_some_and(|due| due <= LocalDate::of(now, &tz)),
                    None => true,
                },
                None => false,
            };
            let standing = refresh(&mut tx, ws, &program, &tz, member, periodic, now).await?;
            if standing.changed.is_some() {
                changes += 1;
            }
            let gift = standing.tier.benefits.birthday_gift_points;
            if gift > 0 && traits.get(member).is_some_and(|t| birthday_today(t, today)) {
                let request = Request {
                    // One gift per member and year, however often the review runs.
                    id: format!("birthday:{member}:{}", today.year()),
                    linked: false,
                    op: Operation::Earn {
                        member: member.clone(),
                        source: "birthday".into(),
                        amount: gift,
                        lot_expires_at: Some(now.plus(BIRTHDAY_GIFT_LIFETIME)),
                        pending: None,
                        order_id: None,
                        reason: Some(format!("birthday gift ({})", standing.tier.name)),
                    },
                };
                apply_in(&mut tx, ws, &[request], now).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(changes)
}

/// Birthday gift points last this long.
const BIRTHDAY_GIFT_LIFETIME: Duration = Duration::from_secs(30 * 86_400);

fn birthday_today(traits: &str, today: LocalDate) -> bool {
    serde_json::from_str::<serde_json::Value>(traits)
        .ok()
        .and_then(|t| t["birthday"].as_str().map(|b| is_birthday(b, today)))
        .unwrap_or(false)
}

/// The tier multiplier (percent) the member earns order points with, read in `tx`.
pub(crate) async fn multiplier_percent(
    tx: &mut Tx,
    ws: &WorkspaceId,
    program: Option<&TierProgram>,
    member: &str,
) -> Result<u32, StoreError> {
    let Some(program) = program else {
        return Ok(100);
    };
    Ok(match tx.member_tier(ws, member).await? {
        Some(row) => program
            .ladder
            .get(&row.tier)
            .map(|t| t.benefits.points_multiplier_percent)
            .unwrap_or(100),
        None => 100,
    })
}
