//! Attribution compared across models: the conversions (and value) each model credits to
//! each channel over a period, side by side, with the journeys it rests on.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::analytics::attribution::{self, AttributionQuery};
use quanzi_app::services::workspaces::time_zone;
use quanzi_domain::calendar::LocalDate;
use quanzi_store::TOUCH_COLUMNS;
use serde::Deserialize;

use super::chart;
use super::format::{count, yuan_f};
use super::layout;
use super::session::Console;
use super::widgets::{export_link, respond};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct AttributionParams {
    days: Option<u32>,
    touch: Option<String>,
    lookback: Option<u32>,
}

async fn render(
    state: &AppState,
    console: &Console,
    q: AttributionParams,
) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let days = q.days.unwrap_or(30).clamp(1, 366);
    let touch = q.touch.unwrap_or_else(|| "channel".into());
    let lookback = q.lookback.unwrap_or(30);
    let today = LocalDate::of(app.clock.now(), &zone);
    let report = attribution::attribute(
        app,
        p,
        AttributionQuery {
            touch: touch.clone(),
            from: today.add_days(1 - i64::from(days)).start_in(&zone),
            to: today.next_day().start_in(&zone),
            lookback_days: lookback,
            models: Vec::new(),
            half_life: 2.0,
        },
    )
    .await?;
    let credit = |model: &str, channel: &str| {
        report
            .results
            .iter()
            .find(|(m, _)| m == model)
            .and_then(|(_, a)| a.credit(channel))
            .map_or(0.0, |c| c.conversions())
    };
    let markov: Vec<(String, f64)> = report
        .channels
        .iter()
        .map(|c| (c.clone(), credit("markov1", c)))
        .collect();
    let body = html! {
        form.panel method="get" action="/console/analytics/attribution" {
            (lang.pick("最近 ", "Last ")) input type="number" name="days" value=(days) style="width:80px";
            (lang.pick(" 天，触点字段 ", " days, touchpoint ")) select name="touch" style="width:auto" {
                @for c in TOUCH_COLUMNS { option value=(c) selected[c == touch] { (c) } }
            }
            (lang.pick("，回溯 ", ", lookback ")) input type="number" name="lookback" value=(lookback) style="width:80px";
            (lang.pick(" 天 ", " days ")) button type="submit" { (lang.pick("计算", "Compute")) }
        }
        div.cards {
            div.card { div.label { (lang.pick("转化旅程", "Converting journeys")) } div.value { (count(report.counts.converting as i64)) } }
            div.card { div.label { (lang.pick("未转化旅程", "Non-converting journeys")) } div.value { (count(report.counts.non_converting as i64)) } }
            div.card { div.label { (lang.pick("无触点（直接）转化", "Direct (no touch)")) } div.value { (count(report.counts.unattributed as i64)) } }
            div.card { div.label { (lang.pick("归因价值", "Attributed value")) } div.value { (yuan_f(report.total_value)) } }
        }
        @if report.results.is_empty() {
            p.panel.muted { (lang.pick("这段时间没有可归因的转化。", "No attributable conversions in this period.")) }
        } @else {
            section.panel {
                h2 { (lang.pick("各模型归因的转化数", "Conversions credited by each model")) " " (export_link(lang, "attribution", "attribution")) }
                table.sortable #attribution { thead { tr {
                    th { (lang.pick("渠道", "Channel")) }
                    @for (model, _) in &report.results { th.num { (model) } }
                } } tbody {
                    @for channel in &report.channels { tr {
                        td { (channel) }
                        @for (model, _) in &report.results { td.num { (format!("{:.2}", credit(model, channel))) } }
                    } }
                } }
                @for (model, a) in &report.results { p.note { strong { (model) } ": " (a.definition()) } }
            }
            section.panel {
                h2 { (lang.pick("马尔可夫（一阶）移除效应", "Markov (order 1) removal effect")) }
                (chart::bars(&markov, |v| format!("{v:.2}")))
            }
        }
    };
    Ok(layout::page(
        console,
        lang.pick("归因", "Attribution"),
        body,
    ))
}

pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(q): Query<AttributionParams>,
) -> Response {
    respond(&console, render(&state, &console, q).await)
}
