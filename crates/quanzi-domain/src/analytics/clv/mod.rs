//! Customer lifetime value: the BG/NBD model of how often customers buy and when they
//! lapse (Fader, Hardie & Lee 2005, "Counting your customers the easy way"), the
//! Gamma-Gamma model of how much they spend per order (Fader, Hardie & Lee 2005, "RFM and
//! CLV"), and their combination into a discounted lifetime value.
//!
//! # Layout
//! - [`bgnbd`]: the BG/NBD likelihood, its maximum-likelihood fit with standard errors,
//!   P(alive) and expected purchases.
//! - `bgnbd_rows`: the BG/NBD log-likelihood summed over customers with its analytic
//!   gradient and Hessian, work split across threads; `collapse` merges equal summaries
//!   into weighted rows for it.
//! - [`gamma_gamma`]: the Gamma-Gamma spend model and its fit.
//! - [`value`]: CLV over a horizon with a discount rate.
//! - `fit`: damped Newton steps over log-parameters, and the standard errors from the
//!   Hessian at the optimum.
//! - `special`: log-gamma, digamma, trigamma and the Gauss hypergeometric function the
//!   formulas need.
//! - [`simulate`]: drawing customers from known parameters (for tests and benchmarks).
//! - [`table`]: reading a customer summary table (CSV) as `lifetimes` writes it.
//!
//! Inputs are the usual RFM summary per customer, in one time unit throughout (days or
//! weeks): `frequency` x = repeat purchases, `recency` t_x = time of the last purchase
//! since the first, `age` T = time since the first purchase, and for spend the mean value
//! of the repeat purchases.

pub mod bgnbd;
mod bgnbd_rows;
mod collapse;
mod fit;
pub mod gamma_gamma;
pub mod simulate;
mod special;
pub mod table;
pub mod value;

/// One customer's purchase history, summarised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Repeat purchases (after the first).
    pub frequency: f64,
    /// Time from the first to the last purchase (0 without repeats).
    pub recency: f64,
    /// Time from the first purchase to the end of the observation.
    pub age: f64,
}

impl Summary {
    /// Checks a summary: counts and times non-negative, recency within age, and no
    /// recency without repeats.
    pub fn check(&self, i: usize) -> Result<(), crate::input::InvalidInput> {
        let field = |name: &str| format!("customers[{i}].{name}");
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        if !ok(self.frequency) || self.frequency.fract() != 0.0 {
            return Err(crate::input::InvalidInput::new(
                field("frequency"),
                "must be a whole number of repeat purchases",
            ));
        }
        if !ok(self.age) || self.age == 0.0 {
            return Err(crate::input::InvalidInput::new(
                field("age"),
                "must be positive",
            ));
        }
        if !ok(self.recency) || self.recency > self.age {
            return Err(crate::input::InvalidInput::new(
                field("recency"),
                "must be between 0 and the age",
            ));
        }
        if self.frequency == 0.0 && self.recency != 0.0 {
            return Err(crate::input::InvalidInput::new(
                field("recency"),
                "must be 0 when there are no repeat purchases",
            ));
        }
        Ok(())
    }
}

/// A fitted parameter with its standard error (from the inverse Hessian of the negative
/// log-likelihood at the optimum; `NaN` if the Hessian is singular there).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub std_error: f64,
}
