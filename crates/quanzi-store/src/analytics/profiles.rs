//! The scored part of every live member's profile, for the RFM and lifecycle
//! distribution (no identities, traits or ids: only what the counts need).

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::members::RfmScore;
use quanzi_domain::time::Timestamp;

use crate::error::Result;
use crate::rows::{int, opt_int, opt_ts, ts};
use crate::Store;

#[derive(Debug, Clone)]
pub struct ProfileScoreRow {
    /// `None` until the RFM job has scored the member (members without orders stay so).
    pub rfm: Option<RfmScore>,
    pub rfm_at: Option<Timestamp>,
    pub order_count: i64,
    pub gmv_fen: i64,
    pub refund_fen: i64,
    pub created_at: Timestamp,
    pub first_seen_at: Option<Timestamp>,
    pub last_seen_at: Option<Timestamp>,
    pub last_order_at: Option<Timestamp>,
    pub last_interaction_at: Option<Timestamp>,
}

impl Store {
    /// Every live (not merged) member's scores and activity times. Erased members stay:
    /// erasure removes personal data, not their anonymous part of the aggregates.
    pub async fn profile_scores(&self, workspace: &WorkspaceId) -> Result<Vec<ProfileScoreRow>> {
        sqlx::query(
            "SELECT rfm_recency, rfm_frequency, rfm_monetary, rfm_at, order_count, gmv_fen, refund_fen,
                    created_at, first_seen_at, last_seen_at, last_order_at, last_interaction_at
             FROM members WHERE workspace_id = $1 AND merged_into IS NULL",
        )
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| {
            let score = |column| opt_int(row, column).map(|v| v.map(|v| v as u8));
            Ok(ProfileScoreRow {
                rfm: match (score("rfm_recency")?, score("rfm_frequency")?, score("rfm_monetary")?) {
                    (Some(recency), Some(frequency), Some(monetary)) => Some(RfmScore {
                        recency,
                        frequency,
                        monetary,
                    }),
                    _ => None,
                },
                rfm_at: opt_ts(row, "rfm_at")?,
                order_count: int(row, "order_count")?,
                gmv_fen: int(row, "gmv_fen")?,
                refund_fen: int(row, "refund_fen")?,
                created_at: ts(row, "created_at")?,
                first_seen_at: opt_ts(row, "first_seen_at")?,
                last_seen_at: opt_ts(row, "last_seen_at")?,
                last_order_at: opt_ts(row, "last_order_at")?,
                last_interaction_at: opt_ts(row, "last_interaction_at")?,
            })
        })
        .collect()
    }
}
