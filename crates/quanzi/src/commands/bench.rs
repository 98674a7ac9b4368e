//! `quanzi bench …`: throughput measurements with a written report, run against a fresh
//! database on either engine. Numbers go to docs/benchmarks.md with the command that
//! produced them; nothing here is a pass/fail test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quanzi_app::config::Config;
use quanzi_app::jobs::{builtin_registry, JobStats, WorkerPool};
use quanzi_app::principal::Principal;
use quanzi_app::services::{jobs, workspaces};
use quanzi_app::App;
use tokio_util::sync::CancellationToken;

use crate::cli::BenchCommand;

pub async fn run(config: Config, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Jobs {
            jobs,
            nodes,
            concurrency,
        } => bench_jobs(config, jobs, nodes, concurrency).await,
        BenchCommand::Ingest {
            events,
            batch,
            connections,
            identities,
        } => super::bench_ingest::run(config, events, batch, connections, identities).await,
        BenchCommand::Ledger {
            wallets,
            transfers,
            batch,
            connections,
        } => super::bench_ledger::run(config, wallets, transfers, batch, connections).await,
        BenchCommand::Flash {
            buyers,
            stock,
            buckets,
            nodes,
            connections,
            redis_gate,
        } => {
            super::bench_flash::run(
                config,
                super::bench_flash::FlashBench {
                    buyers,
                    stock,
                    buckets,
                    nodes,
                    connections,
                    redis_gate,
                },
            )
            .await
        }
        BenchCommand::Attribution {
            journeys,
            channels,
            seed,
            output,
        } => super::bench_attribution::run(journeys, channels, seed, &output),
        BenchCommand::Experiments {
            tests,
            seed,
            output,
        } => super::bench_experiments::run(tests, seed, &output),
        BenchCommand::Clv {
            customers,
            seed,
            continuous,
            output,
        } => super::bench_clv::run(customers, seed, continuous, &output),
        BenchCommand::RfmData {
            orders,
            customers,
            seed,
            output,
        } => super::bench_rfm::run(orders, customers, seed, &output),
        BenchCommand::FunnelData {
            events,
            seed,
            epoch,
            output,
        } => super::bench_funnel::run(events, seed, epoch, &output),
        BenchCommand::Pricing { runs } => super::bench_pricing::run(config, runs).await,
        BenchCommand::Segments {
            members,
            events,
            runs,
        } => super::bench_segments::run(config, members, events, runs).await,
    }
}

/// Enqueues `count` probe jobs (no simulated work) and measures how fast `nodes` worker
/// pools, each with its own connection pool as separate processes would have, drain them.
async fn bench_jobs(
    mut config: Config,
    count: u32,
    nodes: u32,
    concurrency: u32,
) -> anyhow::Result<()> {
    config.jobs.concurrency = concurrency;
    config.jobs.poll_interval_ms = 10;
    let setup = App::open(config.clone()).await?;
    let workspace = super::bench::bench_workspace(&setup, "bench").await?;
    let caller = Principal::cli(workspace.clone());
    let enqueue_started = Instant::now();
    let mut remaining = count;
    while remaining > 0 {
        let batch = remaining.min(jobs::MAX_PROBES_PER_REQUEST);
        jobs::enqueue_probes(&setup, &caller, batch, 0)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        remaining -= batch;
    }
    let enqueue = enqueue_started.elapsed();

    let shutdown = CancellationToken::new();
    let mut pools = Vec::new();
    for _ in 0..nodes {
        let node = App::open(config.clone()).await?;
        let pool = WorkerPool::new(node, builtin_registry(), Arc::new(JobStats::default()));
        pools.push(tokio::spawn(pool.run(shutdown.clone())));
    }
    let started = Instant::now();
    // Poll sparingly: the measuring must not compete with the measured for two cores.
    // Count probe executions, not queue states: the pools also schedule their daily jobs.
    loop {
        let runs: i64 = setup
            .store
            .probe_run_counts()
            .await?
            .iter()
            .map(|(_, n)| n)
            .sum();
        if runs >= i64::from(count) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drained = started.elapsed();
    shutdown.cancel();
    for pool in pools {
        let _ = pool.await;
    }
    let runs: i64 = setup
        .store
        .probe_run_counts()
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    println!("backend        {}", setup.store.backend().as_str());
    println!("jobs           {count}");
    println!("nodes          {nodes} × {concurrency} workers");
    println!(
        "enqueue        {:.0} jobs/s ({:.2} s)",
        f64::from(count) / enqueue.as_secs_f64(),
        enqueue.as_secs_f64()
    );
    println!(
        "run to done    {:.0} jobs/s ({:.2} s)",
        f64::from(count) / drained.as_secs_f64(),
        drained.as_secs_f64()
    );
    println!(
        "executions     {runs} (each job exactly once: {})",
        runs == i64::from(count)
    );
    Ok(())
}

/// A fresh workspace for one benchmark run (with an owner nobody logs in as).
pub(super) async fn bench_workspace(
    app: &App,
    name: &str,
) -> anyhow::Result<quanzi_domain::ids::WorkspaceId> {
    let created = workspaces::create(
        app,
        workspaces::NewWorkspace {
            name,
            owner_email: &format!(
                "bench-{}@quanzi.local",
                quanzi_domain::ids::random_base32(8)
            ),
            owner_name: None,
            owner_password: Some("bench password"),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(created.workspace.id)
}
