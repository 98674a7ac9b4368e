//! Distribution (分销): the settings (who may promote, how buyers bind, commission by level,
//! freeze period, smallest withdrawal) and their document edited in place, every promoter
//! with pending and settled commission, and the withdrawals waiting for review or payment
//! with their actions.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::social::distribution::{self, BindingPolicy, Eligibility};
use quanzi_app::services::workspaces::time_zone;

use super::format::{count, local_date, local_time, percent, yuan};
use super::layout;
use super::session::Console;
use super::widgets::{export_link, field, respond};
use super::Lang;
use crate::error::ApiError;
use crate::routes::distribution::settings_body;
use crate::state::AppState;

/// Promoters listed, the most earned first.
const PROMOTERS: i64 = 500;
/// Withdrawals in the queue, oldest first.
const QUEUE: i64 = 200;

fn rate(bp: i64) -> String {
    percent(Some(bp as f64 / 10_000.0))
}

fn member_link(id: &str) -> Markup {
    html! { a href=(format!("/console/members/{id}")) { (id) } }
}

/// A one-button review: `action` with an optional note field.
fn review(id: &str, action: &str, label: &str, note: Option<&str>) -> Markup {
    html! {
        form.inline data-api=(format!("/api/v1/withdrawals/{id}/review")) data-method="POST" {
            input type="hidden" name="action" value=(action);
            @if let Some(placeholder) = note { input.note-input name="note" placeholder=(placeholder); " " }
            button.link type="submit" { (label) }
        }
    }
}

fn status_label(lang: Lang, status: &str) -> &'static str {
    match status {
        "requested" => lang.pick("待审核", "Requested"),
        "approved" => lang.pick("已通过，待打款", "Approved, to pay"),
        "active" => lang.pick("正常", "Active"),
        "suspended" => lang.pick("已暂停", "Suspended"),
        _ => lang.pick("其他", "Other"),
    }
}

async fn render(state: &AppState, console: &Console) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let settings = distribution::settings(app, p).await?;
    let promoters = distribution::promoters(app, p, PROMOTERS).await?;
    let queue = distribution::open_withdrawals(app, p, QUEUE).await?;
    let doc_json =
        serde_json::to_string_pretty(&settings_body(settings.clone())).unwrap_or_default();
    let eligibility = match settings.eligibility {
        Eligibility::Everyone => lang.pick("所有会员", "every member").to_owned(),
        Eligibility::Appointed => lang
            .pick("仅由品牌任命", "appointed by the brand")
            .to_owned(),
        Eligibility::MinSpend(fen) => format!(
            "{}{}",
            lang.pick("累计消费满 ", "members who spent "),
            yuan(fen)
        ),
    };
    let binding = match settings.binding {
        BindingPolicy::Permanent => lang
            .pick("首次绑定，永久有效", "first link, for good")
            .to_owned(),
        BindingPolicy::ExpiresAfterDays(days) => format!(
            "{}{days}{}",
            lang.pick("首次绑定，有效 ", "first link, for "),
            lang.pick(" 天", " days")
        ),
        BindingPolicy::LatestWins => lang
            .pick("最近一次链接为准", "the latest link wins")
            .to_owned(),
    };
    let body = html! {
        div.cards {
            div.card { div.label { (lang.pick("分销", "Distribution")) } div.value { (if settings.enabled { lang.pick("已开启", "On") } else { lang.pick("已关闭", "Off") }) } }
            div.card { div.label { (lang.pick("推广员", "Promoters")) } div.value { (count(promoters.len() as i64)) @if promoters.len() as i64 == PROMOTERS { "+" } } div.delta.muted { (eligibility) } }
            div.card { div.label { (lang.pick("客户绑定", "Buyer binding")) } div.value.small { (binding) } }
            div.card { div.label { (lang.pick("冻结期", "Freeze period")) } div.value { (settings.freeze_days) (lang.pick(" 天", " days")) } }
            div.card { div.label { (lang.pick("最低提现", "Smallest withdrawal")) } div.value { (yuan(settings.min_withdrawal_fen)) } }
        }
        div.grid2 {
            section.panel {
                h2 { (lang.pick("佣金比例", "Commission rates")) }
                table #levels { thead { tr {
                    th { (lang.pick("层级", "Level")) } th.num { (lang.pick("默认比例", "Default rate")) } th { (lang.pick("单品比例", "Per-SKU rates")) }
                } } tbody {
                    @for l in &settings.rates.levels { tr {
                        td { @if l.level == 1 { (lang.pick("一级（推广员本人）", "1 (the promoter)")) } @else { (lang.pick("二级（推广员的上级）", "2 (the promoter's upline)")) } }
                        td.num { (rate(l.default_bp)) }
                        td { @for (sku, bp) in &l.sku_bp { span.tag { (sku) " " (rate(*bp)) } " " } }
                    } }
                } }
                p.note { (lang.pick("最多两级：更深的分佣链在中国属于传销。", "Two levels at most: deeper chains are unlawful pyramid selling in China.")) }
            }
            section.panel {
                h2 { (lang.pick("任命推广员", "Appoint a promoter")) }
                form #new-promoter data-api="/api/v1/promoters" data-method="POST" data-redirect="/console/social/distribution" {
                    (field(lang.pick("会员 ID", "Member id"), html! { input name="member_id" placeholder="mem_…" required; }, None))
                    (field(lang.pick("上级推广员 ID", "Upline promoter id"), html! { input name="upline_id" placeholder="mem_…"; }, Some(lang.pick("可留空；上级赚二级佣金", "optional; the upline earns the level-2 commission"))))
                    button type="submit" { (lang.pick("任命", "Appoint")) }
                }
            }
        }
        section.panel {
            h2 { (lang.pick("提现审核", "Withdrawals to review")) }
            @if queue.is_empty() { p.muted { (lang.pick("没有待处理的提现。", "No withdrawals waiting.")) } } @else {
                table #withdrawals { thead { tr {
                    th { (lang.pick("申请时间", "Requested")) } th { (lang.pick("推广员", "Promoter")) } th.num { (lang.pick("金额", "Amount")) }
                    th { (lang.pick("状态", "Status")) } th { (lang.pick("备注", "Note")) } th {}
                } } tbody {
                    @for w in &queue { tr {
                        td { (local_time(w.requested_at, &zone)) } td { (member_link(&w.promoter_id)) } td.num { (yuan(w.amount_fen)) }
                        td { (status_label(lang, &w.status)) } td { (w.note.as_deref().unwrap_or("")) }
                        td {
                            @if w.status == "requested" {
                                (review(&w.id, "approve", lang.pick("通过", "Approve"), None))
                                " · "
                                (review(&w.id, "reject", lang.pick("拒绝", "Reject"), Some(lang.pick("原因（可选）", "why (optional)"))))
                            } @else {
                                (review(&w.id, "pay", lang.pick("标记已打款", "Mark paid"), None))
                            }
                        }
                    } }
                } }
            }
        }
        section.panel {
            h2 { (lang.pick("推广员", "Promoters")) " " (export_link(lang, "promoters", "promoters")) }
            @if promoters.is_empty() { p.muted { (lang.pick("还没有推广员。", "No promoters yet.")) } } @else {
                table.sortable #promoters { thead { tr {
                    th { (lang.pick("推广员", "Promoter")) } th { (lang.pick("上级", "Upline")) } th { (lang.pick("状态", "Status")) } th { (lang.pick("加入", "Joined")) }
                    th.num { (lang.pick("待结算", "Pending")) } th.num { (lang.pick("已结算", "Settled")) } th.num { (lang.pick("已扣回", "Clawed back")) }
                    th.num { (lang.pick("已提现", "Withdrawn")) } th.num { (lang.pick("可提现", "Available")) }
                } } tbody {
                    @for (row, b) in &promoters { tr {
                        td { (member_link(&row.member_id)) }
                        td { @if let Some(up) = &row.upline_id { (member_link(up)) } @else { "—" } }
                        td { (status_label(lang, &row.status)) }
                        td { (local_date(row.joined_at, &zone)) }
                        td.num data-sort=(b.pending_fen) { (yuan(b.pending_fen)) }
                        td.num data-sort=(b.settled_fen) { (yuan(b.settled_fen)) }
                        td.num data-sort=(b.clawed_back_fen) { (yuan(b.clawed_back_fen)) }
                        td.num data-sort=(b.withdrawn_fen) { (yuan(b.withdrawn_fen)) }
                        td.num data-sort=(b.available_fen()) { (yuan(b.available_fen())) }
                    } }
                } }
                @if promoters.len() as i64 == PROMOTERS {
                    p.note { (lang.pick("只显示佣金最多的 ", "Showing the ")) (PROMOTERS) (lang.pick(" 位。", " who earned most.")) }
                }
            }
        }
        section.panel {
            h2 { (lang.pick("分销设置", "Distribution settings")) }
            form #distribution-settings data-api="/api/v1/distribution/settings" data-method="PUT" data-body="raw" {
                (field(lang.pick("设置（JSON）", "Settings (JSON)"), html! { textarea name="settings" rows="14" { (doc_json) } },
                    Some(lang.pick("eligibility: everyone / appointed / min_spend；binding: permanent / expires / latest；rate_bp 为万分比（1000 = 10%）",
                        "eligibility: everyone, appointed or min_spend; binding: permanent, expires or latest; rate_bp in basis points (1000 = 10 %)"))))
                button type="submit" { (lang.pick("保存", "Save")) }
            }
        }
    };
    Ok(layout::page(
        console,
        lang.pick("分销", "Distribution"),
        body,
    ))
}

pub async fn page(State(state): State<AppState>, console: Console) -> Response {
    respond(&console, render(&state, &console).await)
}
