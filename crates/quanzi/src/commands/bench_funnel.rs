//! `quanzi bench funnel-data`: writes a synthetic event log (10M events from about 1M
//! members over 90 days by default) as CSV, the one input `bench/peers/duckdb_funnel.sh`
//! gives both `quanzi analyze funnel` and DuckDB.

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use quanzi_domain::analytics::funnel::synthetic::{
    synthetic_events, SYNTHETIC_CHANNEL_NAMES, SYNTHETIC_EVENT_NAMES,
};
use quanzi_domain::calendar::LocalDate;

/// Writes `member_id,ts,event,channel` rows in time order, times as
/// `YYYY-MM-DD HH:MM:SS` (UTC) or, with `epoch`, as seconds since the epoch.
pub fn run(events: usize, seed: u64, epoch: bool, output: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(events > 0, "--events must be at least 1");
    let started = Instant::now();
    let log = synthetic_events(events, seed);
    let generated = started.elapsed();
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::File::create(output)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    out.write_all(b"member_id,ts,event,channel\n")?;
    // Rows come in time order, so the date part changes rarely: format it once a day.
    let mut day = i64::MIN;
    let mut date = String::new();
    let mut line = Vec::with_capacity(64);
    for i in 0..log.ts.len() {
        let ts = log.ts[i];
        line.clear();
        write!(line, "m{},", log.member[i])?;
        if epoch {
            write!(line, "{ts}")?;
        } else {
            if ts.div_euclid(86_400) != day {
                day = ts.div_euclid(86_400);
                let d = LocalDate::from_day_number(day);
                date = format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
            }
            let s = ts.rem_euclid(86_400);
            write!(
                line,
                "{date} {:02}:{:02}:{:02}",
                s / 3600,
                s / 60 % 60,
                s % 60
            )?;
        }
        writeln!(
            line,
            ",{},{}",
            SYNTHETIC_EVENT_NAMES[usize::from(log.event[i])],
            SYNTHETIC_CHANNEL_NAMES[usize::from(log.channel[i])]
        )?;
        out.write_all(&line)?;
    }
    out.flush()?;
    println!(
        "wrote         {} events from {} members to {} ({:.2} s to generate, {:.2} s in all)",
        log.ts.len(),
        log.members,
        output.display(),
        generated.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
