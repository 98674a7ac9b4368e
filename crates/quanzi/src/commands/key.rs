use quanzi_app::config::Config;
use quanzi_app::principal::Principal;
use quanzi_app::services::api_keys;
use quanzi_app::App;
use quanzi_domain::ids::WorkspaceId;

use crate::cli::KeyCommand;

pub async fn run(config: Config, command: KeyCommand) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let principal = |raw: &str| -> anyhow::Result<Principal> {
        Ok(Principal::cli(
            WorkspaceId::parse(raw).map_err(|e| anyhow::anyhow!("{e}"))?,
        ))
    };
    match command {
        KeyCommand::Create {
            workspace,
            name,
            scopes,
        } => {
            let caller = principal(&workspace)?;
            app.store
                .workspace(&caller.workspace_id)
                .await
                .map_err(|_| anyhow::anyhow!("no workspace {workspace}"))?;
            let created = api_keys::create(&app, &caller, &name, &scopes)
                .await
                .map_err(|err| anyhow::anyhow!("{err}"))?;
            println!(
                "key     {}  {}  scopes {}",
                created.key.id,
                created.key.name,
                created.key.scopes.to_stored()
            );
            println!("secret  {}   (shown once: store it now)", created.token);
        }
        KeyCommand::Revoke { workspace, key } => {
            let caller = principal(&workspace)?;
            let revoked = api_keys::revoke(&app, &caller, &key)
                .await
                .map_err(|err| anyhow::anyhow!("{err}"))?;
            println!("revoked {}  {}", revoked.id, revoked.name);
        }
    }
    Ok(())
}
