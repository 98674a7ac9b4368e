//! The standard normal distribution.
//!
//! The CDF comes from `erfc(x) = Q(1/2, x²)` (the regularized upper incomplete gamma), so
//! both tails keep full relative accuracy. The quantile starts from Acklam's rational
//! approximation (relative error about 1.2e-9) and takes one Halley step against that
//! accurate CDF, which brings it to machine precision; the upper half is computed as the
//! mirror of the lower half because `1 − p` is exact there and `p` itself is not.

use super::gamma::regularized_gamma_q_with;

/// `1 / √(2π)`.
const INV_SQRT_TWO_PI: f64 = 0.398_942_280_401_432_7;

/// The standard normal density `φ(z)`.
pub fn pdf(z: f64) -> f64 {
    INV_SQRT_TWO_PI * (-0.5 * z * z).exp()
}

/// `ln Γ(1/2) = ln √π`.
const LN_SQRT_PI: f64 = 0.572_364_942_924_700_1;

/// The standard normal CDF `Φ(z)`.
pub fn cdf(z: f64) -> f64 {
    cdf_pair(z).0
}

/// `(Φ(z), Φ(−z))` from one `erfc` evaluation, each with full accuracy in its own tail.
pub fn cdf_pair(z: f64) -> (f64, f64) {
    let tail = 0.5 * erfc_non_negative(z.abs() * std::f64::consts::FRAC_1_SQRT_2);
    if z < 0.0 {
        (tail, 1.0 - tail)
    } else {
        (1.0 - tail, tail)
    }
}

/// The survival function `1 − Φ(z) = Φ(−z)`, accurate in the upper tail.
pub fn sf(z: f64) -> f64 {
    cdf(-z)
}

/// `erfc(x)` for `x ≥ 0`.
fn erfc_non_negative(x: f64) -> f64 {
    regularized_gamma_q_with(0.5, x * x, LN_SQRT_PI)
}

/// The standard normal quantile `Φ⁻¹(p)`; `±∞` at 0 and 1, NaN outside `[0, 1]`.
pub fn quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        -lower_quantile(1.0 - p)
    } else {
        lower_quantile(p)
    }
}

/// `Φ⁻¹(p)` for `0 < p ≤ 0.5`.
fn lower_quantile(p: f64) -> f64 {
    let x = acklam(p);
    // Halley's method on Φ(x) − p: u = (Φ(x) − p) / φ(x), x ← x − u / (1 + x u / 2).
    let u = (cdf(x) - p) / pdf(x);
    x - u / (1.0 + 0.5 * x * u)
}

/// Peter Acklam's rational approximation to `Φ⁻¹(p)` for `0 < p ≤ 0.5`.
fn acklam(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    if p < P_LOW {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Acklam's approximation alone, for Monte Carlo draws that need speed, not the last
/// digits.
pub(crate) fn fast_quantile(p: f64) -> f64 {
    if p > 0.5 {
        -acklam(1.0 - p)
    } else {
        acklam(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_matches_published_values() {
        assert!((cdf(1.96) - 0.975_002_104_851_779_5).abs() < 1e-15);
        assert!((cdf(0.0) - 0.5).abs() < 1e-16);
        assert!((cdf(-1.0) - 0.158_655_253_931_457_05).abs() < 1e-15);
        assert!((cdf(3.0) - 0.998_650_101_968_369_9).abs() < 1e-15);
        // The far tail keeps its relative accuracy: Φ(−10) = 7.619853024160527e-24.
        assert!((cdf(-10.0) / 7.619_853_024_160_527e-24 - 1.0).abs() < 1e-12);
        assert!((sf(10.0) / 7.619_853_024_160_527e-24 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn quantile_matches_published_values_and_inverts_the_cdf() {
        assert!((quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-14);
        assert!((quantile(0.025) + 1.959_963_984_540_054).abs() < 1e-14);
        assert!((quantile(0.5)).abs() < 1e-16);
        assert!((quantile(0.95) - 1.644_853_626_951_472_2).abs() < 1e-14);
        for p in [1e-300, 1e-12, 0.001, 0.02, 0.3, 0.7, 0.9999] {
            let x = quantile(p);
            assert!((cdf(x) / p - 1.0).abs() < 1e-13, "p = {p}");
        }
        assert!(quantile(1.5).is_nan());
        assert_eq!(quantile(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn density_integrates_to_the_cdf() {
        // Simpson's rule on φ over [−1, 2] against Φ(2) − Φ(−1).
        let (a, b, steps) = (-1.0, 2.0, 2000);
        let h = (b - a) / steps as f64;
        let mut total = pdf(a) + pdf(b);
        for i in 1..steps {
            let weight = if i % 2 == 1 { 4.0 } else { 2.0 };
            total += weight * pdf(a + h * i as f64);
        }
        let integral = total * h / 3.0;
        assert!((integral - (cdf(b) - cdf(a))).abs() < 1e-12);
    }
}
