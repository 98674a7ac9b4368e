//! The Beta-Binomial test for conversion rates.
//!
//! With a Beta(α₀, β₀) prior, an arm with `c` conversions out of `n` has the posterior
//! Beta(α₀ + c, β₀ + n − c).
//!
//! **P(B > A), exact.** Evan Miller's closed form, for an integer `α_B`:
//! `P(p_B > p_A) = Σ_{i=0}^{α_B−1} B(α_A + i, β_A + β_B) / ((β_B + i) B(1 + i, β_B) B(α_A, β_A))`.
//! The terms come from the recurrence
//! `tᵢ₊₁ / tᵢ = (α_A + i)(β_B + i) / ((α_A + β_A + β_B + i)(i + 1))` from
//! `t₀ = B(α_A, β_A + β_B) / B(α_A, β_A)`, so each costs a few multiplications instead
//! of six log-gammas, and no rounding builds up from large log-gammas; the sum stops
//! early once the (unimodal) terms can no longer change it. The sum has `α_B` terms,
//! so the smallest integer parameter is summed over, using `P(B > A) = 1 − P(A > B)` and
//! the mirror `p ↦ 1 − p` (Beta(α, β) ↦ Beta(β, α)).
//!
//! **Switch to the normal approximation.** When every usable parameter exceeds
//! [`EXACT_TERM_LIMIT`] (e.g. more than 50 000 conversions *and* non-conversions in some
//! arm), or no parameter is a whole number (a non-integer prior), `p_B − p_A` is taken as
//! normal with the Beta means and variances. At those counts each Beta is within about
//! 1e-3 of normal in CDF terms (skewness shrinks like `1/√n`), and the sum would cost
//! milliseconds.
//!
//! **Expected loss.** Choosing B loses `E[max(p_A − p_B, 0)]`. Since
//! `x · Beta(α, β) pdf = α/(α + β) · Beta(α + 1, β) pdf`,
//! `E[p_A 1{p_A > p_B}] = α_A/(α_A + β_A) · P(A⁺ > B)` with `A⁺ ~ Beta(α_A + 1, β_A)`, so
//! `loss_B = E[p_A] P(A⁺ > B) − E[p_B] P(A > B⁺)`, two more exact probabilities. Choosing
//! A loses `loss_A = loss_B + E[p_B] − E[p_A]`. Under the normal approximation the losses
//! are the normal partial expectations of [`super::bayesian::positive_and_negative_parts`].

use super::bayesian::positive_and_negative_parts;
use crate::analytics::special::normal;
use crate::input::InvalidInput;

/// The largest number of terms the exact sum may take (about a millisecond).
pub const EXACT_TERM_LIMIT: f64 = 50_000.0;

/// A Beta(α, β) distribution with positive parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaDistribution {
    alpha: f64,
    beta: f64,
}

impl BetaDistribution {
    pub fn new(alpha: f64, beta: f64) -> Result<Self, InvalidInput> {
        for (field, value) in [("alpha", alpha), ("beta", beta)] {
            if !value.is_finite() || value <= 0.0 {
                return Err(InvalidInput::new(field, "must be a positive finite number"));
            }
        }
        Ok(Self { alpha, beta })
    }

    /// The uniform prior Beta(1, 1).
    pub const UNIFORM: Self = Self {
        alpha: 1.0,
        beta: 1.0,
    };

    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    pub fn beta(&self) -> f64 {
        self.beta
    }

    pub fn mean(&self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }

    pub fn variance(&self) -> f64 {
        let total = self.alpha + self.beta;
        self.alpha * self.beta / (total * total * (total + 1.0))
    }

    /// The posterior after `conversions` successes out of `n` trials.
    pub fn posterior(&self, n: u64, conversions: u64) -> Result<Self, InvalidInput> {
        if conversions > n {
            return Err(InvalidInput::new(
                "conversions",
                "must not exceed the number of units",
            ));
        }
        Self::new(
            self.alpha + conversions as f64,
            self.beta + (n - conversions) as f64,
        )
    }

    fn mirrored(self) -> Self {
        Self {
            alpha: self.beta,
            beta: self.alpha,
        }
    }

    fn with_alpha_plus_one(self) -> Self {
        Self {
            alpha: self.alpha + 1.0,
            beta: self.beta,
        }
    }
}

/// How a probability was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Evan Miller's closed-form sum.
    Exact,
    /// `p_B − p_A` taken as normal.
    NormalApproximation,
}

/// One arm's conversion counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conversions {
    pub n: u64,
    pub conversions: u64,
}

/// The test's inputs, echoed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaBinomialDefinition {
    pub control: Conversions,
    pub treatment: Conversions,
    pub prior: BetaDistribution,
}

/// The posteriors and what they say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaBinomialResult {
    pub definition: BetaBinomialDefinition,
    pub control_posterior: BetaDistribution,
    pub treatment_posterior: BetaDistribution,
    /// `P(p_treatment > p_control)`.
    pub chance_to_win: f64,
    /// `E[max(p_treatment − p_control, 0)]`: lost by keeping control.
    pub expected_loss_control: f64,
    /// `E[max(p_control − p_treatment, 0)]`: lost by shipping treatment.
    pub expected_loss_treatment: f64,
    pub method: Method,
}

/// Runs the Beta-Binomial test with `prior` on both arms.
pub fn beta_binomial_test(
    control: Conversions,
    treatment: Conversions,
    prior: BetaDistribution,
) -> Result<BetaBinomialResult, InvalidInput> {
    let control_posterior = prior
        .posterior(control.n, control.conversions)
        .map_err(|e| super::summary::in_arm("control", e))?;
    let treatment_posterior = prior
        .posterior(treatment.n, treatment.conversions)
        .map_err(|e| super::summary::in_arm("treatment", e))?;
    let (a, b) = (control_posterior, treatment_posterior);
    let (chance_to_win, method) = probability_greater(b, a);
    let (loss_treatment, loss_method) = expected_loss_of_choosing(b, a);
    let method = if method == Method::Exact && loss_method == Method::Exact {
        Method::Exact
    } else {
        Method::NormalApproximation
    };
    Ok(BetaBinomialResult {
        definition: BetaBinomialDefinition {
            control,
            treatment,
            prior,
        },
        control_posterior: a,
        treatment_posterior: b,
        chance_to_win,
        // loss_A − loss_B = E[p_B − p_A]; clamp the rounding below zero.
        expected_loss_control: (loss_treatment + b.mean() - a.mean()).max(0.0),
        expected_loss_treatment: loss_treatment,
        method,
    })
}

/// `P(X > Y)` for independent Beta variables, exactly when a parameter allows it.
pub fn probability_greater(x: BetaDistribution, y: BetaDistribution) -> (f64, Method) {
    // Four ways to sum: over x.α directly, over y.α via the complement, and over the β
    // parameters via the mirror p ↦ 1 − p (X > Y ⇔ 1 − Y > 1 − X).
    let candidates = [
        (x.alpha, x, y, false),
        (y.alpha, y, x, true),
        (y.beta, y.mirrored(), x.mirrored(), false),
        (x.beta, x.mirrored(), y.mirrored(), true),
    ];
    let best = candidates
        .into_iter()
        .filter(|(terms, ..)| terms.fract() == 0.0 && *terms <= EXACT_TERM_LIMIT)
        .min_by(|l, r| l.0.total_cmp(&r.0));
    match best {
        Some((_, summed, other, complement)) => {
            let p = miller_sum(summed, other);
            let p = if complement { 1.0 - p } else { p };
            (p.clamp(0.0, 1.0), Method::Exact)
        }
        None => {
            let mean = x.mean() - y.mean();
            let sd = (x.variance() + y.variance()).sqrt();
            (normal::cdf(mean / sd), Method::NormalApproximation)
        }
    }
}

/// `E[max(Y − X, 0)]`: what choosing `x` loses when `y` is better.
pub fn expected_loss_of_choosing(x: BetaDistribution, y: BetaDistribution) -> (f64, Method) {
    let (p_plus, m1) = probability_greater(y.with_alpha_plus_one(), x);
    let (p_other, m2) = probability_greater(y, x.with_alpha_plus_one());
    if m1 == Method::Exact && m2 == Method::Exact {
        let loss = y.mean() * p_plus - x.mean() * p_other;
        (loss.max(0.0), Method::Exact)
    } else {
        let mean = x.mean() - y.mean();
        let sd = (x.variance() + y.variance()).sqrt();
        let (_, loss) = positive_and_negative_parts(mean, sd);
        (loss, Method::NormalApproximation)
    }
}

/// Evan Miller's sum for `P(B > A)`, `B.α` a whole number.
///
/// The terms are unimodal: `tᵢ₊₁ > tᵢ` exactly while `(α_A + i)(β_B + i) > (α_A + β_A + β_B + i)(i + 1)`,
/// and the difference of the two sides falls by `β_A + 1` with every step. So the sum
/// runs in linear space, rescaled when it grows large, and stops once the terms are
/// falling and too small to change the total.
fn miller_sum(b: BetaDistribution, a: BetaDistribution) -> f64 {
    use crate::analytics::special::beta::ln_beta;
    const RESCALE_ABOVE: f64 = 1e250;
    let terms = b.alpha as u64;
    // The sum is e^ln_scale · sum, with the first term e^ln_scale.
    let mut ln_scale = ln_beta(a.alpha, a.beta + b.beta) - ln_beta(a.alpha, a.beta);
    let mut term = 1.0;
    let mut sum = 1.0;
    let total = a.alpha + a.beta + b.beta;
    for i in 1..terms {
        let k = (i - 1) as f64;
        let ratio = (a.alpha + k) * (b.beta + k) / ((total + k) * (k + 1.0));
        term *= ratio;
        sum += term;
        if sum > RESCALE_ABOVE {
            term /= RESCALE_ABOVE;
            sum /= RESCALE_ABOVE;
            ln_scale += RESCALE_ABOVE.ln();
        }
        if ratio < 1.0 && term < sum * 1e-18 {
            break;
        }
    }
    (ln_scale + sum.ln()).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::experiments::sampling;
    use crate::analytics::special::beta::{ln_beta, regularized_incomplete_beta};
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn beta(a: f64, b: f64) -> BetaDistribution {
        BetaDistribution::new(a, b).unwrap()
    }

    /// `P(X > Y) = ∫ f_Y(t) (1 − I_t(α_X, β_X)) dt` by Simpson's rule: independent of the
    /// closed form.
    fn by_integration(x: BetaDistribution, y: BetaDistribution) -> f64 {
        let steps = 20_000;
        let h = 1.0 / steps as f64;
        let integrand = |t: f64| {
            if t <= 0.0 || t >= 1.0 {
                return 0.0;
            }
            let ln_density = (y.alpha - 1.0) * t.ln() + (y.beta - 1.0) * (1.0 - t).ln()
                - ln_beta(y.alpha, y.beta);
            ln_density.exp() * (1.0 - regularized_incomplete_beta(t, x.alpha, x.beta))
        };
        let mut total = integrand(0.0) + integrand(1.0);
        for i in 1..steps {
            total += if i % 2 == 1 { 4.0 } else { 2.0 } * integrand(h * i as f64);
        }
        total * h / 3.0
    }

    #[test]
    fn small_cases_match_hand_computed_probabilities() {
        // Beta(2, 1) has density 2t; P(B > A) for A uniform is ∫ 2t · t dt = 2/3.
        assert!((probability_greater(beta(2.0, 1.0), beta(1.0, 1.0)).0 - 2.0 / 3.0).abs() < 1e-15);
        assert!((probability_greater(beta(1.0, 1.0), beta(1.0, 1.0)).0 - 0.5).abs() < 1e-15);
        // Beta(1, 2) vs Beta(2, 1): ∫ 2(1−t) · (t²) dt = 1/6.
        assert!((probability_greater(beta(1.0, 2.0), beta(2.0, 1.0)).0 - 1.0 / 6.0).abs() < 1e-15);
    }

    #[test]
    fn closed_form_matches_numerical_integration() {
        for (x, y) in [
            (beta(21.0, 81.0), beta(16.0, 86.0)),
            (beta(3.0, 7.5), beta(4.0, 9.0)),
            (beta(121.0, 881.0), beta(101.0, 901.0)),
        ] {
            let (p, method) = probability_greater(x, y);
            assert_eq!(method, Method::Exact);
            assert!((p - by_integration(x, y)).abs() < 1e-8, "{x:?} {y:?}");
        }
    }

    #[test]
    fn all_four_summation_routes_agree() {
        let (x, y) = (beta(37.0, 463.0), beta(30.0, 470.0));
        let direct = miller_sum(x, y);
        let complement = 1.0 - miller_sum(y, x);
        let mirrored = miller_sum(y.mirrored(), x.mirrored());
        let mirrored_complement = 1.0 - miller_sum(x.mirrored(), y.mirrored());
        for other in [complement, mirrored, mirrored_complement] {
            assert!((direct - other).abs() < 1e-12);
        }
    }

    #[test]
    fn closed_form_agrees_with_monte_carlo_within_three_standard_errors() {
        let control = Conversions {
            n: 1000,
            conversions: 100,
        };
        let treatment = Conversions {
            n: 1000,
            conversions: 118,
        };
        let result = beta_binomial_test(control, treatment, BetaDistribution::UNIFORM).unwrap();
        let mut rng = StdRng::seed_from_u64(2024);
        let draws = 200_000;
        let (a, b) = (result.control_posterior, result.treatment_posterior);
        let mut wins = 0u32;
        let mut loss_sum = 0.0;
        let mut loss_sq = 0.0;
        for _ in 0..draws {
            let pa = sampling::beta(&mut rng, a.alpha(), a.beta());
            let pb = sampling::beta(&mut rng, b.alpha(), b.beta());
            wins += u32::from(pb > pa);
            let loss = (pa - pb).max(0.0);
            loss_sum += loss;
            loss_sq += loss * loss;
        }
        let n = draws as f64;
        let p = wins as f64 / n;
        let se = (result.chance_to_win * (1.0 - result.chance_to_win) / n).sqrt();
        assert!((p - result.chance_to_win).abs() < 3.0 * se);
        let loss_mean = loss_sum / n;
        let loss_se = ((loss_sq / n - loss_mean * loss_mean) / n).sqrt();
        assert!((loss_mean - result.expected_loss_treatment).abs() < 3.0 * loss_se);
    }

    #[test]
    fn expected_losses_match_numerical_integration() {
        // E[max(p_A − p_B, 0)] = ∫∫_{a > b} (a − b) f_A f_B = ∫ f_B(t) ∫_t^1 (1 − F_A(s)) ds dt,
        // here by the identity E[max(A − t, 0)] = ∫_t^1 (1 − F_A(s)) ds and Simpson twice.
        let (a, b) = (beta(11.0, 91.0), beta(14.0, 88.0));
        let (loss_b, method) = expected_loss_of_choosing(b, a);
        assert_eq!(method, Method::Exact);
        let steps = 2000;
        let h = 1.0 / steps as f64;
        // Tail integral G(t) = ∫_t^1 (1 − F_A(s)) ds on the grid, by the trapezoid rule on
        // a fine sub-grid.
        let sub = 20;
        let mut tail = vec![0.0; steps + 1];
        for i in (0..steps).rev() {
            let mut piece = 0.0;
            for j in 0..sub {
                let s0 = h * (i as f64 + j as f64 / sub as f64);
                let s1 = s0 + h / sub as f64;
                let f = |s: f64| 1.0 - regularized_incomplete_beta(s, a.alpha, a.beta);
                piece += 0.5 * (f(s0) + f(s1)) * h / sub as f64;
            }
            tail[i] = tail[i + 1] + piece;
        }
        let density = |t: f64| {
            if t <= 0.0 || t >= 1.0 {
                return 0.0;
            }
            ((b.alpha - 1.0) * t.ln() + (b.beta - 1.0) * (1.0 - t).ln() - ln_beta(b.alpha, b.beta))
                .exp()
        };
        let mut total = 0.0;
        for (i, g) in tail.iter().enumerate() {
            let weight = if i == 0 || i == steps {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            total += weight * density(h * i as f64) * g;
        }
        let integral = total * h / 3.0;
        assert!((loss_b - integral).abs() < 1e-6, "{loss_b} vs {integral}");
    }

    #[test]
    fn very_large_counts_switch_to_the_normal_approximation() {
        let control = Conversions {
            n: 4_000_000,
            conversions: 2_000_000,
        };
        let treatment = Conversions {
            n: 4_000_000,
            conversions: 2_002_000,
        };
        let result = beta_binomial_test(control, treatment, BetaDistribution::UNIFORM).unwrap();
        assert_eq!(result.method, Method::NormalApproximation);
        let (a, b) = (result.control_posterior, result.treatment_posterior);
        let z = (b.mean() - a.mean()) / (a.variance() + b.variance()).sqrt();
        assert!((result.chance_to_win - normal::cdf(z)).abs() < 1e-15);
        assert!(result.chance_to_win > 0.9);
    }

    #[test]
    fn near_the_switch_exact_and_normal_answers_agree_closely() {
        let (x, y) = (beta(40_001.0, 760_001.0), beta(39_601.0, 760_401.0));
        let (exact, method) = probability_greater(x, y);
        assert_eq!(method, Method::Exact);
        let z = (x.mean() - y.mean()) / (x.variance() + y.variance()).sqrt();
        assert!((exact - normal::cdf(z)).abs() < 2e-3);
    }

    #[test]
    fn losses_differ_by_the_difference_in_means() {
        let result = beta_binomial_test(
            Conversions {
                n: 500,
                conversions: 40,
            },
            Conversions {
                n: 520,
                conversions: 52,
            },
            BetaDistribution::new(2.0, 20.0).unwrap(),
        )
        .unwrap();
        let gap = result.treatment_posterior.mean() - result.control_posterior.mean();
        let diff = result.expected_loss_control - result.expected_loss_treatment;
        assert!((diff - gap).abs() < 1e-12);
        assert_eq!(result.definition.prior.alpha(), 2.0);
    }

    #[test]
    fn more_conversions_than_units_are_refused_per_arm() {
        let error = beta_binomial_test(
            Conversions {
                n: 5,
                conversions: 6,
            },
            Conversions {
                n: 5,
                conversions: 1,
            },
            BetaDistribution::UNIFORM,
        )
        .unwrap_err();
        assert_eq!(error.field(), "control.conversions");
    }

    proptest! {
        #[test]
        fn swapping_the_arms_gives_the_complementary_probability(
            n_a in 1u64..5_000, n_b in 1u64..5_000, ca in 0.0f64..1.0, cb in 0.0f64..1.0,
        ) {
            let control = Conversions { n: n_a, conversions: (n_a as f64 * ca) as u64 };
            let treatment = Conversions { n: n_b, conversions: (n_b as f64 * cb) as u64 };
            let forward = beta_binomial_test(control, treatment, BetaDistribution::UNIFORM).unwrap();
            let backward = beta_binomial_test(treatment, control, BetaDistribution::UNIFORM).unwrap();
            prop_assert!((forward.chance_to_win + backward.chance_to_win - 1.0).abs() < 1e-10);
            prop_assert!((forward.expected_loss_control - backward.expected_loss_treatment).abs() < 1e-10);
            prop_assert!(forward.expected_loss_treatment >= 0.0);
        }
    }
}
