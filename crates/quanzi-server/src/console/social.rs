//! Social commerce: referral programs with their invite tree by generation and K-factor
//! and the largest trees drawn (`referral_tree`), group buys with fill and failure,
//! bargains, the anti-fraud review queue, and forms that set up a group buy or a bargain
//! through the API.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::social::{bargain, fraud, group_buy, referral};
use quanzi_app::services::workspaces::time_zone;

use super::format::{count, local_time, percent, yuan};
use super::session::Console;
use super::widgets::{field, respond};
use super::{layout, referral_tree, Lang};
use crate::error::ApiError;
use crate::state::AppState;

async fn render(state: &AppState, console: &Console) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let mut programs = Vec::new();
    for program in referral::programs(app, p).await? {
        let (stats, trees) =
            referral::stats_and_trees(app, p, &program.row.id, referral_tree::LIMITS).await?;
        programs.push((program, stats, trees));
    }
    let mut group_buys = Vec::new();
    for campaign in group_buy::campaigns(app, p).await? {
        let (stats, shares) = group_buy::stats(app, p, &campaign.row.id).await?;
        group_buys.push((campaign, stats, shares));
    }
    let bargains = bargain::campaigns(app, p).await?;
    let flags = fraud::flags(app, p, Some("open")).await?;
    let body = html! {
        section.panel {
            h2 { (lang.pick("裂变邀请", "Referral programs")) }
            @for (program, stats, trees) in &programs {
                h3 { (program.row.name) " · K = " (format!("{:.2}", stats.k_factor())) }
                p.note {
                    (lang.pick("成员 ", "members ")) (count(stats.members as i64)) " · "
                    (lang.pick("邀请人 ", "inviters ")) (count(stats.inviters as i64)) " · "
                    (lang.pick("被邀请 ", "invitees ")) (count(stats.invitees as i64)) " · "
                    (lang.pick("转化 ", "converted ")) (count(stats.converted as i64)) " (" (percent(Some(stats.conversion_rate()))) ") · "
                    (lang.pick("人均分享 ", "shares per member ")) (format!("{:.2}", stats.shares_per_capita()))
                }
                table { thead { tr {
                    th { (lang.pick("代", "Generation")) } th.num { (lang.pick("人数", "Members")) } th.num { (lang.pick("邀请人", "Inviters")) }
                    th.num { (lang.pick("邀请到", "Invited")) } th.num { (lang.pick("其中转化", "Converted")) } th.num { "K" }
                } } tbody {
                    @for g in &stats.generations { tr {
                        td { (g.generation) } td.num { (count(g.members as i64)) } td.num { (count(g.inviters as i64)) }
                        td.num { (count(g.invitees as i64)) } td.num { (count(g.converted as i64)) } td.num { (format!("{:.2}", g.k_factor())) }
                    } }
                } }
                (referral_tree::draw(lang, trees))
            }
            @if programs.is_empty() { p.muted { (lang.pick("还没有邀请活动。", "No referral programs yet.")) } }
        }
        section.panel {
            h2 { (lang.pick("拼团", "Group buys")) }
            table.sortable #group-buys { thead { tr {
                th { (lang.pick("活动", "Campaign")) } th.num { (lang.pick("成团人数", "Group size")) }
                th.num { (lang.pick("进行中", "Open")) } th.num { (lang.pick("成团", "Succeeded")) } th.num { (lang.pick("虚拟成团", "Virtually")) }
                th.num { (lang.pick("失败", "Failed")) } th.num { (lang.pick("成团率", "Success rate")) } th.num { (lang.pick("平均成团时长", "Mean fill time")) }
                th.num { (lang.pick("分享", "Shares")) }
            } } tbody {
                @for (c, s, shares) in &group_buys {
                    @let ended = s.succeeded + s.succeeded_virtually + s.failed;
                    tr {
                        td { (c.row.name) } td.num { (c.row.group_size) } td.num { (count(s.open)) } td.num { (count(s.succeeded)) }
                        td.num { (count(s.succeeded_virtually)) } td.num { (count(s.failed)) }
                        td.num { (percent((ended > 0).then(|| (s.succeeded + s.succeeded_virtually) as f64 / ended as f64))) }
                        td.num { (s.mean_fill_ms.map_or("—".into(), |ms| format!("{:.1} h", ms as f64 / 3_600_000.0))) }
                        td.num { (count(*shares)) }
                    }
                }
            } }
        }
        section.panel {
            h2 { (lang.pick("砍价", "Bargains")) }
            table #bargains { thead { tr {
                th { (lang.pick("活动", "Campaign")) } th { "SKU" } th.num { (lang.pick("原价", "Start price")) } th.num { (lang.pick("底价", "Floor")) }
                th.num { (lang.pick("需助力", "Helpers")) } th { (lang.pick("状态", "Status")) } th { (lang.pick("结束", "Ends")) }
            } } tbody {
                @for b in &bargains { tr {
                    td { (b.row.name) } td { (b.row.sku) } td.num { (yuan(b.rules.start_price_fen)) } td.num { (yuan(b.rules.floor_price_fen)) }
                    td.num { (b.rules.helpers_needed) } td { (b.row.status) } td { (local_time(b.row.ends_at, &zone)) }
                } }
            } }
        }
        div.grid2 {
            section.panel { h2 { (lang.pick("新建拼团", "New group buy")) } (group_buy_form(lang)) }
            section.panel { h2 { (lang.pick("新建砍价", "New bargain")) } (bargain_form(lang)) }
        }
        section.panel {
            h2 { (lang.pick("风控待审核", "Fraud review queue")) }
            @if flags.is_empty() { p.muted { (lang.pick("没有待审核的奖励。", "Nothing waiting for review.")) } } @else {
                table #fraud { thead { tr {
                    th { (lang.pick("时间", "Flagged")) } th { (lang.pick("邀请人", "Inviter")) } th { (lang.pick("原因", "Why")) } th {}
                } } tbody {
                    @for f in &flags {
                        @let signals: serde_json::Value = serde_json::from_str(&f.signals).unwrap_or_default();
                        tr {
                            td { (local_time(f.created_at, &zone)) }
                            td { a href=(format!("/console/members/{}", f.member_id)) { (f.member_id) } }
                            td { @for s in signals.as_array().into_iter().flatten() { div { (s["reason"].as_str().unwrap_or("")) } } }
                            td {
                                form.inline data-api=(format!("/api/v1/fraud/flags/{}/review", f.id)) data-method="POST" {
                                    input type="hidden" name="approve" value="true" data-type="json";
                                    button.link type="submit" { (lang.pick("通过", "Approve")) }
                                }
                                " · "
                                form.inline data-api=(format!("/api/v1/fraud/flags/{}/review", f.id)) data-method="POST" {
                                    input type="hidden" name="approve" value="false" data-type="json";
                                    button.link type="submit" { (lang.pick("拒绝", "Reject")) }
                                }
                            }
                        }
                    }
                } }
            }
        }
    };
    Ok(layout::page(
        console,
        lang.pick("社交裂变", "Social commerce"),
        body,
    ))
}

/// The window a campaign runs in; the browser sends its local time as RFC 3339.
fn window(lang: Lang) -> Markup {
    html! {
        (field(lang.pick("开始", "Starts"), html! { input name="starts_at" type="datetime-local" required; }, None))
        (field(lang.pick("结束", "Ends"), html! { input name="ends_at" type="datetime-local" required; }, Some(lang.pick("按浏览器所在时区", "in the browser's time zone"))))
    }
}

fn group_buy_form(lang: Lang) -> Markup {
    html! {
        form #new-group-buy data-api="/api/v1/group-buys" data-method="POST" data-redirect="/console/social" {
            (field(lang.pick("名称", "Name"), html! { input name="name" required; }, None))
            (field("SKU", html! { input name="sku" required; }, None))
            (field(lang.pick("拼团价（元）", "Group price (yuan)"), html! { input name="group_price_fen" type="number" step="0.01" min="0" data-type="yuan" required; }, None))
            (field(lang.pick("原价（元）", "Original price (yuan)"), html! { input name="original_price_fen" type="number" step="0.01" min="0" data-type="yuan" required; }, None))
            (field(lang.pick("成团人数", "Group size"), html! { input name="group_size" type="number" min="2" max="100" value="3" required; }, Some(lang.pick("含团长，2–100", "the leader included, 2–100"))))
            (field(lang.pick("成团时限（小时）", "Hours to fill"), html! { input name="duration_hours" type="number" min="1" max="168" value="24"; }, None))
            (field(lang.pick("每人限参团", "Groups per member"), html! { input name="per_member_limit" type="number" min="1" value="1"; }, None))
            (field(lang.pick("团长奖励积分", "Leader points"), html! { input name="leader_points" type="number" min="0" value="0"; }, None))
            (field(lang.pick("虚拟成团（%）", "Virtual completion (%)"), html! { input name="virtual_completion_percent" type="number" min="1" max="100"; },
                Some(lang.pick("到期时参团人数达到该比例即成团；留空为不启用", "a group this full at expiry succeeds; empty: off"))))
            (window(lang))
            button type="submit" { (lang.pick("创建", "Create")) }
        }
    }
}

fn bargain_form(lang: Lang) -> Markup {
    html! {
        form #new-bargain data-api="/api/v1/bargain-campaigns" data-method="POST" data-redirect="/console/social" {
            (field(lang.pick("名称", "Name"), html! { input name="name" required; }, None))
            (field("SKU", html! { input name="sku" required; }, None))
            (field(lang.pick("起砍价（元）", "Start price (yuan)"), html! { input name="start_price_fen" type="number" step="0.01" min="0" data-type="yuan" required; }, None))
            (field(lang.pick("底价（元）", "Floor price (yuan)"), html! { input name="floor_price_fen" type="number" step="0.01" min="0" data-type="yuan" required; }, None))
            (field(lang.pick("需助力人数", "Helpers needed"), html! { input name="helpers_needed" type="number" min="1" value="5" required; }, None))
            (field(lang.pick("每刀最少（元）", "Least cut (yuan)"), html! { input name="min_cut_fen" type="number" step="0.01" min="0" data-type="yuan" required; }, None))
            (field(lang.pick("每刀最多（元）", "Largest cut (yuan)"), html! { input name="max_cut_fen" type="number" step="0.01" min="0" data-type="yuan" required; },
                Some(lang.pick("人数 × 最少 ≤ 起砍价 − 底价 ≤ 人数 × 最多", "helpers × least ≤ start − floor ≤ helpers × largest"))))
            (field(lang.pick("砍价时限（小时）", "Hours to bargain"), html! { input name="duration_hours" type="number" min="1" value="24"; }, None))
            (field(lang.pick("购买方式", "Buying"), html! {
                select name="mode" {
                    option value="must_reach_floor" { (lang.pick("砍到底价才能买", "only at the floor")) }
                    option value="buy_at_current" { (lang.pick("随时按当前价买", "at the current price, any time")) }
                }
            }, None))
            div.field { label { input name="new_users_only" type="checkbox"; " " (lang.pick("仅新用户可助力", "only new members may help")) } }
            (window(lang))
            button type="submit" { (lang.pick("创建", "Create")) }
        }
    }
}

pub async fn page(State(state): State<AppState>, console: Console) -> Response {
    respond(&console, render(&state, &console).await)
}
