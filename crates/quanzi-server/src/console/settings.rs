//! Settings: operators and their roles, API keys (created with the secret shown once,
//! revoked), and the audit log.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::workspaces::{self, time_zone};
use quanzi_app::services::{api_keys, operators};

use super::format::local_time;
use super::layout::{self, encode};
use super::session::Console;
use super::widgets::{action_with, export_link, field, respond};
use crate::error::ApiError;
use crate::state::AppState;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct SettingsParams {
    /// The audit log's cursor: entries older than this one.
    audit_before: Option<String>,
}

async fn render(
    state: &AppState,
    console: &Console,
    q: SettingsParams,
) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let ops = operators::list(app, p, None, 200).await?;
    let keys = api_keys::list(app, p, None, 200).await?;
    let audit = workspaces::audit_log(app, p, q.audit_before.as_deref(), 100).await?;
    let t = |at| local_time(at, &zone);
    let body = html! {
        section.panel {
            h2 { (lang.pick("操作员", "Operators")) }
            table { thead { tr {
                th { (lang.pick("姓名", "Name")) } th { (lang.pick("邮箱", "Email")) } th { (lang.pick("角色", "Role")) } th { (lang.pick("加入", "Joined")) }
            } } tbody {
                @for m in &ops.items { tr {
                    td { (m.operator.name) } td { (m.operator.email) } td { (m.role.as_str()) } td { (t(m.joined_at)) }
                } }
            } }
            h3 { (lang.pick("添加操作员", "Add an operator")) }
            form #new-operator data-api="/api/v1/operators" data-method="POST" data-redirect="/console/settings" {
                div.grid2 {
                    div {
                        (field(lang.pick("邮箱", "Email"), html! { input name="email" type="email" required; }, None))
                        (field(lang.pick("姓名", "Name"), html! { input name="name" required; }, None))
                    }
                    div {
                        (field(lang.pick("初始密码", "Initial password"), html! { input name="password" type="password" required; }, Some(lang.pick("至少 10 位", "at least 10 characters"))))
                        (field(lang.pick("角色", "Role"), html! { select name="role" {
                            @for r in ["admin", "operator", "analyst", "partner"] { option value=(r) { (r) } }
                        } }, None))
                    }
                }
                button type="submit" { (lang.pick("添加", "Add")) }
            }
        }
        section.panel {
            h2 { (lang.pick("API 密钥", "API keys")) }
            table { thead { tr {
                th { (lang.pick("名称", "Name")) } th { "ID" } th { (lang.pick("权限", "Scopes")) } th { (lang.pick("创建", "Created")) }
                th { (lang.pick("最近使用", "Last used")) } th { (lang.pick("状态", "Status")) } th {}
            } } tbody {
                @for k in &keys.items { tr {
                    td { (k.name) } td.note { (k.id.as_str()) } td { (k.scopes.to_stored()) } td { (t(k.created_at)) }
                    td { (k.last_used_at.map_or("—".into(), t)) }
                    td { @if k.revoked_at.is_some() { (lang.pick("已吊销", "revoked")) } @else { (lang.pick("有效", "active")) } }
                    td { @if k.revoked_at.is_none() { (action_with("DELETE", &format!("/api/v1/keys/{}", k.id.as_str()), lang.pick("吊销", "Revoke"))) } }
                } }
            } }
            h3 { (lang.pick("新建密钥", "New key")) }
            form #new-key data-api="/api/v1/keys" data-method="POST" data-show="secret" data-target="#new-secret" {
                (field(lang.pick("名称", "Name"), html! { input name="name" required; }, None))
                (field(lang.pick("权限（逗号分隔）", "Scopes (comma separated)"), html! { input name="scopes" data-type="list" value="storefront"; }, Some("ingest, storefront, admin")))
                button type="submit" { (lang.pick("创建", "Create")) }
                p { (lang.pick("密钥只显示这一次：", "Shown this once: ")) code #new-secret {} }
            }
        }
        section.panel {
            h2 { (lang.pick("审计日志", "Audit log")) " " (export_link(lang, "audit", "audit-log")) }
            table.sortable #audit { thead { tr {
                th { (lang.pick("时间", "When")) } th { (lang.pick("操作人", "Actor")) } th { (lang.pick("动作", "Action")) }
                th { (lang.pick("对象", "Target")) } th { (lang.pick("详情", "Details")) }
            } } tbody {
                @for e in &audit.items { tr {
                    td { (t(e.at)) } td.note { (e.actor) } td { (e.action) } td.note { (e.target) } td.note { (e.details) }
                } }
            } }
            p {
                @if q.audit_before.is_some() { a href="/console/settings" { (lang.pick("← 最新", "← Newest")) } " " }
                @if let Some(next) = &audit.next_cursor {
                    a href=(format!("/console/settings?audit_before={}", encode(next))) { (lang.pick("更早 →", "Older →")) }
                }
            }
        }
    };
    Ok(layout::page(console, lang.pick("设置", "Settings"), body))
}

pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(q): Query<SettingsParams>,
) -> Response {
    respond(&console, render(&state, &console, q).await)
}
