//! The funnel chart: steps as bars with step-to-step and overall conversion, the time to
//! convert, and a breakdown by a touchpoint of the first step.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::analytics::funnel::{self, FunnelQuery};
use quanzi_app::services::workspaces::time_zone;
use quanzi_domain::calendar::LocalDate;
use serde::Deserialize;

use super::chart;
use super::format::{count, percent};
use super::layout;
use super::session::Console;
use super::widgets::{export_link, respond};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct FunnelParams {
    steps: Option<String>,
    days: Option<u32>,
    mode: Option<String>,
    window: Option<String>,
    exclude: Option<String>,
    breakdown: Option<String>,
}

fn list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn render(state: &AppState, console: &Console, q: FunnelParams) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let zone = time_zone(app, &console.principal.workspace_id).await?;
    let steps = q
        .steps
        .clone()
        .unwrap_or_else(|| "page_view, click, add_to_cart, order".into());
    let days = q.days.unwrap_or(30).clamp(1, 366);
    let mode = q.mode.clone().unwrap_or_else(|| "ordered".into());
    let window = q.window.clone().unwrap_or_else(|| "7d".into());
    let breakdown = q.breakdown.clone().filter(|b| !b.is_empty());
    let today = LocalDate::of(app.clock.now(), &zone);
    let result = funnel::run(
        app,
        &console.principal,
        FunnelQuery {
            from: today.add_days(1 - i64::from(days)).start_in(&zone),
            to: today.next_day().start_in(&zone),
            steps: list(&steps),
            mode: mode.clone(),
            window: window.clone(),
            exclusions: list(q.exclude.as_deref().unwrap_or("")),
            breakdown: breakdown.clone(),
        },
    )
    .await?;
    let report = &result.report;
    let bars: Vec<(String, f64)> = result
        .query
        .steps
        .iter()
        .zip(report.steps())
        .map(|(s, c)| (s.clone(), c.members() as f64))
        .collect();
    let ttc = report.time_to_convert();
    let duration = |s: Option<i64>| {
        s.map_or("—".into(), |s| {
            if s < 3600 {
                format!("{} min", s / 60)
            } else if s < 86_400 {
                format!("{:.1} h", s as f64 / 3600.0)
            } else {
                format!("{:.1} d", s as f64 / 86_400.0)
            }
        })
    };
    let body = html! {
        form.panel method="get" action="/console/analytics/funnel" {
            div.grid2 {
                div {
                    label { (lang.pick("步骤（事件类型，逗号分隔；order 为支付订单）", "Steps (event types, comma separated; order = paid order)")) }
                    input name="steps" value=(steps);
                    label { (lang.pick("排除事件", "Exclusion events")) }
                    input name="exclude" value=(q.exclude.clone().unwrap_or_default());
                }
                div {
                    label { (lang.pick("模式 / 窗口 / 最近天数 / 拆分", "Mode / window / last days / breakdown")) }
                    select name="mode" style="width:auto" {
                        @for m in ["ordered", "strict", "unordered"] { option value=(m) selected[m == mode] { (m) } }
                    }
                    " " input name="window" value=(window) style="width:80px";
                    " " input name="days" type="number" value=(days) style="width:80px";
                    " " select name="breakdown" style="width:auto" {
                        option value="" { (lang.pick("不拆分", "none")) }
                        @for c in ["channel", "utm_source", "utm_campaign", "kol_id", "campaign_id", "content_id"] {
                            option value=(c) selected[breakdown.as_deref() == Some(c)] { (c) }
                        }
                    }
                }
            }
            button type="submit" { (lang.pick("计算", "Compute")) }
        }
        section.panel {
            h2 { (lang.pick("漏斗", "Funnel")) " " (export_link(lang, "funnel", "funnel")) }
            (chart::bars(&bars, |v| count(v as i64)))
            table #funnel { thead { tr {
                th { (lang.pick("步骤", "Step")) } th.num { (lang.pick("人数", "Members")) }
                th.num { (lang.pick("环比转化", "From previous")) } th.num { (lang.pick("整体转化", "Overall")) }
            } } tbody {
                @for (name, s) in result.query.steps.iter().zip(report.steps()) { tr {
                    td { (name) } td.num { (count(s.members() as i64)) } td.num { (percent(s.from_previous())) } td.num { (percent(s.overall())) }
                } }
            } }
            p.note { (report.definition().describe(|code| result.events.name(code).to_owned())) }
        }
        div.grid2 {
            section.panel {
                h2 { (lang.pick("转化时长", "Time to convert")) }
                p { (lang.pick("中位数 ", "median ")) strong { (duration(ttc.median())) } " · P90 " strong { (duration(ttc.p90())) }
                    " · " (count(ttc.converted() as i64)) (lang.pick(" 人完成", " converted")) }
                (chart::bars(&ttc.histogram().iter().map(|b| (b.label(), b.members() as f64)).collect::<Vec<_>>(), |v| count(v as i64)))
            }
            @if !report.breakdown().is_empty() {
                section.panel {
                    h2 { (lang.pick("按首步触点拆分", "By the first step's touchpoint")) }
                    table.sortable { thead { tr {
                        th { (breakdown.as_deref().unwrap_or("")) }
                        @for name in &result.query.steps { th.num { (name) } }
                        th.num { (lang.pick("整体转化", "Overall")) }
                    } } tbody {
                        @for row in report.breakdown() { tr {
                            td { (result.breakdowns.name(row.code())) }
                            @for m in row.members() { td.num { (count(*m as i64)) } }
                            td.num { (percent(row.overall())) }
                        } }
                    } }
                }
            }
        }
    };
    Ok(layout::page(console, lang.pick("漏斗", "Funnel"), body))
}

pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(q): Query<FunnelParams>,
) -> Response {
    respond(&console, render(&state, &console, q).await)
}
