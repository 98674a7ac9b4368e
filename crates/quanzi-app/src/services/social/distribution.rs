//! Distribution (分销). Promoters share links; a buyer who arrives through one is bound to
//! the promoter by the workspace's policy (permanent first touch, first touch expiring
//! after N days, or latest wins). A paid order of a bound buyer earns commissions per
//! line for the promoter (level 1) and the promoter's upline (level 2) — never deeper:
//! chains beyond two levels are unlawful pyramid selling (传销) in China. Commissions are
//! pending through the freeze period, then settle; refunds claw them back in proportion
//! at both levels (exactly: `quanzi_domain::social::commission`). Settled commissions can
//! be withdrawn above a minimum, through operator review.

use std::time::Duration;

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::{new_id_body, WorkspaceId};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::members::RefundPlan;
use quanzi_domain::social::commission::{
    clawback_for_refund, commissions, LevelRates, PaidLine, RateTable,
};
use quanzi_domain::time::Timestamp;
use quanzi_store::{
    CommissionRow, NewAuditEntry, OrderItemRow, OrderRow, PromoterBalance, PromoterRow, StoreError,
    Tx, WithdrawalRow,
};
use serde::{Deserialize, Serialize};

use crate::principal::Principal;
use crate::services::{audit_details, members};
use crate::{App, Error, Result};

const ATTEMPTS: usize = 8;

/// Who may become a promoter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligibility {
    Everyone,
    /// Only members an operator appoints.
    Appointed,
    /// Members whose lifetime spend reached this (fen).
    MinSpend(i64),
}

/// Which promoter a buyer belongs to when several links reach them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingPolicy {
    /// The first promoter, forever.
    Permanent,
    /// The first promoter, for this many days; then the next link binds anew.
    ExpiresAfterDays(u32),
    /// The promoter of the latest link.
    LatestWins,
}

/// The workspace's distribution rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    pub eligibility: Eligibility,
    pub binding: BindingPolicy,
    pub rates: RateTable,
    /// Days commissions stay pending (the return window; default 7).
    pub freeze_days: u32,
    pub min_withdrawal_fen: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: false,
            eligibility: Eligibility::Appointed,
            binding: BindingPolicy::Permanent,
            rates: RateTable {
                levels: vec![LevelRates {
                    level: 1,
                    default_bp: 1_000,
                    sku_bp: Default::default(),
                }],
            },
            freeze_days: 7,
            min_withdrawal_fen: 1_000,
        }
    }
}

impl Settings {
    pub fn check(&self) -> std::result::Result<(), InvalidInput> {
        self.rates.check()?;
        if let Eligibility::MinSpend(fen) = self.eligibility {
            if !(1..=10_000_000_000).contains(&fen) {
                return Err(InvalidInput::new(
                    "min_spend_fen",
                    "must be 1 to 10000000000",
                ));
            }
        }
        if let BindingPolicy::ExpiresAfterDays(days) = self.binding {
            if !(1..=3_650).contains(&days) {
                return Err(InvalidInput::new("binding_days", "must be 1 to 3650"));
            }
        }
        if self.freeze_days > 365 {
            return Err(InvalidInput::new("freeze_days", "must be 0 to 365"));
        }
        if !(1..=100_000_000).contains(&self.min_withdrawal_fen) {
            return Err(InvalidInput::new(
                "min_withdrawal_fen",
                "must be 1 to 100000000",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct SettingsDoc {
    enabled: bool,
    eligibility: String,
    min_spend_fen: Option<i64>,
    binding: String,
    binding_days: Option<u32>,
    levels: Vec<(u8, i64, std::collections::BTreeMap<String, i64>)>,
    freeze_days: u32,
    min_withdrawal_fen: i64,
}

fn to_doc(s: &Settings) -> SettingsDoc {
    let (eligibility, min_spend_fen) = match s.eligibility {
        Eligibility::Everyone => ("everyone", None),
        Eligibility::Appointed => ("appointed", None),
        Eligibility::MinSpend(fen) => ("min_spend", Some(fen)),
    };
    let (binding, binding_days) = match s.binding {
        BindingPolicy::Permanent => ("permanent", None),
        BindingPolicy::ExpiresAfterDays(d) => ("expires", Some(d)),
        BindingPolicy::LatestWins => ("latest", None),
    };
    SettingsDoc {
        enabled: s.enabled,
        eligibility: eligibility.into(),
        min_spend_fen,
        binding: binding.into(),
        binding_days,
        levels: s
            .rates
            .levels
            .iter()
            .map(|l| (l.level, l.default_bp, l.sku_bp.clone()))
            .collect(),
        freeze_days: s.freeze_days,
        min_withdrawal_fen: s.min_withdrawal_fen,
    }
}

fn from_doc(d: SettingsDoc) -> Settings {
    Settings {
        enabled: d.enabled,
        eligibility: match (d.eligibility.as_str(), d.min_spend_fen) {
            ("everyone", _) => Eligibility::Everyone,
            ("min_spend", Some(fen)) => Eligibility::MinSpend(fen),
            _ => Eligibility::Appointed,
        },
        binding: match (d.binding.as_str(), d.binding_days) {
            ("expires", Some(days)) => BindingPolicy::ExpiresAfterDays(days),
            ("latest", _) => BindingPolicy::LatestWins,
            _ => BindingPolicy::Permanent,
        },
        rates: RateTable {
            levels: d
                .levels
                .into_iter()
                .map(|(level, default_bp, sku_bp)| LevelRates {
                    level,
                    default_bp,
                    sku_bp,
                })
                .collect(),
        },
        freeze_days: d.freeze_days,
        min_withdrawal_fen: d.min_withdrawal_fen,
    }
}

fn parse(raw: Option<String>) -> Settings {
    raw.and_then(|json| serde_json::from_str::<SettingsDoc>(&json).ok())
        .map(from_doc)
        .unwrap_or_default()
}

pub async fn settings(app: &App, principal: &Principal) -> Result<Settings> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    Ok(parse(
        app.store
            .distribution_settings(&principal.workspace_id)
            .await?,
    ))
}

pub async fn put_settings(
    app: &App,
    principal: &Principal,
    settings: Settings,
) -> Result<Settings> {
    principal.require_console(Role::Admin, Scope::Admin)?;
    settings.check()?;
    let now = app.clock.now();
    let json = serde_json::to_string(&to_doc(&settings)).map_err(|e| Error::Internal(e.into()))?;
    let mut tx = app.store.begin().await?;
    tx.put_distribution_settings(&principal.workspace_id, &json, now)
        .await?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "distribution.settings",
        target: principal.workspace_id.to_string(),
        details: audit_details(&[("enabled", &settings.enabled.to_string())]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(settings)
}

/// Makes a member a promoter: appointed by an operator (`upline` optional), or on their
/// own request where the settings let them (the inviting promoter as upline).
pub async fn add_promoter(
    app: &App,
    principal: &Principal,
    member_id: &str,
    upline_id: Option<&str>,
) -> Result<PromoterRow> {
    let settings = parse(
        app.store
            .distribution_settings(&principal.workspace_id)
            .await?,
    );
    if !settings.enabled {
        return Err(Error::conflict(
            "distribution_disabled",
            "distribution is switched off in this workspace",
        ));
    }
    let ws = &principal.workspace_id;
    let member = members::unerased(app, principal, member_id).await?;
    let appointing = principal
        .require_console(Role::Operator, Scope::Admin)
        .is_ok();
    if !appointing {
        principal.require_any(&[Scope::Storefront])?;
        match settings.eligibility {
            Eligibility::Everyone => {}
            Eligibility::Appointed => {
                return Err(Error::conflict(
                    "not_eligible",
                    "promoters are appointed by the brand",
                ))
            }
            Eligibility::MinSpend(fen) if member.gmv_fen - member.refund_fen < fen => {
                return Err(Error::conflict(
                    "not_eligible",
                    format!("promoters must have spent at least {fen} fen"),
                ))
            }
            Eligibility::MinSpend(_) => {}
        }
    }
    let upline = match upline_id {
        Some(id) => {
            let upline = members::find(app, principal, id).await?;
            if upline.id == member.id {
                return Err(InvalidInput::new(
                    "upline_id",
                    "a promoter cannot be their own upline",
                )
                .into());
            }
            let row = app
                .store
                .promoter(ws, &upline.id)
                .await
                .map_err(|_| InvalidInput::new("upline_id", "the upline must be a promoter"))?;
            Some(row.member_id)
        }
        None => None,
    };
    let row = PromoterRow {
        member_id: member.id.clone(),
        upline_id: upline,
        status: "active".into(),
        joined_at: app.clock.now(),
    };
    let mut tx = app.store.begin().await?;
    tx.insert_promoter(ws, &row)
        .await
        .map_err(Error::on_conflict(
            "already_promoter",
            "this member is already a promoter",
        ))?;
    tx.commit().await?;
    Ok(row)
}

/// Binds a buyer who arrived through a promoter's link, by the workspace's policy.
/// Returns the promoter the buyer belongs to after the call.
pub async fn bind_buyer(
    app: &App,
    principal: &Principal,
    promoter_id: &str,
    buyer_id: &str,
) -> Result<String> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let settings = parse(app.store.distribution_settings(ws).await?);
    if !settings.enabled {
        return Err(Error::conflict(
            "distribution_disabled",
            "distribution is switched off in this workspace",
        ));
    }
    let buyer = members::unerased(app, principal, buyer_id).await?;
    let promoter = app
        .store
        .promoter(ws, promoter_id)
        .await
        .map_err(Error::not_found("promoter"))?;
    if promoter.status != "active" {
        return Err(Error::conflict(
            "promoter_suspended",
            "this promoter is suspended",
        ));
    }
    if promoter.member_id == buyer.id {
        return Err(Error::conflict(
            "self_binding",
            "a promoter earns nothing on their own purchases",
        ));
    }
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let mut tx = app.store.begin().await?;
        let current = retry_on_race!(tx.promoter_binding(ws, &buyer.id).await);
        let holds = |expires: Option<Timestamp>| expires.is_none_or(|at| now < at);
        let keep = match (&current, settings.binding) {
            (None, _) => false,
            (Some(_), BindingPolicy::LatestWins) => false,
            (Some((_, expires)), _) => holds(*expires),
        };
        if keep {
            return Ok(current.map(|(p, _)| p).unwrap_or_default());
        }
        let expires_at = match settings.binding {
            BindingPolicy::ExpiresAfterDays(days) => {
                Some(now.plus(Duration::from_secs(u64::from(days) * 86_400)))
            }
            _ => None,
        };
        retry_on_race!(
            tx.set_promoter_binding(ws, &buyer.id, &promoter.member_id, expires_at, now)
                .await
        );
        retry_on_race!(tx.commit().await);
        return Ok(promoter.member_id.clone());
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a binding kept losing races"
    )))
}

/// The order hook: commissions for a bound buyer's paid order, in its transaction.
pub(crate) async fn on_paid(
    tx: &mut Tx,
    ws: &WorkspaceId,
    order: &OrderRow,
    items: &[OrderItemRow],
    now: Timestamp,
) -> std::result::Result<(), StoreError> {
    let settings = parse(tx.distribution_settings_in(ws).await?);
    if !settings.enabled {
        return Ok(());
    }
    let Some((promoter_id, expires_at)) = tx.promoter_binding(ws, &order.member_id).await? else {
        return Ok(());
    };
    if expires_at.is_some_and(|at| order.paid_at >= at) {
        return Ok(());
    }
    let Some(promoter) = tx.promoter_in(ws, &promoter_id, false).await? else {
        return Ok(());
    };
    if promoter.status != "active" || promoter.member_id == order.member_id {
        return Ok(());
    }
    // Level 2 is the promoter's upline, if still an active promoter; there is no level 3.
    let upline = match &promoter.upline_id {
        Some(id) => tx
            .promoter_in(ws, id, false)
            .await?
            .filter(|u| u.status == "active" && u.member_id != order.member_id),
        None => None,
    };
    let lines: Vec<PaidLine> = items
        .iter()
        .map(|i| PaidLine {
            line: i.line,
            sku: i.sku.clone(),
            paid_fen: i.net_fen,
        })
        .collect();
    let settle_at = order.paid_at.max(now).plus(Duration::from_secs(
        u64::from(settings.freeze_days) * 86_400,
    ));
    let mut rows = Vec::new();
    for level in commissions(&lines, &settings.rates) {
        let earner = match level.level {
            1 => &promoter.member_id,
            2 => match &upline {
                Some(u) => &u.member_id,
                None => continue,
            },
            _ => continue,
        };
        for line in level.lines.iter().filter(|l| l.fen > 0) {
            rows.push(CommissionRow {
                order_id: order.id.clone(),
                level: i64::from(level.level),
                line: line.line,
                promoter_id: earner.clone(),
                paid_fen: line.paid_fen,
                rate_bp: line.rate_bp,
                amount_fen: line.fen,
                clawed_back_fen: 0,
                status: "pending".into(),
                settle_at,
                created_at: now,
            });
        }
    }
    tx.insert_commissions(ws, &rows).await
}

/// The refund hook: claws back, at both levels, what the refunded amounts earned.
/// `items` are the order's lines before this refund.
pub(crate) async fn on_refund(
    tx: &mut Tx,
    ws: &WorkspaceId,
    order: &OrderRow,
    items: &[OrderItemRow],
    plan: &RefundPlan,
) -> std::result::Result<(), StoreError> {
    let rows = tx.order_commissions(ws, &order.id).await?;
    for row in &rows {
        let refund: i64 = plan
            .lines
            .iter()
            .filter(|l| l.line == row.line)
            .map(|l| l.amount_fen)
            .sum();
        if refund <= 0 {
            continue;
        }
        let before = items
            .iter()
            .find(|i| i.line == row.line)
            .map_or(0, |i| i.refunded_fen);
        let fen = clawback_for_refund(row.paid_fen, before, refund, row.rate_bp);
        if fen > 0 {
            tx.claw_back_commission(ws, &order.id, row.level, row.line, fen)
                .await?;
        }
    }
    Ok(())
}

/// Settles commissions past their freeze period (the minute sweep).
pub async fn settle_due(app: &App, limit: i64) -> Result<u64> {
    let now = app.clock.now();
    let mut settled = 0;
    for (workspace, order) in app.store.due_commissions(now, limit).await? {
        let ws = WorkspaceId::from_trusted(workspace);
        let mut tx = app.store.begin().await?;
        settled += tx.settle_commissions(&ws, &order, now).await?;
        tx.commit().await?;
    }
    Ok(settled)
}

/// A promoter's dashboard: the row, money, commissions, withdrawals and reach.
pub struct Dashboard {
    pub promoter: PromoterRow,
    pub balance: PromoterBalance,
    pub commissions: Vec<CommissionRow>,
    pub withdrawals: Vec<WithdrawalRow>,
    pub buyers: i64,
    pub clicks: i64,
}

pub async fn dashboard(app: &App, principal: &Principal, member_id: &str) -> Result<Dashboard> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let member = members::find(app, principal, member_id).await?;
    let promoter = app
        .store
        .promoter(ws, &member.id)
        .await
        .map_err(Error::not_found("promoter"))?;
    // Clicks are `click` events whose `link_code` is the promoter's invite code.
    let code = app.store.invite_code_of(ws, &member.id).await?;
    let (buyers, clicks) = app
        .store
        .promoter_reach(ws, &member.id, code.as_deref())
        .await?;
    Ok(Dashboard {
        balance: app.store.promoter_balance(ws, &member.id).await?,
        commissions: app.store.commissions_of(ws, &member.id).await?,
        withdrawals: app.store.withdrawals_of(ws, &member.id).await?,
        promoter,
        buyers,
        clicks,
    })
}

/// Every promoter with their money, the most earned first, at most `limit` (the console's
/// list; one promoter's detail is [`dashboard`]).
pub async fn promoters(
    app: &App,
    principal: &Principal,
    limit: i64,
) -> Result<Vec<(PromoterRow, PromoterBalance)>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    Ok(app
        .store
        .promoters_with_balances(&principal.workspace_id, limit)
        .await?)
}

/// Withdrawals waiting for review or payment, oldest first, at most `limit`.
pub async fn open_withdrawals(
    app: &App,
    principal: &Principal,
    limit: i64,
) -> Result<Vec<WithdrawalRow>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    Ok(app
        .store
        .open_withdrawals(&principal.workspace_id, limit)
        .await?)
}

/// A promoter asks to withdraw settled commission (at least the workspace's minimum, at
/// most what is available), under their row lock.
pub async fn request_withdrawal(
    app: &App,
    principal: &Principal,
    member_id: &str,
    amount_fen: i64,
) -> Result<WithdrawalRow> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let ws = &principal.workspace_id;
    let settings = parse(app.store.distribution_settings(ws).await?);
    if amount_fen < settings.min_withdrawal_fen {
        return Err(InvalidInput::new(
            "amount_fen",
            format!("must be at least {} fen", settings.min_withdrawal_fen),
        )
        .into());
    }
    let member = members::find(app, principal, member_id).await?;
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let mut tx = app.store.begin().await?;
        if retry_on_race!(tx.promoter_in(ws, &member.id, true).await).is_none() {
            return Err(Error::NotFound { what: "promoter" });
        }
        let balance = retry_on_race!(tx.promoter_balance_in(ws, &member.id).await);
        if amount_fen > balance.available_fen() {
            return Err(Error::conflict(
                "insufficient_commission",
                format!(
                    "only {} fen of settled commission is available",
                    balance.available_fen()
                ),
            ));
        }
        let row = WithdrawalRow {
            id: format!("wdr_{}", new_id_body(now)),
            promoter_id: member.id.clone(),
            amount_fen,
            status: "requested".into(),
            note: None,
            requested_at: now,
            reviewed_at: None,
        };
        retry_on_race!(tx.insert_withdrawal(ws, &row).await);
        retry_on_race!(tx.commit().await);
        return Ok(row);
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a withdrawal kept losing races"
    )))
}

/// An operator reviews a withdrawal: `approve` (requested → approved), `reject`
/// (requested → rejected: the amount is available again) or `pay` (approved → paid).
pub async fn review_withdrawal(
    app: &App,
    principal: &Principal,
    id: &str,
    action: &str,
    note: Option<&str>,
) -> Result<WithdrawalRow> {
    principal.require_console(Role::Admin, Scope::Admin)?;
    let (from, to) = match action {
        "approve" => ("requested", "approved"),
        "reject" => ("requested", "rejected"),
        "pay" => ("approved", "paid"),
        other => {
            return Err(InvalidInput::new(
                "action",
                format!("`{other}` is not an action: use approve, reject or pay"),
            )
            .into())
        }
    };
    let ws = &principal.workspace_id;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let Some(row) = tx.move_withdrawal(ws, id, from, to, note, now).await? else {
        drop(tx);
        let current = app
            .store
            .withdrawal(ws, id)
            .await
            .map_err(Error::not_found("withdrawal"))?;
        return Err(Error::conflict(
            "withdrawal_state",
            format!(
                "this withdrawal is {}; {action} needs it {from}",
                current.status
            ),
        ));
    };
    tx.audit(&NewAuditEntry {
        workspace_id: ws.clone(),
        actor: principal.actor_ref(),
        action: "distribution.withdrawal",
        target: id.to_owned(),
        details: audit_details(&[
            ("action", action),
            ("amount_fen", &row.amount_fen.to_string()),
        ]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(row)
}
