//! Coupon templates, claims and grants, members' coupons, revocation and the coupon
//! liability report.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::promotions::{coupons, liability};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::promotions::coupons::{
    Audience, Channel, CouponKind, CouponRules, ProductScope, RefundPolicy, Stacking, UseWindow,
};
use quanzi_store::CouponRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{optional_time, with_idempotency};
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

/// Which products an offer covers. Default: everything.
#[derive(Deserialize, Serialize, ToSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ScopeBody {
    #[serde(default)]
    pub all: bool,
    #[serde(default)]
    pub skus: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub excluded_skus: Vec<String>,
    #[serde(default)]
    pub excluded_categories: Vec<String>,
}

impl ScopeBody {
    pub(crate) fn into_domain(body: Option<ScopeBody>) -> ProductScope {
        match body {
            None => ProductScope::everything(),
            Some(b) => ProductScope {
                all: b.all,
                skus: b.skus.into_iter().collect(),
                categories: b.categories.into_iter().collect(),
                excluded_skus: b.excluded_skus.into_iter().collect(),
                excluded_categories: b.excluded_categories.into_iter().collect(),
            },
        }
    }

    pub(crate) fn from_domain(s: &ProductScope) -> Self {
        ScopeBody {
            all: s.all,
            skus: s.skus.iter().cloned().collect(),
            categories: s.categories.iter().cloned().collect(),
            excluded_skus: s.excluded_skus.iter().cloned().collect(),
            excluded_categories: s.excluded_categories.iter().cloned().collect(),
        }
    }
}

/// What an offer may be combined with: `{"exclusive": true}` (the default for coupons),
/// or a group and the groups it stacks with, e.g. `{"group": "coupon", "stacks_with":
/// ["threshold", "tier"]}`. Two offers combine only when each lists the other's group.
#[derive(Deserialize, Serialize, ToSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct StackingBody {
    #[serde(default)]
    pub exclusive: bool,
    pub group: Option<String>,
    #[serde(default)]
    pub stacks_with: Vec<String>,
}

impl StackingBody {
    pub(crate) fn into_domain(
        body: Option<StackingBody>,
        field: &str,
    ) -> Result<Stacking, InvalidInput> {
        match body {
            None => Ok(Stacking::Exclusive),
            Some(b) if b.exclusive => {
                if b.group.is_some() || !b.stacks_with.is_empty() {
                    return Err(InvalidInput::new(
                        field,
                        "an exclusive offer has no group or stacks_with",
                    ));
                }
                Ok(Stacking::Exclusive)
            }
            Some(b) => match b.group {
                None => Err(InvalidInput::new(
                    format!("{field}.group"),
                    "name a group, or set exclusive",
                )),
                Some(group) => Ok(Stacking::Group {
                    group,
                    stacks_with: b.stacks_with.into_iter().collect(),
                }),
            },
        }
    }

    pub(crate) fn from_domain(s: &Stacking) -> Self {
        match s {
            Stacking::Exclusive => StackingBody {
                exclusive: true,
                group: None,
                stacks_with: Vec::new(),
            },
            Stacking::Group { group, stacks_with } => StackingBody {
                exclusive: false,
                group: Some(group.clone()),
                stacks_with: stacks_with.iter().cloned().collect(),
            },
        }
    }
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AudienceBody {
    /// Only members of this segment (as last materialised).
    pub segment_id: Option<String>,
    /// Only members holding one of these tiers.
    #[serde(default)]
    pub tiers: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplateRequest {
    pub name: String,
    /// `amount_off` (满减), `no_threshold` (无门槛), `percent_off` (折扣), `free_shipping`
    /// (包邮) or `gift` (兑换/赠品).
    pub kind: String,
    /// Covered items must reach this before the coupon applies (fen; default 0).
    #[serde(default)]
    pub threshold_fen: i64,
    /// For `amount_off` and `no_threshold`.
    pub amount_fen: Option<i64>,
    /// For `percent_off`: 1–99 (10 = 10 % off, 九折).
    pub percent_off: Option<u32>,
    /// For `percent_off`: the most it takes off.
    pub cap_fen: Option<i64>,
    /// For `gift`: the SKU one unit of which becomes free.
    pub gift_sku: Option<String>,
    pub claim_starts_at: Option<String>,
    pub claim_ends_at: Option<String>,
    /// A fixed use window (`use_from` and `use_until`), or `use_days` after the claim.
    pub use_from: Option<String>,
    pub use_until: Option<String>,
    pub use_days: Option<i64>,
    /// Absent: unlimited.
    pub total_quantity: Option<i64>,
    /// Absent: unlimited.
    pub per_member_claim_limit: Option<i64>,
    /// Absent: unlimited.
    pub per_member_use_limit: Option<i64>,
    /// How members get it: `claim`, `grant`, `registration`, `journey` (default `claim`).
    pub channels: Option<Vec<String>>,
    pub scope: Option<ScopeBody>,
    pub audience: Option<AudienceBody>,
    /// Ceiling on the total discount this template gives; claims stop when what is left
    /// cannot pay for one more coupon.
    pub budget_fen: Option<i64>,
    pub stacking: Option<StackingBody>,
    /// `return` (default: a full refund gives the coupon back while it is still valid)
    /// or `keep`.
    pub refund_policy: Option<String>,
}

impl CreateTemplateRequest {
    fn into_rules(self) -> Result<(String, CouponRules), InvalidInput> {
        let amount = |field: &str, v: Option<i64>| {
            v.ok_or_else(|| {
                InvalidInput::new(field, format!("is required for a {} coupon", self.kind))
            })
        };
        let kind = match self.kind.as_str() {
            "amount_off" | "no_threshold" => CouponKind::AmountOff {
                threshold_fen: if self.kind == "no_threshold" {
                    0
                } else {
                    self.threshold_fen
                },
                amount_fen: amount("amount_fen", self.amount_fen)?,
            },
            "percent_off" => CouponKind::PercentOff {
                threshold_fen: self.threshold_fen,
                percent_off: self
                    .percent_off
                    .ok_or_else(|| InvalidInput::new("percent_off", "is required for a percent_off coupon"))?,
                cap_fen: self.cap_fen,
            },
            "free_shipping" => CouponKind::FreeShipping {
                threshold_fen: self.threshold_fen,
            },
            "gift" => CouponKind::Gift {
                sku: self
                    .gift_sku
                    .clone()
                    .ok_or_else(|| InvalidInput::new("gift_sku", "is required for a gift coupon"))?,
            },
            other => {
                return Err(InvalidInput::new(
                    "kind",
                    format!("`{other}` is not a coupon kind: use amount_off, no_threshold, percent_off, free_shipping or gift"),
                ))
            }
        };
        let use_window = match (
            optional_time("use_from", self.use_from.as_deref())?,
            optional_time("use_until", self.use_until.as_deref())?,
            self.use_days,
        ) {
            (Some(from), Some(until), None) => UseWindow::Fixed { from, until },
            (None, None, Some(days)) => UseWindow::DaysAfterClaim(days),
            _ => {
                return Err(InvalidInput::new(
                    "use_days",
                    "give either use_from and use_until, or use_days",
                ))
            }
        };
        let channels = match &self.channels {
            None => [Channel::Claim].into(),
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, c)| Channel::parse(&format!("channels[{i}]"), c))
                .collect::<Result<BTreeSet<_>, _>>()?,
        };
        let audience = self.audience.unwrap_or_default();
        let refund_policy = match self.refund_policy.as_deref() {
            None | Some("return") => RefundPolicy::Return,
            Some("keep") => RefundPolicy::Keep,
            Some(other) => {
                return Err(InvalidInput::new(
                    "refund_policy",
                    format!("`{other}` is not a policy: use return or keep"),
                ))
            }
        };
        Ok((
            self.name,
            CouponRules {
                kind,
                claim_starts_at: optional_time("claim_starts_at", self.claim_starts_at.as_deref())?,
                claim_ends_at: optional_time("claim_ends_at", self.claim_ends_at.as_deref())?,
                use_window,
                total_quantity: self.total_quantity,
                per_member_claim_limit: self.per_member_claim_limit,
                per_member_use_limit: self.per_member_use_limit,
                channels,
                scope: ScopeBody::into_domain(self.scope),
                audience: Audience {
                    segment_id: audience.segment_id,
                    tiers: audience.tiers.into_iter().collect(),
                },
                budget_fen: self.budget_fen,
                stacking: StackingBody::into_domain(self.stacking, "stacking")?,
                refund_policy,
            },
        ))
    }
}

#[derive(Serialize, ToSchema)]
pub struct TemplateResponse {
    /// `cpt_…`
    pub id: String,
    pub name: String,
    pub kind: String,
    pub threshold_fen: i64,
    pub amount_fen: Option<i64>,
    pub percent_off: Option<u32>,
    pub cap_fen: Option<i64>,
    pub gift_sku: Option<String>,
    /// `active` or `paused`.
    pub status: String,
    pub claim_starts_at: Option<String>,
    pub claim_ends_at: Option<String>,
    pub use_from: Option<String>,
    pub use_until: Option<String>,
    pub use_days: Option<i64>,
    pub total_quantity: Option<i64>,
    pub issued: i64,
    pub per_member_claim_limit: Option<i64>,
    pub per_member_use_limit: Option<i64>,
    pub channels: Vec<String>,
    pub scope: ScopeBody,
    pub audience: AudienceBody,
    pub budget_fen: Option<i64>,
    /// Discount held by locked coupons plus given by used ones.
    pub booked_fen: i64,
    /// True when the budget left cannot pay for one more coupon (claims stop).
    pub budget_exhausted: bool,
    pub stacking: StackingBody,
    pub refund_policy: String,
    pub created_at: String,
}

fn template(t: coupons::Template) -> TemplateResponse {
    let (threshold_fen, amount_fen, percent_off, cap_fen, gift_sku) = match &t.rules.kind {
        CouponKind::AmountOff {
            threshold_fen,
            amount_fen,
        } => (*threshold_fen, Some(*amount_fen), None, None, None),
        CouponKind::PercentOff {
            threshold_fen,
            percent_off,
            cap_fen,
        } => (*threshold_fen, None, Some(*percent_off), *cap_fen, None),
        CouponKind::FreeShipping { threshold_fen } => (*threshold_fen, None, None, None, None),
        CouponKind::Gift { sku } => (0, None, None, None, Some(sku.clone())),
    };
    let (use_from, use_until, use_days) = match t.rules.use_window {
        UseWindow::Fixed { from, until } => {
            (Some(from.to_rfc3339()), Some(until.to_rfc3339()), None)
        }
        UseWindow::DaysAfterClaim(days) => (None, None, Some(days)),
    };
    TemplateResponse {
        budget_exhausted: t.row.budget_exhausted(),
        id: t.row.id,
        name: t.row.name,
        kind: t.rules.kind.as_str().to_owned(),
        threshold_fen,
        amount_fen,
        percent_off,
        cap_fen,
        gift_sku,
        status: t.row.status,
        claim_starts_at: t.rules.claim_starts_at.map(|x| x.to_rfc3339()),
        claim_ends_at: t.rules.claim_ends_at.map(|x| x.to_rfc3339()),
        use_from,
        use_until,
        use_days,
        total_quantity: t.row.total_quantity,
        issued: t.row.issued,
        per_member_claim_limit: t.row.per_member_claim_limit,
        per_member_use_limit: t.row.per_member_use_limit,
        channels: t
            .rules
            .channels
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        scope: ScopeBody::from_domain(&t.rules.scope),
        audience: AudienceBody {
            segment_id: t.rules.audience.segment_id.clone(),
            tiers: t.rules.audience.tiers.iter().cloned().collect(),
        },
        budget_fen: t.row.budget_fen,
        booked_fen: t.row.booked_fen,
        stacking: StackingBody::from_domain(&t.rules.stacking),
        refund_policy: match t.rules.refund_policy {
            RefundPolicy::Return => "return",
            RefundPolicy::Keep => "keep",
        }
        .to_owned(),
        created_at: t.row.created_at.to_rfc3339(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct TemplateList {
    pub items: Vec<TemplateResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct CouponResponse {
    /// `cpn_…`
    pub id: String,
    pub template_id: String,
    pub member_id: String,
    /// `available`, `locked`, `used`, `expired` or `revoked`.
    pub status: String,
    /// `claim`, `grant`, `registration` or `journey`.
    pub source: String,
    pub claimed_at: String,
    pub valid_from: String,
    pub valid_until: String,
    /// The order (the storefront's order number) that locked or used it.
    pub order_id: Option<String>,
    pub locked_until: Option<String>,
    /// The discount it gives that order.
    pub discount_fen: i64,
    pub used_at: Option<String>,
    pub returned_at: Option<String>,
    /// The paid order (`ord_…`) whose promotion or referral reward granted it; a full
    /// refund of that order revokes it while unused.
    pub granted_by_order: Option<String>,
}

pub(crate) fn coupon(row: CouponRow) -> CouponResponse {
    CouponResponse {
        id: row.id,
        template_id: row.template_id,
        member_id: row.member_id,
        status: row.status,
        source: row.source,
        claimed_at: row.claimed_at.to_rfc3339(),
        valid_from: row.valid_from.to_rfc3339(),
        valid_until: row.valid_until.to_rfc3339(),
        order_id: row.order_id,
        locked_until: row.locked_until.map(|t| t.to_rfc3339()),
        discount_fen: row.discount_fen,
        used_at: row.used_at.map(|t| t.to_rfc3339()),
        returned_at: row.returned_at.map(|t| t.to_rfc3339()),
        granted_by_order: row.granted_by_order,
    }
}

#[derive(Serialize, ToSchema)]
pub struct CouponList {
    pub items: Vec<CouponResponse>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    pub member_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub member_id: String,
    /// `grant` (default), `registration` or `journey`.
    pub channel: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CouponQuery {
    /// Only coupons in this state.
    pub status: Option<String>,
}

/// Creates a coupon template (operator role).
#[utoipa::path(post, path = "/api/v1/coupon-templates", tag = "promotions", request_body = CreateTemplateRequest,
    responses((status = 201, body = TemplateResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create_template(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateTemplateRequest>,
) -> ApiResult<(StatusCode, Json<TemplateResponse>)> {
    let (name, rules) = body.into_rules()?;
    let created = coupons::create_template(&state.app, &caller, &name, rules).await?;
    Ok((StatusCode::CREATED, Json(template(created))))
}

#[utoipa::path(get, path = "/api/v1/coupon-templates", tag = "promotions",
    responses((status = 200, body = TemplateList)), security(("bearer" = []), ("session" = [])))]
pub async fn list_templates(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<TemplateList>> {
    let items = coupons::templates(&state.app, &caller).await?;
    Ok(Json(TemplateList {
        items: items.into_iter().map(template).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/coupon-templates/{id}", tag = "promotions", params(("id" = String, Path, description = "cpt_…")),
    responses((status = 200, body = TemplateResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_template(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TemplateResponse>> {
    Ok(Json(template(
        coupons::template(&state.app, &caller, &id).await?,
    )))
}

/// Pauses a template: it issues nothing until resumed; claimed coupons stay usable.
#[utoipa::path(post, path = "/api/v1/coupon-templates/{id}/pause", tag = "promotions", params(("id" = String, Path, description = "cpt_…")),
    responses((status = 200, body = TemplateResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn pause_template(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TemplateResponse>> {
    Ok(Json(template(
        coupons::set_active(&state.app, &caller, &id, false).await?,
    )))
}

#[utoipa::path(post, path = "/api/v1/coupon-templates/{id}/resume", tag = "promotions", params(("id" = String, Path, description = "cpt_…")),
    responses((status = 200, body = TemplateResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn resume_template(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TemplateResponse>> {
    Ok(Json(template(
        coupons::set_active(&state.app, &caller, &id, true).await?,
    )))
}

/// A member claims a coupon (领券). 409 `coupon_sold_out`, `coupon_claim_limit_reached`,
/// `coupon_budget_exhausted`, `coupon_paused`, `coupon_claim_not_started`,
/// `coupon_claim_ended`, `coupon_not_in_audience` or `coupon_channel_not_allowed` change
/// nothing.
#[utoipa::path(post, path = "/api/v1/coupon-templates/{id}/claims", tag = "promotions", request_body = ClaimRequest,
    params(("id" = String, Path, description = "cpt_…")),
    responses((status = 201, body = CouponResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn claim(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ClaimRequest>,
) -> ApiResult<(StatusCode, Json<CouponResponse>)> {
    let row = coupons::claim(&state.app, &caller, &id, &body.member_id, Channel::Claim).await?;
    Ok((StatusCode::CREATED, Json(coupon(row))))
}

/// An operator (or a journey, or registration) gives a member a coupon; the same limits
/// apply as to claims.
#[utoipa::path(post, path = "/api/v1/coupon-templates/{id}/grants", tag = "promotions", request_body = GrantRequest,
    params(("id" = String, Path, description = "cpt_…")),
    responses((status = 201, body = CouponResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn grant(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GrantRequest>,
) -> ApiResult<(StatusCode, Json<CouponResponse>)> {
    let channel = match body.channel.as_deref() {
        None => Channel::Grant,
        Some("claim") => {
            return Err(InvalidInput::new(
                "channel",
                "members claim through /claims; use grant, registration or journey",
            )
            .into())
        }
        Some(raw) => Channel::parse("channel", raw)?,
    };
    let row = coupons::claim(&state.app, &caller, &id, &body.member_id, channel).await?;
    Ok((StatusCode::CREATED, Json(coupon(row))))
}

#[utoipa::path(get, path = "/api/v1/members/{id}/coupons", tag = "promotions", params(("id" = String, Path, description = "mem_…"), CouponQuery),
    responses((status = 200, body = CouponList), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn of_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(query): Query<CouponQuery>,
) -> ApiResult<Json<CouponList>> {
    let rows = coupons::member_coupons(&state.app, &caller, &id, query.status.as_deref()).await?;
    Ok(Json(CouponList {
        items: rows.into_iter().map(coupon).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/coupons/{id}", tag = "promotions", params(("id" = String, Path, description = "cpn_…")),
    responses((status = 200, body = CouponResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_coupon(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CouponResponse>> {
    Ok(Json(coupon(
        coupons::coupon(&state.app, &caller, &id).await?,
    )))
}

/// Revokes an available coupon (audited). 409 `coupon_not_available` otherwise.
#[utoipa::path(post, path = "/api/v1/coupons/{id}/revoke", tag = "promotions", params(("id" = String, Path, description = "cpn_…")),
    responses((status = 200, body = CouponResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CouponResponse>> {
    Ok(Json(coupon(
        coupons::revoke(&state.app, &caller, &id).await?,
    )))
}

#[derive(Serialize, ToSchema)]
pub struct LiabilityRow {
    pub template_id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub issued: i64,
    pub available: i64,
    pub locked: i64,
    pub used: i64,
    pub expired: i64,
    pub revoked: i64,
    /// Discount given by used coupons.
    pub used_discount_fen: i64,
    /// Discount held by locked coupons plus given by used ones.
    pub booked_fen: i64,
    pub budget_fen: Option<i64>,
    pub budget_left_fen: Option<i64>,
    pub budget_exhausted: bool,
    /// The most the available coupons could still take off, when a coupon's value is
    /// fixed; null when it depends on the cart (free shipping, gifts, uncapped percent).
    pub outstanding_max_fen: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct LiabilityReport {
    pub templates: Vec<LiabilityRow>,
    pub used_discount_fen: i64,
    pub booked_fen: i64,
    /// Sum over templates whose coupons have a fixed value.
    pub outstanding_max_fen: i64,
}

/// Coupons issued, used and outstanding per template, with budgets (analyst role).
#[utoipa::path(get, path = "/api/v1/promotions/liability", tag = "promotions",
    responses((status = 200, body = LiabilityReport), (status = 403, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn liability_report(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<LiabilityReport>> {
    let rows = liability::report(&state.app, &caller).await?;
    Ok(Json(LiabilityReport {
        used_discount_fen: rows.iter().map(|r| r.used_discount_fen).sum(),
        booked_fen: rows.iter().map(|r| r.booked_fen).sum(),
        outstanding_max_fen: rows.iter().filter_map(|r| r.outstanding_max_fen).sum(),
        templates: rows
            .into_iter()
            .map(|r| LiabilityRow {
                template_id: r.template_id,
                name: r.name,
                kind: r.kind.to_owned(),
                status: r.status,
                issued: r.issued,
                available: r.available,
                locked: r.locked,
                used: r.used,
                expired: r.expired,
                revoked: r.revoked,
                used_discount_fen: r.used_discount_fen,
                booked_fen: r.booked_fen,
                budget_fen: r.budget_fen,
                budget_left_fen: r.budget_left_fen,
                budget_exhausted: r.budget_exhausted,
                outstanding_max_fen: r.outstanding_max_fen,
            })
            .collect(),
    }))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/coupon-templates",
            get(list_templates).post(create_template),
        )
        .route("/api/v1/coupon-templates/{id}", get(get_template))
        .route("/api/v1/coupon-templates/{id}/pause", post(pause_template))
        .route(
            "/api/v1/coupon-templates/{id}/resume",
            post(resume_template),
        )
        .route(
            "/api/v1/coupon-templates/{id}/claims",
            with_idempotency(post(claim), state),
        )
        .route(
            "/api/v1/coupon-templates/{id}/grants",
            with_idempotency(post(grant), state),
        )
        .route("/api/v1/members/{id}/coupons", get(of_member))
        .route("/api/v1/coupons/{id}", get(get_coupon))
        .route("/api/v1/coupons/{id}/revoke", post(revoke))
        .route("/api/v1/promotions/liability", get(liability_report))
}
