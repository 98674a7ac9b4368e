//! One module per subcommand.

pub mod analyze;
pub mod analyze_attribution;
pub mod analyze_funnel;
pub mod analyze_retention;
pub mod analyze_rfm;
pub mod bench;
pub mod bench_attribution;
pub mod bench_clv;
pub mod bench_experiments;
pub mod bench_flash;
pub mod bench_funnel;
pub mod bench_http;
pub mod bench_ingest;
pub mod bench_ledger;
pub mod bench_pricing;
pub mod bench_rfm;
pub mod bench_segments;
pub mod demo;
pub mod key;
pub mod migrate;
pub mod serve;
pub mod workspace;
