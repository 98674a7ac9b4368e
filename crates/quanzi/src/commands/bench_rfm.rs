//! `quanzi bench rfm-data`: writes a synthetic orders CSV (deterministic) for timing
//! `quanzi analyze rfm` beside peers on the same file; `bench/peers/duckdb_rfm.sh` runs
//! DuckDB on it.

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The orders span the year before this instant: 2026-12-01 00:00:00 UTC.
const END: i64 = 1_796_083_200;
const YEAR: i64 = 365 * 86_400;

/// Writes `orders` orders by `customers` customers to `output` as
/// `order_id,customer_id,ts,amount_fen,refunded_fen`, in time order.
///
/// Shape: every customer orders at least once; the other orders go to customers with
/// probability falling off as a power law (the busiest customer has about a thousand
/// orders in ten million, half of the customers two or fewer), spread evenly over the
/// year; amounts are log-normal around ¥150; 8 % of orders are refunded, half of them in
/// full. Customer ids are `u` and eight digits, in no particular order.
pub fn run(orders: usize, customers: usize, seed: u64, output: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        customers > 0 && customers <= orders && customers <= 100_000_000,
        "use 1 to 100,000,000 customers and at least as many orders"
    );
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    // Which customer places each order: everyone once, the rest skewed, then shuffled.
    let mut buyer: Vec<u32> = (0..customers as u32).collect();
    buyer.extend((customers..orders).map(|_| {
        let u: f64 = rng.gen();
        ((customers as f64 * u.powf(1.5)) as u32).min(customers as u32 - 1)
    }));
    for i in (1..buyer.len()).rev() {
        buyer.swap(i, rng.gen_range(0..=i));
    }
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let file = std::fs::File::create(output)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    out.write_all(b"order_id,customer_id,ts,amount_fen,refunded_fen\n")?;
    let start = END - YEAR;
    for (i, &customer) in buyer.iter().enumerate() {
        let ts = start + (i as i64 * YEAR) / orders as i64;
        // Box–Muller: a normal draw for the log-normal amount.
        let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(1e-12), rng.gen());
        let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let amount = (15_000.0 * (0.8 * normal).exp()).round().max(100.0) as i64;
        let refunded = match rng.gen_range(0..100) {
            0..=3 => amount,
            4..=7 => rng.gen_range(1..amount),
            _ => 0,
        };
        // An affine map mod 10^8 (the multiplier is prime to 10) keeps ids distinct.
        let id = (u64::from(customer) * 2_654_435_761 + 12_345) % 100_000_000;
        writeln!(out, "{},u{id:08},{ts},{amount},{refunded}", i + 1)?;
    }
    out.flush()?;
    let bytes = std::fs::metadata(output)?.len();
    println!(
        "wrote         {orders} orders by {customers} customers to {} ({:.0} MB, {:.1} s)",
        output.display(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    println!("as of         2026-12-01 (the orders span the year before)");
    Ok(())
}
