//! Maximum likelihood by damped Newton steps over log-parameters, and standard errors from
//! the Hessian at the optimum.
//!
//! Why Newton and not Nelder–Mead or BFGS: the models here have analytic gradients and
//! Hessians that cost little more than the log-likelihood itself (the expensive part of a
//! pass over a million customers is two logarithms and an exponential per customer, which
//! all three need). Nelder–Mead spends hundreds of passes; BFGS a few dozen; Newton
//! converges quadratically and needs around ten from a cold start, and its last Hessian
//! gives the standard errors without another pass.
//!
//! Working on log-parameters keeps every parameter positive without constraints. Far from
//! the optimum the Hessian may not be negative definite, so steps are damped the
//! Levenberg–Marquardt way: `(M + μ·s·I) d = −G` on the negated log-likelihood, with `μ`
//! raised after a step that does not improve the likelihood and lowered back to zero
//! (the pure Newton step) after steps that do.

/// A log-likelihood with its gradient and Hessian at one point, with respect to the
/// natural-scale parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Local<const N: usize> {
    pub value: f64,
    pub gradient: [f64; N],
    pub hessian: [[f64; N]; N],
}

/// A symmetric matrix from its upper triangle (sums of Hessians fill only that half).
pub(crate) fn mirrored<const N: usize>(upper: [[f64; N]; N]) -> [[f64; N]; N] {
    std::array::from_fn(|i| std::array::from_fn(|j| upper[i.min(j)][i.max(j)]))
}

/// Where [`maximise`] stopped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Optimum<const N: usize> {
    pub params: [f64; N],
    pub local: Local<N>,
    /// Passes over the data (calls of the objective).
    pub evaluations: usize,
}

/// Steps before giving up (and returning the best point so far); fits take 5–20.
const MAX_STEPS: usize = 500;
/// Largest change of a log-parameter in one step (a factor of e² on the parameter), so a
/// step from a poor start cannot jump to where the likelihood underflows.
const MAX_MOVE: f64 = 2.0;
/// Converged once the undamped Newton step from the current point would move no
/// log-parameter by more than this: convergence is quadratic, so taking that step leaves
/// an error around 1e-12, and no further pass over the data is needed.
const TOLERANCE: f64 = 1e-6;
/// Undamped steps smaller than this gain less than the rounding in the summed likelihood.
const ROUNDING_STEP: f64 = 1e-5;

/// Maximises the log-likelihood `f` from `start` (natural scale, all positive).
pub(crate) fn maximise<const N: usize>(
    f: &mut dyn FnMut(&[f64; N]) -> Local<N>,
    start: [f64; N],
) -> Optimum<N> {
    let mut theta = start.map(f64::ln);
    let mut current = f(&start);
    let mut evaluations = 1;
    let mut damping = 0.0;
    for _ in 0..MAX_STEPS {
        let params = theta.map(f64::exp);
        let (gradient, curvature) = on_logs(&params, &current);
        let scale = (0..N)
            .map(|i| curvature[i][i].abs())
            .fold(f64::MIN_POSITIVE, f64::max);
        loop {
            let mut damped = curvature;
            for (i, row) in damped.iter_mut().enumerate() {
                row[i] += damping * scale;
            }
            let Some(mut step) = solve(damped, gradient.map(|g| -g)) else {
                damping = raise(damping);
                if damping > 1e20 {
                    return Optimum {
                        params,
                        local: current,
                        evaluations,
                    };
                }
                continue;
            };
            let largest = step.iter().fold(0.0_f64, |m, s| m.max(s.abs()));
            if damping == 0.0 && largest < TOLERANCE {
                // The optimum is this close: take the step without another pass. Its error
                // is about the square of the step, and the quadratic model gives the
                // likelihood's rise (−½ G·d); the Hessian moves by a relative 1e-6 at most,
                // which the standard errors do not notice.
                let rise: f64 = -0.5 * (0..N).map(|i| gradient[i] * step[i]).sum::<f64>();
                return Optimum {
                    params: std::array::from_fn(|i| (theta[i] + step[i]).exp()),
                    local: Local {
                        value: current.value + rise,
                        ..current
                    },
                    evaluations,
                };
            }
            if largest > MAX_MOVE {
                step = step.map(|s| s * MAX_MOVE / largest);
            }
            let trial_theta: [f64; N] = std::array::from_fn(|i| theta[i] + step[i]);
            let trial_params = trial_theta.map(f64::exp);
            let usable = trial_params.iter().all(|p| p.is_finite() && *p > 0.0);
            let trial = usable.then(|| {
                evaluations += 1;
                f(&trial_params)
            });
            // Near the optimum a Newton step changes the likelihood by less than the
            // rounding in summing it: such a step is taken unless it is clearly worse.
            let slack = if damping == 0.0 && largest < ROUNDING_STEP {
                1e-12 * (1.0 + current.value.abs())
            } else {
                0.0
            };
            match trial {
                // Damped steps must improve strictly: accepting ties would let rounding
                // noise walk the point around near the optimum.
                Some(t) if t.value.is_finite() && t.value > current.value - slack => {
                    theta = trial_theta;
                    current = t;
                    damping = if damping < 1e-6 { 0.0 } else { damping / 10.0 };
                    break;
                }
                _ => {
                    // A step this small that does not improve is rounding noise at the
                    // optimum; a larger one means the quadratic model was too trusting.
                    if largest < TOLERANCE {
                        return Optimum {
                            params,
                            local: current,
                            evaluations,
                        };
                    }
                    damping = raise(damping);
                }
            }
        }
    }
    Optimum {
        params: theta.map(f64::exp),
        local: current,
        evaluations,
    }
}

fn raise(damping: f64) -> f64 {
    if damping == 0.0 {
        1e-3
    } else {
        damping * 10.0
    }
}

/// The gradient and Hessian of the negated log-likelihood over log-parameters θ = ln p:
/// `G = −p ⊙ g` and `M = −(diag(p) H diag(p) + diag(p ⊙ g))`.
fn on_logs<const N: usize>(params: &[f64; N], local: &Local<N>) -> ([f64; N], [[f64; N]; N]) {
    let gradient = std::array::from_fn(|i| -params[i] * local.gradient[i]);
    let curvature = std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            let diagonal = if i == j {
                params[i] * local.gradient[i]
            } else {
                0.0
            };
            -(params[i] * params[j] * local.hessian[i][j] + diagonal)
        })
    });
    (gradient, curvature)
}

/// Solves `m x = b` for a symmetric positive definite `m` by Cholesky; None if `m` is not
/// positive definite (the caller then damps it).
fn solve<const N: usize>(m: [[f64; N]; N], b: [f64; N]) -> Option<[f64; N]> {
    let mut l = [[0.0; N]; N];
    for i in 0..N {
        for j in 0..=i {
            let sum: f64 = m[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if !(sum > 0.0 && sum.is_finite()) {
                    return None;
                }
                l[i][i] = sum.sqrt();
            } else {
                l[i][j] = sum / l[j][j];
            }
        }
    }
    let mut y = [0.0; N];
    for i in 0..N {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0; N];
    for i in (0..N).rev() {
        x[i] = (y[i] - (i + 1..N).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

/// Standard errors at the optimum (natural scale): the square roots of the diagonal of
/// the inverse of the negated Hessian; `NaN` if it is singular there.
pub(crate) fn standard_errors<const N: usize>(local: &Local<N>) -> [f64; N] {
    let negated = local.hessian.map(|row| row.map(|h| -h));
    match invert(negated) {
        Some(inverse) => std::array::from_fn(|i| inverse[i][i].max(0.0).sqrt()),
        None => [f64::NAN; N],
    }
}

/// Gauss–Jordan inverse with partial pivoting; None if singular.
fn invert<const N: usize>(mut m: [[f64; N]; N]) -> Option<[[f64; N]; N]> {
    let mut inv: [[f64; N]; N] =
        std::array::from_fn(|i| std::array::from_fn(|j| f64::from(u8::from(i == j))));
    for col in 0..N {
        let pivot = (col..N).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-300 {
            return None;
        }
        m.swap(col, pivot);
        inv.swap(col, pivot);
        let d = m[col][col];
        for j in 0..N {
            m[col][j] /= d;
            inv[col][j] /= d;
        }
        for row in 0..N {
            if row != col {
                let factor = m[row][col];
                for j in 0..N {
                    m[row][j] -= factor * m[col][j];
                    inv[row][j] -= factor * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Gaussian log-likelihood in (μ, σ) for data with mean 3 and variance 4, with a
    /// positive μ so that both parameters suit the log scale.
    fn gaussian(p: &[f64; 2]) -> Local<2> {
        let (n, mean, var) = (100.0, 3.0, 4.0);
        let (mu, sigma) = (p[0], p[1]);
        let s2 = sigma * sigma;
        let ss = var + (mean - mu) * (mean - mu);
        Local {
            value: -n * sigma.ln() - n * ss / (2.0 * s2),
            gradient: [n * (mean - mu) / s2, -n / sigma + n * ss / (s2 * sigma)],
            hessian: [
                [-n / s2, -2.0 * n * (mean - mu) / (s2 * sigma)],
                [
                    -2.0 * n * (mean - mu) / (s2 * sigma),
                    n / s2 - 3.0 * n * ss / (s2 * s2),
                ],
            ],
        }
    }

    #[test]
    fn newton_finds_the_maximum_from_far_away_and_gives_the_textbook_standard_errors() {
        for start in [[1.0, 1.0], [50.0, 0.01], [0.001, 300.0]] {
            let best = maximise(&mut gaussian, start);
            assert!(
                (best.params[0] - 3.0).abs() < 1e-9 && (best.params[1] - 2.0).abs() < 1e-9,
                "{start:?}: {best:?}"
            );
            assert!(best.evaluations < 60, "{start:?}: {best:?}");
            // se(μ) = σ/√n, se(σ) = σ/√(2n).
            let se = standard_errors(&best.local);
            assert!((se[0] - 0.2).abs() < 1e-9, "{se:?}");
            assert!((se[1] - 2.0 / 200f64.sqrt()).abs() < 1e-9, "{se:?}");
        }
    }

    #[test]
    fn cholesky_refuses_what_is_not_positive_definite() {
        assert!(solve([[1.0, 2.0], [2.0, 1.0]], [1.0, 1.0]).is_none());
        let x = solve([[4.0, 2.0], [2.0, 3.0]], [2.0, 1.0]).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-15 && x[1].abs() < 1e-15, "{x:?}");
    }
}
