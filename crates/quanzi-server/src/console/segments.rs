//! Segments: the saved ones with their member counts and CSV export, and the condition
//! builder — rows of conditions turned into the API's condition tree — with a live
//! preview count before saving.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::segments;
use quanzi_app::services::workspaces::time_zone;

use super::format::{count, local_time};
use super::layout;
use super::session::Console;
use super::widgets::{action, field, respond};
use crate::error::ApiError;
use crate::state::AppState;

async fn render(state: &AppState, console: &Console) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let page = segments::list(app, p, None, 200).await?;
    let body = html! {
        section.panel {
            h2 { (lang.pick("分群", "Segments")) }
            table.sortable #segments {
                thead { tr {
                    th { (lang.pick("名称", "Name")) }
                    th.num { (lang.pick("会员数", "Members")) }
                    th { (lang.pick("刷新于", "Refreshed")) }
                    th { (lang.pick("条件", "Condition")) }
                    th { }
                } }
                tbody {
                    @for s in &page.items {
                        tr {
                            td { (s.name) br; span.note { (s.id) } }
                            td.num data-sort=(s.member_count.unwrap_or(0)) { (s.member_count.map_or("—".into(), count)) }
                            td { (s.refreshed_at.map_or("—".into(), |t| local_time(t, &zone))) }
                            td { code.note { (s.definition) } }
                            td {
                                a href=(format!("/api/v1/segments/{}/export.csv", s.id)) { (lang.pick("导出 CSV", "Export CSV")) }
                                " · "
                                (action(&format!("/api/v1/segments/{}/refresh", s.id), lang.pick("刷新", "Refresh")))
                            }
                        }
                    }
                }
            }
            @if page.items.is_empty() { p.muted { (lang.pick("还没有分群。", "No segments yet.")) } }
        }
        section.panel {
            h2 { (lang.pick("新建分群", "New segment")) }
            div #builder data-lang=(lang.code()) {}
            form #segment-preview data-api="/api/v1/segments/preview" data-method="POST" data-show="count" data-target="#preview-count" {
                input type="hidden" name="condition" data-type="json" data-from="#condition";
                button type="submit" { (lang.pick("预览人数", "Preview count")) }
                " " strong #preview-count {}
            }
            form #segment-save data-api="/api/v1/segments" data-method="POST" data-redirect="/console/segments" {
                (field(lang.pick("条件（JSON，可由上方生成）", "Condition (JSON, built above)"), html! {
                    textarea #condition name="condition" data-type="json" rows="4" { "{\"all\": []}" }
                }, None))
                (field(lang.pick("名称", "Name"), html! { input name="name" required; }, None))
                button type="submit" { (lang.pick("保存分群", "Save segment")) }
            }
        }
    };
    Ok(layout::page(console, lang.pick("分群", "Segments"), body))
}

pub async fn page(State(state): State<AppState>, console: Console) -> Response {
    respond(&console, render(&state, &console).await)
}
