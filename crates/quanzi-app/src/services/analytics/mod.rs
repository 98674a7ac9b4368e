//! Analytics on stored data.
//!
//! # Layout
//! - `metrics`: metric series per day or hour in the workspace's time zone, judged
//!   against their seasonal baseline, and period totals with the previous period beside
//!   them (the overview dashboard).
//! - `alerts`: anomaly alert rules, their evaluation (the `analytics.alerts` job) and the
//!   alerts they fire, with their actions.
//! - `attribution`: journeys assembled from stored touches and orders, credited by every
//!   model.
//! - `clv`: BG/NBD and Gamma-Gamma fitted on stored orders, members scored.
//! - `funnel`: funnels over stored events and orders (`behaviour` loads them as columns).
//! - `retention`: cohort retention over stored events and orders.
//! - `rfm`: the stored profiles' RFM grid, segments and lifecycle stages.
//! - `experiments`: experiments, deterministic assignment with exposure logging, and
//!   results (Bayesian, Beta-Binomial, CUPED, SRM, holdout lift).

pub mod alerts;
pub mod attribution;
mod behaviour;
pub mod clv;
pub mod experiments;
pub mod funnel;
pub mod metrics;
pub mod retention;
pub mod rfm;

/// A period of at most 366 days, `to` after `from`.
pub(crate) fn check_period(
    from: quanzi_domain::time::Timestamp,
    to: quanzi_domain::time::Timestamp,
) -> std::result::Result<(), quanzi_domain::input::InvalidInput> {
    if to <= from {
        return Err(quanzi_domain::input::InvalidInput::new(
            "to",
            "must be after from",
        ));
    }
    if to.millis() - from.millis() > 366 * 86_400_000 {
        return Err(quanzi_domain::input::InvalidInput::new(
            "from",
            "the period may be at most 366 days",
        ));
    }
    Ok(())
}
