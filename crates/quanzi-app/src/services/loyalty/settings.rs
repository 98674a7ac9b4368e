//! A workspace's loyalty programme: how refunds of spent points are handled, when members
//! are told points expire, the check-in ladder and points per yuan on orders.
//!
//! Stored as JSON (absent = the defaults) and checked into domain types on every write,
//! so a stored document always parses. The JSON shape is the API's.

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::loyalty::checkin::{CheckinCycle, CheckinPolicy, MakeupPolicy, Rung};
use quanzi_domain::loyalty::earning::{
    Caps, EarningRule, ExpiryPolicy, Trigger, DEFAULT_ORDER_PENDING_DAYS,
};
use quanzi_domain::loyalty::ledger::Shortfall;
use quanzi_domain::loyalty::tiers::{DowngradePolicy, GrowthBasis, Tier, TierBenefits, TierLadder};
use quanzi_domain::time::Timestamp;
use quanzi_store::NewAuditEntry;
use serde::{Deserialize, Serialize};

use crate::principal::Principal;
use crate::services::audit_details;
use crate::{App, Error, Result};

/// The settings in domain types.
#[derive(Debug, Clone, PartialEq)]
pub struct LoyaltySettings {
    pub shortfall: Shortfall,
    /// What 100 points are worth to the brand, in fen (for the liability report).
    pub fen_per_100_points: i64,
    pub expiry_notice_days: u32,
    /// `None` when check-in is switched off.
    pub checkin: Option<CheckinPolicy>,
    pub checkin_expiry: ExpiryPolicy,
    /// `None` when orders earn no points.
    pub orders: Option<OrderPoints>,
    /// `None` when the workspace has no tiers.
    pub tiers: Option<TierProgram>,
    /// Rules that pay for events (share, review with photo, referral, custom events).
    pub rules: Vec<EarningRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TierProgram {
    pub ladder: TierLadder,
    pub basis: GrowthBasis,
    pub downgrade: DowngradePolicy,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderPoints {
    pub points_per_yuan: i64,
    pub first_order_bonus: i64,
    pub excluded_skus: Vec<String>,
    pub excluded_categories: Vec<String>,
    /// Days the points stay pending after payment: the return window.
    pub pending_days: u32,
    pub expiry: ExpiryPolicy,
}

/// What points granted with an order use where orders themselves earn none: the default
/// return window and no expiry.
pub fn default_order_points() -> OrderPoints {
    OrderPoints {
        points_per_yuan: 0,
        first_order_bonus: 0,
        excluded_skus: Vec::new(),
        excluded_categories: Vec::new(),
        pending_days: DEFAULT_ORDER_PENDING_DAYS,
        expiry: ExpiryPolicy::Never,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SettingsDoc {
    /// `negative_carry` or `clawback_future`.
    pub shortfall: String,
    /// What 100 points are worth in fen (default 100: 100 points = ¥1), so the liability
    /// report can say what the points cost in money.
    pub fen_per_100_points: i64,
    pub expiry_notice_days: u32,
    pub checkin: CheckinDoc,
    pub orders: OrderPointsDoc,
    pub tiers: TiersDoc,
    pub rules: Vec<RuleDoc>,
}

/// A rule that pays points for an event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    /// Lowercase letters, digits, `_`, `-`; the points come from `source:rule.<code>`.
    pub code: String,
    /// `share` (a `share` event), `review_with_photo` (a `review` event whose properties
    /// say `has_photo: true` or list `photos`), `referral` (a `referral` event; its points
    /// stay pending for `pending_days`), or `custom_event` (any `event_type`).
    pub trigger: String,
    #[serde(default)]
    pub event_type: Option<String>,
    pub points: i64,
    #[serde(default)]
    pub per_day: Option<i64>,
    #[serde(default)]
    pub per_week: Option<i64>,
    #[serde(default)]
    pub per_month: Option<i64>,
    /// RFC 3339; the rule pays from then on.
    #[serde(default)]
    pub active_from: Option<String>,
    /// RFC 3339; the rule stops paying then.
    #[serde(default)]
    pub active_until: Option<String>,
    #[serde(default = "default_rule_expiry")]
    pub expiry: String,
    #[serde(default)]
    pub pending_days: Option<u32>,
}

fn default_rule_expiry() -> String {
    "days:365".into()
}

impl RuleDoc {
    fn checked(&self, i: usize) -> Result<EarningRule, InvalidInput> {
        let at = |name: &str| format!("rules[{i}].{name}");
        let code_ok = (1..=40).contains(&self.code.len())
            && self
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b));
        if !code_ok {
            return Err(InvalidInput::new(
                at("code"),
                "use 1–40 lowercase letters, digits, '_' or '-'",
            ));
        }
        let points = self.points;
        let trigger = match self.trigger.as_str() {
            "share" => Trigger::Share { points },
            "review_with_photo" => Trigger::ReviewWithPhoto { points },
            "referral" => Trigger::Referral { points },
            "custom_event" => Trigger::CustomEvent {
                event_type: self.event_type.clone().ok_or_else(|| {
                    InvalidInput::new(at("event_type"), "is required for custom_event")
                })?,
                points,
            },
            _ => {
                return Err(InvalidInput::new(
                    at("trigger"),
                    "use share, review_with_photo, referral or custom_event",
                ))
            }
        };
        let time = |raw: &Option<String>, name: &str| -> Result<Option<Timestamp>, InvalidInput> {
            raw.as_deref()
                .map(|r| {
                    Timestamp::parse_rfc3339(r)
                        .ok_or_else(|| InvalidInput::new(at(name), "must be an RFC 3339 time"))
                })
                .transpose()
        };
        let mut rule = EarningRule::new(self.code.clone(), trigger);
        rule.caps = Caps {
            per_day: self.per_day,
            per_week: self.per_week,
            per_month: self.per_month,
        };
        rule.active_from = time(&self.active_from, "active_from")?;
        rule.active_until = time(&self.active_until, "active_until")?;
        rule.expiry = expiry(&at("expiry"), &self.expiry)?;
        if let Some(days) = self.pending_days {
            rule.pending_days = days;
        }
        rule.validate().map_err(|e| {
            let field = at(e.field());
            e.for_field(field)
        })?;
        Ok(rule)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TiersDoc {
    pub enabled: bool,
    /// `spend` (growth per yuan paid, less refunds) or `points_earned`.
    pub basis: String,
    pub growth_per_yuan: i64,
    /// Re-evaluate every N days on the last N days' growth (downgrades possible); absent
    /// for tiers that never go down.
    pub review_every_days: Option<u32>,
    pub ladder: Vec<TierDoc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierDoc {
    pub code: String,
    pub name: String,
    pub threshold: i64,
    /// Basis points off (200 = 2 % off, 98折).
    #[serde(default)]
    pub discount_bp: u32,
    #[serde(default = "hundred")]
    pub points_multiplier_percent: u32,
    #[serde(default)]
    pub free_shipping: bool,
    #[serde(default)]
    pub dedicated_service: bool,
    #[serde(default)]
    pub birthday_gift_points: i64,
}

fn hundred() -> u32 {
    100
}

impl Default for TiersDoc {
    fn default() -> Self {
        Self {
            enabled: true,
            basis: "spend".into(),
            growth_per_yuan: 1,
            review_every_days: None,
            ladder: TierLadder::default()
                .tiers()
                .iter()
                .map(|t| TierDoc {
                    code: t.code.clone(),
                    name: t.name.clone(),
                    threshold: t.threshold,
                    discount_bp: t.benefits.discount_bp,
                    points_multiplier_percent: t.benefits.points_multiplier_percent,
                    free_shipping: t.benefits.free_shipping,
                    dedicated_service: t.benefits.dedicated_service,
                    birthday_gift_points: t.benefits.birthday_gift_points,
                })
                .collect(),
        }
    }
}

impl TiersDoc {
    fn checked(&self) -> Result<Option<TierProgram>, InvalidInput> {
        let basis = match self.basis.as_str() {
            "spend" => GrowthBasis::SpendFen {
                growth_per_yuan: self.growth_per_yuan,
            },
            "points_earned" => GrowthBasis::PointsEarned,
            _ => {
                return Err(InvalidInput::new(
                    "tiers.basis",
                    "use `spend` or `points_earned`",
                ))
            }
        };
        basis.validate().map_err(|e| prefixed("tiers", e))?;
        let downgrade = match self.review_every_days {
            None => DowngradePolicy::Never,
            Some(every_days) => DowngradePolicy::Reevaluate { every_days },
        };
        downgrade
            .validate()
            .map_err(|e| InvalidInput::new("tiers.review_every_days", e.message()))?;
        let ladder = TierLadder::new(
            self.ladder
                .iter()
                .map(|t| Tier {
                    code: t.code.clone(),
                    name: t.name.clone(),
                    threshold: t.threshold,
                    benefits: TierBenefits {
                        discount_bp: t.discount_bp,
                        points_multiplier_percent: t.points_multiplier_percent,
                        free_shipping: t.free_shipping,
                        dedicated_service: t.dedicated_service,
                        birthday_gift_points: t.birthday_gift_points,
                    },
                })
                .collect(),
        )
        .map_err(|e| {
            InvalidInput::new(
                format!("tiers.ladder{}", field_suffix(e.field())),
                e.message(),
            )
        })?;
        Ok(self.enabled.then_some(TierProgram {
            ladder,
            basis,
            downgrade,
        }))
    }
}

/// The ladder's own error names its field relative to the ladder (`tiers[2].threshold`);
/// the settings document calls it `tiers.ladder[2].threshold`.
fn field_suffix(field: &str) -> String {
    field
        .strip_prefix("tiers")
        .map(str::to_owned)
        .unwrap_or_else(|| format!(".{field}"))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckinDoc {
    pub enabled: bool,
    pub base_points: i64,
    pub consecutive: Vec<RungDoc>,
    pub repeat_ladder: bool,
    pub cumulative: Vec<RungDoc>,
    /// `none`, `weekly` or `monthly`.
    pub cycle: String,
    pub makeup: Option<MakeupDoc>,
    /// `never`, `days:N`, `end_of_month` or `end_of_year`.
    pub expiry: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RungDoc {
    pub at: u32,
    pub points: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MakeupDoc {
    pub cost_points: i64,
    pub max_days_back: u32,
    pub max_per_cycle: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrderPointsDoc {
    pub enabled: bool,
    pub points_per_yuan: i64,
    pub first_order_bonus: i64,
    pub excluded_skus: Vec<String>,
    pub excluded_categories: Vec<String>,
    pub pending_days: u32,
    pub expiry: String,
}

impl Default for SettingsDoc {
    fn default() -> Self {
        Self {
            shortfall: Shortfall::default().as_str().to_owned(),
            fen_per_100_points: 100,
            expiry_notice_days: 7,
            checkin: CheckinDoc::default(),
            orders: OrderPointsDoc::default(),
            tiers: TiersDoc::default(),
            rules: Vec::new(),
        }
    }
}

impl Default for CheckinDoc {
    fn default() -> Self {
        let policy = CheckinPolicy::default();
        let rungs = |r: &[Rung]| {
            r.iter()
                .map(|r| RungDoc {
                    at: r.at,
                    points: r.points,
                })
                .collect()
        };
        Self {
            enabled: true,
            base_points: policy.base_points,
            consecutive: rungs(&policy.consecutive),
            repeat_ladder: policy.repeat_ladder,
            cumulative: rungs(&policy.cumulative),
            cycle: policy.cycle.as_str().to_owned(),
            makeup: policy.makeup.map(|m| MakeupDoc {
                cost_points: m.cost_points,
                max_days_back: m.max_days_back,
                max_per_cycle: m.max_per_cycle,
            }),
            expiry: "days:365".to_owned(),
        }
    }
}

impl Default for OrderPointsDoc {
    fn default() -> Self {
        Self {
            enabled: true,
            points_per_yuan: 1,
            first_order_bonus: 0,
            excluded_skus: Vec::new(),
            excluded_categories: Vec::new(),
            pending_days: DEFAULT_ORDER_PENDING_DAYS,
            expiry: "days:365".to_owned(),
        }
    }
}

impl SettingsDoc {
    /// Checks every field into domain types; errors name the field's path.
    pub fn checked(&self) -> Result<LoyaltySettings, InvalidInput> {
        let shortfall = Shortfall::parse(&self.shortfall).ok_or_else(|| {
            InvalidInput::new("shortfall", "use `negative_carry` or `clawback_future`")
        })?;
        if !(0..=1_000_000).contains(&self.fen_per_100_points) {
            return Err(InvalidInput::new(
                "fen_per_100_points",
                "must be 0 to 1000000",
            ));
        }
        if !(1..=90).contains(&self.expiry_notice_days) {
            return Err(InvalidInput::new("expiry_notice_days", "must be 1 to 90"));
        }
        let c = &self.checkin;
        let cycle = match c.cycle.as_str() {
            "none" => CheckinCycle::None,
            "weekly" => CheckinCycle::Weekly,
            "monthly" => CheckinCycle::Monthly,
            _ => {
                return Err(InvalidInput::new(
                    "checkin.cycle",
                    "use `none`, `weekly` or `monthly`",
                ))
            }
        };
        let rungs = |r: &[RungDoc]| {
            r.iter()
                .map(|r| Rung {
                    at: r.at,
                    points: r.points,
                })
                .collect()
        };
        let policy = CheckinPolicy {
            base_points: c.base_points,
            consecutive: rungs(&c.consecutive),
            repeat_ladder: c.repeat_ladder,
            cumulative: rungs(&c.cumulative),
            cycle,
            makeup: c.makeup.as_ref().map(|m| MakeupPolicy {
                cost_points: m.cost_points,
                max_days_back: m.max_days_back,
                max_per_cycle: m.max_per_cycle,
            }),
        };
        policy.validate().map_err(|e| prefixed("checkin", e))?;
        let checkin_expiry = expiry("checkin.expiry", &c.expiry)?;
        let o = &self.orders;
        if !(0..=1000).contains(&o.points_per_yuan) {
            return Err(InvalidInput::new(
                "orders.points_per_yuan",
                "must be 0 to 1000",
            ));
        }
        if !(0..=1_000_000).contains(&o.first_order_bonus) {
            return Err(InvalidInput::new(
                "orders.first_order_bonus",
                "must be 0 to 1000000",
            ));
        }
        if o.pending_days > 90 {
            return Err(InvalidInput::new("orders.pending_days", "must be 0 to 90"));
        }
        for (field, list) in [
            ("orders.excluded_skus", &o.excluded_skus),
            ("orders.excluded_categories", &o.excluded_categories),
        ] {
            if list.len() > 1000 || list.iter().any(|s| s.is_empty() || s.len() > 128) {
                return Err(InvalidInput::new(
                    field,
                    "at most 1000 entries of 1 to 128 characters",
                ));
            }
        }
        let order_expiry = expiry("orders.expiry", &o.expiry)?;
        let tiers = self.tiers.checked()?;
        if self.rules.len() > 50 {
            return Err(InvalidInput::new("rules", "at most 50 rules"));
        }
        let rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| r.checked(i))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, rule) in rules.iter().enumerate() {
            if rules[..i].iter().any(|r| r.code == rule.code) {
                return Err(InvalidInput::new(
                    format!("rules[{i}].code"),
                    "is used by another rule",
                ));
            }
        }
        Ok(LoyaltySettings {
            shortfall,
            fen_per_100_points: self.fen_per_100_points,
            expiry_notice_days: self.expiry_notice_days,
            checkin: c.enabled.then_some(policy),
            checkin_expiry,
            orders: o.enabled.then(|| OrderPoints {
                points_per_yuan: o.points_per_yuan,
                first_order_bonus: o.first_order_bonus,
                excluded_skus: o.excluded_skus.clone(),
                excluded_categories: o.excluded_categories.clone(),
                pending_days: o.pending_days,
                expiry: order_expiry,
            }),
            tiers,
            rules,
        })
    }
}

fn expiry(field: &str, raw: &str) -> Result<ExpiryPolicy, InvalidInput> {
    let policy = ExpiryPolicy::parse(raw).map_err(|e| InvalidInput::new(field, e.message()))?;
    policy
        .validate()
        .map_err(|e| InvalidInput::new(field, e.message()))?;
    Ok(policy)
}

fn prefixed(prefix: &str, err: InvalidInput) -> InvalidInput {
    let field = format!("{prefix}.{}", err.field());
    err.for_field(field)
}

/// The stored document, or the defaults.
pub(crate) async fn load_doc(app: &App, workspace: &WorkspaceId) -> Result<SettingsDoc> {
    match app.store.loyalty_settings(workspace).await? {
        None => Ok(SettingsDoc::default()),
        Some(raw) => serde_json::from_str(&raw).map_err(|e| {
            Error::Internal(anyhow::anyhow!("stored loyalty settings do not parse: {e}"))
        }),
    }
}

pub(crate) async fn load(app: &App, workspace: &WorkspaceId) -> Result<LoyaltySettings> {
    Ok(load_doc(app, workspace).await?.checked()?)
}

pub async fn get(app: &App, principal: &Principal) -> Result<SettingsDoc> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    load_doc(app, &principal.workspace_id).await
}

/// Replaces the settings with `body` (fields left out take their defaults).
pub async fn put(app: &App, principal: &Principal, body: &str) -> Result<SettingsDoc> {
    principal.require_console(Role::Admin, Scope::Admin)?;
    let mut de = serde_json::Deserializer::from_str(body);
    let doc: SettingsDoc = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        InvalidInput::new(
            if path == "." { "body".into() } else { path },
            e.into_inner().to_string(),
        )
    })?;
    doc.checked()?;
    let now = app.clock.now();
    let stored = serde_json::to_string(&doc).map_err(anyhow::Error::from)?;
    let mut tx = app.store.begin().await?;
    tx.put_loyalty_settings(&principal.workspace_id, &stored, now)
        .await?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "loyalty.settings",
        target: principal.workspace_id.to_string(),
        details: audit_details(&[("settings", &stored)]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(doc)
}
