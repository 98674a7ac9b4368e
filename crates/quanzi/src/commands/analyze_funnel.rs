//! `quanzi analyze funnel`: a conversion funnel over an event CSV, with the time each
//! stage took so it can be compared with other engines.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use quanzi_domain::analytics::funnel::{
    funnel_with_threads, ConversionWindow, Dictionary, EventTable, FunnelDefinition, FunnelMode,
    FunnelReport,
};

/// The command's options, as parsed by clap.
#[derive(clap::Args)]
pub struct FunnelOptions {
    #[arg(long)]
    pub input: PathBuf,
    /// The steps' event names, first step first.
    #[arg(long, value_delimiter = ',', required = true)]
    pub steps: Vec<String>,
    /// ordered (other events may come between steps), strict (nothing between) or
    /// unordered (any order).
    #[arg(long, default_value = "ordered")]
    pub mode: String,
    /// The conversion window from the first step: 30m, 2h, 7d, 2w.
    #[arg(long, default_value = "7d")]
    pub window: String,
    /// Events that end an attempt when they happen after its first step.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Break the funnel down by the fourth column (channel, KOL, campaign) of each
    /// member's first step.
    #[arg(long)]
    pub breakdown: bool,
    /// Where to write members and conversion per step (and per breakdown value) as CSV.
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

pub fn run(options: FunnelOptions) -> anyhow::Result<()> {
    let invalid = |e: quanzi_domain::input::InvalidInput| anyhow::anyhow!("{e}");
    let mode = FunnelMode::parse(&options.mode).map_err(invalid)?;
    let window = ConversionWindow::parse(&options.window).map_err(invalid)?;
    let threads = options.threads.max(1);

    let started = Instant::now();
    let bytes = read_file(&options.input, threads)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", options.input.display()))?;
    let file_time = started.elapsed();
    let table = EventTable::from_csv_with_threads(&bytes, threads)
        .map_err(|e| anyhow::anyhow!("{}: {e}", options.input.display()))?;
    let read_time = started.elapsed();
    drop(bytes);
    let columns = table.columns();
    println!(
        "events        {} rows, {} members, {} event types{} ({:.3} s to read: {:.3} s file, {:.3} s parse)",
        columns.len(),
        table.members().len(),
        table.events().len(),
        table
            .breakdown_name()
            .map_or(String::new(), |name| format!(", breakdown column `{name}`")),
        read_time.as_secs_f64(),
        file_time.as_secs_f64(),
        (read_time - file_time).as_secs_f64(),
    );

    let events = table.events();
    let steps = codes(events, &options.steps, "step", &options.input)?;
    let exclusions = codes(events, &options.exclude, "exclusion", &options.input)?;
    if options.breakdown && table.breakdown_name().is_none() {
        anyhow::bail!(
            "--breakdown needs a fourth column in {} (e.g. member_id,ts,event,channel)",
            options.input.display()
        );
    }
    let definition = FunnelDefinition::new(steps, mode, window)
        .and_then(|d| d.with_exclusions(exclusions))
        .map_err(invalid)?
        .with_breakdown(options.breakdown);

    let started = Instant::now();
    let report = funnel_with_threads(columns, &definition, threads).map_err(invalid)?;
    let compute_time = started.elapsed();
    println!(
        "funnel        {}",
        report
            .definition()
            .describe(|code| events.name(code).to_owned())
    );
    print!("{}", step_table(&report, events));
    print_time_to_convert(&report);
    if let Some(values) = table.breakdowns().filter(|_| options.breakdown) {
        let name = table.breakdown_name().unwrap_or("breakdown");
        print!("{}", breakdown_table(&report, name, values));
    }
    println!(
        "timing        read {:.3} s   compute {:.3} s   total {:.3} s",
        read_time.as_secs_f64(),
        compute_time.as_secs_f64(),
        (read_time + compute_time).as_secs_f64()
    );
    if let Some(output) = &options.output {
        let csv = report_csv(&report, events, table.breakdowns());
        std::fs::write(output, csv)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
        println!("wrote         {}", output.display());
    }
    Ok(())
}

/// Reads the whole file, its halves on separate threads: a 500 MB log takes a good part of
/// a second to copy in from the page cache on one core.
fn read_file(path: &Path, threads: usize) -> std::io::Result<Vec<u8>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
        if threads < 2 || len < (64 << 20) {
            return std::fs::read(path);
        }
        let mut bytes = vec![0u8; len];
        let part = len.div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = bytes
                .chunks_mut(part)
                .enumerate()
                .map(|(i, chunk)| {
                    let file = &file;
                    scope.spawn(move || file.read_exact_at(chunk, (i * part) as u64))
                })
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().expect("a reading thread panicked"))
        })?;
        Ok(bytes)
    }
    #[cfg(not(unix))]
    {
        let _ = threads;
        std::fs::read(path)
    }
}

/// Event codes for names given on the command line; a name the file never uses is almost
/// always a typo, so it is refused with the names the file does use.
fn codes(
    events: &Dictionary,
    names: &[String],
    what: &str,
    input: &Path,
) -> anyhow::Result<Vec<u32>> {
    names
        .iter()
        .map(|name| {
            let name = name.trim();
            events.code(name).ok_or_else(|| {
                let mut known: Vec<&str> = events.names().take(30).collect();
                known.sort_unstable();
                anyhow::anyhow!(
                    "{what} `{name}` never occurs in {}; its events are: {}",
                    input.display(),
                    known.join(", ")
                )
            })
        })
        .collect()
}

fn label(report: &FunnelReport, events: &Dictionary, k: usize) -> String {
    let steps = report.definition().steps();
    if report.definition().mode() == FunnelMode::Unordered {
        format!("{} of {} steps", k + 1, steps.len())
    } else {
        events.name(steps[k]).to_owned()
    }
}

fn percent(share: Option<f64>) -> String {
    share.map_or("—".to_owned(), |s| format!("{:.2} %", s * 100.0))
}

fn step_table(report: &FunnelReport, events: &Dictionary) -> String {
    let mut out = format!(
        "{:<24}{:>12}{:>16}{:>12}\n",
        "step", "members", "from previous", "overall"
    );
    for (k, step) in report.steps().iter().enumerate() {
        let _ = writeln!(
            out,
            "{:<24}{:>12}{:>16}{:>12}",
            label(report, events, k),
            step.members(),
            percent(step.from_previous()),
            percent(step.overall())
        );
    }
    out
}

/// `4h 39m`, `12m 5s`, `2d 3h`.
fn human(seconds: i64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

fn print_time_to_convert(report: &FunnelReport) {
    let ttc = report.time_to_convert();
    let (Some(median), Some(p90)) = (ttc.median(), ttc.p90()) else {
        println!("time to convert: nobody reached the last step");
        return;
    };
    println!(
        "time to convert  median {}   p90 {}   over {} members who reached the last step",
        human(median),
        human(p90),
        ttc.converted()
    );
    let widest = ttc
        .histogram()
        .iter()
        .map(|b| b.members())
        .max()
        .unwrap_or(1)
        .max(1);
    for bucket in ttc.histogram() {
        let bar = "#".repeat((bucket.members() * 40).div_ceil(widest) as usize);
        println!("  {:<10}{:>10}  {bar}", bucket.label(), bucket.members());
    }
}

fn breakdown_table(report: &FunnelReport, name: &str, values: &Dictionary) -> String {
    let mut out = format!("by {name} (members per step; overall conversion)\n");
    for row in report.breakdown() {
        let value = values.name(row.code());
        let counts: Vec<String> = row.members().iter().map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "  {:<22}{:<48}{:>10}",
            if value.is_empty() { "(none)" } else { value },
            counts.join(" → "),
            percent(row.overall())
        );
    }
    out
}

/// `breakdown,step,event,members,from_previous,overall`: the totals (breakdown `(all)`)
/// then one block per breakdown value (`(none)` for an empty one).
fn report_csv(report: &FunnelReport, events: &Dictionary, values: Option<&Dictionary>) -> String {
    let share = |s: Option<f64>| s.map_or(String::new(), |s| format!("{s:.6}"));
    let mut out = String::from("breakdown,step,event,members,from_previous,overall\n");
    let mut block = |breakdown: &str, members: &[u64]| {
        for (k, &n) in members.iter().enumerate() {
            let previous = (k > 0 && members[k - 1] > 0).then(|| n as f64 / members[k - 1] as f64);
            let overall = (members[0] > 0).then(|| n as f64 / members[0] as f64);
            let _ = writeln!(
                out,
                "{},{},{},{n},{},{}",
                quote(breakdown),
                k + 1,
                quote(&label(report, events, k)),
                share(previous),
                share(overall)
            );
        }
    };
    let totals: Vec<u64> = report.steps().iter().map(|s| s.members()).collect();
    block("(all)", &totals);
    if let Some(values) = values {
        for row in report.breakdown() {
            let value = values.name(row.code());
            block(
                if value.is_empty() { "(none)" } else { value },
                row.members(),
            );
        }
    }
    out
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}
