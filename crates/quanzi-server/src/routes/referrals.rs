//! Referral fission (裂变): programs, invite codes, binding, a member's referrals and the
//! invite-tree stats.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::social::referral::{self, ProgramView};
use quanzi_domain::social::referral::{Caps, ReferralProgram, Reward, Stage};
use quanzi_store::{BindingRow, ReferralRewardRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{optional_time, with_idempotency};
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct RewardBody {
    #[serde(default)]
    pub points: i64,
    /// A coupon template (`cpt_…`) to issue.
    pub coupon_template: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct StageBody {
    /// Qualified invitees that reach this stage.
    pub invitees: u32,
    pub reward: RewardBody,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProgramRequest {
    pub name: String,
    /// Paid to the inviter for every invitee whose first order is paid, within the caps.
    pub per_invitee: Option<RewardBody>,
    /// Paid to the inviter once each, when their qualified invitees reach `invitees`.
    #[serde(default)]
    pub stages: Vec<StageBody>,
    /// Paid to the invitee on their first paid order.
    pub invitee_reward: Option<RewardBody>,
    /// Days a binding holds (first touch); 0 = forever (default 30).
    pub binding_days: Option<u32>,
    /// Days rewards stay pending (the return window; default 7).
    pub pending_days: Option<u32>,
    /// An invitee counts as new if they arrived at most this long before binding (default 60).
    pub new_member_minutes: Option<u32>,
    /// Per-invitee rewards an inviter may receive per local day and month.
    pub per_day: Option<u32>,
    pub per_month: Option<u32>,
    pub active_from: Option<String>,
    pub active_until: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProgramResponse {
    /// `rfp_…`
    pub id: String,
    pub name: String,
    pub status: String,
    pub per_invitee: Option<RewardBody>,
    pub stages: Vec<StageBody>,
    pub invitee_reward: Option<RewardBody>,
    pub binding_days: u32,
    pub pending_days: u32,
    pub new_member_minutes: u32,
    pub per_day: Option<u32>,
    pub per_month: Option<u32>,
    pub active_from: Option<String>,
    pub active_until: Option<String>,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProgramList {
    pub items: Vec<ProgramResponse>,
}

fn reward_body(r: &Reward) -> RewardBody {
    RewardBody {
        points: r.points,
        coupon_template: r.coupon_template.clone(),
    }
}

fn reward_of(b: RewardBody) -> Reward {
    Reward {
        points: b.points,
        coupon_template: b.coupon_template,
    }
}

fn program(v: ProgramView) -> ProgramResponse {
    let r = &v.rules;
    ProgramResponse {
        per_invitee: r.per_invitee.as_ref().map(reward_body),
        stages: r
            .stages
            .iter()
            .map(|s| StageBody {
                invitees: s.invitees,
                reward: reward_body(&s.reward),
            })
            .collect(),
        invitee_reward: r.invitee_reward.as_ref().map(reward_body),
        binding_days: r.binding_days,
        pending_days: r.pending_days,
        new_member_minutes: r.new_member_minutes,
        per_day: r.caps.per_day,
        per_month: r.caps.per_month,
        active_from: r.active_from.map(|t| t.to_rfc3339()),
        active_until: r.active_until.map(|t| t.to_rfc3339()),
        id: v.row.id,
        name: v.row.name,
        status: v.row.status,
        created_at: v.row.created_at.to_rfc3339(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct InviteCodeResponse {
    pub member_id: String,
    pub invite_code: String,
    /// Append to the storefront's origin: `/r/ABCD2345`.
    pub share_path: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindRequest {
    pub invite_code: String,
    /// The member who arrived through the code.
    pub member_id: String,
    /// The device the member arrived from (a storefront device id); only a keyed
    /// fingerprint is kept, to spot one device behind many invitees.
    pub device_id: Option<String>,
    /// The client IP address; only a keyed fingerprint is kept.
    pub ip: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BindingResponse {
    pub program_id: String,
    pub inviter_id: String,
    pub invitee_id: String,
    pub bound_at: String,
    pub expires_at: Option<String>,
    /// When the invitee's first order was paid.
    pub qualified_at: Option<String>,
}

fn binding_body(b: BindingRow) -> BindingResponse {
    BindingResponse {
        program_id: b.program_id,
        inviter_id: b.inviter_id,
        invitee_id: b.invitee_id,
        bound_at: b.bound_at.to_rfc3339(),
        expires_at: b.expires_at.map(|t| t.to_rfc3339()),
        qualified_at: b.qualified_at.map(|t| t.to_rfc3339()),
    }
}

#[derive(Serialize, ToSchema)]
pub struct RewardResponse {
    pub program_id: String,
    pub invitee_id: String,
    /// `referral_invitee`, `referral_stage` or `referral_welcome`.
    pub reason: String,
    /// `granted`, `held` (for anti-fraud review) or `rejected`.
    pub status: String,
    pub stage: Option<i64>,
    pub points: i64,
    pub coupon_template: Option<String>,
    /// The invitee's first order, whose refund cancels pending points.
    pub order_id: String,
    pub pending_until: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct MemberReferrals {
    /// Who invited this member (per program).
    pub invited_by: Vec<BindingResponse>,
    /// Whom this member invited.
    pub invitees: Vec<BindingResponse>,
    /// Rewards this member received.
    pub rewards: Vec<RewardResponse>,
}

fn reward_response(r: ReferralRewardRow) -> RewardResponse {
    RewardResponse {
        program_id: r.program_id,
        invitee_id: r.invitee_id,
        reason: r.reason,
        status: r.status,
        stage: r.stage,
        points: r.points,
        coupon_template: r.coupon_template,
        order_id: r.order_id,
        pending_until: r.pending_until.to_rfc3339(),
        created_at: r.created_at.to_rfc3339(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct GenerationResponse {
    pub generation: u32,
    pub members: usize,
    pub inviters: usize,
    pub invitees: usize,
    pub converted: usize,
    /// Converted members of the next generation per member of this one.
    pub k_factor: f64,
    pub shares_per_member: f64,
}

#[derive(Serialize, ToSchema)]
pub struct StatsResponse {
    pub members: usize,
    pub inviters: usize,
    pub invitees: usize,
    pub converted: usize,
    /// Converted invitees per member who invited.
    pub k_factor: f64,
    /// Invitees whose first order was paid, over all invitees.
    pub conversion_rate: f64,
    pub shares_per_capita: f64,
    /// Longest invite chain.
    pub depth: u32,
    pub generations: Vec<GenerationResponse>,
}

/// Creates a referral program (operator role); the newest active program takes new
/// bindings.
#[utoipa::path(post, path = "/api/v1/referral-programs", tag = "social", request_body = CreateProgramRequest,
    responses((status = 201, body = ProgramResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateProgramRequest>,
) -> ApiResult<(StatusCode, Json<ProgramResponse>)> {
    let defaults = ReferralProgram::default();
    let rules = ReferralProgram {
        per_invitee: body.per_invitee.map(reward_of),
        stages: body
            .stages
            .into_iter()
            .map(|s| Stage {
                invitees: s.invitees,
                reward: reward_of(s.reward),
            })
            .collect(),
        invitee_reward: body.invitee_reward.map(reward_of),
        binding_days: body.binding_days.unwrap_or(defaults.binding_days),
        pending_days: body.pending_days.unwrap_or(defaults.pending_days),
        new_member_minutes: body
            .new_member_minutes
            .unwrap_or(defaults.new_member_minutes),
        caps: Caps {
            per_day: body.per_day,
            per_month: body.per_month,
        },
        active_from: optional_time("active_from", body.active_from.as_deref())?,
        active_until: optional_time("active_until", body.active_until.as_deref())?,
    };
    let created = referral::create_program(&state.app, &caller, &body.name, rules).await?;
    Ok((StatusCode::CREATED, Json(program(created))))
}

#[utoipa::path(get, path = "/api/v1/referral-programs", tag = "social",
    responses((status = 200, body = ProgramList)), security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<ProgramList>> {
    let items = referral::programs(&state.app, &caller).await?;
    Ok(Json(ProgramList {
        items: items.into_iter().map(program).collect(),
    }))
}

/// The invite tree's K-factor overall and per generation, conversion and shares (analysts).
#[utoipa::path(get, path = "/api/v1/referral-programs/{id}/stats", tag = "social", params(("id" = String, Path, description = "rfp_…")),
    responses((status = 200, body = StatsResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn stats(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<StatsResponse>> {
    let s = referral::stats(&state.app, &caller, &id).await?;
    Ok(Json(StatsResponse {
        members: s.members,
        inviters: s.inviters,
        invitees: s.invitees,
        converted: s.converted,
        k_factor: s.k_factor(),
        conversion_rate: s.conversion_rate(),
        shares_per_capita: s.shares_per_capita(),
        depth: s.depth(),
        generations: s
            .generations
            .iter()
            .map(|g| GenerationResponse {
                generation: g.generation,
                members: g.members,
                inviters: g.inviters,
                invitees: g.invitees,
                converted: g.converted,
                k_factor: g.k_factor(),
                shares_per_member: g.shares_per_member(),
            })
            .collect(),
    }))
}

/// The member's invite code and share path (made on first asking).
#[utoipa::path(get, path = "/api/v1/members/{id}/invite-code", tag = "social", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = InviteCodeResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn invite_code(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<InviteCodeResponse>> {
    let (code, share_path) = referral::invite_code(&state.app, &caller, &id).await?;
    Ok(Json(InviteCodeResponse {
        member_id: id,
        invite_code: code,
        share_path,
    }))
}

/// Binds a member who arrived through an invite code. 409 `self_referral`,
/// `referral_loop`, `not_new`, `already_bound`, `program_inactive`, `no_referral_program`.
#[utoipa::path(post, path = "/api/v1/referrals/bind", tag = "social", request_body = BindRequest,
    responses((status = 201, body = BindingResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn bind(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<BindRequest>,
) -> ApiResult<(StatusCode, Json<BindingResponse>)> {
    let row = referral::bind(
        &state.app,
        &caller,
        &body.invite_code,
        &body.member_id,
        referral::Arrival {
            device_id: body.device_id,
            ip: body.ip,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(binding_body(row))))
}

#[utoipa::path(get, path = "/api/v1/members/{id}/referrals", tag = "social", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = MemberReferrals), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn of_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<MemberReferrals>> {
    let (bindings, rewards) = referral::of_member(&state.app, &caller, &id).await?;
    let (invited_by, invitees): (Vec<_>, Vec<_>) =
        bindings.into_iter().partition(|b| b.invitee_id == id);
    Ok(Json(MemberReferrals {
        invited_by: invited_by.into_iter().map(binding_body).collect(),
        invitees: invitees.into_iter().map(binding_body).collect(),
        rewards: rewards.into_iter().map(reward_response).collect(),
    }))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/referral-programs", get(list).post(create))
        .route("/api/v1/referral-programs/{id}/stats", get(stats))
        .route("/api/v1/members/{id}/invite-code", get(invite_code))
        .route("/api/v1/members/{id}/referrals", get(of_member))
        .route(
            "/api/v1/referrals/bind",
            with_idempotency(post(bind), state),
        )
}
