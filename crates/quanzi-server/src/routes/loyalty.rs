//! Points: the ledger batch endpoint, a member's balance, lots, pending transfers and
//! history, operator adjustments, the liability report, reconciliation and settings.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::loyalty::{ledger, settings};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::loyalty::ledger::{
    check_account_name, check_request_id, Lot, OnTimeout, Operation, Pending, Request, Shortfall,
};
use quanzi_domain::time::Timestamp;
use quanzi_store::TransferRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{with_idempotency, PageQuery};
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

/// The longest a checkout hold may last: a week.
const MAX_HOLD_SECONDS: i64 = 7 * 86_400;
const DEFAULT_HOLD_SECONDS: i64 = 900;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBatch {
    /// 1–1000 requests, applied in order.
    pub transfers: Vec<TransferRequest>,
}

/// One ledger request. `id` is its idempotency key: resending the same id and fields
/// answers the first outcome.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// 1–64 letters, digits, `_`, `-`, `.`.
    pub id: String,
    /// `earn` (admin), `spend`, `hold`, `post`, `void`, `reverse` (admin).
    #[serde(rename = "type")]
    pub kind: String,
    /// For earn, spend and hold: `mem_…`.
    pub member_id: Option<String>,
    /// For earn: the issuing source (a rule or campaign code), e.g. `double11`.
    pub source: Option<String>,
    /// For spend and hold: where the points go, e.g. `mall`, `checkout`.
    pub sink: Option<String>,
    /// Points; for post, less than the hold posts part of it.
    pub amount: Option<i64>,
    /// For post and void: the hold's id.
    pub pending_id: Option<String>,
    /// For reverse: the lot (the earning request's id).
    pub lot_id: Option<String>,
    /// For hold: seconds until the hold lapses (default 900, at most 604800).
    pub timeout_seconds: Option<i64>,
    /// For earn: when the points expire (RFC 3339); never when absent.
    pub expires_at: Option<String>,
    /// For reverse: `negative_carry` (default) or `clawback_future`.
    pub shortfall: Option<String>,
    pub order_id: Option<String>,
    pub reason: Option<String>,
    /// Chains this request to the next: the chain succeeds or fails as one.
    #[serde(default)]
    pub linked: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TransferView {
    pub id: String,
    /// `earn`, `spend`, `hold`, `post`, `void`, `expire`, `reverse`, `carry`, `debt`, `repay`.
    pub kind: String,
    /// Account codes: `wallet:mem_…`, `debt:mem_…`, `source:…`, `sink:…`, `expiry`.
    pub debit: String,
    pub credit: String,
    pub amount: i64,
    /// `single`, `pending`, `post` or `void`.
    pub phase: String,
    pub pending_id: Option<String>,
    pub lot_id: Option<String>,
    pub order_id: Option<String>,
    pub reason: Option<String>,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct TransferResult {
    pub id: String,
    /// `created`, `exists` (sent before with the same fields) or `failed`.
    pub status: &'static str,
    /// Why it failed, e.g. `insufficient_points`, `exists_with_different_fields`.
    pub code: Option<&'static str>,
    pub message: Option<&'static str>,
    /// True when this id had already failed the same way.
    pub replayed: bool,
    pub transfers: Vec<TransferView>,
}

#[derive(Serialize, ToSchema)]
pub struct TransferResults {
    pub results: Vec<TransferResult>,
}

fn view(t: TransferRow) -> TransferView {
    TransferView {
        id: t.id,
        kind: t.kind,
        debit: t.debit,
        credit: t.credit,
        amount: t.amount,
        phase: t.phase,
        pending_id: t.pending_id,
        lot_id: t.lot_id,
        order_id: t.order_id,
        reason: t.reason,
        created_at: t.created_at.to_rfc3339(),
    }
}

fn to_request(i: usize, t: TransferRequest) -> Result<Request, InvalidInput> {
    let at = |name: &str| format!("transfers[{i}].{name}");
    let missing = |name: &str| InvalidInput::new(at(name), "is required for this type");
    let id = check_request_id(&t.id, &at("id"))?;
    let amount = || t.amount.ok_or_else(|| missing("amount"));
    let member = || {
        t.member_id
            .clone()
            .filter(|m| !m.is_empty() && m.len() <= 64)
            .ok_or_else(|| missing("member_id"))
    };
    let text =
        |value: &Option<String>, name: &str, max: usize| -> Result<Option<String>, InvalidInput> {
            match value {
                Some(v) if v.is_empty() || v.chars().count() > max => Err(InvalidInput::new(
                    at(name),
                    format!("must be 1 to {max} characters"),
                )),
                other => Ok(other.clone()),
            }
        };
    let order_id = text(&t.order_id, "order_id", 128)?;
    let reason = text(&t.reason, "reason", 200)?;
    let op = match t.kind.as_str() {
        "earn" => Operation::Earn {
            member: member()?,
            source: check_account_name(
                t.source.as_deref().ok_or_else(|| missing("source"))?,
                &at("source"),
            )?,
            amount: amount()?,
            lot_expires_at: match &t.expires_at {
                None => None,
                Some(raw) => Some(Timestamp::parse_rfc3339(raw).ok_or_else(|| {
                    InvalidInput::new(at("expires_at"), "must be an RFC 3339 time")
                })?),
            },
            pending: None,
            order_id,
            reason,
        },
        "spend" => Operation::Spend {
            member: member()?,
            sink: check_account_name(t.sink.as_deref().unwrap_or("checkout"), &at("sink"))?,
            amount: amount()?,
            order_id,
            reason,
        },
        "hold" => {
            let timeout_seconds = t.timeout_seconds.unwrap_or(DEFAULT_HOLD_SECONDS);
            if !(1..=MAX_HOLD_SECONDS).contains(&timeout_seconds) {
                return Err(InvalidInput::new(
                    at("timeout_seconds"),
                    format!("must be 1 to {MAX_HOLD_SECONDS}"),
                ));
            }
            Operation::Hold {
                member: member()?,
                sink: check_account_name(t.sink.as_deref().unwrap_or("checkout"), &at("sink"))?,
                amount: amount()?,
                timeout_seconds,
                on_timeout: OnTimeout::Void,
                order_id,
            }
        }
        "post" => Operation::Post {
            pending_id: t.pending_id.clone().ok_or_else(|| missing("pending_id"))?,
            amount: t.amount,
        },
        "void" => Operation::Void {
            pending_id: t.pending_id.clone().ok_or_else(|| missing("pending_id"))?,
        },
        "reverse" => Operation::Reverse {
            lot_id: t.lot_id.clone().ok_or_else(|| missing("lot_id"))?,
            amount: amount()?,
            shortfall: match t.shortfall.as_deref() {
                None => Shortfall::default(),
                Some(raw) => Shortfall::parse(raw).ok_or_else(|| {
                    InvalidInput::new(at("shortfall"), "use `negative_carry` or `clawback_future`")
                })?,
            },
            reason,
        },
        other => {
            return Err(InvalidInput::new(
                at("type"),
                format!("`{other}` is not one of earn, spend, hold, post, void, reverse"),
            ))
        }
    };
    Ok(Request {
        id,
        linked: t.linked,
        op,
    })
}

/// Applies a batch of ledger requests in order and answers each one. A batch naming an
/// unknown member changes nothing (400).
#[utoipa::path(post, path = "/api/v1/loyalty/transfers", tag = "loyalty", request_body = TransferBatch,
    responses((status = 200, body = TransferResults), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn transfers(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<TransferBatch>,
) -> ApiResult<Json<TransferResults>> {
    let requests = body
        .transfers
        .into_iter()
        .enumerate()
        .map(|(i, t)| to_request(i, t))
        .collect::<Result<Vec<_>, _>>()?;
    let answers = ledger::submit(&state.app, &caller, requests).await?;
    Ok(Json(TransferResults {
        results: answers.into_iter().map(result_of).collect(),
    }))
}

fn result_of(answer: ledger::Answer) -> TransferResult {
    let (status, code, message, replayed, transfers) = match answer.outcome {
        ledger::AnswerOutcome::Created(t) => ("created", None, None, false, t),
        ledger::AnswerOutcome::Exists(t) => ("exists", None, None, false, t),
        ledger::AnswerOutcome::Failed { error, replayed } => (
            "failed",
            Some(error.as_str()),
            Some(error.message()),
            replayed,
            Vec::new(),
        ),
    };
    TransferResult {
        id: answer.id,
        status,
        code,
        message,
        replayed,
        transfers: transfers.into_iter().map(view).collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct PointsResponse {
    pub member_id: String,
    /// Spendable now.
    pub available: i64,
    /// Reserved by checkout holds.
    pub held: i64,
    /// Earned on orders, waiting for the return window to pass.
    pub pending: i64,
    /// Owed after refunds of points already spent.
    pub debt: i64,
    /// `available − debt`: negative while a debt is being carried.
    pub net: i64,
    /// Points expiring within the workspace's notice window.
    pub expiring_soon: i64,
    pub next_expiry: Option<String>,
    pub lifetime_earned: i64,
}

#[utoipa::path(get, path = "/api/v1/members/{id}/points", tag = "loyalty", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = PointsResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn points(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PointsResponse>> {
    let s = ledger::summary(&state.app, &caller, &id).await?;
    Ok(Json(PointsResponse {
        member_id: s.member_id.clone(),
        available: s.wallet.available(),
        held: s.wallet.debits_pending,
        pending: s.wallet.credits_pending,
        debt: -s.debt.posted(),
        net: s.net(),
        expiring_soon: s.expiring_soon,
        next_expiry: s.next_expiry.map(Timestamp::to_rfc3339),
        lifetime_earned: s.wallet.credits_posted,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct LotView {
    /// The earning request's id.
    pub id: String,
    pub source: String,
    pub amount: i64,
    pub remaining: i64,
    pub reversed: i64,
    pub expired: i64,
    pub earned_at: String,
    pub expires_at: Option<String>,
    pub order_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LotList {
    pub items: Vec<LotView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LotQuery {
    /// Include used-up lots.
    pub all: Option<bool>,
}

fn lot_view(l: Lot) -> LotView {
    LotView {
        id: l.id,
        source: l.source,
        amount: l.amount,
        remaining: l.remaining,
        reversed: l.reversed,
        expired: l.expired,
        earned_at: l.earned_at.to_rfc3339(),
        expires_at: l.expires_at.map(Timestamp::to_rfc3339),
        order_id: l.order_id,
    }
}

/// The member's lots, oldest (spent first) first.
#[utoipa::path(get, path = "/api/v1/members/{id}/points/lots", tag = "loyalty", params(("id" = String, Path, description = "mem_…"), LotQuery),
    responses((status = 200, body = LotList), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn lots(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(query): Query<LotQuery>,
) -> ApiResult<Json<LotList>> {
    let lots = ledger::lots(&state.app, &caller, &id, query.all.unwrap_or(false)).await?;
    Ok(Json(LotList {
        items: lots.into_iter().map(lot_view).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct PendingView {
    pub id: String,
    pub debit: String,
    pub credit: String,
    pub amount: i64,
    /// When it lapses (`void`) or settles (`post`).
    pub timeout_at: String,
    pub on_timeout: &'static str,
    pub order_id: Option<String>,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct PendingList {
    pub items: Vec<PendingView>,
}

fn pending_view(p: Pending) -> PendingView {
    PendingView {
        id: p.id,
        debit: p.debit.to_string(),
        credit: p.credit.to_string(),
        amount: p.amount,
        timeout_at: p.timeout.at.to_rfc3339(),
        on_timeout: p.timeout.action.as_str(),
        order_id: p.order_id,
        created_at: p.created_at.to_rfc3339(),
    }
}

/// Open holds and points waiting for their order's return window.
#[utoipa::path(get, path = "/api/v1/members/{id}/points/pending", tag = "loyalty", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = PendingList), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn pending(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PendingList>> {
    let items = ledger::pendings(&state.app, &caller, &id).await?;
    Ok(Json(PendingList {
        items: items.into_iter().map(pending_view).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct HistoryPage {
    pub items: Vec<TransferView>,
    pub next_cursor: Option<String>,
}

/// The member's transfers, newest first.
#[utoipa::path(get, path = "/api/v1/members/{id}/points/history", tag = "loyalty", params(("id" = String, Path, description = "mem_…"), PageQuery),
    responses((status = 200, body = HistoryPage), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn history(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<HistoryPage>> {
    let page_rows = ledger::history(
        &state.app,
        &caller,
        &id,
        page.after.as_deref(),
        page.limit(),
    )
    .await?;
    Ok(Json(HistoryPage {
        items: page_rows.items.into_iter().map(view).collect(),
        next_cursor: page_rows.next_cursor,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    /// Positive adds points, negative takes them away.
    pub amount: i64,
    /// Why, in 1–200 characters; kept in the audit log.
    pub reason: String,
    /// For added points: when they expire (RFC 3339); never when absent.
    pub expires_at: Option<String>,
}

/// An operator's correction (admin role), audited.
#[utoipa::path(post, path = "/api/v1/members/{id}/points/adjustments", tag = "loyalty", request_body = AdjustmentRequest,
    params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = TransferResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn adjust(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AdjustmentRequest>,
) -> ApiResult<Json<TransferResult>> {
    let expires_at = match &body.expires_at {
        None => None,
        Some(raw) => Some(
            Timestamp::parse_rfc3339(raw)
                .ok_or_else(|| InvalidInput::new("expires_at", "must be an RFC 3339 time"))?,
        ),
    };
    let answer = ledger::adjust(
        &state.app,
        &caller,
        &id,
        ledger::Adjustment {
            amount: body.amount,
            reason: body.reason,
            expires_at,
        },
    )
    .await?;
    Ok(Json(result_of(answer)))
}

#[derive(Serialize, ToSchema)]
pub struct SourceCostView {
    pub source: String,
    /// Points this source paid out.
    pub issued: i64,
    /// Points that came back to it (refund reversals).
    pub returned: i64,
    pub net: i64,
    /// `net` in fen at the workspace's point value.
    pub net_fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SinkView {
    pub sink: String,
    pub spent: i64,
}

#[derive(Serialize, ToSchema)]
pub struct LiabilityResponse {
    /// Spendable points in all wallets: what the brand owes.
    pub outstanding: i64,
    /// `outstanding` in fen at the workspace's point value (`fen_per_100_points`).
    pub outstanding_fen: i64,
    pub fen_per_100_points: i64,
    pub held: i64,
    pub pending_earned: i64,
    pub debt: i64,
    /// Outstanding points that expire within the horizon.
    pub expiring: i64,
    pub horizon_days: u32,
    pub members_with_points: i64,
    pub expired_total: i64,
    pub sources: Vec<SourceCostView>,
    pub sinks: Vec<SinkView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiabilityQuery {
    /// Days ahead for `expiring` (default 30).
    pub horizon_days: Option<u32>,
}

/// Outstanding points, what expires soon, and what each source cost.
#[utoipa::path(get, path = "/api/v1/loyalty/liability", tag = "loyalty", params(LiabilityQuery),
    responses((status = 200, body = LiabilityResponse), (status = 403, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn liability(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<LiabilityQuery>,
) -> ApiResult<Json<LiabilityResponse>> {
    let horizon_days = query.horizon_days.unwrap_or(30);
    let (r, value) = ledger::liability(&state.app, &caller, horizon_days).await?;
    let fen = |points: i64| {
        i64::try_from(i128::from(points) * i128::from(value) / 100).unwrap_or(i64::MAX)
    };
    Ok(Json(LiabilityResponse {
        outstanding: r.outstanding,
        outstanding_fen: fen(r.outstanding),
        fen_per_100_points: value,
        held: r.held,
        pending_earned: r.pending_earned,
        debt: r.debt,
        expiring: r.expiring,
        horizon_days,
        members_with_points: r.members_with_points,
        expired_total: r.expired_total,
        sources: r
            .sources
            .into_iter()
            .map(|s| SourceCostView {
                net: s.issued - s.returned,
                net_fen: fen(s.issued - s.returned),
                source: s.source,
                issued: s.issued,
                returned: s.returned,
            })
            .collect(),
        sinks: r
            .sinks
            .into_iter()
            .map(|(sink, spent)| SinkView { sink, spent })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ReconciliationResponse {
    /// True when every member account equals the sum of its transfers and its lots.
    pub reconciled: bool,
    pub mismatches: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/loyalty/reconciliation", tag = "loyalty",
    responses((status = 200, body = ReconciliationResponse), (status = 403, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn reconciliation(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<ReconciliationResponse>> {
    let mismatches = ledger::reconcile(&state.app, &caller).await?;
    Ok(Json(ReconciliationResponse {
        reconciled: mismatches.is_empty(),
        mismatches,
    }))
}

/// The workspace's loyalty settings (defaults until changed).
#[utoipa::path(get, path = "/api/v1/loyalty/settings", tag = "loyalty",
    responses((status = 200, body = Object)), security(("bearer" = []), ("session" = [])))]
pub async fn get_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Value>> {
    let doc = settings::get(&state.app, &caller).await?;
    Ok(Json(serde_json::to_value(doc).unwrap_or(Value::Null)))
}

/// Replaces the settings; fields left out take their defaults (admin role).
#[utoipa::path(put, path = "/api/v1/loyalty/settings", tag = "loyalty", request_body = Object,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: String,
) -> ApiResult<Json<Value>> {
    let doc = settings::put(&state.app, &caller, &body).await?;
    Ok(Json(serde_json::to_value(doc).unwrap_or(Value::Null)))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/loyalty/transfers",
            with_idempotency(post(transfers), state),
        )
        .route("/api/v1/members/{id}/points", get(points))
        .route("/api/v1/members/{id}/points/lots", get(lots))
        .route("/api/v1/members/{id}/points/pending", get(pending))
        .route("/api/v1/members/{id}/points/history", get(history))
        .route(
            "/api/v1/members/{id}/points/adjustments",
            with_idempotency(post(adjust), state),
        )
        .route("/api/v1/loyalty/liability", get(liability))
        .route("/api/v1/loyalty/reconciliation", get(reconciliation))
        .route(
            "/api/v1/loyalty/settings",
            get(get_settings).put(put_settings),
        )
}
