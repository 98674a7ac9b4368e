//! `quanzi bench clv`: the BG/NBD fit on `customers` simulated customers with known
//! parameters, written as a summary table in `lifetimes`' format so that
//! `bench/peers/lifetimes_1m.sh` can fit `lifetimes` on the same file and compare.
//!
//! The customers join steadily over two years (ages uniform in 1–730 days) and buy at
//! CDNOW's fitted rates with α in days. By default times are whole days, as
//! `lifetimes.utils.summary_data_from_transaction_data` writes them, and then many
//! customers share a summary; `--continuous` keeps the simulated times, and then none do.
//! The fit is timed with and without collapsing equal summaries and on one and two
//! threads, so the gain from each is visible on its own.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use quanzi_domain::analytics::clv::bgnbd::{BgNbd, BgNbdFit, FitOptions};
use quanzi_domain::analytics::clv::simulate::simulate_bgnbd_cohorts;
use quanzi_domain::analytics::clv::table::parse_summaries;
use quanzi_domain::analytics::clv::Summary;

/// CDNOW's parameters (Fader, Hardie & Lee 2005) with α converted from weeks to days.
const TRUE_PARAMS: BgNbd = BgNbd {
    r: 0.243,
    alpha: 4.414 * 7.0,
    a: 0.793,
    b: 2.426,
};

pub fn run(customers: usize, seed: u64, continuous: bool, output: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(customers > 0, "--customers must be positive");
    let started = Instant::now();
    let simulated = simulate_bgnbd_cohorts(TRUE_PARAMS, customers, 1.0..730.0, seed);
    let mut csv = String::with_capacity(customers * 24);
    csv.push_str("ID,frequency,recency,T\n");
    for (i, s) in simulated.iter().enumerate() {
        let (recency, age) = if continuous {
            (s.recency, s.age)
        } else {
            (s.recency.round(), s.age.round())
        };
        // `{}` writes the shortest text that reads back as the same number, so both fits
        // see identical inputs.
        let _ = writeln!(csv, "{},{},{recency},{age}", i + 1, s.frequency);
    }
    std::fs::write(output, &csv)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    println!(
        "simulated      {customers} customers in {} ({:.2} s), wrote {}",
        if continuous {
            "continuous days"
        } else {
            "whole days"
        },
        started.elapsed().as_secs_f64(),
        output.display()
    );

    let started = Instant::now();
    let text = std::fs::read_to_string(output)?;
    let rows = parse_summaries(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let summaries: Vec<Summary> = rows.iter().map(|r| r.summary).collect();
    println!(
        "read back      {} rows ({:.2} s, not counted below)",
        summaries.len(),
        started.elapsed().as_secs_f64()
    );

    let mut fits = Vec::new();
    for collapse_duplicates in [true, false] {
        for threads in [1, 2] {
            let options = FitOptions {
                collapse_duplicates,
                threads,
            };
            let (fit, first, best) = timed_fit(&summaries, options)?;
            println!(
                "fit            {:<13} {threads} thread{}  {:>7} rows  {:>2} passes  {:.3} s (first run {:.3} s)   log-likelihood {:.4}",
                if collapse_duplicates {
                    "collapsed"
                } else {
                    "not collapsed"
                },
                if threads == 1 { " " } else { "s" },
                fit.rows,
                fit.evaluations,
                best,
                first,
                fit.log_likelihood
            );
            fits.push(fit);
        }
    }
    // Every variant sums the same likelihood, so they must land on the same optimum.
    let spread = fits
        .iter()
        .flat_map(|f| {
            [
                f.params.r - fits[0].params.r,
                f.params.alpha - fits[0].params.alpha,
                f.params.a - fits[0].params.a,
                f.params.b - fits[0].params.b,
            ]
        })
        .fold(0.0_f64, |m, d| m.max(d.abs()));
    let fit = &fits[1];
    println!(
        "truth          r {:.6}   alpha {:.6}   a {:.6}   b {:.6}",
        TRUE_PARAMS.r, TRUE_PARAMS.alpha, TRUE_PARAMS.a, TRUE_PARAMS.b
    );
    println!(
        "standard error r {:.6}   alpha {:.6}   a {:.6}   b {:.6}",
        fit.r.std_error, fit.alpha.std_error, fit.a.std_error, fit.b.std_error
    );
    println!("largest difference between the four fits: {spread:.1e}");
    // The line bench/peers/lifetimes_1m.sh reads.
    println!(
        "quanzi params  r {:.10} alpha {:.10} a {:.10} b {:.10}",
        fit.params.r, fit.params.alpha, fit.params.a, fit.params.b
    );
    Ok(())
}

/// Three timed fits: the fit, the first run's time and the best time (the first run also
/// pays for cold caches and fresh allocations).
fn timed_fit(summaries: &[Summary], options: FitOptions) -> anyhow::Result<(BgNbdFit, f64, f64)> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let started = Instant::now();
        let fit = BgNbd::fit_with(summaries, options).map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(started.elapsed().as_secs_f64());
        last = Some(fit);
    }
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    Ok((last.expect("three fits ran"), times[0], best))
}
