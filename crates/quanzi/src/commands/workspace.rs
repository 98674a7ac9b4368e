use quanzi_app::config::Config;
use quanzi_app::services::workspaces::{self, NewWorkspace};
use quanzi_app::App;

use crate::cli::WorkspaceCommand;

pub async fn run(config: Config, command: WorkspaceCommand) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    match command {
        WorkspaceCommand::Create {
            name,
            owner_email,
            owner_name,
            owner_password,
        } => {
            let created = workspaces::create(
                &app,
                NewWorkspace {
                    name: &name,
                    owner_email: &owner_email,
                    owner_name: owner_name.as_deref(),
                    owner_password: owner_password.as_deref(),
                },
            )
            .await
            .map_err(|err| anyhow::anyhow!("{err}"))?;
            println!(
                "workspace  {}  {}",
                created.workspace.id, created.workspace.name
            );
            if created.owner_existed {
                println!(
                    "owner      {} (existing account, now also owner here)",
                    created.owner_email
                );
            } else {
                println!("owner      {}", created.owner_email);
            }
            if let Some(password) = created.generated_password {
                println!("password   {password}   (shown once: store it now)");
            }
            println!(
                "api key    {}   (admin scope; shown once: store it now)",
                created.admin_key
            );
        }
        WorkspaceCommand::List => {
            for workspace in workspaces::list_all(&app).await? {
                println!(
                    "{}  {}  {}  created {}",
                    workspace.id,
                    workspace.name,
                    workspace.time_zone,
                    workspace.created_at.to_rfc3339()
                );
            }
        }
    }
    Ok(())
}
