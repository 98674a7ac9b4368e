//! Social commerce: referral programs with their invite tree by generation and K-factor,
//! group buys with fill and failure, bargains, and the anti-fraud review queue.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::social::{bargain, fraud, group_buy, referral};
use quanzi_app::services::workspaces::time_zone;

use super::format::{count, local_time, percent};
use super::layout;
use super::session::Console;
use super::widgets::respond;
use crate::error::ApiError;
use crate::state::AppState;

async fn render(state: &AppState, console: &Console) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let mut programs = Vec::new();
    for program in referral::programs(app, p).await? {
        let stats = referral::stats(app, p, &program.row.id).await?;
        programs.push((program, stats));
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
            @for (program, stats) in &programs {
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
            table { thead { tr {
                th { (lang.pick("活动", "Campaign")) } th { "SKU" } th { (lang.pick("状态", "Status")) } th { (lang.pick("结束", "Ends")) }
            } } tbody {
                @for b in &bargains { tr {
                    td { (b.row.name) } td { (b.row.sku) } td { (b.row.status) } td { (local_time(b.row.ends_at, &zone)) }
                } }
            } }
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

pub async fn page(State(state): State<AppState>, console: Console) -> Response {
    respond(&console, render(&state, &console).await)
}
