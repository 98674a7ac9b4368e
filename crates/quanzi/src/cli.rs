use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use quanzi_app::config::Config;

use crate::commands;

/// quanzi (圈子): the social-commerce growth engine.
#[derive(Parser)]
#[command(name = "quanzi", version, about)]
pub struct Cli {
    /// A TOML configuration file (see `quanzi print-default-config`).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The database: `sqlite://data/quanzi.db` (default) or `postgres://…`.
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP server and the job workers (migrates the database first).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Create and list workspaces (brands).
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Create and revoke API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Print the default configuration as TOML.
    PrintDefaultConfig,
    /// Measure throughput against the configured database (use a scratch database).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run an analysis on CSV files (no database needed).
    #[command(subcommand)]
    Analyze(AnalyzeCommand),
    /// Create the demo brand "Demo 茶饮品牌": 90 days of a tea brand played through the
    /// engine (members, events, orders, coupons, group buys, referrals…), seeded.
    Demo(DemoArgs),
}

#[derive(Args)]
pub struct DemoArgs {
    /// Members to acquire over the window.
    #[arg(long, default_value_t = 10_000)]
    pub members: usize,
    /// Days simulated, ending now.
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// The same seed replays the same brand.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The demo exists already: add another owner login with a new password.
    #[arg(long)]
    pub new_login: bool,
    /// End the window here (RFC 3339, not in the future) instead of now: the same seed
    /// and end replay the same brand to the count.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

#[derive(Subcommand)]
pub enum AnalyzeCommand {
    /// RFM scores and segments of every customer in an orders CSV
    /// (`order_id,customer_id,ts,amount_fen[,refunded_fen]`), as the member profile
    /// defines them.
    Rfm {
        #[arg(long)]
        input: std::path::PathBuf,
        /// Score as of this time (2026-12-01, a date-time or epoch seconds, UTC); later
        /// orders are left out. Default: the latest order.
        #[arg(long)]
        as_of: Option<String>,
        /// Where to write every customer's recency, frequency, monetary value, scores and
        /// segment as CSV.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Cohort retention over an event log (`member_id,ts,event[,channel]`): of the members
    /// who did the start event in a period, the share who did the return event in each
    /// later period.
    Retention {
        #[arg(long)]
        input: std::path::PathBuf,
        /// The event that puts a member in a cohort (e.g. signup, first_purchase).
        #[arg(long)]
        start: String,
        /// The event that counts as coming back (may be the start event).
        #[arg(long = "return", value_name = "EVENT")]
        return_event: String,
        /// day, week (Monday to Sunday) or month (calendar months).
        #[arg(long, default_value = "week")]
        period: String,
        /// Periods after the cohort's to follow (offsets 0 to this).
        #[arg(long, default_value_t = 8)]
        periods: u32,
        /// on (returned in period k exactly) or unbounded (in period k or later).
        #[arg(long, default_value = "on")]
        mode: String,
        /// first-time (each member's first start) or recurring (every period with a start).
        #[arg(long, default_value = "first-time")]
        cohort: String,
        /// The calendar's offset from UTC in seconds (default Asia/Shanghai, +08:00).
        #[arg(long, default_value_t = 28_800, allow_hyphen_values = true)]
        utc_offset: i64,
        /// Split cohorts by the fourth column (acquisition channel) of each member's first
        /// start event.
        #[arg(long)]
        by_channel: bool,
        /// Where to write the table as CSV (breakdown, cohort, size, offset, retained, rate).
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Multi-touch attribution on a path table as ChannelAttribution takes it
    /// (`path,total_conversions,total_conversion_value,total_null`, paths `a > b > c`):
    /// every model side by side, or the ones named.
    Attribution {
        #[arg(long)]
        input: std::path::PathBuf,
        /// Models to run: first, last, linear, position, decay, markov1, markov2, markov3,
        /// shapley (default: all).
        #[arg(long, value_delimiter = ',')]
        models: Vec<String>,
        /// Half-life of the time-decay model, in touches.
        #[arg(long, default_value_t = 2.0)]
        half_life: f64,
        /// Where to write the credits as CSV (channel, model, conversions, value).
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// A conversion funnel over an event log (`member_id,ts,event[,channel]`, times as
    /// epoch seconds or `YYYY-MM-DD HH:MM:SS`): members per step, conversion, time to
    /// convert, optionally per value of the fourth column.
    Funnel(crate::commands::analyze_funnel::FunnelOptions),
    /// Lifetime value: fit BG/NBD (and Gamma-Gamma when the table has mean order values)
    /// on a customer summary table (`id,frequency,recency,T[,monetary_value]`, as
    /// `lifetimes` writes it) and score every customer.
    Clv {
        #[arg(long)]
        input: std::path::PathBuf,
        /// Where to write each customer's P(alive), expected purchases and CLV.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        /// Periods in the CLV horizon.
        #[arg(long, default_value_t = 12)]
        periods: u32,
        /// Length of a period in the table's time unit (4.35 for months in weeks).
        #[arg(long, default_value_t = 4.35)]
        period_length: f64,
        /// Discount rate per period.
        #[arg(long, default_value_t = 0.01)]
        discount_rate: f64,
    },
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// How fast worker pools drain the job queue.
    Jobs {
        /// Jobs to enqueue and run.
        #[arg(long, default_value_t = 10_000)]
        jobs: u32,
        /// Worker pools, each with its own connection pool (as separate nodes would).
        #[arg(long, default_value_t = 3)]
        nodes: u32,
        /// Workers per pool.
        #[arg(long, default_value_t = 4)]
        concurrency: u32,
    },
    /// Events per second through POST /api/v1/events, beside the database's raw ceiling.
    Ingest {
        #[arg(long, default_value_t = 200_000)]
        events: usize,
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Concurrent HTTP connections (and raw-insert streams).
        #[arg(long, default_value_t = 4)]
        connections: usize,
        /// Distinct device ids the events come from.
        #[arg(long, default_value_t = 50_000)]
        identities: usize,
    },
    /// Points transfers per second through POST /api/v1/loyalty/transfers: spread over
    /// many wallets and on one hot wallet.
    Ledger {
        #[arg(long, default_value_t = 100_000)]
        wallets: usize,
        /// Spends spread over the wallets (half as many go to the hot wallet).
        #[arg(long, default_value_t = 200_000)]
        transfers: usize,
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        #[arg(long, default_value_t = 4)]
        connections: usize,
    },
    /// Flash-sale reservation attempts per second through
    /// POST /api/v1/flash-sales/{id}/reservations, one distinct buyer per request.
    Flash {
        #[arg(long, default_value_t = 100_000)]
        buyers: usize,
        #[arg(long, default_value_t = 20_000)]
        stock: i64,
        /// Stock rows per SKU (1 = one hot row).
        #[arg(long, default_value_t = 1)]
        buckets: i64,
        /// Servers in this process, each with its own pool and writer queue.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Put the Redis admission gate in front (needs promotions.redis_url).
        #[arg(long)]
        redis_gate: bool,
    },
    /// Attribution models on a synthetic path table, written as CSV for peers to read.
    Attribution {
        #[arg(long, default_value_t = 1_000_000)]
        journeys: usize,
        #[arg(long, default_value_t = 10)]
        channels: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where the path table goes (ChannelAttribution's columns).
        #[arg(long, default_value = "scratch/paths.csv")]
        output: std::path::PathBuf,
    },
    /// The Bayesian A/B test on random arms, timed per test, inputs and results as CSV.
    Experiments {
        #[arg(long, default_value_t = 1_000)]
        tests: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "scratch/bayesian.csv")]
        output: std::path::PathBuf,
    },
    /// The BG/NBD fit on simulated customers with known parameters, timed with and without
    /// collapsing equal summaries; the summary table is written as `lifetimes` reads it.
    Clv {
        #[arg(long, default_value_t = 1_000_000)]
        customers: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Keep simulated times instead of whole days (then no two customers are alike).
        #[arg(long)]
        continuous: bool,
        #[arg(long, default_value = "scratch/clv_1m.csv")]
        output: std::path::PathBuf,
    },
    /// A synthetic orders CSV (10M orders by 1M customers by default) for timing
    /// `quanzi analyze rfm` beside DuckDB (bench/peers/duckdb_rfm.sh).
    RfmData {
        #[arg(long, default_value_t = 10_000_000)]
        orders: usize,
        #[arg(long, default_value_t = 1_000_000)]
        customers: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "scratch/orders.csv")]
        output: std::path::PathBuf,
    },
    /// A synthetic event log CSV (10M events from about 1M members over 90 days) for
    /// timing `quanzi analyze funnel` beside DuckDB (bench/peers/duckdb_funnel.sh).
    FunnelData {
        #[arg(long, default_value_t = 10_000_000)]
        events: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write times as epoch seconds instead of YYYY-MM-DD HH:MM:SS.
        #[arg(long)]
        epoch: bool,
        #[arg(long, default_value = "scratch/events.csv")]
        output: std::path::PathBuf,
    },
    /// Cart pricing latency (p50/p99) for a 20-item cart with 10 applicable promotions.
    Pricing {
        #[arg(long, default_value_t = 20_000)]
        runs: usize,
    },
    /// Segment preview time over a large synthetic workspace.
    Segments {
        #[arg(long, default_value_t = 1_000_000)]
        members: usize,
        #[arg(long, default_value_t = 10_000_000)]
        events: usize,
        /// Timed runs per rule (the best is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Open the status page in a browser once listening.
    #[arg(long)]
    pub open: bool,
    /// Serve HTTP only; leave background jobs to other nodes.
    #[arg(long)]
    pub no_workers: bool,
    /// Create the demo brand first if this database has none (see `quanzi demo`).
    #[arg(long)]
    pub demo: bool,
}

#[derive(Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace with an owner operator and an admin API key (printed once).
    Create {
        #[arg(long)]
        name: String,
        /// The owner's login. An existing operator becomes owner of the new workspace too.
        #[arg(long, default_value = "admin@quanzi.local")]
        owner_email: String,
        #[arg(long)]
        owner_name: Option<String>,
        /// The owner's password (at least 10 characters); generated and printed if omitted.
        #[arg(long, env = "QUANZI_OWNER_PASSWORD", hide_env_values = true)]
        owner_password: Option<String>,
    },
    /// List workspaces.
    List,
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create an API key (printed once).
    Create {
        /// `ws_…`
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        name: String,
        /// Comma-separated: ingest, storefront, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
    },
    /// Revoke an API key at once.
    Revoke {
        /// `ws_…`
        #[arg(long)]
        workspace: String,
        /// `key_…`
        key: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::PrintDefaultConfig = cli.command {
        print!("{}", Config::default_toml());
        return ExitCode::SUCCESS;
    }
    // Analyses read files only: no configuration, database or runtime.
    if let Command::Analyze(cmd) = cli.command {
        return match commands::analyze::run(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        };
    }
    let mut config = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    if let Some(url) = cli.database.clone() {
        config.database.url = url;
    }
    crate::telemetry::init(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => commands::serve::run(config, args).await,
            Command::Migrate => commands::migrate::run(config).await,
            Command::Workspace(cmd) => commands::workspace::run(config, cmd).await,
            Command::Key(cmd) => commands::key::run(config, cmd).await,
            Command::Bench(cmd) => commands::bench::run(config, cmd).await,
            Command::Demo(args) => {
                commands::demo::run(
                    &config,
                    commands::demo::Options {
                        members: args.members,
                        days: args.days,
                        seed: args.seed,
                        new_login: args.new_login,
                        until: args.until,
                        progress: true,
                        serving: false,
                    },
                )
                .await
            }
            Command::PrintDefaultConfig | Command::Analyze(_) => {
                unreachable!("handled before the runtime starts")
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
