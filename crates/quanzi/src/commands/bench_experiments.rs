//! `quanzi bench experiments`: the Bayesian A/B test (gbstats' effect test: relative
//! lift, flat prior, 95 % interval) on `tests` random pairs of arms given as (n, sum, sum
//! of squares), timed per test; inputs and results are written as CSV so that
//! `bench/peers/gbstats.sh` can run gbstats on the same inputs and compare.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use quanzi_domain::analytics::experiments::bayesian::{bayesian_test, BayesianConfig};
use quanzi_domain::analytics::experiments::summary::ArmSummary;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub fn run(tests: usize, seed: u64, output: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(tests > 0, "--tests must be positive");
    let mut rng = StdRng::seed_from_u64(seed);
    let sums = |n: u64, mean: f64, sd: f64| {
        let nf = n as f64;
        let sum = mean * nf;
        (n, sum, sd * sd * (nf - 1.0) + sum * sum / nf)
    };
    // Pairs of arms a few percent apart, as real tests are, so chances to win spread
    // over (0, 1) instead of sitting at 0 or 1.
    let inputs: Vec<_> = (0..tests)
        .map(|_| {
            let n: u64 = rng.gen_range(100..100_000);
            let mean: f64 = rng.gen_range(1.0..100.0);
            let sd: f64 = mean * rng.gen_range(0.5..3.0);
            let lift: f64 = rng.gen_range(-0.05..0.05);
            let n_b = (n as f64 * rng.gen_range(0.9..1.1)) as u64;
            (sums(n, mean, sd), sums(n_b.max(2), mean * (1.0 + lift), sd))
        })
        .collect();
    let arms: Vec<(ArmSummary, ArmSummary)> = inputs
        .iter()
        .map(|((nc, sc, qc), (nt, st, qt))| {
            Ok((
                ArmSummary::from_sums(*nc, *sc, *qc)?,
                ArmSummary::from_sums(*nt, *st, *qt)?,
            ))
        })
        .collect::<Result<_, quanzi_domain::input::InvalidInput>>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let config = BayesianConfig::default();
    let rounds = (1_000_000 / tests).max(1);
    let started = Instant::now();
    let mut sink = 0.0;
    for _ in 0..rounds {
        for (c, t) in &arms {
            sink += bayesian_test(c, t, &config)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .chance_to_win;
        }
    }
    let per_test = started.elapsed().as_secs_f64() / (rounds * tests) as f64;
    let mut csv = String::from(
        "n_a,sum_a,sum_squares_a,n_b,sum_b,sum_squares_b,chance_to_win,expected,ci_low,ci_high,risk_control,risk_treatment\n",
    );
    for (((nc, sc, qc), (nt, st, qt)), (c, t)) in inputs.iter().zip(&arms) {
        let r = bayesian_test(c, t, &config).map_err(|e| anyhow::anyhow!("{e}"))?;
        let _ = writeln!(
            csv,
            "{nc},{sc:?},{qc:?},{nt},{st:?},{qt:?},{:?},{:?},{:?},{:?},{:?},{:?}",
            r.chance_to_win,
            r.effect_mean,
            r.credible_interval.0,
            r.credible_interval.1,
            r.risk.control,
            r.risk.treatment
        );
    }
    std::fs::write(output, csv)?;
    println!(
        "bayesian test  {:.3} µs per test over {} tests ({} rounds; checksum {sink:.3})",
        per_test * 1e6,
        tests,
        rounds
    );
    println!("wrote          {}", output.display());
    Ok(())
}
