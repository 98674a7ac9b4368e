//! RFM and lifecycle: the recency × frequency grid shaded by members (net value on hover),
//! the eleven segments with their members, share and value, and the lifecycle stages —
//! all from the scores the daily `members.rfm` job stored on the profiles.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::analytics::rfm;
use quanzi_app::services::workspaces::time_zone;
use quanzi_domain::analytics::rfm::Segment;

use super::chart;
use super::format::{count, local_time, percent, yuan};
use super::layout;
use super::session::Console;
use super::widgets::{action, export_link, respond};
use super::Lang;
use crate::error::ApiError;
use crate::state::AppState;

fn segment_label(lang: Lang, segment: Segment) -> &'static str {
    match segment {
        Segment::Champions => lang.pick("重要价值客户", "Champions"),
        Segment::Loyal => lang.pick("忠诚客户", "Loyal"),
        Segment::PotentialLoyalist => lang.pick("潜力客户", "Potential loyalists"),
        Segment::New => lang.pick("新客户", "New"),
        Segment::Promising => lang.pick("有望客户", "Promising"),
        Segment::NeedAttention => lang.pick("需关注客户", "Need attention"),
        Segment::AboutToSleep => lang.pick("即将沉睡", "About to sleep"),
        Segment::AtRisk => lang.pick("流失风险", "At risk"),
        Segment::CantLose => lang.pick("重要挽留客户", "Can't lose"),
        Segment::Hibernating => lang.pick("沉睡客户", "Hibernating"),
        Segment::Lost => lang.pick("已流失", "Lost"),
    }
}

fn stage_label(lang: Lang, stage: &str) -> &'static str {
    match stage {
        "new" => lang.pick("新客期（7 天内）", "New (first 7 days)"),
        "growing" => lang.pick("成长期（3 个月内）", "Growing (to 3 months)"),
        "mature" => lang.pick("成熟期", "Mature"),
        "churn_risk" => lang.pick("流失预警（30 天无互动）", "Churn risk (30 days quiet)"),
        _ => lang.pick("沉睡期（90 天无活动）", "Dormant (90 days idle)"),
    }
}

async fn render(state: &AppState, console: &Console) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let zone = time_zone(app, &console.principal.workspace_id).await?;
    let report = rfm::distribution(app, &console.principal).await?;
    let d = &report.distribution;
    let scored = d.scored();
    let busiest = (1..=5u8)
        .flat_map(|r| (1..=5u8).map(move |f| (r, f)))
        .map(|(r, f)| d.cell(r, f).members)
        .max()
        .unwrap_or(0)
        .max(1);
    let stages: Vec<(String, f64)> = d
        .lifecycle()
        .iter()
        .map(|(stage, n)| (stage_label(lang, stage.as_str()).to_owned(), *n as f64))
        .collect();
    let body = html! {
        section.panel {
            p.note {
                (lang.pick("已评分会员 ", "Scored members ")) strong { (count(scored as i64)) } " · "
                (lang.pick("未下单（未评分）", "without a paid order (unscored) ")) " " (count(d.unscored().members as i64)) " · "
                (lang.pick("评分时间 ", "scored ")) (report.scored_at.map_or_else(|| lang.pick("尚未评分", "not yet").to_owned(), |t| local_time(t, &zone)))
                " " (action("/api/v1/members/rfm/refresh", lang.pick("立即重新评分", "Rescore now")))
            }
        }
        div.grid2 {
            section.panel {
                h2 { (lang.pick("最近购买 × 购买频次", "Recency × frequency")) }
                table.rfm-grid #rfm-grid { thead { tr {
                    th { "R \\ F" } @for f in 1..=5u8 { th.num { "F" (f) } }
                } } tbody {
                    @for r in (1..=5u8).rev() { tr {
                        th { "R" (r) }
                        @for f in 1..=5u8 {
                            @let c = d.cell(r, f);
                            @let share = c.members as f64 / busiest as f64;
                            td.num.heat style=(format!("background: rgba(20, 86, 240, {:.2}); color: {}", 0.05 + 0.85 * share, if share > 0.5 { "#fff" } else { "#1f2329" }))
                                title=(format!("{} · {}", segment_label(lang, Segment::of(quanzi_domain::members::RfmScore { recency: r, frequency: f, monetary: 1 })), yuan(c.net_fen))) {
                                (count(c.members as i64))
                            }
                        }
                    } }
                } }
                p.note { (lang.pick("R5 = 最近购买，F5 = 购买最频繁；按分位数 1–5 评分。", "R5 = bought most recently, F5 = buys most often; scores 1–5 by quintile.")) }
            }
            section.panel {
                h2 { (lang.pick("生命周期", "Lifecycle stages")) }
                (chart::bars(&stages, |v| count(v as i64)))
            }
        }
        section.panel {
            h2 { (lang.pick("RFM 分层", "RFM segments")) " " (export_link(lang, "segments", "rfm-segments")) }
            table.sortable #segments { thead { tr {
                th { (lang.pick("分层", "Segment")) } th.num { (lang.pick("会员", "Members")) } th.num { (lang.pick("占比", "Share")) }
                th.num { (lang.pick("净消费", "Net spend")) } th.num { (lang.pick("人均", "Per member")) }
            } } tbody {
                @for (segment, c) in d.segments() { tr {
                    td { (segment_label(lang, segment)) }
                    td.num { (count(c.members as i64)) }
                    td.num { (percent((scored > 0).then(|| c.members as f64 / scored as f64))) }
                    td.num data-sort=(c.net_fen) { (yuan(c.net_fen)) }
                    td.num { @if c.members > 0 { (yuan(c.net_fen / c.members as i64)) } @else { "—" } }
                } }
            } }
            p.note { (lang.pick(
                "分层按最近购买（R）与频次（F）划分；金额（M）用于层内排序。净消费 = 实付 − 退款。",
                "Segments follow recency (R) and frequency (F); monetary (M) ranks members within one. Net spend = paid − refunded.")) }
        }
    };
    Ok(layout::page(
        console,
        lang.pick("RFM 与生命周期", "RFM and lifecycle"),
        body,
    ))
}

pub async fn page(State(state): State<AppState>, console: Console) -> Response {
    respond(&console, render(&state, &console).await)
}
