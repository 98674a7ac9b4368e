//! `quanzi analyze attribution`: every attribution model over one path table, side by side.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use quanzi_domain::analytics::attribution::models::{checked_models, run_model};
use quanzi_domain::analytics::attribution::{Attribution, HalfLife, Journeys};

pub fn run(
    input: &Path,
    models: &[String],
    half_life: f64,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(input)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))?;
    let started = Instant::now();
    let journeys = Journeys::from_csv(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "journeys      {} distinct paths, {} channels, {:.0} conversions, {:.2} value ({:.2} s to read)",
        journeys.len(),
        journeys.channels().len(),
        journeys.total_conversions(),
        journeys.total_value(),
        started.elapsed().as_secs_f64()
    );
    let half_life = HalfLife::new(half_life).map_err(|e| anyhow::anyhow!("{e}"))?;
    let wanted = checked_models(models).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut results: Vec<(String, Attribution)> = Vec::new();
    for name in wanted {
        let started = Instant::now();
        let result = run_model(&journeys, name, half_life);
        println!(
            "{name:<13} {:.3} s   {}",
            started.elapsed().as_secs_f64(),
            result.definition()
        );
        results.push((name.to_owned(), result));
    }
    // Conversions credited per channel, one column per model.
    let mut table = format!("{:<20}", "channel");
    for (name, _) in &results {
        let _ = write!(table, "{name:>12}");
    }
    println!("{table}");
    for channel in journeys.channels() {
        let mut row = format!("{channel:<20}");
        for (_, result) in &results {
            let credit = result.credit(channel).map_or(0.0, |c| c.conversions());
            let _ = write!(row, "{credit:>12.2}");
        }
        println!("{row}");
    }
    if let Some(output) = output {
        let mut csv = String::from("channel,model,conversions,value\n");
        for (name, result) in &results {
            for credit in result.credits() {
                let _ = writeln!(
                    csv,
                    "{},{name},{},{}",
                    credit.channel(),
                    credit.conversions(),
                    credit.value()
                );
            }
        }
        std::fs::write(output, csv)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
        println!("wrote         {}", output.display());
    }
    Ok(())
}
