//! RFM over an orders table at scale: every customer's recency, frequency and monetary
//! value, scored 1–5 by quintile and named by segment, with exactly the definitions of the
//! member profile's RFM ([`crate::members::rfm_scores`], which shares [`Quintiles`]).
//!
//! Ten million orders from a million customers take well under a second on two cores: the
//! CSV reader parses chunks of the file on separate threads and interns customer ids in
//! cache-sized buckets ([`crate::analytics::columns`]); [`rfm()`] aggregates into dense
//! per-customer arrays indexed by customer code and finds each score's four cut values
//! with a counting pass or a selection instead of sorting.
//!
//! # Layout
//! - [`orders`]: [`Orders`], the columnar orders table; `csv`: [`Orders::from_csv`] and,
//!   for reading a file in streamed parts, [`OrdersCsv`] and [`OrdersPart`].
//! - [`score`]: [`rfm()`] and its result: [`Rfm`], [`CustomerRfm`], [`RfmSummary`],
//!   [`RfmDefinition`].
//! - [`quintiles`]: [`Quintiles`], the scoring rule both RFMs use.
//! - [`segment`]: [`Segment`], the eleven-segment map over recency and frequency scores.
//! - [`distribution`]: [`ProfileDistribution`], stored profile scores counted by grid
//!   cell, segment and lifecycle stage (the console's RFM page).
//!
//! Agreement with a direct implementation (a hash map per customer, then
//! [`crate::members::rfm_scores`]) is property-tested in `properties`.

mod csv;
pub mod distribution;
pub mod orders;
#[cfg(test)]
mod properties;
pub mod quintiles;
pub mod score;
pub mod segment;

pub use csv::{OrdersCsv, OrdersPart};
pub use distribution::ProfileDistribution;
pub use orders::Orders;
pub use quintiles::Quintiles;
pub use score::{rfm, CustomerRfm, Rfm, RfmDefinition, RfmSummary};
pub use segment::Segment;
