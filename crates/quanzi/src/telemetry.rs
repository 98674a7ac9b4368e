use quanzi_app::config::LogConfig;
use tracing_subscriber::EnvFilter;

/// Structured logs on stderr; `RUST_LOG` overrides the configured filter.
pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
