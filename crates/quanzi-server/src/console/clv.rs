//! Lifetime value: the fitted BG/NBD and Gamma-Gamma parameters with their standard
//! errors, how members spread over P(alive), and the most valuable members.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::analytics::clv::{self, ClvQuery};

use super::chart;
use super::format::{count, yuan_f};
use super::layout;
use super::session::Console;
use super::widgets::{export_link, respond};
use crate::error::ApiError;
use crate::state::AppState;

async fn render(state: &AppState, console: &Console) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let r = clv::report(
        app,
        &console.principal,
        ClvQuery {
            as_of: app.clock.now(),
            periods: 12,
            period_days: 30.0,
            discount_rate: 0.01,
        },
    )
    .await?;
    let mut spread = [0u64; 10];
    for m in &r.members {
        spread[((m.p_alive * 10.0) as usize).min(9)] += 1;
    }
    let bars: Vec<(String, f64)> = spread
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("{}–{}%", i * 10, i * 10 + 10), *n as f64))
        .collect();
    let total: f64 = r.members.iter().filter_map(|m| m.clv_fen).sum();
    let est =
        |e: quanzi_domain::analytics::clv::Estimate| format!("{:.4} ± {:.4}", e.value, e.std_error);
    let body = html! {
        div.cards {
            div.card { div.label { (lang.pick("有购买的会员", "Customers")) } div.value { (count(r.members.len() as i64)) } }
            div.card { div.label { (lang.pick("复购会员", "Repeat customers")) } div.value { (count(r.members.iter().filter(|m| m.summary.frequency > 0.0).count() as i64)) } }
            div.card { div.label { (lang.pick("未来 12 个月价值（折现）", "Next 12 months (discounted)")) } div.value { (yuan_f(total)) } }
            div.card { div.label { (lang.pick("预期购买次数", "Expected purchases")) } div.value { (count(r.members.iter().map(|m| m.expected_purchases).sum::<f64>().round() as i64)) } }
        }
        div.grid2 {
            section.panel {
                h2 { (lang.pick("存活概率 P(alive) 分布", "P(alive) distribution")) }
                (chart::bars(&bars, |v| count(v as i64)))
            }
            section.panel {
                h2 { (lang.pick("模型参数（最大似然 ± 标准误）", "Parameters (maximum likelihood ± standard error)")) }
                table { tbody {
                    tr { th { "BG/NBD r" } td { (est(r.purchases.r)) } }
                    tr { th { "α" } td { (est(r.purchases.alpha)) } }
                    tr { th { "a" } td { (est(r.purchases.a)) } }
                    tr { th { "b" } td { (est(r.purchases.b)) } }
                    @if let Some(s) = &r.spend {
                        tr { th { "Gamma-Gamma p" } td { (est(s.p)) } }
                        tr { th { "q" } td { (est(s.q)) } }
                        tr { th { "γ" } td { (est(s.gamma)) } }
                    }
                } }
                @if let Some(note) = &r.spend_note { p.note { (note) } }
                p.note { (lang.pick("时间单位为天；复购按不同的下单日计；价值按月 1% 折现。", "Time in days; repeats are distinct order days; value discounted 1 % a month.")) }
            }
        }
        section.panel {
            h2 { (lang.pick("价值最高的会员", "Most valuable members")) " " (export_link(lang, "clv", "lifetime-value")) }
            table.sortable #clv { thead { tr {
                th { (lang.pick("会员", "Member")) } th.num { (lang.pick("复购天数", "Repeat days")) } th.num { "P(alive)" }
                th.num { (lang.pick("预期购买", "Expected purchases")) } th.num { "CLV" }
            } } tbody {
                @for m in r.members.iter().take(50) { tr {
                    td { a href=(format!("/console/members/{}", m.member_id)) { (m.member_id) } }
                    td.num { (m.summary.frequency) }
                    td.num { (format!("{:.2}", m.p_alive)) }
                    td.num { (format!("{:.2}", m.expected_purchases)) }
                    td.num { (m.clv_fen.map_or("—".into(), yuan_f)) }
                } }
            } }
        }
    };
    Ok(layout::page(
        console,
        lang.pick("客户终身价值", "Lifetime value"),
        body,
    ))
}

pub async fn page(State(state): State<AppState>, console: Console) -> Response {
    respond(&console, render(&state, &console).await)
}
