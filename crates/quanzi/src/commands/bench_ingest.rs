//! `quanzi bench ingest`: events per second through `POST /api/v1/events` on a real server
//! (in this process, over loopback, durable on acknowledgement), beside the raw ceiling of
//! the same database for the same rows.

use std::sync::Arc;
use std::time::Instant;

use quanzi_app::config::Config;
use quanzi_app::principal::Principal;
use quanzi_app::services::api_keys;
use quanzi_app::App;
use quanzi_domain::members::Touchpoints;
use quanzi_domain::time::Timestamp;
use quanzi_server::AppState;
use quanzi_store::NewEvent;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

const TYPES: [&str; 6] = [
    "page_view",
    "exposure",
    "click",
    "share",
    "content_view",
    "add_to_cart",
];
const CHANNELS: [&str; 4] = ["wechat", "douyin", "tmall", "xiaohongshu"];

pub async fn run(
    mut config: Config,
    events: usize,
    batch: usize,
    connections: usize,
    identities: usize,
) -> anyhow::Result<()> {
    config.jobs.enabled = false;
    config.server.listen = "127.0.0.1:0".into();
    config.server.body_limit_bytes = config.server.body_limit_bytes.max(4 * 1024 * 1024);
    config.log.filter = "warn".into();
    let app = App::open(config).await?;
    let workspace = super::bench::bench_workspace(&app, "bench ingest").await?;
    let caller = Principal::cli(workspace.clone());
    let key = api_keys::create(&app, &caller, "bench", &["ingest".to_owned()])
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .token;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(quanzi_server::serve(
        listener,
        AppState::new(app.clone()),
        shutdown.clone(),
    ));

    let batches = events / batch;
    let now_ms = app.clock.now().millis();
    let bodies: Vec<Vec<u8>> = (0..batches)
        .map(|b| body(b, batches, batch, identities, now_ms))
        .collect();
    let bodies = Arc::new(bodies);

    // Warm-up: the first batches create most members; the measured run then mixes new and
    // known identities like a live storefront.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (bodies, key) = (bodies.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(address).await?;
            let mut accepted = 0usize;
            for body in bodies.iter().skip(c).step_by(connections) {
                accepted += post(&mut stream, &key, body).await?;
            }
            Ok::<_, anyhow::Error>(accepted)
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += task.await??;
    }
    let http = started.elapsed();
    shutdown.cancel();
    let _ = server.await;

    // The raw ceiling: the same rows straight into a bare table, same batch size and
    // concurrency, no quanzi logic; then again with the events table's secondary indexes.
    let rows: Vec<Vec<NewEvent>> = (0..batches)
        .map(|b| raw_rows(b, batches, batch, identities, now_ms))
        .collect();
    let rows = Arc::new(rows);
    let (written, raw) = raw_insert(&app, &rows, connections, now_ms, false).await?;
    let (written_indexed, raw_indexed) = raw_insert(&app, &rows, connections, now_ms, true).await?;

    let http_rate = accepted as f64 / http.as_secs_f64();
    let raw_rate = written as f64 / raw.as_secs_f64();
    let indexed_rate = written_indexed as f64 / raw_indexed.as_secs_f64();
    println!("backend             {}", app.store.backend().as_str());
    println!("events              {} in batches of {batch}, {connections} connections, {identities} distinct identities", batches * batch);
    println!(
        "quanzi HTTP ingest  {http_rate:.0} events/s ({accepted} accepted in {:.2} s)",
        http.as_secs_f64()
    );
    println!(
        "raw bulk insert     {raw_rate:.0} events/s ({written} rows in {:.2} s)",
        raw.as_secs_f64()
    );
    println!(
        "raw, indexed        {indexed_rate:.0} events/s ({written_indexed} rows in {:.2} s; the events table's two secondary indexes)",
        raw_indexed.as_secs_f64()
    );
    println!("ratio               {:.2}", http_rate / raw_rate);
    println!("ratio to indexed    {:.2}", http_rate / indexed_rate);
    Ok(())
}

fn event_fields(
    b: usize,
    i: usize,
    identities: usize,
) -> (String, &'static str, String, &'static str) {
    let n = b * 7919 + i * 104_729;
    (
        format!("b{b}-e{i}"),
        TYPES[n % TYPES.len()],
        format!("dev-{}", n % identities),
        CHANNELS[(n / 7) % CHANNELS.len()],
    )
}

/// When event `i` of batch `b` happened: the stream moves forward like a live one (batch
/// after batch, 10 ms of shop time per event, ending now), and one event in five arrives
/// up to a minute late. A stream whose every batch covered the same window would file each
/// event at a random place of the by-type-and-time index, which no live shop does.
fn occurred_at(b: usize, batches: usize, batch: usize, i: usize, now_ms: i64) -> i64 {
    let position = (b * batch + i) as i64;
    let total = (batches * batch) as i64;
    let late = if i.is_multiple_of(5) {
        (i as i64 * 7_919) % 60_000
    } else {
        0
    };
    now_ms - (total - position) * 10 - late
}

fn body(b: usize, batches: usize, batch: usize, identities: usize, now_ms: i64) -> Vec<u8> {
    let events: Vec<String> = (0..batch)
        .map(|i| {
            let (id, kind, device, channel) = event_fields(b, i, identities);
            format!(
                r#"{{"event_id":"{id}","type":"{kind}","identity":{{"kind":"device_id","value":"{device}"}},"timestamp":{},"channel":"{channel}","campaign_id":"cmp_1","properties":{{"page":"/item/{}"}}}}"#,
                occurred_at(b, batches, batch, i, now_ms),
                i % 100
            )
        })
        .collect();
    format!(r#"{{"events":[{}]}}"#, events.join(",")).into_bytes()
}

/// Inserts every batch into a fresh `bench_raw_events` from `connections` tasks; returns
/// the rows written and the time taken.
async fn raw_insert(
    app: &App,
    rows: &Arc<Vec<Vec<NewEvent>>>,
    connections: usize,
    now_ms: i64,
    indexed: bool,
) -> anyhow::Result<(usize, std::time::Duration)> {
    app.store.bench_raw_prepare(indexed).await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (rows, store) = (rows.clone(), app.store.clone());
        tasks.push(tokio::spawn(async move {
            let mut written = 0;
            for batch in rows.iter().skip(c).step_by(connections) {
                written += store
                    .bench_raw_insert(batch, Timestamp::from_millis(now_ms))
                    .await?;
            }
            Ok::<_, anyhow::Error>(written)
        }));
    }
    let mut written = 0;
    for task in tasks {
        written += task.await??;
    }
    let elapsed = started.elapsed();
    app.store.bench_raw_cleanup().await?;
    Ok((written, elapsed))
}

fn raw_rows(
    b: usize,
    batches: usize,
    batch: usize,
    identities: usize,
    now_ms: i64,
) -> Vec<NewEvent> {
    (0..batch)
        .map(|i| {
            let (id, kind, device, channel) = event_fields(b, i, identities);
            NewEvent {
                event_id: id,
                member_id: device,
                event_type: kind.to_owned(),
                occurred_at: Timestamp::from_millis(occurred_at(b, batches, batch, i, now_ms)),
                properties: format!(r#"{{"page":"/item/{}"}}"#, i % 100),
                touchpoints: Touchpoints {
                    channel: Some(channel.to_owned()),
                    campaign_id: Some("cmp_1".into()),
                    ..Touchpoints::default()
                },
            }
        })
        .collect()
}

/// Posts one batch; returns its `accepted` count.
async fn post(stream: &mut TcpStream, key: &str, body: &[u8]) -> anyhow::Result<usize> {
    let (status, text) = super::bench_http::post(stream, "/api/v1/events", key, body).await?;
    anyhow::ensure!(status == 200, "ingest failed: {status} {text}");
    let accepted = text
        .split("\"accepted\":")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0);
    Ok(accepted)
}
