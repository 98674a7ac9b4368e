//! Interest tags: groups and tags defined by operators, put on members by hand (console or
//! storefront) or by a rule, a segment condition re-evaluated daily.

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::new_id_body;
use quanzi_domain::input::DisplayName;
use quanzi_store::{MemberTagRow, TagGroupRow, TagRow};
use serde_json::Value;

use super::segments::parse_condition;
use crate::principal::Principal;
use crate::{App, Error, Result};

fn manage(principal: &Principal) -> Result<()> {
    principal.require_console(Role::Operator, Scope::Admin)
}

pub async fn create_group(app: &App, principal: &Principal, name: &str) -> Result<TagGroupRow> {
    manage(principal)?;
    let name = DisplayName::parse(name)?;
    let now = app.clock.now();
    let row = TagGroupRow {
        id: format!("tgg_{}", new_id_body(now)),
        name: name.into_string(),
        created_at: now,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_tag_group(&principal.workspace_id, &row)
        .await
        .map_err(Error::on_conflict(
            "tag_group_exists",
            format!("a tag group named {} exists", row.name),
        ))?;
    tx.commit().await?;
    Ok(row)
}

/// Creates a tag; with a `rule` (a segment condition) members who match carry it, from now
/// and after every daily refresh.
pub async fn create_tag(
    app: &App,
    principal: &Principal,
    group_id: &str,
    name: &str,
    rule: Option<&Value>,
) -> Result<TagRow> {
    manage(principal)?;
    let name = DisplayName::parse(name)?;
    if !app
        .store
        .tag_group_exists(&principal.workspace_id, group_id)
        .await?
    {
        return Err(quanzi_domain::input::InvalidInput::new(
            "group_id",
            format!("no tag group {group_id} in this workspace"),
        )
        .into());
    }
    let condition = rule
        .map(|r| {
            parse_condition(r).map_err(|e| match e {
                Error::Invalid(invalid) => {
                    let field = invalid.field().replacen("condition", "rule", 1);
                    Error::Invalid(invalid.for_field(field))
                }
                other => other,
            })
        })
        .transpose()?;
    let now = app.clock.now();
    let row = TagRow {
        id: format!("tag_{}", new_id_body(now)),
        group_id: group_id.to_owned(),
        name: name.into_string(),
        rule: rule.map(Value::to_string),
        created_at: now,
        refreshed_at: None,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_tag(&principal.workspace_id, &row)
        .await
        .map_err(Error::on_conflict(
            "tag_exists",
            format!("the group already has a tag named {}", row.name),
        ))?;
    if let Some(condition) = &condition {
        tx.materialize_rule_tag(&principal.workspace_id, &row.id, condition, now)
            .await?;
    }
    tx.commit().await?;
    Ok(app.store.tag(&principal.workspace_id, &row.id).await?)
}

pub async fn groups(app: &App, principal: &Principal) -> Result<Vec<(TagGroupRow, Vec<TagRow>)>> {
    principal
        .require_console(Role::Analyst, Scope::Admin)
        .or_else(|_| principal.require(Scope::Storefront))?;
    Ok(app.store.tag_groups(&principal.workspace_id).await?)
}

/// Puts a tag on a member by hand (operators, or a storefront recording a quiz answer).
pub async fn tag_member(
    app: &App,
    principal: &Principal,
    member: &str,
    tag: &str,
) -> Result<Vec<MemberTagRow>> {
    manage(principal).or_else(|_| principal.require(Scope::Storefront))?;
    let ws = &principal.workspace_id;
    let member = super::members::unerased(app, principal, member).await?;
    app.store
        .tag(ws, tag)
        .await
        .map_err(Error::not_found("tag"))?;
    let mut tx = app.store.begin().await?;
    tx.tag_member(ws, &member.id, tag, app.clock.now()).await?;
    tx.commit().await?;
    Ok(app.store.member_tags(ws, &member.id).await?)
}

pub async fn untag_member(
    app: &App,
    principal: &Principal,
    member: &str,
    tag: &str,
) -> Result<Vec<MemberTagRow>> {
    manage(principal).or_else(|_| principal.require(Scope::Storefront))?;
    let ws = &principal.workspace_id;
    let member = super::members::find(app, principal, member).await?;
    let mut tx = app.store.begin().await?;
    tx.untag_member(ws, &member.id, tag).await?;
    tx.commit().await?;
    Ok(app.store.member_tags(ws, &member.id).await?)
}

pub async fn of_member(
    app: &App,
    principal: &Principal,
    member: &str,
) -> Result<Vec<MemberTagRow>> {
    principal
        .require_console(Role::Analyst, Scope::Admin)
        .or_else(|_| principal.require(Scope::Storefront))?;
    let member = super::members::find(app, principal, member).await?;
    Ok(app
        .store
        .member_tags(&principal.workspace_id, &member.id)
        .await?)
}

/// Re-evaluates every rule tag of a workspace (run by the daily refresh job).
pub(crate) async fn refresh_rule_tags(
    app: &App,
    workspace: &quanzi_domain::ids::WorkspaceId,
) -> Result<()> {
    for tag in app.store.rule_tags(workspace).await? {
        let Some(rule) = &tag.rule else { continue };
        let value: Value = serde_json::from_str(rule).map_err(|e| {
            Error::Internal(anyhow::anyhow!("stored rule of {} unreadable: {e}", tag.id))
        })?;
        let condition = parse_condition(&value)?;
        let mut tx = app.store.begin().await?;
        tx.materialize_rule_tag(workspace, &tag.id, &condition, app.clock.now())
            .await?;
        tx.commit().await?;
    }
    Ok(())
}
