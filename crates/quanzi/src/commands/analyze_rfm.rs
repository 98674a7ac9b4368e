//! `quanzi analyze rfm`: RFM scores and segments of every customer in an orders CSV.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;
use std::time::Instant;

use quanzi_domain::analytics::columns::{count_newlines, find_byte, parse_timestamp, Names};
use quanzi_domain::analytics::rfm::{rfm, Orders, OrdersCsv, OrdersPart, Rfm};

/// Reads `input`, scores every customer as of `as_of` (a date, date-time or epoch seconds
/// in UTC; default: the latest order), prints the definition, the time taken, customers
/// per segment and per score and a checksum, and writes every customer to `output`.
pub fn run(
    input: &Path,
    as_of: Option<&str>,
    output: Option<&Path>,
    threads: usize,
) -> anyhow::Result<()> {
    anyhow::ensure!(threads >= 1, "--threads must be at least 1");
    let as_of = as_of
        .map(|raw| {
            parse_timestamp(raw.trim().as_bytes()).ok_or_else(|| {
                anyhow::anyhow!(
                    "--as-of: `{raw}` is not a date like 2026-12-01, a date-time or epoch seconds"
                )
            })
        })
        .transpose()?;
    let started = Instant::now();
    let (orders, customers) = read_orders(input, threads)?;
    let parsed = started.elapsed();
    let as_of = match as_of {
        Some(as_of) => as_of,
        None => orders.ts().iter().copied().max().unwrap_or(0),
    };
    let computed_from = Instant::now();
    let result = rfm(&orders, as_of, threads);
    let compute = computed_from.elapsed();
    let total = started.elapsed();

    println!("{}", result.definition());
    println!(
        "time          {:.3} s end to end: read and parse {:.3} s, compute {:.3} s ({threads} threads)",
        total.as_secs_f64(),
        parsed.as_secs_f64(),
        compute.as_secs_f64(),
    );
    let summary = result.summary();
    let all = result.customers().len().max(1) as f64;
    println!("segment              customers   share");
    for (segment, count) in summary.segments() {
        println!(
            "{:<20} {count:>9}  {:>5.1} %",
            segment.name(),
            100.0 * count as f64 / all
        );
    }
    let scores = |counts: [usize; 5]| {
        counts
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("recency  1–5    {}", scores(summary.recency()));
    println!("frequency 1–5   {}", scores(summary.frequency()));
    println!("monetary 1–5    {}", scores(summary.monetary()));
    println!("checksum        {}", checksum(&result));
    if let Some(output) = output {
        let started = Instant::now();
        write_scores(&result, &customers, output)?;
        println!(
            "wrote         {} ({:.3} s)",
            output.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Bytes read at a time by each thread.
const BLOCK: usize = 1 << 20;

/// Reads and parses the file on `threads` threads, each streaming its share of the lines
/// through a small buffer: the file is never in memory at once, and reading overlaps
/// parsing.
fn read_orders(path: &Path, threads: usize) -> anyhow::Result<(Orders, Names)> {
    let cannot = |e: std::io::Error| anyhow::anyhow!("cannot read {}: {e}", path.display());
    let len = std::fs::metadata(path).map_err(cannot)?.len();
    let mut head = vec![0u8; len.min(BLOCK as u64) as usize];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut head))
        .map_err(cannot)?;
    anyhow::ensure!(
        head.len() as u64 == len || head.contains(&b'\n'),
        "{}: the header line is longer than {BLOCK} bytes",
        path.display()
    );
    let csv = OrdersCsv::from_header(&head).map_err(|e| anyhow::anyhow!("{e}"))?;
    let body_start = csv.body_start() as u64;
    // Size each part's columns from the lines in the first block, with some room over.
    let sample = &head[csv.body_start()..];
    let bytes_per_line = (sample.len() / count_newlines(sample).max(1)).max(1) as u64;
    let body = len - body_start;
    let bounds: Vec<u64> = (0..=threads as u64)
        .map(|t| body_start + body * t / threads as u64)
        .collect();
    let parts = std::thread::scope(|scope| {
        let workers: Vec<_> = bounds
            .windows(2)
            .map(|range| {
                let (start, end) = (range[0], range[1]);
                let rows = ((end - start) / bytes_per_line * 11 / 10 + 1024) as usize;
                let csv = &csv;
                scope.spawn(move || read_part(path, csv, start, end, start == body_start, rows))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("reading does not panic"))
            .collect::<std::io::Result<Vec<_>>>()
    })
    .map_err(cannot)?;
    csv.assemble(parts, threads)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Parses the lines that start in bytes `start..end` of the file: unless `first`, it
/// skips the line in progress at `start` (the part before finishes it), and it finishes
/// the line in progress at `end`.
fn read_part<'a>(
    path: &Path,
    csv: &'a OrdersCsv,
    start: u64,
    end: u64,
    first: bool,
    rows: usize,
) -> std::io::Result<OrdersPart<'a>> {
    let mut part = csv.part(rows);
    let mut file = std::fs::File::open(path)?;
    // One byte early, to see whether `start` begins a line.
    let mut base = if first { start } else { start - 1 };
    file.seek(SeekFrom::Start(base))?;
    let mut buf = vec![0u8; BLOCK];
    let mut filled = 0;
    let mut skipping = !first;
    loop {
        if filled == buf.len() {
            // A line longer than the buffer.
            buf.resize(buf.len() * 2, 0);
        }
        let read = file.read(&mut buf[filled..])?;
        let eof = read == 0;
        filled += read;
        let mut begin = 0;
        if skipping {
            match find_byte(&buf[..filled], b'\n') {
                Some(newline) => {
                    begin = newline + 1;
                    skipping = false;
                }
                None if eof => return Ok(part),
                None => {
                    base += filled as u64;
                    filled = 0;
                    continue;
                }
            }
        }
        let at = base + begin as u64;
        if at >= end {
            return Ok(part);
        }
        let data = &buf[begin..filled];
        let limit = (end - at) as usize;
        if limit <= data.len() {
            // The part's last line starts before `end` and ends at the first line break
            // from there on.
            if let Some(newline) = find_byte(&data[limit - 1..], b'\n') {
                part.feed(&data[..limit + newline], true);
                return Ok(part);
            }
        }
        if eof {
            part.feed(data, true);
            return Ok(part);
        }
        let used = begin + part.feed(data, false);
        if part.failed() {
            return Ok(part);
        }
        // Keep the unfinished line at the front and read after it.
        buf.copy_within(used..filled, 0);
        base += used as u64;
        filled -= used;
    }
}

/// Σ over customers of the three-digit score (e.g. 535) times the monetary value modulo
/// 1,000,003: equal for two implementations that give every customer the same scores
/// (peers print the same sum; see bench/peers/duckdb_rfm.sh).
fn checksum(result: &Rfm) -> i64 {
    result
        .customers()
        .iter()
        .map(|c| {
            let s = c.score();
            let code =
                i64::from(s.recency) * 100 + i64::from(s.frequency) * 10 + i64::from(s.monetary);
            code * c.monetary_fen().rem_euclid(1_000_003)
        })
        .sum()
}

fn write_scores(result: &Rfm, customers: &Names, output: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(output)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    out.write_all(b"customer_id,recency_days,frequency,monetary_fen,r,f,m,rfm,segment\n")?;
    for c in result.customers() {
        let s = c.score();
        let id = customers.get(c.customer());
        // Quote ids that need it, doubling their quotes.
        if id.contains([',', '"', '\n', '\r']) {
            write!(out, "\"{}\"", id.replace('"', "\"\""))?;
        } else {
            out.write_all(id.as_bytes())?;
        }
        writeln!(
            out,
            ",{},{},{},{},{},{},{},{}",
            c.recency_days(),
            c.frequency(),
            c.monetary_fen(),
            s.recency,
            s.frequency,
            s.monetary,
            s.code(),
            c.segment().name()
        )?;
    }
    out.flush()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    Ok(())
}
