//! Analytics on stored data: metric series with their seasonal baselines, and the
//! overview's period totals beside the previous period.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::analytics::attribution::{self, AttributionQuery, AttributionReport};
use quanzi_app::services::analytics::clv::{self, ClvQuery, ClvReport};
use quanzi_app::services::analytics::funnel::{self, FunnelQuery, FunnelResult};
use quanzi_app::services::analytics::metrics::{self, PeriodTotals, Series};
use quanzi_app::services::analytics::retention::{self, RetentionQuery, RetentionResult};
use quanzi_domain::analytics::anomaly::rule::{Granularity, Metric};
use quanzi_domain::analytics::anomaly::{AnomalyConfig, Method};
use quanzi_domain::analytics::clv::Estimate;
use quanzi_domain::input::InvalidInput;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{optional_time, required_time};
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// `day` (default) or `hour`.
    pub granularity: Option<String>,
    /// RFC 3339; default 28 days (48 hours) before `to`.
    pub from: Option<String>,
    /// RFC 3339, exclusive; default now (the current bucket, still filling, is included).
    pub to: Option<String>,
    /// Baseline: `robust_z` (default) or `ewma`.
    pub method: Option<String>,
    /// |z| of the band (default 3.5).
    pub threshold: Option<f64>,
    /// Weeks of history in the baseline (default 8).
    pub lookback_weeks: Option<usize>,
}

/// A number that may be unknown (JSON null): a rate without a denominator, a baseline
/// without enough history.
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

#[derive(Serialize, ToSchema)]
pub struct SeriesPointResponse {
    pub start: String,
    pub value: Option<f64>,
    pub numerator: f64,
    pub denominator: f64,
    /// The baseline (null until three earlier same-season buckets exist).
    pub expected: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub score: Option<f64>,
    pub anomalous: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SeriesResponse {
    pub metric: String,
    pub granularity: String,
    /// The zone day buckets follow.
    pub time_zone: String,
    pub method: String,
    pub threshold: f64,
    pub lookback_weeks: usize,
    pub points: Vec<SeriesPointResponse>,
}

fn series(s: Series) -> SeriesResponse {
    SeriesResponse {
        metric: s.metric.as_str().into(),
        granularity: s.granularity.as_str().into(),
        time_zone: s.time_zone,
        method: s.config.method.as_str().into(),
        threshold: s.config.threshold,
        lookback_weeks: s.config.lookback,
        points: s
            .points
            .into_iter()
            .map(|p| SeriesPointResponse {
                start: p.start.to_rfc3339(),
                value: finite(p.measured.value),
                numerator: p.measured.numerator,
                denominator: p.measured.denominator,
                expected: p.judged.expected,
                lower: p.judged.lower,
                upper: p.judged.upper,
                score: p.judged.score,
                anomalous: p.judged.anomalous,
            })
            .collect(),
    }
}

/// A metric per day or hour with its seasonal baseline and band: `gmv` (fen), `orders`,
/// `new_members`, `active_members`, `conversion_rate`, `refund_rate`, `share_rate`.
#[utoipa::path(get, path = "/api/v1/analytics/metrics/{metric}", tag = "analytics", params(SeriesQuery,
        ("metric" = String, Path, description = "gmv, orders, new_members, active_members, conversion_rate, refund_rate, share_rate")),
    responses((status = 200, body = SeriesResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn metric_series(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(metric): Path<String>,
    Query(q): Query<SeriesQuery>,
) -> ApiResult<Json<SeriesResponse>> {
    let metric = Metric::parse(&metric).ok_or_else(|| {
        InvalidInput::new(
            "metric",
            "must be one of gmv, orders, new_members, active_members, conversion_rate, refund_rate, share_rate",
        )
    })?;
    let granularity = match q.granularity.as_deref() {
        None => Granularity::Day,
        Some(raw) => Granularity::parse(raw)
            .ok_or_else(|| InvalidInput::new("granularity", "must be day or hour"))?,
    };
    let method = match q.method.as_deref() {
        None => Method::RobustZ,
        Some(raw) => Method::parse(raw)
            .ok_or_else(|| InvalidInput::new("method", "must be robust_z or ewma"))?,
    };
    let threshold = q.threshold.unwrap_or(3.5);
    if !(threshold.is_finite() && threshold > 0.0) {
        return Err(InvalidInput::new("threshold", "must be a positive number").into());
    }
    let lookback = q.lookback_weeks.unwrap_or(8);
    if !(1..=52).contains(&lookback) {
        return Err(InvalidInput::new("lookback_weeks", "must be 1 to 52").into());
    }
    let config = AnomalyConfig {
        method,
        season: granularity.season(),
        lookback,
        threshold,
        ..AnomalyConfig::default()
    };
    let s = metrics::series(
        &state.app,
        &caller,
        metric,
        granularity,
        optional_time("from", q.from.as_deref())?,
        optional_time("to", q.to.as_deref())?,
        config,
    )
    .await?;
    Ok(Json(series(s)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// RFC 3339.
    pub from: String,
    /// RFC 3339, exclusive.
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct PeriodResponse {
    pub from: String,
    pub to: String,
    pub gmv_fen: i64,
    pub orders: i64,
    pub buyers: i64,
    pub refund_fen: i64,
    /// Distinct members with an event or an order in the period.
    pub active_members: i64,
    pub new_members: i64,
    pub sharers: i64,
    /// GMV ÷ active members (fen).
    pub uv_value_fen: Option<f64>,
    /// Buyers ÷ active members.
    pub conversion_rate: Option<f64>,
    /// Sharers ÷ active members.
    pub share_rate: Option<f64>,
    /// Refunded ÷ paid in the period.
    pub refund_rate: Option<f64>,
}

fn period(p: PeriodTotals) -> PeriodResponse {
    let t = p.totals;
    PeriodResponse {
        from: p.from.to_rfc3339(),
        to: p.to.to_rfc3339(),
        gmv_fen: t.gmv_fen,
        orders: t.orders,
        buyers: t.buyers,
        refund_fen: t.refund_fen,
        active_members: t.active_members,
        new_members: t.new_members,
        sharers: t.sharers,
        uv_value_fen: finite(p.uv_value_fen()),
        conversion_rate: finite(p.value(Metric::ConversionRate)),
        share_rate: finite(p.value(Metric::ShareRate)),
        refund_rate: finite(p.value(Metric::RefundRate)),
    }
}

#[derive(Serialize, ToSchema)]
pub struct OverviewResponse {
    pub current: PeriodResponse,
    /// The period of equal length just before.
    pub previous: PeriodResponse,
}

/// Period totals (GMV, orders, UV value, share, refund and conversion rates, new and
/// active members) beside the previous period of equal length.
#[utoipa::path(get, path = "/api/v1/analytics/overview", tag = "analytics", params(PeriodQuery),
    responses((status = 200, body = OverviewResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn overview(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json<OverviewResponse>> {
    let (current, previous) = metrics::overview(
        &state.app,
        &caller,
        required_time("from", &q.from)?,
        required_time("to", &q.to)?,
    )
    .await?;
    Ok(Json(OverviewResponse {
        current: period(current),
        previous: period(previous),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributionRequest {
    /// RFC 3339: conversions (paid orders) from here…
    pub from: String,
    /// …to here (exclusive).
    pub to: String,
    /// Touchpoint column naming the channel: `channel` (default), `utm_source`,
    /// `utm_campaign`, `kol_id`, `campaign_id`, `content_id`.
    pub touch: Option<String>,
    /// Touches more than this many days before a conversion do not count (default 30).
    pub lookback_days: Option<u32>,
    /// `first`, `last`, `linear`, `position`, `decay`, `markov1`–`markov3`, `shapley`
    /// (default all).
    pub models: Option<Vec<String>>,
    /// Time-decay half-life in touches (default 2).
    pub half_life: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct CreditResponse {
    pub channel: String,
    pub conversions: f64,
    /// Fen.
    pub value: f64,
}

#[derive(Serialize, ToSchema)]
pub struct ModelResponse {
    pub model: String,
    /// Exactly what was computed (exact or sampled, order, error bounds).
    pub definition: String,
    pub credits: Vec<CreditResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct AttributionResponse {
    pub from: String,
    pub to: String,
    pub touch: String,
    pub lookback_days: u32,
    pub half_life: f64,
    pub converting_journeys: u64,
    pub non_converting_journeys: u64,
    /// Conversions with no touch in their window (direct): not credited to any channel.
    pub unattributed_conversions: u64,
    pub unattributed_value: f64,
    pub distinct_paths: usize,
    pub channels: Vec<String>,
    pub total_conversions: f64,
    pub total_value: f64,
    /// One per model; empty when nothing converted.
    pub models: Vec<ModelResponse>,
}

fn attribution_response(r: AttributionReport) -> AttributionResponse {
    AttributionResponse {
        from: r.query.from.to_rfc3339(),
        to: r.query.to.to_rfc3339(),
        touch: r.query.touch,
        lookback_days: r.query.lookback_days,
        half_life: r.query.half_life,
        converting_journeys: r.counts.converting,
        non_converting_journeys: r.counts.non_converting,
        unattributed_conversions: r.counts.unattributed,
        unattributed_value: r.counts.unattributed_value,
        distinct_paths: r.distinct_paths,
        channels: r.channels,
        total_conversions: r.total_conversions,
        total_value: r.total_value,
        models: r
            .results
            .into_iter()
            .map(|(model, a)| ModelResponse {
                model,
                definition: a.definition().to_owned(),
                credits: a
                    .credits()
                    .iter()
                    .map(|c| CreditResponse {
                        channel: c.channel().to_owned(),
                        conversions: c.conversions(),
                        value: c.value(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Multi-touch attribution of the paid orders in a period over members' touches, every
/// model side by side.
#[utoipa::path(post, path = "/api/v1/analytics/attribution", tag = "analytics", request_body = AttributionRequest,
    responses((status = 200, body = AttributionResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn attribute(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(b): ApiJson<AttributionRequest>,
) -> ApiResult<Json<AttributionResponse>> {
    let query = AttributionQuery {
        touch: b.touch.unwrap_or_else(|| "channel".into()),
        from: required_time("from", &b.from)?,
        to: required_time("to", &b.to)?,
        lookback_days: b.lookback_days.unwrap_or(30),
        models: b.models.unwrap_or_default(),
        half_life: b.half_life.unwrap_or(2.0),
    };
    Ok(Json(attribution_response(
        attribution::attribute(&state.app, &caller, query).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FunnelRequest {
    /// RFC 3339: events and orders from here…
    pub from: String,
    /// …to here (exclusive).
    pub to: String,
    /// Event types, first step first (1–32, distinct); `order` is a paid order.
    pub steps: Vec<String>,
    /// `ordered` (default), `strict` (each step the member's very next event) or
    /// `unordered`.
    pub mode: Option<String>,
    /// Conversion window from the first step: `30m`, `2h`, `7d` (default `7d`).
    pub window: Option<String>,
    /// Event types that end an attempt when they happen after its first step.
    pub exclusions: Option<Vec<String>>,
    /// Break the funnel down by the first step's `channel`, `utm_source`,
    /// `utm_campaign`, `kol_id`, `campaign_id` or `content_id`.
    pub breakdown: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FunnelStepResponse {
    pub step: String,
    pub members: u64,
    /// Share of the previous step (null for the first).
    pub from_previous: Option<f64>,
    /// Share of the first step.
    pub overall: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct HistogramBucketResponse {
    pub label: String,
    pub from_seconds: i64,
    pub to_seconds: Option<i64>,
    pub members: u64,
}

#[derive(Serialize, ToSchema)]
pub struct BreakdownResponse {
    pub value: String,
    /// Members per step.
    pub members: Vec<u64>,
    pub overall: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct FunnelResponse {
    pub from: String,
    pub to: String,
    pub mode: String,
    pub window_seconds: i64,
    pub exclusions: Vec<String>,
    pub breakdown: Option<String>,
    pub members_considered: u64,
    pub events_considered: u64,
    pub steps: Vec<FunnelStepResponse>,
    /// Members who reached the last step, and how long it took them from the first.
    pub converted: u64,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    pub time_to_convert: Vec<HistogramBucketResponse>,
    pub breakdown_rows: Vec<BreakdownResponse>,
}

fn funnel_response(r: FunnelResult) -> FunnelResponse {
    let report = &r.report;
    let d = report.definition();
    let t = report.time_to_convert();
    FunnelResponse {
        from: r.query.from.to_rfc3339(),
        to: r.query.to.to_rfc3339(),
        mode: d.mode().to_string(),
        window_seconds: d.window().seconds(),
        exclusions: r.query.exclusions.clone(),
        breakdown: r.query.breakdown.clone(),
        members_considered: d.members_considered(),
        events_considered: d.events_considered(),
        steps: r
            .query
            .steps
            .iter()
            .zip(report.steps())
            .map(|(name, s)| FunnelStepResponse {
                step: name.clone(),
                members: s.members(),
                from_previous: s.from_previous(),
                overall: s.overall(),
            })
            .collect(),
        converted: t.converted(),
        median_seconds: t.median(),
        p90_seconds: t.p90(),
        time_to_convert: t
            .histogram()
            .iter()
            .map(|b| HistogramBucketResponse {
                label: b.label(),
                from_seconds: b.from(),
                to_seconds: b.to(),
                members: b.members(),
            })
            .collect(),
        breakdown_rows: report
            .breakdown()
            .iter()
            .map(|b| BreakdownResponse {
                value: r.breakdowns.name(b.code()).to_owned(),
                members: b.members().to_vec(),
                overall: b.overall(),
            })
            .collect(),
    }
}

/// A conversion funnel over the period's events and paid orders, with step-to-step and
/// overall conversion, time to convert, and an optional breakdown.
#[utoipa::path(post, path = "/api/v1/analytics/funnel", tag = "analytics", request_body = FunnelRequest,
    responses((status = 200, body = FunnelResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn run_funnel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(b): ApiJson<FunnelRequest>,
) -> ApiResult<Json<FunnelResponse>> {
    let query = FunnelQuery {
        from: required_time("from", &b.from)?,
        to: required_time("to", &b.to)?,
        steps: b.steps,
        mode: b.mode.unwrap_or_else(|| "ordered".into()),
        window: b.window.unwrap_or_else(|| "7d".into()),
        exclusions: b.exclusions.unwrap_or_default(),
        breakdown: b.breakdown,
    };
    Ok(Json(funnel_response(
        funnel::run(&state.app, &caller, query).await?,
    )))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClvParams {
    /// RFC 3339; default now. Orders before it are the history.
    pub as_of: Option<String>,
    /// Periods in the horizon (default 12).
    pub periods: Option<u32>,
    /// Days per period (default 30).
    pub period_days: Option<f64>,
    /// Discount rate per period (default 0.01).
    pub discount_rate: Option<f64>,
    /// Members listed, highest value first (default 20, at most 500).
    pub top: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct EstimateResponse {
    pub value: f64,
    pub std_error: f64,
}

fn estimate(e: Estimate) -> EstimateResponse {
    EstimateResponse {
        value: e.value,
        std_error: e.std_error,
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberValueResponse {
    pub member_id: String,
    /// Repeat purchase days, days from first to last, days since the first.
    pub frequency: f64,
    pub recency_days: f64,
    pub age_days: f64,
    pub p_alive: f64,
    pub expected_purchases: f64,
    /// Discounted value over the horizon, fen.
    pub clv_fen: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct ClvResponse {
    pub as_of: String,
    pub periods: u32,
    pub period_days: f64,
    pub discount_rate: f64,
    pub customers: usize,
    pub repeat_customers: usize,
    pub r: EstimateResponse,
    pub alpha: EstimateResponse,
    pub a: EstimateResponse,
    pub b: EstimateResponse,
    pub log_likelihood: f64,
    /// Gamma-Gamma's p, q, γ (null with a note when it could not be fitted).
    pub p: Option<EstimateResponse>,
    pub q: Option<EstimateResponse>,
    pub gamma: Option<EstimateResponse>,
    pub note: Option<String>,
    /// Members per tenth of P(alive): [0, 0.1), [0.1, 0.2), … [0.9, 1].
    pub p_alive_histogram: Vec<u64>,
    pub total_clv_fen: Option<f64>,
    pub expected_purchases_total: f64,
    pub top: Vec<MemberValueResponse>,
}

fn clv_response(r: ClvReport, top: usize) -> ClvResponse {
    let mut histogram = vec![0u64; 10];
    for m in &r.members {
        histogram[((m.p_alive * 10.0) as usize).min(9)] += 1;
    }
    let total = r
        .spend
        .as_ref()
        .map(|_| r.members.iter().filter_map(|m| m.clv_fen).sum());
    ClvResponse {
        as_of: r.query.as_of.to_rfc3339(),
        periods: r.query.periods,
        period_days: r.query.period_days,
        discount_rate: r.query.discount_rate,
        customers: r.members.len(),
        repeat_customers: r
            .members
            .iter()
            .filter(|m| m.summary.frequency > 0.0)
            .count(),
        r: estimate(r.purchases.r),
        alpha: estimate(r.purchases.alpha),
        a: estimate(r.purchases.a),
        b: estimate(r.purchases.b),
        log_likelihood: r.purchases.log_likelihood,
        p: r.spend.as_ref().map(|s| estimate(s.p)),
        q: r.spend.as_ref().map(|s| estimate(s.q)),
        gamma: r.spend.as_ref().map(|s| estimate(s.gamma)),
        note: r.spend_note.clone(),
        p_alive_histogram: histogram,
        total_clv_fen: total,
        expected_purchases_total: r.members.iter().map(|m| m.expected_purchases).sum(),
        top: r
            .members
            .iter()
            .take(top)
            .map(|m| MemberValueResponse {
                member_id: m.member_id.clone(),
                frequency: m.summary.frequency,
                recency_days: m.summary.recency,
                age_days: m.summary.age,
                p_alive: m.p_alive,
                expected_purchases: m.expected_purchases,
                clv_fen: m.clv_fen,
            })
            .collect(),
    }
}

/// Customer lifetime value from stored orders: BG/NBD and Gamma-Gamma by maximum
/// likelihood (with standard errors), P(alive), expected purchases and discounted value.
#[utoipa::path(get, path = "/api/v1/analytics/clv", tag = "analytics", params(ClvParams),
    responses((status = 200, body = ClvResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn lifetime_value(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<ClvParams>,
) -> ApiResult<Json<ClvResponse>> {
    let query = ClvQuery {
        as_of: optional_time("as_of", q.as_of.as_deref())?.unwrap_or_else(|| state.app.clock.now()),
        periods: q.periods.unwrap_or(12),
        period_days: q.period_days.unwrap_or(30.0),
        discount_rate: q.discount_rate.unwrap_or(0.01),
    };
    let top = q.top.unwrap_or(20).min(500);
    Ok(Json(clv_response(
        clv::report(&state.app, &caller, query).await?,
        top,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionRequest {
    /// RFC 3339: events and orders from here…
    pub from: String,
    /// …to here (exclusive).
    pub to: String,
    /// The event that starts a cohort (`order` = a paid order).
    pub start: String,
    /// The event that counts as coming back (may equal `start`).
    pub return_event: String,
    /// `day`, `week` (default) or `month`, on the workspace's calendar.
    pub period: Option<String>,
    /// Offsets after the cohort's period, 1–60 (default 8).
    pub periods: Option<u32>,
    /// `on` (that period exactly, default) or `unbounded` (that period or later).
    pub mode: Option<String>,
    /// `first-time` (default: each member's first start) or `recurring`.
    pub kind: Option<String>,
    /// Break down by the first start's `channel`, `utm_source`, … (acquisition).
    pub breakdown: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CohortResponse {
    /// The cohort's first day.
    pub start: String,
    pub breakdown: Option<String>,
    pub size: u64,
    /// Retained members per offset 0..=periods; null where the period has not begun.
    pub retained: Vec<Option<u64>>,
    pub rates: Vec<Option<f64>>,
}

#[derive(Serialize, ToSchema)]
pub struct OverallResponse {
    pub breakdown: Option<String>,
    pub size: u64,
    /// Members of cohorts whose cell at each offset is reported.
    pub eligible: Vec<u64>,
    pub retained: Vec<u64>,
    pub rates: Vec<Option<f64>>,
}

#[derive(Serialize, ToSchema)]
pub struct RetentionResponse {
    pub from: String,
    pub to: String,
    /// What was counted, in words.
    pub definition: String,
    pub members: u64,
    pub cohorts: Vec<CohortResponse>,
    pub overall: Vec<OverallResponse>,
}

fn retention_response(r: RetentionResult) -> RetentionResponse {
    let t = &r.table;
    let name = |code: Option<u32>| code.map(|c| r.breakdowns.name(c).to_owned());
    RetentionResponse {
        from: r.query.from.to_rfc3339(),
        to: r.query.to.to_rfc3339(),
        definition: t.definition().describe(|c| r.events.name(c).to_owned()),
        members: t.definition().members(),
        cohorts: t
            .cohorts()
            .iter()
            .map(|c| CohortResponse {
                start: c.start().to_string(),
                breakdown: name(c.breakdown()),
                size: c.size(),
                retained: c.retained().to_vec(),
                rates: (0..c.retained().len()).map(|k| c.rate(k)).collect(),
            })
            .collect(),
        overall: t
            .overall()
            .iter()
            .map(|o| OverallResponse {
                breakdown: name(o.breakdown()),
                size: o.size(),
                eligible: o.eligible().to_vec(),
                retained: o.retained().to_vec(),
                rates: (0..o.retained().len()).map(|k| o.rate(k)).collect(),
            })
            .collect(),
    }
}

/// Cohort retention: of the members who did `start` in a period, how many did
/// `return_event` in each later period.
#[utoipa::path(post, path = "/api/v1/analytics/retention", tag = "analytics", request_body = RetentionRequest,
    responses((status = 200, body = RetentionResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn run_retention(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(b): ApiJson<RetentionRequest>,
) -> ApiResult<Json<RetentionResponse>> {
    let query = RetentionQuery {
        from: required_time("from", &b.from)?,
        to: required_time("to", &b.to)?,
        start: b.start,
        return_event: b.return_event,
        period: b.period.unwrap_or_else(|| "week".into()),
        periods: b.periods.unwrap_or(8),
        mode: b.mode.unwrap_or_else(|| "on".into()),
        kind: b.kind.unwrap_or_else(|| "first-time".into()),
        breakdown: b.breakdown,
    };
    Ok(Json(retention_response(
        retention::run(&state.app, &caller, query).await?,
    )))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/analytics/retention", post(run_retention))
        .route("/api/v1/analytics/clv", get(lifetime_value))
        .route("/api/v1/analytics/funnel", post(run_funnel))
        .route("/api/v1/analytics/attribution", post(attribute))
        .route("/api/v1/analytics/metrics/{metric}", get(metric_series))
        .route("/api/v1/analytics/overview", get(overview))
}
