//! Maximum likelihood by Nelder–Mead over log-parameters (so every parameter stays
//! positive without constraints), and standard errors from a numerical Hessian.

/// Minimises `f` from `start` (log-parameters); returns the best point.
pub(crate) fn nelder_mead(f: &dyn Fn(&[f64]) -> f64, start: &[f64]) -> Vec<f64> {
    let n = start.len();
    let mut best = start.to_vec();
    // Restarting from the last optimum with a fresh simplex guards against the simplex
    // collapsing early, a known weakness of Nelder–Mead.
    for _ in 0..4 {
        best = one_run(f, &best, n);
    }
    best
}

fn one_run(f: &dyn Fn(&[f64]) -> f64, start: &[f64], n: usize) -> Vec<f64> {
    let mut simplex: Vec<Vec<f64>> = (0..=n)
        .map(|i| {
            let mut p = start.to_vec();
            if i > 0 {
                p[i - 1] += 0.5;
            }
            p
        })
        .collect();
    let mut values: Vec<f64> = simplex.iter().map(|p| safe(f, p)).collect();
    for _ in 0..20_000 {
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        simplex = order.iter().map(|&i| simplex[i].clone()).collect();
        values = order.iter().map(|&i| values[i]).collect();
        if (values[n] - values[0]).abs() <= 1e-12 * (1.0 + values[0].abs()) {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|p| p[j]).sum::<f64>() / n as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            (0..n)
                .map(|j| centroid[j] + t * (simplex[n][j] - centroid[j]))
                .collect()
        };
        let reflected = along(-1.0);
        let fr = safe(f, &reflected);
        if fr < values[0] {
            let expanded = along(-2.0);
            let fe = safe(f, &expanded);
            if fe < fr {
                simplex[n] = expanded;
                values[n] = fe;
            } else {
                simplex[n] = reflected;
                values[n] = fr;
            }
        } else if fr < values[n - 1] {
            simplex[n] = reflected;
            values[n] = fr;
        } else {
            let contracted = if fr < values[n] {
                along(-0.5)
            } else {
                along(0.5)
            };
            let fc = safe(f, &contracted);
            if fc < values[n].min(fr) {
                simplex[n] = contracted;
                values[n] = fc;
            } else {
                let best = simplex[0].clone();
                for i in 1..=n {
                    for (v, b) in simplex[i].iter_mut().zip(&best) {
                        *v = b + 0.5 * (*v - b);
                    }
                    values[i] = safe(f, &simplex[i]);
                }
            }
        }
    }
    let best = (0..=n)
        .min_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(0);
    simplex[best].clone()
}

/// `f`, with anything not finite counted as worst.
fn safe(f: &dyn Fn(&[f64]) -> f64, p: &[f64]) -> f64 {
    let v = f(p);
    if v.is_finite() {
        v
    } else {
        f64::INFINITY
    }
}

/// Standard errors of the parameters at `at` (natural scale) for a negative
/// log-likelihood `f`: the square roots of the inverse Hessian's diagonal.
pub(crate) fn standard_errors(f: &dyn Fn(&[f64]) -> f64, at: &[f64]) -> Vec<f64> {
    let n = at.len();
    let h: Vec<f64> = at.iter().map(|x| 1e-4 * x.abs().max(1e-4)).collect();
    let mut hessian = vec![vec![0.0; n]; n];
    let eval = |di: usize, si: f64, dj: usize, sj: f64| {
        let mut p = at.to_vec();
        p[di] += si * h[di];
        p[dj] += sj * h[dj];
        f(&p)
    };
    for i in 0..n {
        for j in i..n {
            let v = (eval(i, 1.0, j, 1.0) - eval(i, 1.0, j, -1.0) - eval(i, -1.0, j, 1.0)
                + eval(i, -1.0, j, -1.0))
                / (4.0 * h[i] * h[j]);
            hessian[i][j] = v;
            hessian[j][i] = v;
        }
    }
    match invert(hessian) {
        Some(inverse) => (0..n).map(|i| inverse[i][i].max(0.0).sqrt()).collect(),
        None => vec![f64::NAN; n],
    }
}

/// Gauss–Jordan inverse with partial pivoting; None if singular.
fn invert(mut m: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut inv: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-300 {
            return None;
        }
        m.swap(col, pivot);
        inv.swap(col, pivot);
        let d = m[col][col];
        for j in 0..n {
            m[col][j] /= d;
            inv[col][j] /= d;
        }
        for row in 0..n {
            if row != col {
                let factor = m[row][col];
                for j in 0..n {
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

    #[test]
    fn nelder_mead_finds_the_minimum_of_a_bowl() {
        let f = |p: &[f64]| (p[0] - 1.0).powi(2) + 10.0 * (p[1] + 2.0).powi(2);
        let best = nelder_mead(&f, &[0.0, 0.0]);
        assert!(
            (best[0] - 1.0).abs() < 1e-5 && (best[1] + 2.0).abs() < 1e-5,
            "{best:?}"
        );
    }

    #[test]
    fn standard_errors_of_a_quadratic_are_its_curvature() {
        // f = x²/(2·4) + y²/(2·9): the inverse Hessian is diag(4, 9).
        let f = |p: &[f64]| p[0] * p[0] / 8.0 + p[1] * p[1] / 18.0;
        let se = standard_errors(&f, &[1.0, 2.0]);
        assert!(
            (se[0] - 2.0).abs() < 1e-3 && (se[1] - 3.0).abs() < 1e-3,
            "{se:?}"
        );
    }
}
