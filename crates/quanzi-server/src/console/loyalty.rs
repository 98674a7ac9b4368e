//! Loyalty: what the brand owes in points (outstanding, held, pending, expiring, debt,
//! their money value), what each source issued and each sink took, the points mall, and
//! the settings document (earning, check-in ladder, tiers) edited in place.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::loyalty::{ledger, mall, settings};

use super::format::{count, yuan};
use super::layout;
use super::session::Console;
use super::widgets::{field, respond};
use crate::error::ApiError;
use crate::state::AppState;

async fn render(state: &AppState, console: &Console) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let (report, fen_per_100) = ledger::liability(app, p, 30).await?;
    let items = mall::items(app, p).await?;
    let doc = settings::get(app, p).await?;
    let doc_json = serde_json::to_string_pretty(&doc).unwrap_or_default();
    let money = |points: i64| yuan(points * fen_per_100 / 100);
    let body = html! {
        div.cards {
            div.card { div.label { (lang.pick("可用积分", "Outstanding")) } div.value { (count(report.outstanding)) } div.delta.muted { "≈ " (money(report.outstanding)) } }
            div.card { div.label { (lang.pick("冻结中", "Held at checkout")) } div.value { (count(report.held)) } }
            div.card { div.label { (lang.pick("待入账（退货期内）", "Pending (return window)")) } div.value { (count(report.pending_earned)) } }
            div.card { div.label { (lang.pick("30 天内到期", "Expiring in 30 days")) } div.value { (count(report.expiring)) } }
            div.card { div.label { (lang.pick("会员欠分", "Members' debt")) } div.value { (count(report.debt)) } }
            div.card { div.label { (lang.pick("有积分的会员", "Members with points")) } div.value { (count(report.members_with_points)) } }
        }
        div.grid2 {
            section.panel {
                h2 { (lang.pick("发放来源与成本", "Sources and their cost")) }
                table.sortable { thead { tr {
                    th { (lang.pick("来源", "Source")) } th.num { (lang.pick("发放", "Issued")) } th.num { (lang.pick("退回", "Returned")) } th.num { (lang.pick("成本", "Cost")) }
                } } tbody {
                    @for s in &report.sources { tr {
                        td { (s.source) } td.num { (count(s.issued)) } td.num { (count(s.returned)) } td.num { (money(s.issued - s.returned)) }
                    } }
                } }
            }
            section.panel {
                h2 { (lang.pick("消耗去向", "Where points went")) }
                table { thead { tr { th { (lang.pick("去向", "Sink")) } th.num { (lang.pick("积分", "Points")) } } } tbody {
                    @for (sink, points) in &report.sinks { tr { td { (sink) } td.num { (count(*points)) } } }
                    tr { td { (lang.pick("过期", "expired")) } td.num { (count(report.expired_total)) } }
                } }
            }
        }
        section.panel {
            h2 { (lang.pick("积分商城", "Points mall")) }
            table.sortable { thead { tr {
                th { (lang.pick("商品", "Item")) } th.num { (lang.pick("积分", "Points")) } th.num { (lang.pick("加价", "Cash")) }
                th.num { (lang.pick("库存", "Stock")) } th.num { (lang.pick("每人限兑", "Per member")) } th { (lang.pick("上架", "Active")) }
            } } tbody {
                @for i in &items { tr {
                    td { (i.name) } td.num { (count(i.points)) } td.num { (yuan(i.cash_fen)) } td.num { (count(i.stock)) }
                    td.num { (i.per_member_limit.map_or("—".into(), count)) } td { (if i.active { "✓" } else { "—" }) }
                } }
            } }
        }
        section.panel {
            h2 { (lang.pick("积分规则、签到与等级", "Earning, check-in and tiers")) }
            form #loyalty-settings data-api="/api/v1/loyalty/settings" data-method="PUT" data-body="raw" {
                (field(lang.pick("设置（JSON）", "Settings (JSON)"), html! { textarea name="settings" rows="18" { (doc_json) } },
                    Some(lang.pick("字段说明见 docs/api.md「积分」", "fields are described in docs/api.md, \"Points\""))))
                button type="submit" { (lang.pick("保存", "Save")) }
            }
        }
    };
    Ok(layout::page(console, lang.pick("积分", "Loyalty"), body))
}

pub async fn page(State(state): State<AppState>, console: Console) -> Response {
    respond(&console, render(&state, &console).await)
}
