//! Flash sales (秒杀): each sale's slot and state, every SKU's flash and crossed-out price,
//! stock at the start and left now, its reservations by outcome and whether it sold out;
//! and a form that creates a sale through the API, SKU rows included.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::promotions::flash;
use quanzi_app::services::workspaces::time_zone;
use quanzi_domain::calendar::TimeZone;
use quanzi_domain::time::Timestamp;
use quanzi_store::FlashSaleRow;

use super::format::{count, local_time, yuan};
use super::layout;
use super::session::Console;
use super::widgets::{action, field, respond};
use super::Lang;
use crate::error::ApiError;
use crate::state::AppState;

/// The newest sales shown in full; each costs two reads, so a long history stays fast.
const SHOWN: usize = 50;
/// Reservations waiting for payment listed with a cancel button.
const WAITING_SHOWN: usize = 100;
/// SKU rows in the form; rows left empty are not sent.
const SKU_ROWS: usize = 3;

/// Reservations of one SKU by outcome: `[reserved, paid, expired, cancelled]`.
type Outcomes = [i64; 4];

fn state_label(lang: Lang, sale: &FlashSaleRow, now: Timestamp) -> (&'static str, &'static str) {
    if sale.status == "cancelled" {
        ("ended", lang.pick("已取消", "Cancelled"))
    } else if now < sale.starts_at {
        ("upcoming", lang.pick("未开始", "Upcoming"))
    } else if now < sale.ends_at {
        ("live", lang.pick("进行中", "Live"))
    } else {
        ("ended", lang.pick("已结束", "Ended"))
    }
}

/// Cancelling a sale stops every node from taking reservations; the box also ends the
/// unpaid ones (a wrong price that must not be honoured).
fn cancel_form(lang: Lang, sale: &str) -> Markup {
    html! {
        form.inline.cancel-sale data-api=(format!("/api/v1/flash-sales/{sale}/cancel")) data-method="POST"
            data-confirm=(lang.pick("确定取消这场秒杀？取消后不能再预留。", "Cancel this flash sale? No one can reserve afterwards.")) {
            label.note { input name="release_reservations" type="checkbox"; " " (lang.pick("同时释放待支付", "also release unpaid")) }
            " "
            button.link type="submit" { (lang.pick("取消活动", "Cancel sale")) }
        }
    }
}

/// `2026-11-11 00:00 – 02:00`, with the end's date only when it is another day.
fn slot(starts: Timestamp, ends: Timestamp, zone: &TimeZone) -> String {
    let (from, to) = (local_time(starts, zone), local_time(ends, zone));
    match to.split_once(' ') {
        Some((date, time)) if from.starts_with(date) => format!("{from} – {time}"),
        _ => format!("{from} – {to}"),
    }
}

async fn render(state: &AppState, console: &Console) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let now = app.clock.now();
    let rows = flash::sales(app, p).await?;
    let total = rows.len();
    let mut sales = Vec::new();
    // Reservations still waiting for payment, soonest to expire first: the ones an
    // operator may release by hand (a buyer who called to cancel).
    let mut waiting = Vec::new();
    for row in rows.into_iter().take(SHOWN) {
        let sale = flash::sale(app, p, &row.id).await?;
        let mut outcomes: BTreeMap<String, Outcomes> = BTreeMap::new();
        for r in flash::reservations(app, p, &row.id, None).await? {
            let slot = match r.status.as_str() {
                "reserved" => 0,
                "paid" => 1,
                "expired" => 2,
                _ => 3,
            };
            outcomes.entry(r.sku.clone()).or_default()[slot] += 1;
            if slot == 0 {
                waiting.push((row.name.clone(), r));
            }
        }
        sales.push((sale, outcomes));
    }
    waiting.sort_by_key(|(_, r)| r.expires_at);
    let waiting_total = waiting.len();
    waiting.truncate(WAITING_SHOWN);
    let body = html! {
        section.panel {
            h2 { (lang.pick("秒杀活动", "Flash sales")) }
            @if sales.is_empty() { p.muted { (lang.pick("还没有秒杀活动。", "No flash sales yet.")) } } @else {
                table #flash-sales { thead { tr {
                    th { (lang.pick("活动", "Sale")) } th { (lang.pick("场次", "Slot")) } th { (lang.pick("状态", "State")) } th { "SKU" }
                    th.num { (lang.pick("秒杀价", "Flash price")) } th.num { (lang.pick("原价", "Original")) }
                    th.num { (lang.pick("库存", "Stock")) } th.num { (lang.pick("剩余", "Left")) }
                    th.num { (lang.pick("待支付", "Reserved")) } th.num { (lang.pick("已支付", "Paid")) }
                    th.num { (lang.pick("超时", "Expired")) } th.num { (lang.pick("已取消", "Cancelled")) }
                } } tbody {
                    @for (sale, outcomes) in &sales {
                        @let span = sale.skus.len().max(1);
                        @let (state_class, state_text) = state_label(lang, &sale.row, now);
                        @for (i, sku) in sale.skus.iter().enumerate() {
                            @let o = outcomes.get(&sku.sku).copied().unwrap_or_default();
                            tr {
                                @if i == 0 {
                                    td rowspan=(span) { (sale.row.name) br; span.note { (sale.row.id) } }
                                    td rowspan=(span) {
                                        (slot(sale.row.starts_at, sale.row.ends_at, &zone))
                                        br; span.note {
                                            (lang.pick("支付时限 ", "pay within ")) (sale.row.payment_timeout_seconds / 60) (lang.pick(" 分钟 · 每人限 ", " min · per member ")) (sale.row.per_member_limit)
                                            @if sale.row.gate == "redis" { " · Redis" }
                                        }
                                    }
                                    td rowspan=(span) {
                                        span class=(format!("tag {state_class}")) { (state_text) }
                                        @if sale.row.status == "active" && now < sale.row.ends_at {
                                            (cancel_form(lang, &sale.row.id))
                                        }
                                    }
                                }
                                td { (sku.sku) }
                                td.num { (yuan(sku.flash_price_fen)) }
                                td.num { s.muted { (yuan(sku.original_price_fen)) } }
                                td.num { (count(sku.stock)) }
                                td.num {
                                    (count(sku.remaining))
                                    @if sku.remaining <= 0 { " " span.tag.sold-out { (lang.pick("已售罄", "Sold out")) } }
                                }
                                td.num { (count(o[0])) } td.num { (count(o[1])) } td.num { (count(o[2])) } td.num { (count(o[3])) }
                            }
                        }
                    }
                } }
                @if total > SHOWN {
                    p.note { (lang.pick("只显示最近的 ", "Showing the newest ")) (SHOWN) (lang.pick(" 场，共 ", " of ")) (count(total as i64)) "." }
                }
            }
        }
        @if !waiting.is_empty() {
            section.panel {
                h2 { (lang.pick("待支付的预留", "Reservations waiting for payment")) }
                table #waiting { thead { tr {
                    th { (lang.pick("活动", "Sale")) } th { "SKU" } th { (lang.pick("会员", "Member")) } th.num { (lang.pick("数量", "Quantity")) }
                    th { (lang.pick("预留时间", "Reserved")) } th { (lang.pick("超时", "Expires")) } th {}
                } } tbody {
                    @for (sale, r) in &waiting { tr {
                        td { (sale) } td { (r.sku) }
                        td { a href=(format!("/console/members/{}", r.member_id)) { (r.member_id) } }
                        td.num { (r.quantity) }
                        td { (local_time(r.reserved_at, &zone)) } td { (local_time(r.expires_at, &zone)) }
                        td { (action(&format!("/api/v1/flash-reservations/{}/cancel", r.id), lang.pick("取消并退回库存", "Cancel, return the stock"))) }
                    } }
                } }
                @if waiting_total > WAITING_SHOWN {
                    p.note { (lang.pick("只显示最早超时的 ", "Showing the ")) (WAITING_SHOWN) (lang.pick(" 条，共 ", " expiring first of ")) (count(waiting_total as i64)) "." }
                }
            }
        }
        section.panel {
            h2 { (lang.pick("新建秒杀", "New flash sale")) }
            form #new-flash-sale data-api="/api/v1/flash-sales" data-method="POST" data-redirect="/console/promotions/flash-sales" {
                div.grid2 {
                    div {
                        (field(lang.pick("名称", "Name"), html! { input name="name" required; }, None))
                        (field(lang.pick("开始", "Starts"), html! { input name="starts_at" type="datetime-local" required; }, None))
                        (field(lang.pick("结束", "Ends"), html! { input name="ends_at" type="datetime-local" required; }, Some(lang.pick("按浏览器所在时区", "in the browser's time zone"))))
                        (field(lang.pick("支付时限（秒）", "Payment timeout (seconds)"), html! { input name="payment_timeout_seconds" type="number" min="60" max="86400" value="900"; },
                            Some(lang.pick("超时未付，库存退回", "unpaid reservations give their stock back after this"))))
                    }
                    div {
                        (field(lang.pick("每人限购", "Per-member limit"), html! { input name="per_member_limit" type="number" min="1" value="1"; }, None))
                        (field(lang.pick("库存分桶", "Stock buckets"), html! { input name="buckets" type="number" min="1" max="64" value="1"; },
                            Some(lang.pick("PostgreSQL 上更多桶可同时放行更多买家", "more buckets let more buyers through at once on PostgreSQL"))))
                        (field(lang.pick("原价虚高时", "When an original price is false"), html! {
                            select name="on_false_original" {
                                option value="refuse" { (lang.pick("拒绝创建", "refuse the sale")) }
                                option value="flag" { (lang.pick("创建并记录", "create it and record the problem")) }
                            }
                        }, Some(lang.pick("原价须不高于开始前 7 天的最低成交价", "the original price may not exceed the lowest price paid in the 7 days before"))))
                        (field(lang.pick("限流", "Gate"), html! {
                            select name="gate" {
                                option value="none" { (lang.pick("无（数据库决定）", "none (the database decides)")) }
                                option value="redis" { "Redis" }
                            }
                        }, None))
                    }
                }
                h3 { (lang.pick("商品", "SKUs")) }
                div.sku-rows {
                    div.sku-row.head { span { "SKU" } span { (lang.pick("秒杀价（元）", "Flash price (yuan)")) } span { (lang.pick("原价（元）", "Original price (yuan)")) } span { (lang.pick("库存", "Stock")) } }
                    @for i in 0..SKU_ROWS {
                        div.sku-row {
                            input name=(format!("skus[{i}].sku")) aria-label="SKU" required[i == 0];
                            input name=(format!("skus[{i}].flash_price_fen")) type="number" step="0.01" min="0" data-type="yuan" aria-label=(lang.pick("秒杀价（元）", "Flash price (yuan)")) required[i == 0];
                            input name=(format!("skus[{i}].original_price_fen")) type="number" step="0.01" min="0" data-type="yuan" aria-label=(lang.pick("原价（元）", "Original price (yuan)")) required[i == 0];
                            input name=(format!("skus[{i}].stock")) type="number" min="1" aria-label=(lang.pick("库存", "Stock")) required[i == 0];
                        }
                    }
                }
                button type="submit" { (lang.pick("创建", "Create")) }
            }
        }
    };
    Ok(layout::page(
        console,
        lang.pick("秒杀", "Flash sales"),
        body,
    ))
}

pub async fn page(State(state): State<AppState>, console: Console) -> Response {
    respond(&console, render(&state, &console).await)
}
