//! Drawing customers from known parameters, seeded, for tests and benchmarks (the gamma
//! sampler is Marsaglia & Tsang's; nothing here needs a distributions crate).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::bgnbd::BgNbd;
use super::gamma_gamma::{GammaGamma, Spend};
use super::Summary;

/// Gamma(shape, rate).
fn gamma(rng: &mut StdRng, shape: f64, rate: f64) -> f64 {
    if shape < 1.0 {
        // Boost: Gamma(k) = Gamma(k + 1) · U^(1/k).
        let u: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
        return gamma(rng, shape + 1.0, rate) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let (x, v) = loop {
            let x = normal(rng);
            let v = 1.0 + c * x;
            if v > 0.0 {
                break (x, v * v * v);
            }
        };
        let u: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v / rate;
        }
    }
}

fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn beta(rng: &mut StdRng, a: f64, b: f64) -> f64 {
    let x = gamma(rng, a, 1.0);
    let y = gamma(rng, b, 1.0);
    x / (x + y)
}

/// `n` customers observed for `age` time units each, drawn from BG/NBD `params`.
pub fn simulate_bgnbd(params: BgNbd, n: usize, age: f64, seed: u64) -> Vec<Summary> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| customer(&mut rng, params, age)).collect()
}

/// `n` customers drawn from BG/NBD `params` who joined at different times: each one's
/// age (time observed since the first purchase) is uniform in `ages`, as in a shop that
/// gains customers steadily.
pub fn simulate_bgnbd_cohorts(
    params: BgNbd,
    n: usize,
    ages: std::ops::Range<f64>,
    seed: u64,
) -> Vec<Summary> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let age = rng.gen_range(ages.clone());
            customer(&mut rng, params, age)
        })
        .collect()
}

/// One customer observed for `age`: purchases at rate λ until, after one of them, they
/// drop out with probability p.
fn customer(rng: &mut StdRng, params: BgNbd, age: f64) -> Summary {
    let lambda = gamma(rng, params.r, params.alpha);
    let p = beta(rng, params.a, params.b);
    let (mut t, mut x, mut last) = (0.0, 0.0, 0.0);
    loop {
        let u: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
        t += -u.ln() / lambda;
        if t > age {
            break;
        }
        x += 1.0;
        last = t;
        if rng.gen::<f64>() < p {
            break;
        }
    }
    Summary {
        frequency: x,
        recency: last,
        age,
    }
}

/// `n` customers with 1–10 repeat purchases whose values are drawn from `params`.
pub fn simulate_spend(params: GammaGamma, n: usize, seed: u64) -> Vec<Spend> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let nu = gamma(&mut rng, params.q, params.gamma);
            let x = rng.gen_range(1..=10);
            let total: f64 = (0..x).map(|_| gamma(&mut rng, params.p, nu)).sum();
            Spend {
                frequency: f64::from(x),
                mean_value: total / f64::from(x),
            }
        })
        .collect()
}
