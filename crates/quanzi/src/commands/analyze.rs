//! `quanzi analyze …`: the analytics algorithms on CSV files, for analysts, with no
//! database or server.

use std::fmt::Write as _;
use std::path::Path;

use quanzi_domain::analytics::clv::bgnbd::BgNbd;
use quanzi_domain::analytics::clv::gamma_gamma::{GammaGamma, Spend};
use quanzi_domain::analytics::clv::table::parse_summaries;
use quanzi_domain::analytics::clv::value::lifetime_value;
use quanzi_domain::analytics::clv::Estimate;

use crate::cli::AnalyzeCommand;

pub fn run(command: AnalyzeCommand) -> anyhow::Result<()> {
    match command {
        AnalyzeCommand::Rfm {
            input,
            as_of,
            output,
            threads,
        } => super::analyze_rfm::run(&input, as_of.as_deref(), output.as_deref(), threads),
        AnalyzeCommand::Retention {
            input,
            start,
            return_event,
            period,
            periods,
            mode,
            cohort,
            utc_offset,
            by_channel,
            output,
            threads,
        } => super::analyze_retention::run(super::analyze_retention::RetentionArgs {
            input: &input,
            start: &start,
            return_event: &return_event,
            period: &period,
            periods,
            mode: &mode,
            cohort: &cohort,
            utc_offset,
            by_channel,
            threads,
            output: output.as_deref(),
        }),
        AnalyzeCommand::Attribution {
            input,
            models,
            half_life,
            output,
        } => super::analyze_attribution::run(&input, &models, half_life, output.as_deref()),
        AnalyzeCommand::Funnel(options) => super::analyze_funnel::run(options),
        AnalyzeCommand::Clv {
            input,
            output,
            periods,
            period_length,
            discount_rate,
        } => clv(
            &input,
            output.as_deref(),
            periods,
            period_length,
            discount_rate,
        ),
    }
}

fn show(name: &str, e: Estimate) -> String {
    format!("{name} {:.6} ± {:.6}", e.value, e.std_error)
}

/// Fits BG/NBD (and Gamma-Gamma when the table has mean values), prints the parameters
/// with standard errors, and writes each customer's P(alive), expected purchases over the
/// horizon and CLV to `output`.
fn clv(
    input: &Path,
    output: Option<&Path>,
    periods: u32,
    period_length: f64,
    discount_rate: f64,
) -> anyhow::Result<()> {
    anyhow::ensure!(period_length > 0.0, "--period-length must be positive");
    anyhow::ensure!(discount_rate >= 0.0, "--discount-rate must not be negative");
    let text = std::fs::read_to_string(input)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))?;
    let rows = parse_summaries(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let summaries: Vec<_> = rows.iter().map(|r| r.summary).collect();
    let started = std::time::Instant::now();
    let fit = BgNbd::fit(&summaries).map_err(|e| anyhow::anyhow!("{e}"))?;
    let took = started.elapsed();
    println!("customers     {}", fit.customers);
    println!(
        "BG/NBD        {}   {}   {}   {}   log-likelihood {:.4}   ({:.2} s)",
        show("r", fit.r),
        show("alpha", fit.alpha),
        show("a", fit.a),
        show("b", fit.b),
        fit.log_likelihood,
        took.as_secs_f64()
    );
    let spend: Vec<Spend> = rows
        .iter()
        .filter_map(|r| {
            r.mean_value.map(|m| Spend {
                frequency: r.summary.frequency,
                mean_value: m,
            })
        })
        .collect();
    let gamma_gamma = if spend.len() == rows.len() && spend.iter().any(|s| s.frequency > 0.0) {
        let gg = GammaGamma::fit(&spend).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "Gamma-Gamma   {}   {}   {}   log-likelihood {:.4}   ({} customers with repeats)",
            show("p", gg.p),
            show("q", gg.q),
            show("gamma", gg.gamma),
            gg.log_likelihood,
            gg.customers
        );
        Some(gg.params)
    } else {
        None
    };
    let Some(output) = output else {
        return Ok(());
    };
    let horizon = f64::from(periods) * period_length;
    let mut csv = String::from("id,p_alive,expected_purchases,clv\n");
    for row in &rows {
        let clv = gamma_gamma.map(|gg| {
            lifetime_value(
                &fit.params,
                &gg,
                &row.summary,
                row.mean_value.unwrap_or(0.0),
                periods,
                period_length,
                discount_rate,
            )
        });
        let _ = writeln!(
            csv,
            "{},{:.6},{:.6},{}",
            row.id,
            fit.params.p_alive(&row.summary),
            fit.params.expected_purchases(&row.summary, horizon),
            clv.map_or(String::new(), |v| format!("{v:.2}"))
        );
    }
    std::fs::write(output, csv)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    println!("wrote         {}", output.display());
    Ok(())
}
