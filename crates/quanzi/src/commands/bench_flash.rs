//! `quanzi bench flash`: flash-sale reservation attempts per second through
//! `POST /api/v1/flash-sales/{id}/reservations`, one buyer per request, on `nodes` servers
//! in this process (each with its own connection pool and writer queue, as separate
//! processes would have) over one database. Every buyer is a distinct member, so each
//! attempt is either a reservation (201) or "sold out" (409); the report gives both rates
//! and checks that exactly the stock was sold. Then the sale is cancelled with its
//! reservations released, timed, and the stock must be back in full.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quanzi_app::config::Config;
use quanzi_app::principal::Principal;
use quanzi_app::services::api_keys;
use quanzi_app::services::promotions::flash_cancel;
use quanzi_app::App;
use quanzi_server::AppState;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::bench_http::post;

pub struct FlashBench {
    pub buyers: usize,
    pub stock: i64,
    pub buckets: i64,
    pub nodes: usize,
    pub connections: usize,
    pub redis_gate: bool,
}

pub async fn run(mut config: Config, bench: FlashBench) -> anyhow::Result<()> {
    anyhow::ensure!(
        bench.buyers > 0 && bench.nodes > 0 && bench.connections > 0 && bench.stock > 0,
        "all sizes must be positive"
    );
    config.jobs.enabled = false;
    config.log.filter = "warn".into();
    if !bench.redis_gate {
        config.promotions.redis_url = None;
    }
    anyhow::ensure!(
        !bench.redis_gate || config.promotions.redis_url.is_some(),
        "--redis-gate needs promotions.redis_url (QUANZI__PROMOTIONS__REDIS_URL)"
    );
    let setup = App::open(config.clone()).await?;
    let workspace = super::bench::bench_workspace(&setup, "bench flash").await?;
    let caller = Principal::cli(workspace.clone());
    let key = api_keys::create(&setup, &caller, "bench", &["admin".to_owned()])
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .token;
    setup
        .store
        .bench_load_members(&workspace, bench.buyers, setup.clock.now())
        .await?;

    let shutdown = CancellationToken::new();
    let mut addresses = Vec::new();
    for _ in 0..bench.nodes {
        let node = App::open(config.clone()).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        addresses.push(listener.local_addr()?);
        tokio::spawn(quanzi_server::serve(
            listener,
            AppState::new(node),
            shutdown.clone(),
        ));
    }
    let now = setup.clock.now();
    let sale_body = format!(
        r#"{{"name":"bench","starts_at":"{}","ends_at":"{}","payment_timeout_seconds":3600,"per_member_limit":1,"buckets":{},"gate":"{}","skus":[{{"sku":"tea","flash_price_fen":9900,"original_price_fen":19900,"stock":{}}}]}}"#,
        now.minus(Duration::from_secs(60)).to_rfc3339(),
        now.plus(Duration::from_secs(3600)).to_rfc3339(),
        bench.buckets,
        if bench.redis_gate { "redis" } else { "none" },
        bench.stock
    );
    let mut stream = TcpStream::connect(addresses[0]).await?;
    let (status, text) = post(
        &mut stream,
        "/api/v1/flash-sales",
        &key,
        sale_body.as_bytes(),
    )
    .await?;
    anyhow::ensure!(status == 201, "creating the sale failed: {status} {text}");
    let sale: serde_json::Value = serde_json::from_str(&text)?;
    let path = format!(
        "/api/v1/flash-sales/{}/reservations",
        sale["id"].as_str().unwrap_or_default()
    );

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..bench.connections {
        let address = addresses[c % addresses.len()];
        let (next, key, path) = (next.clone(), key.clone(), path.clone());
        let buyers = bench.buyers;
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(address).await?;
            let (mut won, mut sold_out) = (0usize, 0usize);
            let mut last_win = Duration::ZERO;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= buyers {
                    break;
                }
                let body = format!(r#"{{"member_id":"mem_b{i:09}","sku":"tea"}}"#);
                let (status, text) = post(&mut stream, &path, &key, body.as_bytes()).await?;
                match status {
                    201 => {
                        won += 1;
                        last_win = started.elapsed();
                    }
                    409 if text.contains("flash_sold_out") => sold_out += 1,
                    _ => anyhow::bail!("unexpected answer: {status} {text}"),
                }
            }
            Ok::<_, anyhow::Error>((won, sold_out, last_win))
        }));
    }
    let (mut won, mut sold_out, mut last_win) = (0, 0, Duration::ZERO);
    for task in tasks {
        let (w, s, l) = task.await??;
        won += w;
        sold_out += s;
        last_win = last_win.max(l);
    }
    let took = started.elapsed();
    shutdown.cancel();

    let (_, skus) = setup
        .store
        .flash_sale(&workspace, sale["id"].as_str().unwrap_or_default())
        .await?;
    let remaining = skus.first().map(|s| s.remaining).unwrap_or(-1);
    println!("backend          {}", setup.store.backend().as_str());
    println!(
        "sale             stock {}, {} bucket(s), {} gate, {} node(s), {} connections",
        bench.stock,
        bench.buckets,
        if bench.redis_gate { "redis" } else { "no" },
        bench.nodes,
        bench.connections
    );
    println!(
        "attempts         {:.0}/s ({} in {:.2} s)",
        bench.buyers as f64 / took.as_secs_f64(),
        bench.buyers,
        took.as_secs_f64()
    );
    println!(
        "reservations     {:.0}/s ({won} until sold out at {:.2} s)",
        won as f64 / last_win.as_secs_f64().max(1e-9),
        last_win.as_secs_f64()
    );
    println!("sold out         {sold_out}");
    println!("stock left       {remaining}");
    let expected = (bench.buyers as i64).min(bench.stock);
    anyhow::ensure!(
        won as i64 == expected && remaining == bench.stock - expected,
        "oversold or undersold: {won} reserved of {} with {remaining} left",
        bench.stock
    );

    // Then the operator cancels the sale and releases every unpaid reservation.
    let sale_id = sale["id"].as_str().unwrap_or_default();
    let started = Instant::now();
    let cancelled = flash_cancel::cancel_sale(&setup, &caller, sale_id, true)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let took = started.elapsed();
    let (_, skus) = setup.store.flash_sale(&workspace, sale_id).await?;
    let remaining = skus.first().map(|s| s.remaining).unwrap_or(-1);
    println!(
        "cancel, release  {} reservations in {:.2} s ({:.0}/s)",
        cancelled.released,
        took.as_secs_f64(),
        cancelled.released as f64 / took.as_secs_f64().max(1e-9)
    );
    anyhow::ensure!(
        cancelled.released as i64 == expected && remaining == bench.stock,
        "released {} of {expected}, {remaining} of {} back",
        cancelled.released,
        bench.stock
    );
    Ok(())
}
