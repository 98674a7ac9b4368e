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
}

#[derive(Subcommand)]
pub enum AnalyzeCommand {
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
