//! `quanzi bench attribution`: generates a synthetic path table (deterministic), writes it
//! as CSV for peers to read, reads it back as a user's file would be, and times every
//! attribution model on it. `bench/peers/channelattribution.sh` runs ChannelAttribution on
//! the same file in the same run.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use quanzi_domain::analytics::attribution::{
    first_touch, last_touch, linear, markov, position_based, shapley_exact, synthetic_journeys,
    time_decay, HalfLife, Journeys, MarkovOrder,
};

pub fn run(journeys: usize, channels: usize, seed: u64, output: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=60).contains(&channels) && journeys > 0,
        "use 1 to 60 channels and at least one journey"
    );
    let generated = synthetic_journeys(journeys, channels, seed);
    let mut csv = String::from("path,total_conversions,total_conversion_value,total_null\n");
    for (i, path) in generated.paths().enumerate() {
        let names: Vec<&str> = path
            .iter()
            .map(|&c| generated.channels()[usize::from(c)].as_str())
            .collect();
        let _ = writeln!(
            csv,
            "{},{},{},{}",
            names.join(" > "),
            generated.conversions()[i],
            generated.value()[i],
            generated.nulls()[i]
        );
    }
    std::fs::write(output, &csv)?;
    let started = Instant::now();
    let text = std::fs::read_to_string(output)?;
    let table = Journeys::from_csv(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "input         {journeys} journeys, {channels} channels → {} distinct paths in {} ({:.3} s to read)",
        table.len(),
        output.display(),
        started.elapsed().as_secs_f64()
    );
    let time = |name: &str, f: &dyn Fn() -> String| {
        let started = Instant::now();
        let summary = f();
        println!(
            "{name:<13} {:>8.4} s   {summary}",
            started.elapsed().as_secs_f64()
        );
    };
    let half_life = HalfLife::new(2.0).map_err(|e| anyhow::anyhow!("{e}"))?;
    time("first", &|| first_touch(&table).definition().to_owned());
    time("last", &|| last_touch(&table).definition().to_owned());
    time("linear", &|| linear(&table).definition().to_owned());
    time("position", &|| {
        position_based(&table).definition().to_owned()
    });
    time("decay", &|| {
        time_decay(&table, half_life).definition().to_owned()
    });
    for order in 1..=3u8 {
        let order = MarkovOrder::new(order).map_err(|e| anyhow::anyhow!("{e}"))?;
        time(&format!("markov{}", order.get()), &|| {
            let result = markov(&table, order);
            let effects: Vec<String> = table
                .channels()
                .iter()
                .zip(result.removal_effects())
                .map(|(c, e)| format!("{c}={e:.6}"))
                .collect();
            format!("removal effects {}", effects.join(" "))
        });
    }
    if channels <= 15 {
        time("shapley", &|| match shapley_exact(&table) {
            Ok(result) => result.attribution().definition().to_owned(),
            Err(err) => err.to_string(),
        });
    }
    Ok(())
}
