//! Analytics: algorithms as pure functions over columnar inputs, used by the API on stored
//! data and by the command line on CSV files.
//!
//! # Layout
//! - [`clv`]: customer lifetime value (BG/NBD, Gamma-Gamma, discounted CLV).

pub mod clv;
