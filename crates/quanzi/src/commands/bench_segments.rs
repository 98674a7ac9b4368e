//! `quanzi bench segments`: segment preview (a count) over a large synthetic workspace.

use std::time::Instant;

use quanzi_app::config::Config;
use quanzi_app::principal::Principal;
use quanzi_app::services::segments;
use quanzi_app::App;
use serde_json::json;

pub async fn run(
    mut config: Config,
    members: usize,
    events: usize,
    runs: usize,
) -> anyhow::Result<()> {
    config.jobs.enabled = false;
    let app = App::open(config).await?;
    let workspace = super::bench::bench_workspace(&app, "bench segments").await?;
    let now = app.clock.now();
    let started = Instant::now();
    app.store
        .bench_load_members(&workspace, members, now)
        .await?;
    app.store
        .bench_load_events(&workspace, members, events, now)
        .await?;
    app.store.bench_analyze().await?;
    println!("backend        {}", app.store.backend().as_str());
    println!(
        "data           {members} members, {events} events over 90 days (loaded in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let caller = Principal::cli(workspace);
    let rules = [
        (
            "≥2 shares in 30 days and no order in 60 days",
            json!({"all": [
            {"event": {"type": "share", "within_days": 30, "op": "gte", "count": 2}},
            {"not": {"order": {"within_days": 60, "op": "gte", "count": 1}}}]}),
        ),
        (
            "≥1 add_to_cart in 7 days, city 杭州",
            json!({"all": [
            {"event": {"type": "add_to_cart", "within_days": 7, "op": "gte", "count": 1}},
            {"trait": {"name": "city", "eq": "杭州"}}]}),
        ),
        (
            "GMV ≥ ¥198 or lifecycle churn_risk",
            json!({"any": [
            {"profile": {"field": "gmv_fen", "op": "gte", "value": 19800}},
            {"lifecycle": {"in": ["churn_risk"]}}]}),
        ),
    ];
    for (name, rule) in rules {
        let mut best = f64::MAX;
        let mut count = 0;
        for _ in 0..runs {
            let t = Instant::now();
            count = segments::preview(&app, &caller, &rule)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .count;
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{name:<48} {count:>9} members  best of {runs}: {:.3} s",
            best
        );
    }
    Ok(())
}
