//! Experiments: the list with start and stop, a form for a new one, and each one's
//! results — arms, chance to win, lift with its interval, CUPED, and a loud warning when
//! the split does not match the weights (sample-ratio mismatch).

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::analytics::experiments::{self, ArmStats};
use quanzi_app::services::workspaces::time_zone;

use super::format::{count, local_time, percent, yuan, yuan_f};
use super::layout;
use super::session::Console;
use super::widgets::{action, field, respond};
use super::Lang;
use crate::error::ApiError;
use crate::state::AppState;

fn status_label(lang: Lang, status: &str) -> &'static str {
    match status {
        "draft" => lang.pick("草稿", "Draft"),
        "running" => lang.pick("进行中", "Running"),
        _ => lang.pick("已停止", "Stopped"),
    }
}

async fn list(state: &AppState, console: &Console) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let items = experiments::list(app, p).await?;
    let body = html! {
        section.panel {
            h2 { (lang.pick("实验", "Experiments")) }
            table #experiments { thead { tr {
                th { (lang.pick("名称", "Name")) } th { "key" } th { (lang.pick("变体", "Variants")) }
                th { (lang.pick("状态", "Status")) } th { (lang.pick("开始", "Started")) } th {}
            } } tbody {
                @for e in &items { tr {
                    td { a href=(format!("/console/analytics/experiments/{}", e.key)) { (e.name) } }
                    td { code { (e.key) } }
                    td { @for v in &e.definition.variants { (v.key) " (" (v.weight) ") " } }
                    td { (status_label(lang, &e.status)) }
                    td { (e.started_at.map_or("—".into(), |t| local_time(t, &zone))) }
                    td {
                        @if e.status == "draft" { (action(&format!("/api/v1/experiments/{}/start", e.key), lang.pick("开始", "Start"))) }
                        @if e.status == "running" { (action(&format!("/api/v1/experiments/{}/stop", e.key), lang.pick("停止", "Stop"))) }
                    }
                } }
            } }
            @if items.is_empty() { p.muted { (lang.pick("还没有实验。", "No experiments yet.")) } }
        }
        section.panel {
            h2 { (lang.pick("新建实验", "New experiment")) }
            form #new-experiment data-api="/api/v1/experiments" data-method="POST" data-redirect="/console/analytics/experiments" {
                div.grid2 {
                    div {
                        (field(lang.pick("名称", "Name"), html! { input name="name" required; }, None))
                        (field("key", html! { input name="key" required placeholder="checkout-banner"; }, Some(lang.pick("小写字母、数字、- 和 _", "a-z, 0-9, - and _"))))
                        (field(lang.pick("变体（JSON）", "Variants (JSON)"), html! {
                            textarea name="variants" data-type="json" rows="3" { "[{\"key\": \"control\", \"weight\": 50}, {\"key\": \"treatment\", \"weight\": 50}]" }
                        }, Some(lang.pick("第一个为对照组", "the first is the control"))))
                    }
                    div {
                        (field(lang.pick("保留组比例", "Holdout share"), html! { input name="holdout_share" type="number" step="0.01" min="0" max="0.5" value="0"; }, None))
                        (field(lang.pick("转化窗口（天）", "Window (days)"), html! { input name="window_days" type="number" value="14"; }, None))
                        (field(lang.pick("CUPED 前置期（天）", "CUPED pre-period (days)"), html! { input name="pre_period_days" type="number" value="28"; }, None))
                    }
                }
                button type="submit" { (lang.pick("创建", "Create")) }
            }
        }
    };
    Ok(layout::page(
        console,
        lang.pick("实验", "Experiments"),
        body,
    ))
}

pub async fn list_page(State(state): State<AppState>, console: Console) -> Response {
    respond(&console, list(&state, &console).await)
}

fn arm_row(a: &ArmStats) -> Markup {
    let per = |x: f64| (a.members > 0).then(|| x / a.members as f64);
    html! { tr {
        td { (a.key) }
        td.num { (count(a.members as i64)) }
        td.num { (count(a.converted as i64)) }
        td.num { (percent(per(a.converted as f64))) }
        td.num { (count(a.orders as i64)) }
        td.num { (yuan(a.revenue_fen)) }
        td.num { (per(a.revenue_fen as f64).map_or("—".into(), yuan_f)) }
    } }
}

async fn results(state: &AppState, console: &Console, key: &str) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let r = experiments::results(app, p, key).await?;
    let e = &r.experiment;
    let body = html! {
        p.muted {
            (status_label(lang, &e.status)) " · "
            (lang.pick("统计至 ", "as of ")) (local_time(r.as_of, &zone)) " · "
            (lang.pick("转化窗口 ", "window ")) (e.definition.window_days) (lang.pick(" 天", " days")) " · "
            (lang.pick("CUPED 前置期 ", "CUPED pre-period ")) (e.definition.pre_period_days) (lang.pick(" 天", " days"))
        }
        @match &r.srm {
            Ok(srm) if srm.is_mismatch(r.srm_threshold) => {
                div.panel.warning role="alert" {
                    strong { (lang.pick("样本比例失衡（SRM）", "Sample ratio mismatch (SRM)")) }
                    " p = " (format!("{:.2e}", srm.p_value)) ". "
                    (lang.pick("分组人数与权重不符，结果不可信，请先排查分流与曝光记录。", "The split does not match the weights: do not trust the results until assignment and exposure logging are checked."))
                }
            }
            Ok(srm) => p.note { "SRM p = " (format!("{:.3}", srm.p_value)) (lang.pick("（分流正常）", " (split as configured)")) },
            Err(why) => p.note { "SRM: " (why) },
        }
        section.panel {
            h2 { (lang.pick("各组", "Arms")) }
            table { thead { tr {
                th { (lang.pick("组", "Arm")) } th.num { (lang.pick("曝光人数", "Exposed")) } th.num { (lang.pick("转化人数", "Converted")) }
                th.num { (lang.pick("转化率", "Conversion")) } th.num { (lang.pick("订单", "Orders")) } th.num { (lang.pick("收入", "Revenue")) }
                th.num { (lang.pick("人均收入", "Revenue / member")) }
            } } tbody {
                @for a in &r.arms { (arm_row(a)) }
                @if let Some(h) = &r.holdout { (arm_row(h)) }
            } }
        }
        section.panel {
            h2 { (lang.pick("对比对照组", "Against the control")) }
            table { thead { tr {
                th { (lang.pick("变体", "Variant")) }
                th.num { (lang.pick("转化胜率", "Chance to win (conversion)")) }
                th.num { (lang.pick("人均收入提升", "Revenue lift")) }
                th { (lang.pick("95% 可信区间", "95% interval")) }
                th.num { (lang.pick("收入胜率", "Chance to win (revenue)")) }
                th.num { (lang.pick("CUPED 提升", "CUPED lift")) }
                th.num { (lang.pick("方差降低", "Variance removed")) }
            } } tbody {
                @for c in &r.comparisons { tr {
                    td { (c.variant) }
                    td.num { (c.conversion.as_ref().map_or("—".into(), |b| percent(Some(b.chance_to_win)))) }
                    td.num { (c.revenue.as_ref().map_or("—".into(), |b| percent(Some(b.effect_mean)))) }
                    td { (c.revenue.as_ref().map_or("—".into(), |b| format!("{} – {}", percent(Some(b.credible_interval.0)), percent(Some(b.credible_interval.1))))) }
                    td.num { (c.revenue.as_ref().map_or("—".into(), |b| percent(Some(b.chance_to_win)))) }
                    td.num { (c.revenue_cuped.as_ref().map_or("—".into(), |(_, b)| percent(Some(b.effect_mean)))) }
                    td.num { (c.revenue_cuped.as_ref().map_or("—".into(), |(cu, _)| percent(Some(cu.variance_reduction)))) }
                } }
            } }
            @for c in &r.comparisons {
                @for why in [c.conversion.as_ref().err(), c.revenue.as_ref().err(), c.revenue_cuped.as_ref().err()].into_iter().flatten() {
                    p.note { (c.variant) ": " (why) }
                }
            }
        }
        @if let Some(lift) = &r.holdout_lift {
            section.panel {
                h2 { (lang.pick("相对保留组的增量", "Lift over the holdout")) }
                @match lift {
                    Ok(h) => p {
                        (lang.pick("人均收入提升 ", "Revenue per member ")) strong { (percent(Some(h.lift.mean()))) }
                        " (" (percent(Some(h.lift_interval.0))) " – " (percent(Some(h.lift_interval.1))) "), "
                        (lang.pick("增量收入 ", "incremental revenue ")) (yuan_f(h.incremental_total)) ", p = " (format!("{:.3}", h.p_value))
                    },
                    Err(why) => p.note { (why) },
                }
            }
        }
    };
    Ok(layout::page(console, &e.name, body))
}

pub async fn results_page(
    State(state): State<AppState>,
    console: Console,
    Path(key): Path<String>,
) -> Response {
    respond(&console, results(&state, &console, &key).await)
}
