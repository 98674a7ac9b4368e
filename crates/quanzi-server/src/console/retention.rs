//! The retention heat map: one row per cohort, one cell per period after it, shaded by the
//! share of the cohort that came back (the exact figure on hover). Broken down by an
//! acquisition touchpoint (the channel of each member's first start, …), the overall rows
//! compare channels and each cohort row names its channel.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::analytics::retention::{self, RetentionQuery};
use quanzi_app::services::workspaces::time_zone;
use quanzi_domain::analytics::retention::{CohortKind, Period, RetentionDefinition, RetentionMode};
use quanzi_domain::calendar::LocalDate;
use serde::Deserialize;

use super::format::{count, percent};
use super::lang::Lang;
use super::layout;
use super::session::Console;
use super::widgets::{export_link, respond};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct RetentionParams {
    start: Option<String>,
    back: Option<String>,
    period: Option<String>,
    mode: Option<String>,
    by: Option<String>,
}

/// The touchpoints retention can be broken down by, as (column, 中文, English).
const BREAKDOWNS: [(&str, &str, &str); 5] = [
    ("channel", "按渠道", "by channel"),
    ("utm_source", "按来源", "by source"),
    ("kol_id", "按达人", "by KOL"),
    ("campaign_id", "按活动", "by campaign"),
    ("content_id", "按内容", "by content"),
];

/// A cell shaded from white to the console blue by its rate.
fn cell(rate: Option<f64>, retained: Option<u64>) -> Markup {
    match (rate, retained) {
        (Some(r), Some(n)) => html! {
            td.num.heat style=(format!("background: rgba(20, 86, 240, {:.2}); color: {}", 0.08 + 0.8 * r, if r > 0.5 { "#fff" } else { "#1f2329" }))
                title=(format!("{n}")) { (percent(Some(r))) }
        },
        _ => html! { td.num.muted { "" } },
    }
}

async fn render(
    state: &AppState,
    console: &Console,
    q: RetentionParams,
) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let zone = time_zone(app, &console.principal.workspace_id).await?;
    let period = q.period.clone().unwrap_or_else(|| "week".into());
    let (days, periods) = match period.as_str() {
        "day" => (30, 14),
        "month" => (366, 6),
        _ => (91, 8),
    };
    let start = q.start.clone().unwrap_or_else(|| "order".into());
    let back = q.back.clone().unwrap_or_else(|| "order".into());
    let mode = q.mode.clone().unwrap_or_else(|| "on".into());
    // Only a listed column reaches the query; anything else means no breakdown.
    let by =
        q.by.as_deref()
            .and_then(|b| BREAKDOWNS.iter().find(|(column, _, _)| *column == b))
            .map(|(column, _, _)| column.to_string());
    let today = LocalDate::of(app.clock.now(), &zone);
    let result = retention::run(
        app,
        &console.principal,
        RetentionQuery {
            from: today.add_days(1 - days).start_in(&zone),
            to: today.next_day().start_in(&zone),
            start: start.clone(),
            return_event: back.clone(),
            period: period.clone(),
            periods,
            mode: mode.clone(),
            kind: "first-time".into(),
            breakdown: by.clone(),
        },
    )
    .await?;
    let t = &result.table;
    let label = |code: Option<u32>| match code {
        Some(code) => result.breakdowns.name(code).to_owned(),
        None => String::new(),
    };
    let body = html! {
        form.panel method="get" action="/console/analytics/retention" {
            (lang.pick("起始事件 ", "Start event ")) input name="start" value=(start) style="width:140px";
            (lang.pick(" 回访事件 ", " return event ")) input name="back" value=(back) style="width:140px";
            " " select name="period" style="width:auto" {
                @for (p, zh, en) in [("day", "按天", "daily"), ("week", "按周", "weekly"), ("month", "按月", "monthly")] {
                    option value=(p) selected[p == period] { (lang.pick(zh, en)) }
                }
            }
            " " select name="mode" style="width:auto" {
                option value="on" selected[mode == "on"] { (lang.pick("当期回访", "in that period")) }
                option value="unbounded" selected[mode == "unbounded"] { (lang.pick("当期及以后", "that period or later")) }
            }
            " " select name="by" style="width:auto" {
                option value="" { (lang.pick("不拆分", "all members")) }
                @for (column, zh, en) in BREAKDOWNS {
                    option value=(column) selected[by.as_deref() == Some(column)] { (lang.pick(zh, en)) }
                }
            }
            " " button type="submit" { (lang.pick("计算", "Compute")) }
        }
        section.panel {
            h2 { (lang.pick("留存热力图", "Retention heat map")) " " (export_link(lang, "retention", "retention")) }
            table #retention { thead { tr {
                th { (lang.pick("同期群", "Cohort")) }
                @if by.is_some() { th { (lang.pick("拆分", "Breakdown")) } }
                th.num { (lang.pick("人数", "Members")) }
                @for k in 0..=periods { th.num { (k) } }
            } } tbody {
                @for o in t.overall() { tr {
                    td { strong { (lang.pick("全部", "All")) } }
                    @if by.is_some() { td { strong { (label(o.breakdown())) } } }
                    td.num { (count(o.size() as i64)) }
                    @for k in 0..=periods as usize { (cell(o.rate(k), o.retained().get(k).copied())) }
                } }
                @for c in t.cohorts() { tr {
                    td { (c.start().to_string()) }
                    @if by.is_some() { td { (label(c.breakdown())) } }
                    td.num { (count(c.size() as i64)) }
                    @for k in 0..=periods as usize { (cell(c.rate(k), c.retained().get(k).copied().flatten())) }
                } }
            } }
            p.note { (definition_line(lang, t.definition(), |code| result.events.name(code).to_owned())) }
        }
    };
    Ok(layout::page(console, lang.pick("留存", "Retention"), body))
}

pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(q): Query<RetentionParams>,
) -> Response {
    respond(&console, render(&state, &console, q).await)
}

/// What was computed, in the console's language (the API's `definition` stays English).
fn definition_line(
    lang: Lang,
    definition: &RetentionDefinition,
    name: impl Fn(u32) -> String,
) -> String {
    if lang == Lang::En {
        return definition.describe(name);
    }
    let spec = definition.spec();
    let cohorts = match spec.kind() {
        CohortKind::FirstTime => "首次同期群：按会员首次起始事件所在的",
        CohortKind::Recurring => "循环同期群：按每个有起始事件的",
    };
    let period = match spec.period() {
        Period::Day => "天",
        Period::Week => "周",
        Period::Month => "月",
    };
    let mode = match spec.mode() {
        RetentionMode::On => "只算当期回访",
        RetentionMode::Unbounded => "当期或之后回访都算",
    };
    let mut text = format!(
        "留存口径：`{}` → `{}`；{cohorts}{period}分组；第 0–{} {period}（时区 {}），{mode}；{} 位会员，计入 {} / {} 条事件",
        name(spec.start()),
        name(spec.return_event()),
        spec.periods(),
        spec.offset(),
        definition.members(),
        definition.events_considered(),
        definition.events_total(),
    );
    if let Some(last) = definition.last_period() {
        text.push_str(&format!("；最后一期始于 {last}"));
    }
    if spec.breakdown() {
        text.push_str("；按会员首个起始事件的拆分值拆分");
    }
    text
}
