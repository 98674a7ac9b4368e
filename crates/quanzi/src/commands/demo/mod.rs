//! `quanzi demo` (and `quanzi serve --demo`): a living demo brand.
//!
//! Creates the workspace "Demo 茶饮品牌" and plays a tea brand's last 90 days through the
//! engine's own use cases — OneID identify, event ingestion, checkout and orders,
//! refunds, coupons, check-ins, the points mall, group buys, bargains, referrals,
//! distribution, a flash sale, an experiment and an alert rule — on an [`App`] whose
//! clock is a [`ManualClock`] walked from 90 days ago to now. Nothing is written to a
//! table directly. A seed replays the same brand.
//!
//! # Layout
//! - `sim`: the state (engine, clock, people, schedule, tallies) and the window's days.
//! - `brand`: the catalogue, KOLs, content, campaign calendar and their set-up.
//! - `population`: arrivals, OneID identities, invitations, two-platform merges.
//! - `session`: a visit — events, the funnel, coupons, check-ins, the points mall.
//! - `shop`: checkout, orders, refunds, abandoned checkouts, the flash-sale rush.
//! - `social`: shares, group buys, bargains, promoters.
//! - `days`: the day loop and the overnight sweeps.
//! - `events`: the buffered batch ingestion.
//! - `report`: the summary, read back from the engine.
//! - `rng`: the seeded generator.

mod brand;
mod days;
mod events;
mod population;
mod report;
mod rng;
mod session;
mod shop;
mod sim;
mod social;

use std::sync::Arc;
use std::time::{Duration, Instant};

use quanzi_app::config::Config;
use quanzi_app::jobs::{self, JobStats, WorkerPool};
use quanzi_app::principal::{Actor, Principal};
use quanzi_app::services::{operators, segments, workspaces};
use quanzi_app::{store_options, App};
use quanzi_domain::auth::{Role, Scope, Scopes};
use quanzi_domain::ids::random_base32;
use quanzi_domain::time::{Clock, ManualClock, SystemClock, Timestamp};
use quanzi_store::{Store, WorkspaceRow};
use tokio_util::sync::CancellationToken;

use self::brand::{Brand, Calendar};
use self::sim::{Plan, Sim, HOUR};

/// The demo workspace's name: a second run finds the demo by it.
pub const WORKSPACE_NAME: &str = "Demo 茶饮品牌";
pub const OWNER_EMAIL: &str = "demo@quanzi.local";

#[derive(Debug, Clone)]
pub struct Options {
    pub members: usize,
    pub days: u32,
    pub seed: u64,
    /// On an existing demo: add another owner login with a new password.
    pub new_login: bool,
    /// RFC 3339 end of the window (default: now). Runs repeat exactly only for the same
    /// end: arrivals and visits follow the real calendar (weekends, partial first and
    /// last days).
    pub until: Option<String>,
    /// Progress on stderr every ten days.
    pub progress: bool,
    /// Run by `quanzi serve --demo`: the console opens right after.
    pub serving: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            members: 10_000,
            days: 90,
            seed: 42,
            new_login: false,
            until: None,
            progress: true,
            serving: false,
        }
    }
}

fn err(e: quanzi_app::Error) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Runs the demo unless the database already has it; prints the login and the summary.
///
/// The simulation is one sequential walk through time in which every call waits on an
/// SQLite worker thread. Handing work between threads on two cores of a virtual machine
/// costs more than the work (measured: over half of the wall time went to wake-ups and
/// thread switches), so the demo runs on a thread of its own with a single-threaded
/// runtime, pinned to one core together with the SQLite workers it starts: 74 s became
/// 57 s for the default brand.
pub async fn run(config: &Config, options: Options) -> anyhow::Result<()> {
    let config = config.clone();
    let (answer, answered) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("quanzi-demo".into())
        .spawn(move || {
            pin_to_one_core();
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|runtime| runtime.block_on(run_here(&config, options)));
            let _ = answer.send(result);
        })?;
    answered
        .await
        .map_err(|_| anyhow::anyhow!("the demo stopped without finishing (see the panic above)"))?
}

/// Threads started from here on inherit the core, so the store's SQLite workers share it.
fn pin_to_one_core() {
    if let Some(core) = core_affinity::get_core_ids().and_then(|ids| ids.into_iter().next()) {
        // Only speed depends on it: an unpinned demo is slower, not wrong.
        let _ = core_affinity::set_for_current(core);
    }
}

async fn run_here(config: &Config, options: Options) -> anyhow::Result<()> {
    if options.members == 0 || options.members > 1_000_000 {
        anyhow::bail!("--members must be 1 to 1000000");
    }
    if !(1..=365).contains(&options.days) {
        anyhow::bail!("--days must be 1 to 365");
    }
    let started = Instant::now();
    // The demo's own connection commits without waiting for the disk (WAL `NORMAL`):
    // generated data can be made again, and a power cut loses at most the last commits.
    let mut demo_config = config.clone();
    demo_config.database.sqlite_synchronous = "normal".into();
    let store = Store::connect(&config.database.url, &store_options(&demo_config)).await?;
    store.migrate().await?;
    let console = if options.serving {
        format!(
            "http://{}/   (the server starts below)",
            config.server.listen
        )
    } else {
        format!(
            "http://{}/   (start it with `quanzi serve`)",
            config.server.listen
        )
    };
    let system = App::new(store.clone(), demo_config.clone(), Arc::new(SystemClock));
    let existing = workspaces::list_all(&system)
        .await
        .map_err(err)?
        .into_iter()
        .find(|w| w.name == WORKSPACE_NAME);
    let result = match existing {
        Some(workspace) => show_existing(&system, &workspace, &console, &options).await,
        None => create(store.clone(), demo_config, &console, &options, started).await,
    };
    store.close().await;
    result
}

async fn show_existing(
    app: &App,
    workspace: &WorkspaceRow,
    console: &str,
    options: &Options,
) -> anyhow::Result<()> {
    let principal = Principal::cli(workspace.id.clone());
    println!(
        "demo           {} ({}) already exists: nothing simulated",
        workspace.name, workspace.id
    );
    println!("console        {console}");
    let owners = operators::list(app, &principal, None, 200)
        .await
        .map_err(err)?;
    let owner = owners
        .items
        .iter()
        .find(|m| m.role == Role::Owner)
        .map(|m| m.operator.email.clone())
        .unwrap_or_else(|| OWNER_EMAIL.into());
    println!("login          {owner}");
    if options.new_login {
        let email = format!("demo-{}@quanzi.local", random_base32(6).to_lowercase());
        let password = random_base32(20);
        operators::add(
            app,
            &principal,
            operators::NewMember {
                email: &email,
                name: "Demo 运营",
                password: &password,
                role: "owner",
            },
        )
        .await
        .map_err(err)?;
        println!("new login      {email}");
        println!("password       {password}   (shown once: store it now)");
    } else {
        println!(
            "password       shown once when the demo was made, and kept only as an argon2id hash;\n\
             {:15}run `quanzi demo --new-login` for another owner login with a new password",
            ""
        );
    }
    let summary = report::summarize(app, &principal, workspace.created_at, app.clock.now()).await?;
    summary.print();
    Ok(())
}

async fn create(
    store: Store,
    config: Config,
    console: &str,
    options: &Options,
    started: Instant,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let end = match &options.until {
        None => now,
        Some(raw) => {
            let end = Timestamp::parse_rfc3339(raw).ok_or_else(|| {
                anyhow::anyhow!(
                    "--until `{raw}` is not an RFC 3339 time (2026-06-18T22:00:00+08:00)"
                )
            })?;
            if end > now {
                anyhow::bail!(
                    "--until must not be in the future: the engine refuses events from the future"
                );
            }
            end
        }
    };
    let plan = Plan::new(options.members, options.days, options.seed, end);
    let clock = Arc::new(ManualClock::at(plan.start));
    let app = App::new(store, config, clock.clone());
    let created = workspaces::create(
        &app,
        workspaces::NewWorkspace {
            name: WORKSPACE_NAME,
            owner_email: OWNER_EMAIL,
            owner_name: Some("Demo 运营"),
            owner_password: None,
        },
    )
    .await
    .map_err(err)?;
    // The storefront and the operator both act through the workspace's admin key, so
    // every change is audited under it.
    let principal = Principal {
        workspace_id: created.workspace.id.clone(),
        actor: Actor::ApiKey {
            id: created.admin_key_id.clone(),
            scopes: Scopes::new(Scope::ALL)?,
        },
    };
    let calendar = Calendar::for_days(plan.local_days);
    if options.progress {
        eprintln!(
            "simulating {} days of {} (about {} members, seed {})…",
            options.days, WORKSPACE_NAME, options.members, options.seed
        );
    }
    let mut sim = Sim::new(
        app.clone(),
        clock.clone(),
        principal.clone(),
        plan.clone(),
        calendar,
        Brand::default(),
    );
    sim.simulate(options.progress).await?;
    let timer = Instant::now();
    close_books(&sim).await?;
    sim.tally.time("close_books", timer);
    let simulated = started.elapsed();

    println!(
        "demo           {} ({}) · {} days to {} · seed {}",
        created.workspace.name,
        created.workspace.id,
        options.days,
        plan.end.to_rfc3339(),
        options.seed
    );
    println!("console        {console}");
    if created.owner_existed {
        println!(
            "login          {} (an existing account, now also owner here; its password is unchanged)",
            created.owner_email
        );
    } else {
        println!("login          {}", created.owner_email);
    }
    if let Some(password) = &created.generated_password {
        println!("password       {password}   (shown once: store it now)");
    }
    println!(
        "api key        {}   (admin scope; shown once)",
        created.admin_key
    );
    let summary = report::summarize(&app, &principal, plan.start, plan.end).await?;
    summary.print();
    let t = &sim.tally;
    println!(
        "simulated      {} bargains started · {} bought at the floor · flash {} reserved / {} paid / {} turned away · {} unpaid checkouts · {} mall redemptions · {} withdrawals",
        t.bargains_started,
        t.bargains_bought,
        t.flash_reserved,
        t.flash_paid,
        t.flash_sold_out,
        t.abandoned_checkouts,
        t.redemptions,
        t.withdrawals
    );
    let refused: Vec<String> = t.refused.iter().map(|(c, n)| format!("{c} {n}")).collect();
    println!(
        "engine         {} calls · {} events accepted · refusals: {}",
        t.calls,
        sim.events.accepted,
        if refused.is_empty() {
            "none".into()
        } else {
            refused.join(", ")
        }
    );
    if std::env::var_os("QUANZI_DEMO_PROFILE").is_some() {
        for (kind, (spent, n)) in &t.timings {
            eprintln!(
                "profile        {kind:<12} {n:>7} × {:>7.3} ms = {:>6.1} s",
                spent.as_secs_f64() * 1e3 / (*n).max(1) as f64,
                spent.as_secs_f64()
            );
        }
    }
    println!(
        "took           {:.1} s ({:.1} s simulating, {:.1} s summarising)",
        started.elapsed().as_secs_f64(),
        simulated.as_secs_f64(),
        (started.elapsed() - simulated).as_secs_f64()
    );
    Ok(())
}

/// The daily jobs a server would run for the new workspace (RFM scores, rule tags and
/// segments, the tier review) go through the job queue and a worker pool on the
/// demo's clock, then the segments are refreshed once more on the fresh scores.
async fn close_books(sim: &Sim) -> anyhow::Result<()> {
    let end = sim.plan.end;
    sim.at(end.minus(HOUR * 2));
    jobs::schedule_periodic(&sim.app, end.minus(HOUR * 2)).await?;
    sim.at(end);
    let shutdown = CancellationToken::new();
    let pool = WorkerPool::new(
        sim.app.clone(),
        jobs::builtin_registry(),
        Arc::new(JobStats::default()),
    );
    let workers = tokio::spawn(pool.run(shutdown.clone()));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Only jobs due by the end of the window: a daily job whose next run falls after
        // it (which depends on the time of day the demo runs) stays queued and is not
        // waited for.
        let mut waiting = 0;
        for state in ["queued", "running"] {
            waiting +=
                quanzi_app::services::jobs::list(&sim.app, &sim.principal, Some(state), None, 200)
                    .await
                    .map_err(err)?
                    .items
                    .iter()
                    .filter(|job| job.run_at <= end)
                    .count();
        }
        if waiting == 0 || Instant::now() > deadline {
            break;
        }
    }
    shutdown.cancel();
    workers.await?;
    for id in &sim.brand.segments {
        segments::refresh(&sim.app, &sim.principal, id)
            .await
            .map_err(err)?;
    }
    Ok(())
}
