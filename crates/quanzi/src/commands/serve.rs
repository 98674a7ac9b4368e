use std::io::Write;

use quanzi_app::config::Config;
use quanzi_app::App;
use quanzi_server::AppState;
use quanzi_store::connect::redact_url;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;

pub async fn run(mut config: Config, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if args.no_workers {
        config.jobs.enabled = false;
    }
    let database = redact_url(&config.database.url);
    let listen = config.server.listen.clone();
    if args.demo {
        // Before the server opens its own connections: the demo walks its own clock
        // through 90 days, which must not meet live traffic. A database that has the
        // demo already only gets its login and summary printed.
        let options = crate::commands::demo::Options {
            serving: true,
            ..Default::default()
        };
        crate::commands::demo::run(&config, options).await?;
    }
    let app = App::open(config).await?;
    let listener = TcpListener::bind(&listen)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {listen}: {err}"))?;
    let address = listener.local_addr()?;
    let url = format!("http://{address}/");
    // Tests and scripts read this line to learn the port and node.
    println!(
        "quanzi {} listening on {url} (node {}, {database})",
        env!("CARGO_PKG_VERSION"),
        app.node_id
    );
    if app
        .store
        .workspaces()
        .await
        .map(|w| w.is_empty())
        .unwrap_or(false)
    {
        println!("no workspace yet: create one with `quanzi workspace create --name <brand>`");
    }
    std::io::stdout().flush()?;
    if args.open {
        open_browser(&url);
    }

    let shutdown = CancellationToken::new();
    tokio::spawn(signal_shutdown(shutdown.clone()));
    quanzi_server::serve(listener, AppState::new(app.clone()), shutdown).await?;
    app.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Cancels on Ctrl-C or SIGTERM.
async fn signal_shutdown(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    shutdown.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing in-flight requests and jobs");
    shutdown.cancel();
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_err()
    {
        println!("open {url} in your browser");
    }
}
