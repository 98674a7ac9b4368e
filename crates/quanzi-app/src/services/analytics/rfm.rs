//! The RFM and lifecycle distribution of the stored member profiles: the scores the
//! `members.rfm` job wrote and each member's lifecycle stage now, counted by the domain's
//! [`ProfileDistribution`].

use quanzi_domain::analytics::rfm::ProfileDistribution;
use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::members::LifecycleStage;
use quanzi_domain::time::Timestamp;

use crate::principal::Principal;
use crate::{App, Result};

pub struct RfmDistribution {
    /// When lifecycle stages were judged.
    pub as_of: Timestamp,
    /// The newest scoring run among the members (the job rescores all at once).
    pub scored_at: Option<Timestamp>,
    pub distribution: ProfileDistribution,
}

pub async fn distribution(app: &App, principal: &Principal) -> Result<RfmDistribution> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    let rows = app.store.profile_scores(&principal.workspace_id).await?;
    let as_of = app.clock.now();
    let mut distribution = ProfileDistribution::default();
    let mut scored_at: Option<Timestamp> = None;
    for row in rows {
        let stage = LifecycleStage::of_profile(
            as_of,
            row.created_at,
            row.first_seen_at,
            row.last_seen_at,
            row.last_order_at,
            row.last_interaction_at,
        );
        distribution.add(row.rfm, row.gmv_fen - row.refund_fen, stage);
        scored_at = scored_at.max(row.rfm_at);
    }
    Ok(RfmDistribution {
        as_of,
        scored_at,
        distribution,
    })
}
