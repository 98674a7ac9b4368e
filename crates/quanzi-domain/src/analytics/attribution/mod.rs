//! Multi-touch attribution: which channels earned a table of customer journeys' conversions
//! and conversion value.
//!
//! Input is ChannelAttribution's path table — rows of `path` (`"a > b > c"`),
//! `conversions`, `value` and `nulls` (journeys on that path that did not convert) — parsed
//! once into [`Journeys`], a columnar form with interned channel ids and identical paths
//! merged. Every model returns an [`Attribution`] whose credits sum to the table's total
//! conversions and total value, and whose [`Attribution::definition`] says exactly what was
//! computed.
//!
//! # Layout
//! - [`journeys`]: the path table ([`Journeys::parse_rows`]), `csv`: [`Journeys::from_csv`].
//! - [`credit`]: [`Attribution`], [`ChannelCredit`], [`ModelName`].
//! - [`heuristics`]: first touch, last touch, linear, position based (40/20/40), time decay.
//! - [`markov`](mod@markov): removal effect on an order-1–3 chain, with `chain` (estimating it) and
//!   `absorb` (solving it exactly: elimination, or Gauss–Seidel with a certified bracket).
//! - [`shapley`](mod@shapley): exact over `2^n` coalitions up to 15 channels, sampled with standard
//!   errors beyond.
//! - [`synthetic`]: a deterministic journey generator for benchmarks.
//! - [`touches`]: journeys assembled from stored touches and conversions (lookback,
//!   non-converting journeys, unattributed conversions).
//! - [`models`]: models chosen by name, shared by the command line and the API.
//!
//! Cross-model invariants (credits add up to the totals) are property-tested in
//! `properties`.

mod absorb;
mod chain;
pub mod credit;
mod csv;
pub mod heuristics;
pub mod journeys;
pub mod markov;
pub mod models;
#[cfg(test)]
mod properties;
pub mod shapley;
pub mod synthetic;
pub mod touches;

pub use credit::{Attribution, ChannelCredit, ModelName};
pub use heuristics::{first_touch, last_touch, linear, position_based, time_decay, HalfLife};
pub use journeys::Journeys;
pub use markov::{markov, MarkovAttribution, MarkovOrder};
pub use shapley::{
    shapley, shapley_exact, shapley_sampled, ShapleyAttribution, ShapleySampling, StandardError,
    EXACT_CHANNEL_LIMIT,
};
pub use synthetic::synthetic_journeys;
