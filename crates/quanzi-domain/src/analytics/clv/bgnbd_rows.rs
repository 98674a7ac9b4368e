//! The BG/NBD log-likelihood summed over customers, with its analytic gradient and
//! Hessian, laid out for speed.
//!
//! In the terms of Fader, Hardie & Lee's note on implementing the model (and `lifetimes`),
//! a customer's log-likelihood is `A₁ + A₂ + ln(e^A₃ + [x > 0] e^A₄)` with
//! `A₁ = ln Γ(r+x) − ln Γ(r) + r ln α`,
//! `A₂ = ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)`,
//! `A₃ = −(r+x) ln(α+T)` and `A₄ = ln a − ln(b+x−1) − (r+x) ln(α+t_x)`.
//!
//! What makes a pass cheap:
//! - `A₁` and `A₂` (all the log-gammas, digammas and trigammas) depend on the customer only
//!   through the whole number x, so they are computed once per distinct frequency (a few
//!   hundred even among millions of customers) and weighted by how many customers have it.
//! - Customers without repeats (most of them, typically) contribute `r ln α − r ln(α+T)`:
//!   one logarithm each, kept in their own list.
//! - The rest pay two logarithms, an exponential and a `ln_1p` for the log-sum-exp of `A₃`
//!   and `A₄` (kept stable by factoring out the larger); the gradient and Hessian of that
//!   log-sum-exp reuse the same numbers: with `w` the softmax weight of `A₄`,
//!   `∇ = (1−w)∇A₃ + w∇A₄` and
//!   `∇² = (1−w)∇²A₃ + w∇²A₄ + w(1−w)(∇A₄−∇A₃)(∇A₄−∇A₃)ᵀ`.
//! - Customers with equal (x, t_x, T) contribute equal terms, so they can be collapsed into
//!   one weighted row first. Real summaries in whole days or weeks repeat a lot; with
//!   continuous times nothing repeats and collapsing only costs the sort.
//! - The two lists are split across threads, each summing its share.

use super::bgnbd::BgNbd;
use super::collapse::{collapse_repeats, collapse_singles, index_frequencies};
use super::fit::{mirrored, Local};
use super::special::{digamma, ln_gamma, trigamma};
use super::Summary;

/// Below this many rows a pass takes well under a millisecond and threads cost more than
/// they save.
const ROWS_PER_THREAD: usize = 20_000;

/// A customer (or identical customers) without repeat purchases: only the age matters.
#[derive(Debug, Clone, Copy)]
pub(super) struct Single {
    pub age: f64,
    pub weight: f64,
}

/// A customer (or identical customers) with repeat purchases.
#[derive(Debug, Clone, Copy)]
pub(super) struct Repeat {
    /// Index into [`Rows::frequencies`].
    pub frequency: u32,
    pub recency: f64,
    pub age: f64,
    pub weight: f64,
}

/// Customers prepared for fitting.
#[derive(Debug, Clone)]
pub(crate) struct Rows {
    singles: Vec<Single>,
    repeats: Vec<Repeat>,
    /// Distinct repeat frequencies with the number of customers who have each.
    frequencies: Vec<(f64, f64)>,
    customers: f64,
}

impl Rows {
    /// Splits checked summaries by whether they have repeats and, if `collapse`, merges
    /// equal ones into weighted rows (the two lists sorted side by side when `threads`
    /// allows).
    pub(crate) fn new(customers: &[Summary], collapse: bool, threads: usize) -> Rows {
        // Room for everyone in both: pages never written are never touched.
        let mut ages: Vec<f64> = Vec::with_capacity(customers.len());
        let mut with_repeats: Vec<Summary> = Vec::with_capacity(customers.len());
        for s in customers {
            if s.frequency == 0.0 {
                ages.push(s.age);
            } else {
                with_repeats.push(*s);
            }
        }
        let (singles, weighted) = if !collapse {
            (
                ages.iter()
                    .map(|&age| Single { age, weight: 1.0 })
                    .collect(),
                with_repeats.iter().map(|&s| (s, 1.0)).collect(),
            )
        } else if threads > 1 {
            std::thread::scope(|scope| {
                let singles = scope.spawn(|| collapse_singles(ages));
                let repeats = collapse_repeats(with_repeats);
                (singles.join().expect("a sorting thread panicked"), repeats)
            })
        } else {
            (collapse_singles(ages), collapse_repeats(with_repeats))
        };
        let (frequencies, repeats) = index_frequencies(&weighted);
        Rows {
            singles,
            repeats,
            frequencies,
            customers: customers.len() as f64,
        }
    }

    /// Every k-th row with k times its weight, about `target` rows in all: a cheap stand-in
    /// for the data whose optimum is a good start for the full fit.
    pub(crate) fn sample(&self, target: usize) -> Rows {
        let every = (self.len() / target.max(1)).max(1);
        let scale = every as f64;
        let singles: Vec<Single> = self
            .singles
            .iter()
            .step_by(every)
            .map(|s| Single {
                weight: s.weight * scale,
                ..*s
            })
            .collect();
        let repeats: Vec<Repeat> = self
            .repeats
            .iter()
            .step_by(every)
            .map(|r| Repeat {
                weight: r.weight * scale,
                ..*r
            })
            .collect();
        let mut frequencies: Vec<(f64, f64)> =
            self.frequencies.iter().map(|&(x, _)| (x, 0.0)).collect();
        for r in &repeats {
            frequencies[r.frequency as usize].1 += r.weight;
        }
        let customers = singles.iter().map(|s| s.weight).sum::<f64>()
            + repeats.iter().map(|r| r.weight).sum::<f64>();
        Rows {
            singles,
            repeats,
            frequencies,
            customers,
        }
    }

    /// Rows a pass goes over (fewer than customers when some were collapsed).
    pub(crate) fn len(&self) -> usize {
        self.singles.len() + self.repeats.len()
    }

    /// The log-likelihood of all customers with its gradient and Hessian in (r, α, a, b),
    /// summed on up to `threads` threads.
    pub(crate) fn local(&self, params: &BgNbd, threads: usize) -> Local<4> {
        let BgNbd { r, alpha, .. } = *params;
        let table = self.per_frequency(params);
        let threads = threads.clamp(1, 1 + self.len() / ROWS_PER_THREAD);
        let sums = |t: usize| {
            (
                single_sums(share(&self.singles, t, threads), alpha),
                repeat_sums(share(&self.repeats, t, threads), &table, params),
            )
        };
        let (singles, repeats) = std::thread::scope(|scope| {
            let others: Vec<_> = (1..threads).map(|t| scope.spawn(move || sums(t))).collect();
            others.into_iter().fold(sums(0), |(s, p), handle| {
                let (s2, p2) = handle.join().expect("a likelihood thread panicked");
                (std::array::from_fn(|i| s[i] + s2[i]), p.plus(&p2))
            })
        });
        let mut total = repeats;
        // The frequency terms A₁ (without r ln α) and A₂, once per distinct x.
        for ((_, n), t) in self.frequencies.iter().zip(&table) {
            total.value += n * t.value;
            for i in [0, 2, 3] {
                total.gradient[i] += n * t.gradient[i];
            }
            total.hessian[0][0] += n * t.hessian_rr;
            total.hessian[2][2] += n * t.hessian_ab;
            total.hessian[2][3] += n * t.hessian_ab;
            total.hessian[3][3] += n * t.hessian_bb;
        }
        // r ln α, shared by every customer.
        let w = self.customers;
        total.value += w * r * alpha.ln();
        total.gradient[0] += w * alpha.ln();
        total.gradient[1] += w * r / alpha;
        total.hessian[0][1] += w / alpha;
        total.hessian[1][1] -= w * r / (alpha * alpha);
        // Customers without repeats: −r ln(α+T).
        let [logs, inverses, squares] = singles;
        total.value -= r * logs;
        total.gradient[0] -= logs;
        total.gradient[1] -= r * inverses;
        total.hessian[0][1] -= inverses;
        total.hessian[1][1] += r * squares;
        total.hessian = mirrored(total.hessian);
        total
    }

    /// The per-frequency terms at `params`.
    fn per_frequency(&self, params: &BgNbd) -> Vec<PerFrequency> {
        let BgNbd { r, a, b, .. } = *params;
        let (lg_r, lg_ab, lg_b) = (ln_gamma(r), ln_gamma(a + b), ln_gamma(b));
        let (dg_r, dg_ab, dg_b) = (digamma(r), digamma(a + b), digamma(b));
        let (tg_r, tg_ab, tg_b) = (trigamma(r), trigamma(a + b), trigamma(b));
        let ln_a = a.ln();
        self.frequencies
            .iter()
            .map(|&(x, _)| {
                let (rx, bx, abx) = (r + x, b + x, a + b + x);
                let dg_abx = digamma(abx);
                let tg_abx = trigamma(abx);
                PerFrequency {
                    rx,
                    ln_odds: ln_a - (bx - 1.0).ln(),
                    inv_b: 1.0 / (bx - 1.0),
                    value: ln_gamma(rx) - lg_r + lg_ab + ln_gamma(bx) - lg_b - ln_gamma(abx),
                    gradient: [
                        digamma(rx) - dg_r,
                        0.0,
                        dg_ab - dg_abx,
                        dg_ab - dg_b + digamma(bx) - dg_abx,
                    ],
                    hessian_rr: trigamma(rx) - tg_r,
                    hessian_ab: tg_ab - tg_abx,
                    hessian_bb: tg_ab - tg_b + trigamma(bx) - tg_abx,
                }
            })
            .collect()
    }
}

/// What depends on the customer only through the frequency x.
#[derive(Debug, Clone, Copy)]
struct PerFrequency {
    /// r + x.
    rx: f64,
    /// ln a − ln(b + x − 1): the part of A₄ without α.
    ln_odds: f64,
    /// 1 / (b + x − 1).
    inv_b: f64,
    /// A₁ − r ln α + A₂, its gradient and its non-zero second derivatives (∂a∂a = ∂a∂b).
    value: f64,
    gradient: [f64; 4],
    hessian_rr: f64,
    hessian_ab: f64,
    hessian_bb: f64,
}

/// The `t`-th of `parts` nearly equal consecutive shares of `rows`.
fn share<T>(rows: &[T], t: usize, parts: usize) -> &[T] {
    let at = |i: usize| rows.len() * i / parts;
    &rows[at(t)..at(t + 1)]
}

/// Σ n ln(α+T), Σ n/(α+T) and Σ n/(α+T)² over customers without repeats.
fn single_sums(rows: &[Single], alpha: f64) -> [f64; 3] {
    let mut sums = [0.0; 3];
    for row in rows {
        let u = alpha + row.age;
        let inv = 1.0 / u;
        sums[0] += row.weight * u.ln();
        sums[1] += row.weight * inv;
        sums[2] += row.weight * inv * inv;
    }
    sums
}

/// ln(e^A₃ + e^A₄) summed over customers with repeats, with its gradient and the upper
/// triangle of its Hessian.
fn repeat_sums(rows: &[Repeat], table: &[PerFrequency], params: &BgNbd) -> Local<4> {
    let (alpha, inv_a) = (params.alpha, 1.0 / params.a);
    let mut sums = Local::zero();
    let (g, h) = (&mut sums.gradient, &mut sums.hessian);
    for row in rows {
        let k = &table[row.frequency as usize];
        let n = row.weight;
        let (u, v) = (alpha + row.age, alpha + row.recency);
        let (lu, lv) = (u.ln(), v.ln());
        let (iu, iv) = (1.0 / u, 1.0 / v);
        let alive = -k.rx * lu;
        let dropped = k.ln_odds - k.rx * lv;
        let e = (-(dropped - alive).abs()).exp();
        sums.value += n * (alive.max(dropped) + e.ln_1p());
        // The softmax weights of A₃ and A₄, each computed without cancellation.
        let (large, small) = (1.0 / (1.0 + e), e / (1.0 + e));
        let (wa, wd) = if dropped > alive {
            (small, large)
        } else {
            (large, small)
        };
        // ∇A₄ − ∇A₃.
        let d = [lu - lv, k.rx * (iu - iv), inv_a, -k.inv_b];
        let q = n * wa * wd;
        g[0] -= n * (wa * lu + wd * lv);
        g[1] -= n * k.rx * (wa * iu + wd * iv);
        g[2] += n * wd * inv_a;
        g[3] -= n * wd * k.inv_b;
        h[0][0] += q * d[0] * d[0];
        h[0][1] += q * d[0] * d[1] - n * (wa * iu + wd * iv);
        h[0][2] += q * d[0] * d[2];
        h[0][3] += q * d[0] * d[3];
        h[1][1] += q * d[1] * d[1] + n * k.rx * (wa * iu * iu + wd * iv * iv);
        h[1][2] += q * d[1] * d[2];
        h[1][3] += q * d[1] * d[3];
        h[2][2] += q * d[2] * d[2] - n * wd * inv_a * inv_a;
        h[2][3] += q * d[2] * d[3];
        h[3][3] += q * d[3] * d[3] + n * wd * k.inv_b * k.inv_b;
    }
    sums
}

impl<const N: usize> Local<N> {
    fn zero() -> Self {
        Local {
            value: 0.0,
            gradient: [0.0; N],
            hessian: [[0.0; N]; N],
        }
    }

    fn plus(&self, other: &Self) -> Self {
        Local {
            value: self.value + other.value,
            gradient: std::array::from_fn(|i| self.gradient[i] + other.gradient[i]),
            hessian: std::array::from_fn(|i| {
                std::array::from_fn(|j| self.hessian[i][j] + other.hessian[i][j])
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::clv::simulate::simulate_bgnbd_cohorts;

    const TRUE: BgNbd = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    /// Customers in whole weeks (so many repeat), plus a few extremes: many repeats, a
    /// repeat on the first day, and a last purchase at the very end.
    fn customers(n: usize) -> Vec<Summary> {
        let mut all: Vec<Summary> = simulate_bgnbd_cohorts(TRUE, n, 1.0..78.0, 5)
            .into_iter()
            .map(|s| Summary {
                frequency: s.frequency,
                recency: s.recency.round().min(s.age.round()),
                age: s.age.round().max(1.0),
            })
            .collect();
        for (frequency, recency, age) in [(60.0, 70.0, 75.0), (1.0, 0.0, 30.0), (3.0, 20.0, 20.0)] {
            all.push(Summary {
                frequency,
                recency,
                age,
            });
        }
        all
    }

    #[test]
    fn the_summed_likelihood_is_the_sum_of_each_customers_however_it_is_computed() {
        let all = customers(45_000);
        let params = BgNbd {
            r: 0.5,
            alpha: 3.0,
            a: 1.2,
            b: 4.0,
        };
        let direct: f64 = all.iter().map(|s| params.log_likelihood(s)).sum();
        for collapse in [false, true] {
            let rows = Rows::new(&all, collapse, 2);
            assert_eq!(rows.len() < all.len(), collapse);
            for threads in [1, 2, 3] {
                let got = rows.local(&params, threads).value;
                assert!(
                    (got - direct).abs() < 1e-10 * direct.abs(),
                    "collapse {collapse}, {threads} threads: {got} vs {direct}"
                );
            }
        }
    }

    #[test]
    fn the_gradient_and_hessian_match_finite_differences() {
        let rows = Rows::new(&customers(3_000), true, 1);
        let at = |p: [f64; 4]| rows.local(&BgNbd::from_array(p), 1);
        // Near the optimum, far from it, and with a above 1 and small b.
        for point in [
            [0.243, 4.414, 0.793, 2.426],
            [1.0, 1.0, 1.0, 1.0],
            [2.5, 30.0, 3.0, 0.3],
        ] {
            let here = at(point);
            for i in 0..4 {
                let h = 1e-6 * point[i];
                let (mut up, mut down) = (point, point);
                up[i] += h;
                down[i] -= h;
                let (above, below) = (at(up), at(down));
                let slope = (above.value - below.value) / (2.0 * h);
                assert!(
                    (here.gradient[i] - slope).abs() < 1e-5 * (1.0 + slope.abs()),
                    "{point:?} gradient {i}: {} vs {slope}",
                    here.gradient[i]
                );
                for j in 0..4 {
                    let curve = (above.gradient[j] - below.gradient[j]) / (2.0 * h);
                    assert!(
                        (here.hessian[i][j] - curve).abs() < 1e-5 * (1.0 + curve.abs()),
                        "{point:?} hessian {i},{j}: {} vs {curve}",
                        here.hessian[i][j]
                    );
                }
            }
        }
    }
}
