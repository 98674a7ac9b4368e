//! `quanzi bench pricing`: how long pricing a 20-item cart with 10 applicable promotions
//! takes, as latency percentiles: the solver alone (and the brute-force reference it is
//! tested against, for scale), and end to end through `POST /api/v1/carts/price` on a
//! real server (loading the member's coupons, the running promotions and the templates
//! from the database on every request).

use std::time::{Duration, Instant};

use quanzi_app::config::Config;
use quanzi_app::principal::Principal;
use quanzi_app::services::api_keys;
use quanzi_app::App;
use quanzi_domain::promotions::pricing::{brute_force, solve, typical_request};
use quanzi_server::AppState;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::bench_http::post;

pub async fn run(mut config: Config, runs: usize) -> anyhow::Result<()> {
    anyhow::ensure!(runs > 0, "runs must be positive");
    let request = typical_request();
    let solved = solve(&request);
    anyhow::ensure!(
        solved == brute_force(&request),
        "the solver and the brute-force reference disagree"
    );
    let solver = measure(runs, || {
        std::hint::black_box(solve(std::hint::black_box(&request)));
    });
    let reference = measure((runs / 20).max(10), || {
        std::hint::black_box(brute_force(std::hint::black_box(&request)));
    });

    config.jobs.enabled = false;
    config.log.filter = "warn".into();
    let app = App::open(config).await?;
    let workspace = super::bench::bench_workspace(&app, "bench pricing").await?;
    let caller = Principal::cli(workspace.clone());
    let key = api_keys::create(
        &app,
        &caller,
        "bench",
        &["admin".to_owned(), "storefront".to_owned()],
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?
    .token;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    tokio::spawn(quanzi_server::serve(
        listener,
        AppState::new(app.clone()),
        shutdown.clone(),
    ));
    let mut stream = TcpStream::connect(address).await?;
    let cart = setup(&mut stream, &key, &app).await?;
    let (status, text) = post(&mut stream, "/api/v1/carts/price", &key, cart.as_bytes()).await?;
    anyhow::ensure!(status == 200, "pricing failed: {status} {text}");
    let priced: serde_json::Value = serde_json::from_str(&text)?;
    let considered = priced["applied"].as_array().map_or(0, Vec::len)
        + priced["not_applied"].as_array().map_or(0, Vec::len);
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.min(5_000) {
        let started = Instant::now();
        let (status, _) = post(&mut stream, "/api/v1/carts/price", &key, cart.as_bytes()).await?;
        samples.push(started.elapsed());
        anyhow::ensure!(status == 200, "pricing failed: {status}");
    }
    shutdown.cancel();
    let http = percentiles(samples);

    println!(
        "backend                      {}",
        app.store.backend().as_str()
    );
    println!(
        "cart                         20 lines, 10 offers (solver); {considered} offers considered over HTTP"
    );
    report("solver", solver);
    report("brute force (reference)", reference);
    report("POST /api/v1/carts/price", http);
    Ok(())
}

fn measure(runs: usize, mut f: impl FnMut()) -> [Duration; 3] {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f();
        samples.push(started.elapsed());
    }
    percentiles(samples)
}

/// p50, p99 and the maximum.
fn percentiles(mut samples: Vec<Duration>) -> [Duration; 3] {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    [at(0.5), at(0.99), samples[samples.len() - 1]]
}

fn report(label: &str, [p50, p99, max]: [Duration; 3]) {
    println!(
        "{label:<29}p50 {:>8.1} µs   p99 {:>8.1} µs   max {:>8.1} µs",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        max.as_secs_f64() * 1e6
    );
}

/// A member with 6 coupons, 2 timed discounts and 2 threshold rules running; returns the
/// 20-item cart body.
async fn setup(stream: &mut TcpStream, key: &str, app: &App) -> anyhow::Result<String> {
    let now = app.clock.now();
    let window = format!(
        r#""starts_at":"{}","ends_at":"{}""#,
        now.minus(Duration::from_secs(3600)).to_rfc3339(),
        now.plus(Duration::from_secs(86_400)).to_rfc3339()
    );
    let (status, text) = post(
        stream,
        "/api/v1/members/identify",
        key,
        br#"{"identities":[{"kind":"wechat_openid","value":"bench-buyer"}]}"#,
    )
    .await?;
    anyhow::ensure!(status < 300, "identify failed: {status} {text}");
    let member: serde_json::Value = serde_json::from_str(&text)?;
    let member = member["member"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let open = |group: &str| {
        format!(r#"{{"group":"{group}","stacks_with":["activity","threshold","coupon"]}}"#)
    };
    let promotions = [
        format!(
            r#"{{"name":"限时A","kind":"timed_discount",{window},"prices":{{"sku-00":990,"sku-03":2500,"sku-07":4000,"sku-12":3000}},"stacking":{}}}"#,
            open("activity")
        ),
        format!(
            r#"{{"name":"限时B","kind":"timed_discount",{window},"prices":{{"sku-03":2200,"sku-05":9000,"sku-12":3500,"sku-18":1000}},"stacking":{}}}"#,
            open("activity")
        ),
        format!(
            r#"{{"name":"满300减50","kind":"threshold",{window},"tiers":[{{"at":30000,"amount_off_fen":5000}},{{"at":60000,"amount_off_fen":12000,"free_shipping":true,"points":200}}],"stacking":{}}}"#,
            open("threshold")
        ),
        format!(
            r#"{{"name":"3件9折","kind":"threshold",{window},"basis":"quantity","tiers":[{{"at":3,"percent_off":10}}],"scope":{{"categories":["drink","food"]}},"stacking":{}}}"#,
            open("threshold")
        ),
    ];
    for body in promotions {
        let (status, text) = post(stream, "/api/v1/promotions", key, body.as_bytes()).await?;
        anyhow::ensure!(status == 201, "promotion failed: {status} {text}");
    }
    let coupons = [
        r#""kind":"amount_off","threshold_fen":20000,"amount_fen":3000"#,
        r#""kind":"no_threshold","amount_fen":1000"#,
        r#""kind":"percent_off","threshold_fen":5000,"percent_off":12,"cap_fen":4000,"scope":{"categories":["beauty"]}"#,
        r#""kind":"free_shipping","threshold_fen":9900"#,
        r#""kind":"gift","gift_sku":"sku-06""#,
        r#""kind":"amount_off","threshold_fen":50000,"amount_fen":8000"#,
    ];
    for (i, kind) in coupons.iter().enumerate() {
        let body = format!(
            r#"{{"name":"券{i}",{kind},"use_days":7,"stacking":{}}}"#,
            open("coupon")
        );
        let (status, text) = post(stream, "/api/v1/coupon-templates", key, body.as_bytes()).await?;
        anyhow::ensure!(status == 201, "coupon template failed: {status} {text}");
        let template: serde_json::Value = serde_json::from_str(&text)?;
        let path = format!(
            "/api/v1/coupon-templates/{}/claims",
            template["id"].as_str().unwrap_or_default()
        );
        let body = format!(r#"{{"member_id":"{member}"}}"#);
        let (status, text) = post(stream, &path, key, body.as_bytes()).await?;
        anyhow::ensure!(status == 201, "claim failed: {status} {text}");
    }
    let categories = ["food", "drink", "beauty", "home"];
    let items: Vec<String> = (0..20)
        .map(|i: i64| {
            format!(
                r#"{{"sku":"sku-{i:02}","category":"{}","unit_price_fen":{},"quantity":{}}}"#,
                categories[i as usize % 4],
                1_990 + 1_350 * (i % 7),
                1 + i % 3
            )
        })
        .collect();
    Ok(format!(
        r#"{{"member_id":"{member}","items":[{}],"shipping_fen":1200}}"#,
        items.join(",")
    ))
}
