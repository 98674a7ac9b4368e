use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use quanzi_app::services::events::{self, RawEvent, RawTime};
use quanzi_domain::members::Touchpoints;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

/// One event. Rows are checked one by one, so this schema documents what each row should
/// be; a row that is not gets reported in `rejected`, the others are stored.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct EventInput {
    /// Your id for the event, unique within the workspace: resending it is harmless.
    event_id: String,
    /// `page_view`, `exposure`, `click`, `add_to_cart`, `share`, `content_view`, `like`,
    /// `comment`, `join_community`, `message`, `checkin`, or a custom snake_case name.
    r#type: String,
    identity: super::members::IdentityInput,
    /// RFC 3339 or epoch milliseconds; default now. Up to 10 minutes ahead is accepted.
    #[schema(value_type = Option<String>)]
    timestamp: Option<Value>,
    #[schema(value_type = Option<Object>)]
    properties: Option<Value>,
    channel: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    utm_content: Option<String>,
    utm_term: Option<String>,
    link_code: Option<String>,
    kol_id: Option<String>,
    campaign_id: Option<String>,
    content_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// 1 to 1,000 events.
    #[schema(value_type = Vec<EventInput>)]
    pub events: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct RejectedEvent {
    pub index: usize,
    /// e.g. `events[3].identity.kind`.
    pub field: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct IngestResponse {
    /// Stored now (durably: the answer comes after the commit).
    pub accepted: usize,
    /// Already stored, or repeated within the batch; skipped.
    pub duplicates: usize,
    pub rejected: Vec<RejectedEvent>,
}

/// A row that is not even the right JSON shape, reported like any other bad row.
struct ShapeError {
    field: &'static str,
    message: String,
}

fn string(row: &Value, field: &'static str) -> Result<String, ShapeError> {
    match row.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ShapeError {
            field,
            message: "must be a string".into(),
        }),
        None => Err(ShapeError {
            field,
            message: "is required".into(),
        }),
    }
}

fn optional_string(row: &Value, field: &'static str) -> Result<Option<String>, ShapeError> {
    match row.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ShapeError {
            field,
            message: "must be a string".into(),
        }),
    }
}

pub fn touchpoints(row: &Value) -> Result<Touchpoints, (&'static str, String)> {
    let get = |field| optional_string(row, field).map_err(|e| (e.field, e.message));
    Ok(Touchpoints {
        channel: get("channel")?,
        utm_source: get("utm_source")?,
        utm_medium: get("utm_medium")?,
        utm_campaign: get("utm_campaign")?,
        utm_content: get("utm_content")?,
        utm_term: get("utm_term")?,
        link_code: get("link_code")?,
        kol_id: get("kol_id")?,
        campaign_id: get("campaign_id")?,
        content_id: get("content_id")?,
    })
}

pub fn time(
    value: Option<&Value>,
    field: &'static str,
) -> Result<Option<RawTime>, (&'static str, String)> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(RawTime::Rfc3339(s.clone()))),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(|ms| Some(RawTime::Millis(ms)))
            .ok_or((field, "must be whole epoch milliseconds".into())),
        Some(_) => Err((
            field,
            "must be an RFC 3339 string or epoch milliseconds".into(),
        )),
    }
}

fn raw_event(row: &Value) -> Result<RawEvent, (&'static str, String)> {
    if !row.is_object() {
        return Err(("", "must be an object".into()));
    }
    let shape = |e: ShapeError| (e.field, e.message);
    let identity = row
        .get("identity")
        .filter(|v| v.is_object())
        .ok_or(("identity", "must be an object {kind, value}".to_owned()))?;
    let properties = match row.get("properties") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(v @ Value::Object(_)) => v.to_string(),
        Some(_) => return Err(("properties", "must be an object".into())),
    };
    Ok(RawEvent {
        event_id: string(row, "event_id").map_err(shape)?,
        event_type: string(row, "type").map_err(shape)?,
        identity_kind: string(identity, "kind").map_err(|e| ("identity.kind", e.message))?,
        identity_value: string(identity, "value").map_err(|e| ("identity.value", e.message))?,
        timestamp: time(row.get("timestamp"), "timestamp")?,
        properties,
        touchpoints: touchpoints(row)?,
    })
}

/// Ingests up to 1,000 events. Good rows are stored even when others are bad; the answer
/// counts them and names each bad row by index and field.
#[utoipa::path(post, path = "/api/v1/events", tag = "events", request_body = EventBatch,
    responses((status = 200, body = IngestResponse), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn ingest(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<EventBatch>,
) -> ApiResult<Json<IngestResponse>> {
    let mut shape_errors = Vec::new();
    let mut raws = Vec::with_capacity(body.events.len());
    let mut positions = Vec::with_capacity(body.events.len());
    for (index, row) in body.events.iter().enumerate() {
        match raw_event(row) {
            Ok(raw) => {
                raws.push(raw);
                positions.push(index);
            }
            Err((field, message)) => shape_errors.push(RejectedEvent {
                index,
                field: if field.is_empty() {
                    format!("events[{index}]")
                } else {
                    format!("events[{index}].{field}")
                },
                message,
            }),
        }
    }
    let total = body.events.len();
    if total == 0 || total > quanzi_domain::members::EVENT_BATCH_LIMIT {
        return Err(
            quanzi_app::Error::from(quanzi_domain::input::InvalidInput::new(
                "events",
                "send 1 to 1000 events per request",
            ))
            .into(),
        );
    }
    let report = if raws.is_empty() {
        Default::default()
    } else {
        events::ingest(&state.app, &caller, raws).await?
    };
    let mut rejected = shape_errors;
    rejected.extend(report.rejected.into_iter().map(|r| {
        // The service numbered rows among those that reached it; map back to the request.
        let index = positions[r.index];
        RejectedEvent {
            index,
            field: r.field.replacen(
                &format!("events[{}]", r.index),
                &format!("events[{index}]"),
                1,
            ),
            message: r.message,
        }
    }));
    rejected.sort_by_key(|r| r.index);
    Ok(Json(IngestResponse {
        accepted: report.accepted,
        duplicates: report.duplicates,
        rejected,
    }))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new().route("/api/v1/events", post(ingest))
}
