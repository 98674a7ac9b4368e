//! Special functions the statistics need, written here so the domain crate stays free of
//! numeric dependencies.
//!
//! Everything is accurate to roughly 1e-14 relative in the ranges experiments use, which
//! is what lets results be compared with scipy-based tools (gbstats) to 1e-6 and better.
//!
//! # Layout
//! - [`gamma`]: log-gamma and the regularized incomplete gamma functions (which also give
//!   `erfc`, hence the normal CDF, and the chi-square distribution).
//! - [`beta`]: log-beta and the regularized incomplete beta function.
//! - [`normal`]: the standard normal density, CDF and quantile.
//! - [`student_t`]: Student's t CDF and quantile.
//! - [`chi_square`]: the chi-square CDF and survival function.

pub mod beta;
pub mod chi_square;
pub mod gamma;
pub mod normal;
pub mod student_t;

/// How many continued-fraction or series terms to try before giving up; the expansions
/// converge in well under a hundred terms for the arguments we use, so reaching this
/// means a pathological argument, and the best value so far is returned.
pub(crate) const MAX_ITERATIONS: usize = 10_000;

/// Values smaller than this stand in for zero in Lentz's continued-fraction algorithm,
/// which would otherwise divide by zero.
pub(crate) const TINY: f64 = 1e-300;
