//! Seeded draws from the normal, gamma and beta distributions for the Monte Carlo parts
//! (Thompson sampling, cross-checks), written here because `rand_distr` is not a
//! dependency.
//!
//! - Normal: the inverse CDF of a uniform (Acklam's approximation; its 1e-9 error is far
//!   below Monte Carlo noise).
//! - Gamma(shape ≥ 1): Marsaglia and Tsang's squeeze method, `d = shape − 1/3`,
//!   `c = 1/√(9d)`, accept `d (1 + c x)³` when `ln u < x²/2 + d − d v + d ln v`.
//! - Gamma(shape < 1): `Gamma(shape + 1) · u^(1/shape)`.
//! - Beta(a, b): `X / (X + Y)` with `X ~ Gamma(a)`, `Y ~ Gamma(b)`.

use rand::Rng;

use crate::analytics::special::normal;

/// A standard normal draw.
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // `gen::<f64>()` is in [0, 1); 0 would map to −∞, so nudge it into the open interval.
    let u: f64 = rng.gen();
    normal::fast_quantile(u.max(f64::MIN_POSITIVE))
}

/// A Gamma(shape, 1) draw for `shape > 0`.
pub fn gamma<R: Rng + ?Sized>(rng: &mut R, shape: f64) -> f64 {
    if shape < 1.0 {
        let boost: f64 = rng.gen::<f64>().max(f64::MIN_POSITIVE);
        return gamma(rng, shape + 1.0) * boost.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = standard_normal(rng);
        let t = 1.0 + c * x;
        if t <= 0.0 {
            continue;
        }
        let v = t * t * t;
        let u: f64 = rng.gen();
        if u < 1.0 - 0.0331 * x * x * x * x {
            return d * v;
        }
        if u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
}

/// A Beta(a, b) draw for `a, b > 0`.
pub fn beta<R: Rng + ?Sized>(rng: &mut R, a: f64, b: f64) -> f64 {
    let x = gamma(rng, a);
    let y = gamma(rng, b);
    x / (x + y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn beta_draws_have_the_right_mean_and_variance() {
        let mut rng = StdRng::seed_from_u64(7);
        for (a, b) in [(0.5, 0.5), (2.0, 5.0), (120.0, 880.0)] {
            let draws: Vec<f64> = (0..200_000).map(|_| beta(&mut rng, a, b)).collect();
            let n = draws.len() as f64;
            let mean = draws.iter().sum::<f64>() / n;
            let variance = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let true_mean = a / (a + b);
            let true_variance = a * b / ((a + b).powi(2) * (a + b + 1.0));
            // Five standard errors of the mean; variance within 2 %.
            assert!((mean - true_mean).abs() < 5.0 * (true_variance / n).sqrt());
            assert!((variance / true_variance - 1.0).abs() < 0.02, "a {a} b {b}");
        }
    }
}
