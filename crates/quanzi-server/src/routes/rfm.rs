//! `GET /api/v1/analytics/rfm`: how the stored member profiles spread over RFM scores,
//! segments and lifecycle stages.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use quanzi_app::services::analytics::rfm::{self, RfmDistribution};
use quanzi_domain::analytics::rfm::distribution::Cell;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct CellResponse {
    pub members: u64,
    /// GMV minus refunds of these members, fen.
    pub net_fen: i64,
}

impl From<Cell> for CellResponse {
    fn from(c: Cell) -> Self {
        Self {
            members: c.members,
            net_fen: c.net_fen,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SegmentResponse {
    /// `champions`, `loyal`, `potential loyalist`, `new`, `promising`, `need attention`,
    /// `about to sleep`, `at risk`, `can't lose`, `hibernating`, `lost`.
    pub segment: &'static str,
    pub members: u64,
    pub net_fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct StageResponse {
    /// `new`, `growing`, `mature`, `churn_risk`, `dormant`.
    pub stage: &'static str,
    pub members: u64,
}

#[derive(Serialize, ToSchema)]
pub struct RfmResponse {
    /// When the lifecycle stages were judged.
    pub as_of: String,
    /// The newest scoring run (`members.rfm` job); null before the first.
    pub scored_at: Option<String>,
    /// What was counted, in words.
    pub definition: &'static str,
    pub scored_members: u64,
    /// Members the job has not scored (no paid order yet).
    pub unscored: CellResponse,
    /// `grid[r - 1][f - 1]`: members with recency score r and frequency score f.
    pub grid: Vec<Vec<CellResponse>>,
    /// Members per score 1–5.
    pub recency: Vec<u64>,
    pub frequency: Vec<u64>,
    pub monetary: Vec<u64>,
    pub segments: Vec<SegmentResponse>,
    pub lifecycle: Vec<StageResponse>,
}

const DEFINITION: &str = "live members (merged ones excluded); scores 1-5 by quintile of days since the last \
paid order, paid orders and net spend, written by the daily members.rfm job; segments by the recency x frequency \
map; lifecycle stages judged now from first/last activity and last interaction";

fn response(r: RfmDistribution) -> RfmResponse {
    let d = &r.distribution;
    let counts = |parts: [usize; 5]| parts.iter().map(|&n| n as u64).collect();
    RfmResponse {
        as_of: r.as_of.to_rfc3339(),
        scored_at: r.scored_at.map(|t| t.to_rfc3339()),
        definition: DEFINITION,
        scored_members: d.scored(),
        unscored: d.unscored().into(),
        grid: (1..=5)
            .map(|recency| {
                (1..=5)
                    .map(|frequency| d.cell(recency, frequency).into())
                    .collect()
            })
            .collect(),
        recency: counts(d.summary().recency()),
        frequency: counts(d.summary().frequency()),
        monetary: counts(d.summary().monetary()),
        segments: d
            .segments()
            .iter()
            .map(|(segment, cell)| SegmentResponse {
                segment: segment.name(),
                members: cell.members,
                net_fen: cell.net_fen,
            })
            .collect(),
        lifecycle: d
            .lifecycle()
            .iter()
            .map(|(stage, members)| StageResponse {
                stage: stage.as_str(),
                members: *members,
            })
            .collect(),
    }
}

/// The RFM grid, segments with their members and net value, and lifecycle stages of the
/// workspace's stored profiles.
#[utoipa::path(get, path = "/api/v1/analytics/rfm", tag = "analytics",
    responses((status = 200, body = RfmResponse), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn distribution(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<RfmResponse>> {
    Ok(Json(response(
        rfm::distribution(&state.app, &caller).await?,
    )))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new().route("/api/v1/analytics/rfm", get(distribution))
}
