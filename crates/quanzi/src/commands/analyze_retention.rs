//! `quanzi analyze retention`: a cohort retention table from an events CSV.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use quanzi_domain::analytics::funnel::EventTable;
use quanzi_domain::analytics::retention::{
    retention, CohortKind, Period, RetentionMode, RetentionSpec, RetentionTable, UtcOffset,
};

/// What `quanzi analyze retention` was asked for.
pub struct RetentionArgs<'a> {
    pub input: &'a Path,
    pub start: &'a str,
    pub return_event: &'a str,
    pub period: &'a str,
    pub periods: u32,
    pub mode: &'a str,
    pub cohort: &'a str,
    pub utc_offset: i64,
    pub by_channel: bool,
    pub threads: usize,
    pub output: Option<&'a Path>,
}

pub fn run(args: RetentionArgs<'_>) -> anyhow::Result<()> {
    anyhow::ensure!(args.threads >= 1, "--threads must be at least 1");
    let invalid = |e: quanzi_domain::input::InvalidInput| anyhow::anyhow!("{e}");
    let period = Period::parse(args.period).map_err(invalid)?;
    let mode = RetentionMode::parse(args.mode).map_err(invalid)?;
    let kind = CohortKind::parse(args.cohort).map_err(invalid)?;
    let offset = UtcOffset::from_seconds(args.utc_offset).map_err(invalid)?;

    let started = Instant::now();
    let bytes = std::fs::read(args.input)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.input.display()))?;
    let table = EventTable::from_csv_with_threads(&bytes, args.threads).map_err(invalid)?;
    drop(bytes);
    let read = started.elapsed();
    let code = |flag: &str, name: &str| {
        table.events().code(name).ok_or_else(|| {
            let known: Vec<&str> = table.events().names().take(20).collect();
            anyhow::anyhow!(
                "{flag}: no event `{name}` in {} (its events: {})",
                args.input.display(),
                known.join(", ")
            )
        })
    };
    let spec = RetentionSpec::new(
        code("--start", args.start)?,
        code("--return", args.return_event)?,
        period,
        args.periods,
    )
    .map_err(invalid)?
    .with_mode(mode)
    .with_kind(kind)
    .with_offset(offset)
    .with_breakdown(args.by_channel);
    let computing = Instant::now();
    let result = retention(table.columns(), &spec, args.threads).map_err(invalid)?;
    let compute = computing.elapsed();

    let event_name = |code: u32| table.events().name(code).to_owned();
    println!("{}", result.definition().describe(event_name));
    println!(
        "time          {:.3} s: read {:.3} s, compute {:.3} s ({} threads)",
        started.elapsed().as_secs_f64(),
        read.as_secs_f64(),
        compute.as_secs_f64(),
        args.threads
    );
    let channel = |code: Option<u32>| match (code, table.breakdowns()) {
        (Some(code), Some(names)) => match names.name(code) {
            "" => "(none)".to_owned(),
            name => name.to_owned(),
        },
        _ => "(all)".to_owned(),
    };
    print!("{}", render(&result, &channel));
    if let Some(output) = args.output {
        std::fs::write(output, to_csv(&result, &channel))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
        println!("wrote         {}", output.display());
    }
    Ok(())
}

/// The table as text: per breakdown value, one line per cohort (start, size, the share
/// retained at each offset) and the overall line.
fn render(result: &RetentionTable, channel: &dyn Fn(Option<u32>) -> String) -> String {
    let width = result.definition().spec().periods() as usize + 1;
    let mut text = String::new();
    let mut header = format!("{:<12}{:>9}", "cohort", "size");
    for k in 0..width {
        let _ = write!(header, "{k:>8}");
    }
    let percent = |rate: Option<f64>| rate.map_or("".to_owned(), |r| format!("{:.1}%", 100.0 * r));
    for overall in result.overall() {
        if result.definition().spec().breakdown() {
            let _ = writeln!(text, "{}", channel(overall.breakdown()));
        }
        let _ = writeln!(text, "{header}");
        for cohort in result
            .cohorts()
            .iter()
            .filter(|c| c.breakdown() == overall.breakdown())
        {
            let _ = write!(
                text,
                "{:<12}{:>9}",
                cohort.start().to_string(),
                cohort.size()
            );
            for k in 0..width {
                let _ = write!(text, "{:>8}", percent(cohort.rate(k)));
            }
            text.push('\n');
        }
        let _ = write!(text, "{:<12}{:>9}", "overall", overall.size());
        for k in 0..width {
            let _ = write!(text, "{:>8}", percent(overall.rate(k)));
        }
        text.push('\n');
    }
    text
}

/// `breakdown,cohort,size,offset,retained,rate`, one row per cohort and offset (empty
/// `retained` and `rate` when the period had not begun), then the overall rows
/// (`cohort` = `overall`, `size` = members of the cohorts that reach the offset).
fn to_csv(result: &RetentionTable, channel: &dyn Fn(Option<u32>) -> String) -> String {
    let quote = |text: String| {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    };
    let mut csv = String::from("breakdown,cohort,size,offset,retained,rate\n");
    for cohort in result.cohorts() {
        for (k, retained) in cohort.retained().iter().enumerate() {
            let _ = writeln!(
                csv,
                "{},{},{},{k},{},{}",
                quote(channel(cohort.breakdown())),
                cohort.start(),
                cohort.size(),
                retained.map_or(String::new(), |r| r.to_string()),
                cohort.rate(k).map_or(String::new(), |r| format!("{r:.6}")),
            );
        }
    }
    for overall in result.overall() {
        for (k, (eligible, retained)) in overall
            .eligible()
            .iter()
            .zip(overall.retained())
            .enumerate()
        {
            let _ = writeln!(
                csv,
                "{},overall,{eligible},{k},{retained},{}",
                quote(channel(overall.breakdown())),
                overall.rate(k).map_or(String::new(), |r| format!("{r:.6}")),
            );
        }
    }
    csv
}
