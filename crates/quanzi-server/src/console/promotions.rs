//! Coupons: every template with its stacking, issue and use counts and live budget and
//! liability; pause and resume; a form that creates a template through the API.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::promotions::{coupons, liability};
use quanzi_domain::promotions::coupons::Stacking;

use super::format::{count, yuan};
use super::layout;
use super::session::Console;
use super::widgets::{action, export_link, field, respond};
use crate::error::ApiError;
use crate::state::AppState;

fn kind_label(lang: super::Lang, kind: &str) -> &'static str {
    match kind {
        "amount_off" => lang.pick("满减", "Amount off"),
        "no_threshold" => lang.pick("无门槛", "No threshold"),
        "percent_off" => lang.pick("折扣", "Percent off"),
        "free_shipping" => lang.pick("包邮", "Free shipping"),
        "gift" => lang.pick("赠品", "Gift"),
        _ => lang.pick("其他", "Other"),
    }
}

async fn render(state: &AppState, console: &Console) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let templates = coupons::templates(app, p).await?;
    let report = liability::report(app, p).await?;
    let body = html! {
        section.panel {
            h2 { (lang.pick("优惠券模板", "Coupon templates")) " " (export_link(lang, "templates", "coupon-templates")) }
            table.sortable #templates {
                thead { tr {
                    th { (lang.pick("名称", "Name")) }
                    th { (lang.pick("类型", "Kind")) }
                    th { (lang.pick("叠加", "Stacking")) }
                    th { (lang.pick("状态", "Status")) }
                    th.num { (lang.pick("已发放", "Issued")) }
                    th.num { (lang.pick("可用", "Available")) }
                    th.num { (lang.pick("已核销", "Used")) }
                    th.num { (lang.pick("已优惠", "Discount given")) }
                    th.num { (lang.pick("预算剩余", "Budget left")) }
                    th.num { (lang.pick("未核销上限", "Outstanding (max)")) }
                    th { }
                } }
                tbody {
                    @for t in &templates {
                        @let usage = report.iter().find(|r| r.template_id == t.row.id);
                        tr {
                            td { (t.row.name) br; span.note { (t.row.id) } }
                            td { (kind_label(lang, usage.map_or("", |u| u.kind))) }
                            td { @match &t.rules.stacking {
                                Stacking::Exclusive => (lang.pick("互斥", "exclusive")),
                                Stacking::Group { group, stacks_with } => {
                                    (group) " + " (stacks_with.iter().map(String::as_str).collect::<Vec<_>>().join(", "))
                                }
                            } }
                            td { (t.row.status) }
                            td.num { (count(usage.map_or(0, |u| u.issued))) }
                            td.num { (count(usage.map_or(0, |u| u.available))) }
                            td.num { (count(usage.map_or(0, |u| u.used))) }
                            td.num data-sort=(usage.map_or(0, |u| u.used_discount_fen)) { (yuan(usage.map_or(0, |u| u.used_discount_fen))) }
                            td.num { (usage.and_then(|u| u.budget_left_fen).map_or("∞".into(), yuan)) }
                            td.num { (usage.and_then(|u| u.outstanding_max_fen).map_or("—".into(), yuan)) }
                            td {
                                @if t.row.status == "active" {
                                    (action(&format!("/api/v1/coupon-templates/{}/pause", t.row.id), lang.pick("暂停", "Pause")))
                                } @else {
                                    (action(&format!("/api/v1/coupon-templates/{}/resume", t.row.id), lang.pick("恢复", "Resume")))
                                }
                            }
                        }
                    }
                }
            }
            @if templates.is_empty() { p.muted { (lang.pick("还没有优惠券模板。", "No coupon templates yet.")) } }
        }
        section.panel {
            h2 { (lang.pick("新建优惠券模板", "New coupon template")) }
            form #new-template data-api="/api/v1/coupon-templates" data-method="POST" data-redirect="/console/promotions/coupons" {
                div.grid2 {
                    div {
                        (field(lang.pick("名称", "Name"), html! { input name="name" required; }, None))
                        (field(lang.pick("类型", "Kind"), html! {
                            select name="kind" {
                                @for k in ["amount_off", "no_threshold", "percent_off", "free_shipping"] {
                                    option value=(k) { (kind_label(lang, k)) }
                                }
                            }
                        }, None))
                        (field(lang.pick("门槛（元）", "Threshold (yuan)"), html! { input name="threshold_fen" type="number" step="0.01" min="0" data-type="yuan"; }, None))
                        (field(lang.pick("减免金额（元）", "Amount off (yuan)"), html! { input name="amount_fen" type="number" step="0.01" min="0" data-type="yuan"; }, Some(lang.pick("满减、无门槛券", "amount off and no-threshold coupons"))))
                        (field(lang.pick("折扣（%）", "Percent off"), html! { input name="percent_off" type="number" min="1" max="99"; }, Some(lang.pick("10 = 九折", "10 = 10 % off"))))
                        (field(lang.pick("折扣封顶（元）", "Cap (yuan)"), html! { input name="cap_fen" type="number" step="0.01" min="0" data-type="yuan"; }, None))
                    }
                    div {
                        (field(lang.pick("领取后有效天数", "Valid days after claim"), html! { input name="use_days" type="number" min="1" value="7"; }, None))
                        (field(lang.pick("发放总量", "Total quantity"), html! { input name="total_quantity" type="number" min="1"; }, Some(lang.pick("留空为不限", "empty: unlimited"))))
                        (field(lang.pick("每人限领", "Per-member claim limit"), html! { input name="per_member_claim_limit" type="number" min="1"; }, None))
                        (field(lang.pick("预算上限（元）", "Budget (yuan)"), html! { input name="budget_fen" type="number" step="0.01" min="0" data-type="yuan"; }, Some(lang.pick("优惠总额达到后自动暂停", "pauses itself when the total discount reaches it"))))
                        (field(lang.pick("叠加分组", "Stacking group"), html! { input name="stacking.group" placeholder="coupon"; }, Some(lang.pick("留空为互斥", "empty: exclusive"))))
                        (field(lang.pick("可叠加的分组", "Stacks with groups"), html! { input name="stacking.stacks_with" data-type="list" placeholder="threshold, tier"; }, None))
                    }
                }
                button type="submit" { (lang.pick("创建", "Create")) }
            }
        }
    };
    Ok(layout::page(console, lang.pick("优惠券", "Coupons"), body))
}

pub async fn coupons_page(State(state): State<AppState>, console: Console) -> Response {
    respond(&console, render(&state, &console).await)
}
