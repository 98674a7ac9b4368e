use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::members::{self, MemberView, TimelineEntry};
use quanzi_store::MemberRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::with_idempotency;
use crate::error::{ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    /// `wechat_openid`, `wechat_unionid`, `douyin_id`, `tmall_id`, `phone`, `email`,
    /// `device_id` or `external_id`.
    pub kind: String,
    /// Phones may be written `13812341234` or `+86 138 1234 1234`.
    pub value: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifyRequest {
    /// Everything the caller knows this person by; identities of different members are
    /// merged into the oldest of them.
    pub identities: Vec<IdentityInput>,
    /// Traits to set (gender, birthday, city, …); `null` removes one.
    #[schema(value_type = Option<Object>)]
    pub traits: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityResponse {
    pub kind: String,
    /// Phones and emails are masked (`138****1234`).
    pub display: String,
    pub linked_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct MergeResponse {
    pub merged_id: String,
    pub via: String,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileResponse {
    pub first_seen_at: Option<String>,
    pub last_seen_at: Option<String>,
    pub last_interaction_at: Option<String>,
    pub acquisition_channel: Option<String>,
    pub event_count: i64,
    pub order_count: i64,
    pub gmv_fen: i64,
    pub refund_fen: i64,
    /// GMV ÷ orders, in fen (0 without orders).
    pub average_order_fen: i64,
    pub first_order_at: Option<String>,
    pub last_order_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RfmResponse {
    /// 1–5: 5 bought most recently.
    pub recency: u8,
    /// 1–5: 5 ordered most often.
    pub frequency: u8,
    /// 1–5: 5 spent most (paid minus refunded).
    pub monetary: u8,
    /// e.g. `555`.
    pub code: String,
    pub computed_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct MemberResponse {
    /// `mem_…`
    pub id: String,
    pub created_at: String,
    #[schema(value_type = Object)]
    pub traits: serde_json::Value,
    pub identities: Vec<IdentityResponse>,
    /// Members merged into this one.
    pub merges: Vec<MergeResponse>,
    pub profile: ProfileResponse,
    /// `new` (first 7 days), `growing` (to 3 months), `mature`, `churn_risk` (30 days
    /// without interaction) or `dormant` (90 days without activity).
    pub lifecycle_stage: String,
    /// Quintile scores among the workspace's buyers, recomputed daily; absent before the
    /// first order.
    pub rfm: Option<RfmResponse>,
    /// Set once the member's personal information was erased on request.
    pub erased_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentifyResponse {
    pub created: bool,
    /// Ids of members merged into this one by this call.
    pub merged: Vec<String>,
    pub member: MemberResponse,
}

fn iso(t: Option<quanzi_domain::time::Timestamp>) -> Option<String> {
    t.map(|t| t.to_rfc3339())
}

fn profile(m: &MemberRow) -> ProfileResponse {
    ProfileResponse {
        first_seen_at: iso(m.first_seen_at),
        last_seen_at: iso(m.last_seen_at),
        last_interaction_at: iso(m.last_interaction_at),
        acquisition_channel: m.acquisition_channel.clone(),
        event_count: m.event_count,
        order_count: m.order_count,
        gmv_fen: m.gmv_fen,
        refund_fen: m.refund_fen,
        average_order_fen: if m.order_count > 0 {
            m.gmv_fen / m.order_count
        } else {
            0
        },
        first_order_at: iso(m.first_order_at),
        last_order_at: iso(m.last_order_at),
    }
}

fn lifecycle(m: &MemberRow, now: quanzi_domain::time::Timestamp) -> String {
    quanzi_domain::members::LifecycleStage::of_profile(
        now,
        m.created_at,
        m.first_seen_at,
        m.last_seen_at,
        m.last_order_at,
        m.last_interaction_at,
    )
    .as_str()
    .to_owned()
}

fn rfm(m: &MemberRow) -> Option<RfmResponse> {
    m.rfm.map(|(score, at)| RfmResponse {
        recency: score.recency,
        frequency: score.frequency,
        monetary: score.monetary,
        code: score.code(),
        computed_at: at.to_rfc3339(),
    })
}

fn member_response(view: MemberView, now: quanzi_domain::time::Timestamp) -> MemberResponse {
    MemberResponse {
        lifecycle_stage: lifecycle(&view.member, now),
        rfm: rfm(&view.member),
        erased_at: view.member.erased_at.map(|t| t.to_rfc3339()),
        id: view.member.id.clone(),
        created_at: view.member.created_at.to_rfc3339(),
        traits: serde_json::from_str(&view.member.traits).unwrap_or_else(|_| serde_json::json!({})),
        identities: view
            .identities
            .into_iter()
            .map(|i| IdentityResponse {
                kind: i.kind.as_str().to_owned(),
                display: i.display,
                linked_at: i.created_at.to_rfc3339(),
            })
            .collect(),
        merges: view
            .merges
            .into_iter()
            .map(|m| MergeResponse {
                merged_id: m.merged_id,
                via: m.via,
                at: m.at.to_rfc3339(),
            })
            .collect(),
        profile: profile(&view.member),
    }
}

/// Finds or creates the member behind these identities, linking new ones and merging
/// members that turn out to be one person.
#[utoipa::path(post, path = "/api/v1/members/identify", tag = "members", request_body = IdentifyRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 200, body = IdentifyResponse), (status = 201, body = IdentifyResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn identify(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<IdentifyRequest>,
) -> ApiResult<(StatusCode, Json<IdentifyResponse>)> {
    let pairs: Vec<(String, String)> = body
        .identities
        .into_iter()
        .map(|i| (i.kind, i.value))
        .collect();
    let done = members::identify(&state.app, &caller, &pairs, body.traits.as_ref()).await?;
    let view = members::get(&state.app, &caller, &done.member.id).await;
    let now = state.app.clock.now();
    let member = match view {
        Ok(view) => member_response(view, now),
        // A key with only the ingest scope may identify but not read profiles back.
        Err(_) => MemberResponse {
            id: done.member.id.clone(),
            created_at: done.member.created_at.to_rfc3339(),
            traits: serde_json::from_str(&done.member.traits)
                .unwrap_or_else(|_| serde_json::json!({})),
            identities: Vec::new(),
            merges: Vec::new(),
            profile: profile(&done.member),
            lifecycle_stage: lifecycle(&done.member, now),
            rfm: rfm(&done.member),
            erased_at: None,
        },
    };
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(IdentifyResponse {
            created: done.created,
            merged: done.merged,
            member,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/members/{id}", tag = "members", params(("id" = String, Path, description = "mem_… (a merged member's id answers with the survivor)")),
    responses((status = 200, body = MemberResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<MemberResponse>> {
    Ok(Json(member_response(
        members::get(&state.app, &caller, &id).await?,
        state.app.clock.now(),
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    pub kind: String,
    pub value: String,
}

/// Finds a member by any identity (phones in any common spelling).
#[utoipa::path(get, path = "/api/v1/members/lookup", tag = "members", params(LookupQuery),
    responses((status = 200, body = MemberResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn lookup(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<LookupQuery>,
) -> ApiResult<Json<MemberResponse>> {
    let view = members::lookup(&state.app, &caller, &query.kind, &query.value).await?;
    Ok(Json(member_response(view, state.app.clock.now())))
}

#[derive(Serialize, ToSchema)]
pub struct TimelineItem {
    /// `event`, `order` or `merge`.
    pub kind: String,
    pub at: String,
    /// The event type, order id or merged member id.
    pub what: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct TimelineResponse {
    pub member_id: String,
    pub items: Vec<TimelineItem>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Entries to return, 1–200 (default 50).
    pub limit: Option<u32>,
}

/// Events, orders and merges, newest first.
#[utoipa::path(get, path = "/api/v1/members/{id}/timeline", tag = "members", params(("id" = String, Path, description = "mem_…"), TimelineQuery),
    responses((status = 200, body = TimelineResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn timeline(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> ApiResult<Json<TimelineResponse>> {
    let (member, entries) =
        members::timeline(&state.app, &caller, &id, query.limit.unwrap_or(50)).await?;
    let items = entries
        .into_iter()
        .map(|entry| match entry {
            TimelineEntry::Event(e) => TimelineItem {
                kind: "event".into(),
                at: e.occurred_at.to_rfc3339(),
                what: e.event_type,
                detail: serde_json::json!({
                    "event_id": e.event_id,
                    "properties": serde_json::from_str::<serde_json::Value>(&e.properties).unwrap_or_default(),
                    "channel": e.touchpoints.channel,
                    "campaign_id": e.touchpoints.campaign_id,
                    "kol_id": e.touchpoints.kol_id,
                }),
            },
            TimelineEntry::Order(o) => TimelineItem {
                kind: "order".into(),
                at: o.paid_at.to_rfc3339(),
                what: o.id.clone(),
                detail: serde_json::json!({"external_id": o.external_id, "paid_fen": o.paid_fen, "refunded_fen": o.refunded_fen, "status": o.status}),
            },
            TimelineEntry::Merge(m) => TimelineItem {
                kind: "merge".into(),
                at: m.at.to_rfc3339(),
                what: m.merged_id.clone(),
                detail: serde_json::json!({"via": m.via}),
            },
        })
        .collect();
    Ok(Json(TimelineResponse {
        member_id: member.id,
        items,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A phone (any common spelling), email, platform id or member id; leave out to list.
    pub q: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<MemberSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberSummary {
    pub id: String,
    pub created_at: String,
    pub lifecycle_stage: String,
    pub profile: ProfileResponse,
}

/// Search by any identity, or list members a page at a time.
#[utoipa::path(get, path = "/api/v1/members", tag = "members", params(SearchQuery),
    responses((status = 200, body = MemberList)), security(("bearer" = []), ("session" = [])))]
pub async fn search(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> ApiResult<Json<MemberList>> {
    let page = members::search(
        &state.app,
        &caller,
        query.q.as_deref(),
        query.after.as_deref(),
        query.limit.unwrap_or(50),
    )
    .await?;
    let now = state.app.clock.now();
    Ok(Json(MemberList {
        items: page
            .items
            .iter()
            .map(|m| MemberSummary {
                id: m.id.clone(),
                created_at: m.created_at.to_rfc3339(),
                lifecycle_stage: lifecycle(m, now),
                profile: profile(m),
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct RefreshResponse {
    /// Follow it at `/api/v1/jobs/{id}`.
    pub job_id: String,
}

/// Recomputes the workspace's RFM scores now (they are also recomputed daily).
#[utoipa::path(post, path = "/api/v1/members/rfm/refresh", tag = "members",
    responses((status = 202, body = RefreshResponse), (status = 403, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn refresh_rfm(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<(StatusCode, Json<RefreshResponse>)> {
    let job = members::refresh_rfm(&state.app, &caller).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RefreshResponse {
            job_id: job.to_string(),
        }),
    ))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/members/identify",
            with_idempotency(post(identify), state),
        )
        .route("/api/v1/members", get(search))
        .route("/api/v1/members/lookup", get(lookup))
        .route("/api/v1/members/rfm/refresh", post(refresh_rfm))
        .route("/api/v1/members/{id}", get(get_one))
        .route("/api/v1/members/{id}/timeline", get(timeline))
}
