use quanzi_app::config::Config;
use quanzi_store::connect::redact_url;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let store =
        quanzi_store::Store::connect(&config.database.url, &quanzi_app::store_options(&config))
            .await?;
    let ran = store.migrate().await?;
    println!(
        "{} migration(s) applied to {}",
        ran,
        redact_url(&config.database.url)
    );
    Ok(())
}
