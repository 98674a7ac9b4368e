use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use quanzi_app::services::privacy;
use quanzi_store::ConsentRow;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    pub granted: bool,
    /// Where the decision was made, e.g. `mini_program_signup`, `support_call`.
    pub source: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentResponse {
    /// `sms`, `wechat`, `wecom`, `mini_program`, `email`, `phone`, `push` or `douyin`.
    pub channel: String,
    pub granted: bool,
    pub source: String,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentList {
    pub items: Vec<ConsentResponse>,
}

fn consent_list(rows: Vec<ConsentRow>) -> ConsentList {
    ConsentList {
        items: rows
            .into_iter()
            .map(|c| ConsentResponse {
                channel: c.channel.as_str().to_owned(),
                granted: c.granted,
                source: c.source,
                at: c.at.to_rfc3339(),
            })
            .collect(),
    }
}

/// Records the member's yes or no for marketing on a channel. Without a recorded yes,
/// nothing may market to them there.
#[utoipa::path(put, path = "/api/v1/members/{id}/consents/{channel}", tag = "privacy", request_body = ConsentRequest,
    params(("id" = String, Path, description = "mem_…"), ("channel" = String, Path, description = "sms, wechat, wecom, mini_program, email, phone, push or douyin")),
    responses((status = 200, body = ConsentList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn set_consent(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, channel)): Path<(String, String)>,
    ApiJson(body): ApiJson<ConsentRequest>,
) -> ApiResult<Json<ConsentList>> {
    let rows = privacy::set_consent(
        &state.app,
        &caller,
        &id,
        &channel,
        body.granted,
        &body.source,
    )
    .await?;
    Ok(Json(consent_list(rows)))
}

#[utoipa::path(get, path = "/api/v1/members/{id}/consents", tag = "privacy", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = ConsentList), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn consents(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ConsentList>> {
    Ok(Json(consent_list(
        privacy::consents(&state.app, &caller, &id).await?,
    )))
}

/// Everything held about the member, for a data-access request (admins; audited). Phones
/// and emails appear masked: only their keyed hashes are stored.
#[utoipa::path(get, path = "/api/v1/members/{id}/export", tag = "privacy", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn export(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let e = privacy::export(&state.app, &caller, &id).await?;
    let m = &e.member;
    Ok(Json(json!({
        "member": {
            "id": m.id, "created_at": m.created_at.to_rfc3339(),
            "traits": serde_json::from_str::<Value>(&m.traits).unwrap_or_default(),
            "order_count": m.order_count, "gmv_fen": m.gmv_fen, "refund_fen": m.refund_fen, "event_count": m.event_count,
            "erased_at": m.erased_at.map(|t| t.to_rfc3339()),
        },
        "identities": e.identities.iter().map(|i| json!({"kind": i.kind.as_str(), "display": i.display, "linked_at": i.created_at.to_rfc3339()})).collect::<Vec<_>>(),
        "consents": consent_list(e.consents).items,
        "events": e.events.iter().map(|ev| json!({
            "event_id": ev.event_id, "type": ev.event_type, "at": ev.occurred_at.to_rfc3339(),
            "properties": serde_json::from_str::<Value>(&ev.properties).unwrap_or_default(),
            "channel": ev.touchpoints.channel,
        })).collect::<Vec<_>>(),
        "orders": e.orders.iter().map(|o| json!({"id": o.id, "external_id": o.external_id, "paid_at": o.paid_at.to_rfc3339(), "paid_fen": o.paid_fen, "refunded_fen": o.refunded_fen})).collect::<Vec<_>>(),
        "merges": e.merges.iter().map(|mg| json!({"merged_id": mg.merged_id, "at": mg.at.to_rfc3339()})).collect::<Vec<_>>(),
        "segments": e.segments.iter().map(|s| json!({"id": s.id, "name": s.name})).collect::<Vec<_>>(),
    })))
}

#[derive(Serialize, ToSchema)]
pub struct ErasedResponse {
    pub member_id: String,
    pub erased_at: Option<String>,
}

/// Erases the member's personal information (admins; audited): identities, traits,
/// consents, event properties and segment memberships. Orders and counts stay under an id
/// that no longer leads to a person, so reports still add up.
#[utoipa::path(post, path = "/api/v1/members/{id}/erase", tag = "privacy", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = ErasedResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn erase(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ErasedResponse>> {
    let member = privacy::erase(&state.app, &caller, &id).await?;
    Ok(Json(ErasedResponse {
        member_id: member.id,
        erased_at: member.erased_at.map(|t| t.to_rfc3339()),
    }))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/members/{id}/consents", get(consents))
        .route("/api/v1/members/{id}/consents/{channel}", put(set_consent))
        .route("/api/v1/members/{id}/export", get(export))
        .route("/api/v1/members/{id}/erase", post(erase))
}
