//! `quanzi bench ledger`: points transfers per second through
//! `POST /api/v1/loyalty/transfers` on a real server (in this process, over loopback,
//! durable on acknowledgement): spread over many wallets, and concentrated on one hot
//! wallet, batched and one transfer per request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quanzi_app::config::Config;
use quanzi_app::principal::Principal;
use quanzi_app::services::api_keys;
use quanzi_app::App;
use quanzi_server::AppState;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::bench_http::{count, post};

const PATH: &str = "/api/v1/loyalty/transfers";

pub async fn run(
    mut config: Config,
    wallets: usize,
    transfers: usize,
    batch: usize,
    connections: usize,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        wallets > 0 && batch > 0 && connections > 0,
        "all sizes must be positive"
    );
    config.jobs.enabled = false;
    config.server.listen = "127.0.0.1:0".into();
    config.server.body_limit_bytes = config.server.body_limit_bytes.max(4 * 1024 * 1024);
    config.log.filter = "warn".into();
    let app = App::open(config).await?;
    let workspace = super::bench::bench_workspace(&app, "bench ledger").await?;
    let caller = Principal::cli(workspace.clone());
    let key = api_keys::create(&app, &caller, "bench", &["admin".to_owned()])
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .token;
    let started = Instant::now();
    app.store
        .bench_load_members(&workspace, wallets, app.clock.now())
        .await?;
    let loaded = started.elapsed();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(quanzi_server::serve(
        listener,
        AppState::new(app.clone()),
        shutdown.clone(),
    ));
    let wallet = |i: usize| format!("mem_b{:09}", i % wallets);

    // Every wallet earns once, then `transfers` spends of 1 point walk over the wallets;
    // both visit the wallets in a scattered order (7919 is prime, so every wallet comes up),
    // as real traffic does, not in the order they were created.
    let earns = batches(wallets, batch, |n| {
        format!(
            r#"{{"id":"earn-{n}","type":"earn","member_id":"{}","source":"bench","amount":1000}}"#,
            wallet(n * 7919 + 13)
        )
    });
    let earn = drive(address, &key, earns, connections).await?;
    let spends = batches(transfers, batch, |n| {
        format!(
            r#"{{"id":"spend-{n}","type":"spend","member_id":"{}","sink":"mall","amount":1}}"#,
            wallet(n * 7919)
        )
    });
    let spread = drive(address, &key, spends, connections).await?;

    // One hot wallet: batched spends, then one spend per request from many connections.
    let hot_member = wallet(0);
    let hot_seed = batches(1, 1, |_| {
        format!(
            r#"{{"id":"hot-seed","type":"earn","member_id":"{hot_member}","source":"bench","amount":100000000}}"#
        )
    });
    drive(address, &key, hot_seed, 1).await?;
    let hot_batched = batches(transfers / 2, batch, |n| {
        format!(
            r#"{{"id":"hot-{n}","type":"spend","member_id":"{hot_member}","sink":"mall","amount":1}}"#
        )
    });
    let hot = drive(address, &key, hot_batched, connections).await?;
    let singles = (transfers / 20).max(1);
    let hot_single = batches(singles, 1, |n| {
        format!(
            r#"{{"id":"hot1-{n}","type":"spend","member_id":"{hot_member}","sink":"mall","amount":1}}"#
        )
    });
    let single = drive(address, &key, hot_single, 32).await?;
    shutdown.cancel();
    let _ = server.await;

    let mismatches = app.store.ledger_mismatches(&workspace).await?;
    println!(
        "backend                    {}",
        app.store.backend().as_str()
    );
    println!(
        "wallets                    {wallets} (members loaded in {:.1} s); batches of {batch}, {connections} connections",
        loaded.as_secs_f64()
    );
    report("earn, one per wallet", earn);
    report("spend, spread over wallets", spread);
    report("spend, one hot wallet", hot);
    report("spend, hot, 1 per request ×32", single);
    println!(
        "books                      {}",
        if mismatches.is_empty() {
            "reconciled".to_owned()
        } else {
            format!("{} MISMATCHES", mismatches.len())
        }
    );
    anyhow::ensure!(
        mismatches.is_empty(),
        "the books do not reconcile: {mismatches:?}"
    );
    Ok(())
}

/// `total` transfers as request bodies of up to `size` each.
fn batches(total: usize, size: usize, transfer: impl Fn(usize) -> String) -> Vec<Vec<u8>> {
    (0..total)
        .collect::<Vec<_>>()
        .chunks(size)
        .map(|chunk| {
            let items: Vec<String> = chunk.iter().map(|&n| transfer(n)).collect();
            format!(r#"{{"transfers":[{}]}}"#, items.join(",")).into_bytes()
        })
        .collect()
}

/// Sends the bodies over `connections` keep-alive connections; returns the transfers
/// created and the time taken.
async fn drive(
    address: std::net::SocketAddr,
    key: &str,
    bodies: Vec<Vec<u8>>,
    connections: usize,
) -> anyhow::Result<(usize, Duration)> {
    let bodies = Arc::new(bodies);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (bodies, key) = (bodies.clone(), key.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(address).await?;
            let mut created = 0usize;
            for body in bodies.iter().skip(c).step_by(connections) {
                let (status, text) = post(&mut stream, PATH, &key, body).await?;
                anyhow::ensure!(status == 200, "transfers failed: {status} {text}");
                created += count(&text, r#""status":"created""#);
            }
            Ok::<_, anyhow::Error>(created)
        }));
    }
    let mut created = 0;
    for task in tasks {
        created += task.await??;
    }
    Ok((created, started.elapsed()))
}

fn report(label: &str, (created, took): (usize, Duration)) {
    println!(
        "{label:<27}{:.0} transfers/s ({created} in {:.2} s)",
        created as f64 / took.as_secs_f64(),
        took.as_secs_f64()
    );
}
