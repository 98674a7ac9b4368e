//! P(conversion) from start on the absorbing chain, solved exactly rather than simulated.
//!
//! Let `x_s` be the probability of ending in conversion from transient state `s`, `Q` the
//! transient-to-transient probabilities and `r_s` the one-step conversion probability:
//! `x = Q x + r`, and P(conversion) = `Σ_s start_s · x_s`. Removing channels pins the states
//! that contain them to `x = 0` (every transition into them goes to null instead).
//!
//! Small chains are solved by Gaussian elimination with partial pivoting on `(I − Q) x = r`.
//! Larger ones by Gauss–Seidel, which provably converges here and carries its own error
//! bound:
//!
//! - Every transient state lies on an observed path of positive weight, and that path's
//!   last state exits to conversion or null with positive probability, so absorption is
//!   reachable from every state: the spectral radius of `Q` is below 1 and `I − Q` is a
//!   nonsingular M-matrix, for which Gauss–Seidel converges (Varga, *Matrix Iterative
//!   Analysis*, regular splittings; Stein–Rosenberg: no slower than Jacobi).
//! - Because `Q ≥ 0` and `r ≥ 0`, the iterates started from `x = 0` rise monotonically to
//!   the solution, so every iterate is a lower bound. Running the same sweep for `y`, the
//!   probability of ending in null (pinned states have `y = 1`), gives lower bounds on `y`;
//!   absorption is certain, so `x = 1 − y ≤ 1 − y_k`.
//! - Hence after each sweep `lower = Σ start·x_k ≤ P ≤ 1 − Σ start·y_k = upper`. We stop
//!   once `upper − lower ≤ max(1e-12 · lower, 1e-15)` and return the midpoint: the reported
//!   width is a certificate, not a residual heuristic.

use super::chain::{Chain, State};

/// Chains up to this many states are solved by elimination: `n³/3` flops is then less than
/// a millisecond and exact up to rounding.
const DENSE_LIMIT: usize = 256;
const RELATIVE_TOLERANCE: f64 = 1e-12;
const ABSOLUTE_TOLERANCE: f64 = 1e-15;
const MAX_SWEEPS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// Elimination for small chains, Gauss–Seidel for the rest.
    Auto,
    Elimination,
    GaussSeidel,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Solved {
    pub(crate) probability: f64,
    /// Width of the certified bracket around `probability` (0 after elimination).
    pub(crate) width: f64,
    pub(crate) method: Method,
}

/// P(conversion from start) with the states flagged in `pinned` leading to null.
pub(crate) fn conversion_probability(chain: &Chain, pinned: &[bool], method: Method) -> Solved {
    let method = match method {
        Method::Auto if chain.states() <= DENSE_LIMIT => Method::Elimination,
        Method::Auto => Method::GaussSeidel,
        chosen => chosen,
    };
    if chain.start.is_empty() {
        // No journey carries weight: nothing can convert.
        return Solved {
            probability: 0.0,
            width: 0.0,
            method,
        };
    }
    match method {
        Method::Elimination => Solved {
            probability: eliminate(chain, pinned),
            width: 0.0,
            method,
        },
        _ => gauss_seidel(chain, pinned),
    }
}

fn start_sum(chain: &Chain, values: &[f64]) -> f64 {
    chain
        .start
        .iter()
        .map(|&(state, p)| p * values[state as usize])
        .sum()
}

fn gauss_seidel(chain: &Chain, pinned: &[bool]) -> Solved {
    let states = chain.states();
    let mut x = vec![0.0; states];
    let mut y: Vec<f64> = pinned.iter().map(|&p| if p { 1.0 } else { 0.0 }).collect();
    let mut best = (0.0, f64::INFINITY);
    let mut stalled = 0;
    for _ in 0..MAX_SWEEPS {
        for state in 0..states {
            if pinned[state] {
                continue;
            }
            let (targets, probabilities) = chain.row(state as State);
            let mut to_conversion = chain.to_conversion[state];
            let mut to_null = chain.to_null[state];
            for (&target, &p) in targets.iter().zip(probabilities) {
                to_conversion += p * x[target as usize];
                to_null += p * y[target as usize];
            }
            // A self-loop only delays the exit: divide it out.
            let stay = 1.0 - chain.self_loop[state];
            x[state] = to_conversion / stay;
            y[state] = to_null / stay;
        }
        let lower = start_sum(chain, &x);
        let upper = 1.0 - start_sum(chain, &y);
        let width = (upper - lower).max(0.0);
        if width <= (RELATIVE_TOLERANCE * lower).max(ABSOLUTE_TOLERANCE) {
            // With nothing converting, lower stays exactly 0; keep it rather than a
            // rounding-sized midpoint that would turn into a removal effect.
            let probability = if lower == 0.0 {
                0.0
            } else {
                0.5 * (lower + upper)
            };
            return Solved {
                probability,
                width,
                method: Method::GaussSeidel,
            };
        }
        // Rounding can floor the width above the tolerance; stop when it stops shrinking.
        if width < best.1 * (1.0 - 1e-3) {
            best = (0.5 * (lower + upper), width);
            stalled = 0;
        } else {
            stalled += 1;
            if stalled >= 64 {
                break;
            }
        }
    }
    Solved {
        probability: best.0.max(0.0),
        width: best.1,
        method: Method::GaussSeidel,
    }
}

/// Solves `(I − Q) x = r` over the unpinned states by elimination with partial pivoting.
fn eliminate(chain: &Chain, pinned: &[bool]) -> f64 {
    let states = chain.states();
    // Unpinned states get consecutive rows; pinned ones drop out (their x is 0).
    let mut row_of = vec![usize::MAX; states];
    let mut free = 0;
    for state in 0..states {
        if !pinned[state] {
            row_of[state] = free;
            free += 1;
        }
    }
    let n = free;
    let mut a = vec![0.0; n * n];
    let mut b = vec![0.0; n];
    for state in 0..states {
        let i = row_of[state];
        if i == usize::MAX {
            continue;
        }
        a[i * n + i] = 1.0 - chain.self_loop[state];
        b[i] = chain.to_conversion[state];
        let (targets, probabilities) = chain.row(state as State);
        for (&target, &p) in targets.iter().zip(probabilities) {
            let j = row_of[target as usize];
            if j != usize::MAX {
                a[i * n + j] -= p;
            }
        }
    }
    for column in 0..n {
        let pivot = (column..n)
            .max_by(|&r, &s| a[r * n + column].abs().total_cmp(&a[s * n + column].abs()))
            .expect("column < n");
        if pivot != column {
            for k in 0..n {
                a.swap(pivot * n + k, column * n + k);
            }
            b.swap(pivot, column);
        }
        let diagonal = a[column * n + column];
        for row in column + 1..n {
            let factor = a[row * n + column] / diagonal;
            if factor == 0.0 {
                continue;
            }
            for k in column..n {
                a[row * n + k] -= factor * a[column * n + k];
            }
            b[row] -= factor * b[column];
        }
    }
    let mut solution = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| a[row * n + k] * solution[k]).sum();
        solution[row] = (b[row] - tail) / a[row * n + row];
    }
    let x: Vec<f64> = (0..states)
        .map(|state| match row_of[state] {
            usize::MAX => 0.0,
            row => solution[row],
        })
        .collect();
    start_sum(chain, &x).clamp(0.0, 1.0)
}
