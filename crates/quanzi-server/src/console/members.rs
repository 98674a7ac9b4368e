//! Members: search by any identity (phones and emails are matched by their keyed hash and
//! shown masked), a page through everyone, and a member's profile — identities, merges,
//! RFM and lifecycle, points, coupons, referrals, tags and the timeline.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::loyalty::ledger;
use quanzi_app::services::members::{self, TimelineEntry};
use quanzi_app::services::promotions::coupons;
use quanzi_app::services::social::referral;
use quanzi_app::services::tags;
use quanzi_app::services::workspaces::time_zone;
use quanzi_domain::members::LifecycleStage;
use serde::Deserialize;

use super::format::{count, local_time, yuan};
use super::layout::{self, encode};
use super::session::Console;
use super::widgets::{export_link, respond};
use super::Lang;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    after: Option<String>,
}

fn stage_label(lang: Lang, stage: LifecycleStage) -> &'static str {
    match stage {
        LifecycleStage::New => lang.pick("新客", "New"),
        LifecycleStage::Growing => lang.pick("成长期", "Growing"),
        LifecycleStage::Mature => lang.pick("成熟期", "Mature"),
        LifecycleStage::ChurnRisk => lang.pick("流失风险", "Churn risk"),
        LifecycleStage::Dormant => lang.pick("沉睡", "Dormant"),
    }
}

fn stage_of(now: quanzi_domain::time::Timestamp, m: &quanzi_store::MemberRow) -> LifecycleStage {
    LifecycleStage::of_profile(
        now,
        m.created_at,
        m.first_seen_at,
        m.last_seen_at,
        m.last_order_at,
        m.last_interaction_at,
    )
}

async fn list(state: &AppState, console: &Console, q: SearchQuery) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let now = app.clock.now();
    let page = members::search(app, p, q.q.as_deref(), q.after.as_deref(), 50).await?;
    let body = html! {
        form.panel method="get" action="/console/members" {
            input name="q" value=(q.q.clone().unwrap_or_default())
                placeholder=(lang.pick("手机号、邮箱、openid、会员 ID…", "Phone, email, openid, member id…"));
            " " button type="submit" { (lang.pick("搜索", "Search")) }
        }
        section.panel {
            h2 { (lang.pick("会员", "Members")) " " (export_link(lang, "members", "members")) }
            table.sortable #members {
                thead { tr {
                    th { (lang.pick("会员", "Member")) }
                    th { (lang.pick("来源渠道", "Acquired via")) }
                    th { (lang.pick("生命周期", "Lifecycle")) }
                    th { "RFM" }
                    th.num { (lang.pick("订单", "Orders")) }
                    th.num { "GMV" }
                    th { (lang.pick("最近活跃", "Last seen")) }
                } }
                tbody {
                    @for m in &page.items {
                        tr {
                            td { a href=(format!("/console/members/{}", m.id)) { (m.id) } }
                            td { (m.acquisition_channel.as_deref().unwrap_or("—")) }
                            td { (stage_label(lang, stage_of(now, m))) }
                            td { (m.rfm.map_or("—".into(), |(s, _)| s.code())) }
                            td.num { (count(m.order_count)) }
                            td.num data-sort=(m.gmv_fen) { (yuan(m.gmv_fen)) }
                            td { (m.last_seen_at.map_or("—".into(), |t| local_time(t, &zone))) }
                        }
                    }
                }
            }
            @if page.items.is_empty() { p.muted { (lang.pick("没有找到会员。", "No members found.")) } }
            @if let Some(next) = &page.next_cursor {
                p { a href=(format!("/console/members?after={}", encode(next))) { (lang.pick("下一页 →", "Next page →")) } }
            }
        }
    };
    Ok(layout::page(console, lang.pick("会员", "Members"), body))
}

pub async fn search_page(
    State(state): State<AppState>,
    console: Console,
    Query(q): Query<SearchQuery>,
) -> Response {
    respond(&console, list(&state, &console, q).await)
}

async fn profile(state: &AppState, console: &Console, id: &str) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let now = app.clock.now();
    let view = members::get(app, p, id).await?;
    let m = &view.member;
    let points = ledger::summary(app, p, &m.id).await?;
    let member_coupons = coupons::member_coupons(app, p, &m.id, None).await?;
    let (bindings, rewards) = referral::of_member(app, p, &m.id).await?;
    let member_tags = tags::of_member(app, p, &m.id).await?;
    let (_, timeline) = members::timeline(app, p, &m.id, 50).await?;
    let invited = bindings.iter().filter(|b| b.inviter_id == m.id).count();
    let invited_by = bindings.iter().find(|b| b.invitee_id == m.id);
    let t = |at: Option<quanzi_domain::time::Timestamp>| {
        at.map_or("—".into(), |t| local_time(t, &zone))
    };
    let body = html! {
        div.cards {
            div.card { div.label { (lang.pick("生命周期", "Lifecycle")) } div.value { (stage_label(lang, stage_of(now, m))) } }
            div.card { div.label { "RFM" } div.value { (m.rfm.map_or("—".into(), |(s, _)| s.code())) } }
            div.card { div.label { (lang.pick("订单", "Orders")) } div.value { (count(m.order_count)) } }
            div.card { div.label { "GMV" } div.value { (yuan(m.gmv_fen)) } div.delta.muted { (lang.pick("退款 ", "refunded ")) (yuan(m.refund_fen)) } }
            div.card { div.label { (lang.pick("可用积分", "Points")) } div.value { (count(points.wallet.available())) }
                div.delta.muted { (lang.pick("即将到期 ", "expiring soon ")) (count(points.expiring_soon)) } }
            div.card { div.label { (lang.pick("邀请人数", "Invited")) } div.value { (invited) } }
        }
        div.grid2 {
            section.panel {
                h2 { (lang.pick("身份（OneID）", "Identities (OneID)")) }
                table { tbody {
                    @for i in &view.identities { tr { td { (i.kind.as_str()) } td { (i.display) } td.note { (t(Some(i.created_at))) } } }
                } }
                @if !view.merges.is_empty() {
                    h2 { (lang.pick("合并记录", "Merges")) }
                    ul { @for g in &view.merges { li { (g.merged_id) " → " (g.survivor_id) " · " (t(Some(g.at))) } } }
                }
            }
            section.panel {
                h2 { (lang.pick("画像", "Profile")) }
                table { tbody {
                    tr { th { (lang.pick("来源渠道", "Acquired via")) } td { (m.acquisition_channel.as_deref().unwrap_or("—")) } }
                    tr { th { (lang.pick("首次出现", "First seen")) } td { (t(m.first_seen_at)) } }
                    tr { th { (lang.pick("最近出现", "Last seen")) } td { (t(m.last_seen_at)) } }
                    tr { th { (lang.pick("最近互动", "Last interaction")) } td { (t(m.last_interaction_at)) } }
                    tr { th { (lang.pick("最近下单", "Last order")) } td { (t(m.last_order_at)) } }
                    tr { th { (lang.pick("邀请人", "Invited by")) } td { @match invited_by {
                        Some(b) => a href=(format!("/console/members/{}", b.inviter_id)) { (b.inviter_id) },
                        None => "—",
                    } } }
                    tr { th { (lang.pick("标签", "Tags")) } td { @for tag in &member_tags { span.tag { (tag.tag.name) } " " } } }
                    tr { th { (lang.pick("属性", "Traits")) } td { code.note { (m.traits) } } }
                } }
            }
        }
        section.panel {
            h2 { (lang.pick("优惠券", "Coupons")) }
            table.sortable { thead { tr {
                th { (lang.pick("券", "Coupon")) } th { (lang.pick("状态", "Status")) } th { (lang.pick("来源", "Source")) }
                th { (lang.pick("有效期至", "Valid until")) } th.num { (lang.pick("优惠", "Discount")) }
            } } tbody {
                @for c in &member_coupons { tr {
                    td { (c.id) } td { (c.status) } td { (c.source) } td { (t(Some(c.valid_until))) } td.num { (yuan(c.discount_fen)) }
                } }
            } }
            @if !rewards.is_empty() {
                h2 { (lang.pick("邀请奖励", "Referral rewards")) }
                p { (rewards.len()) (lang.pick(" 笔", " rewards")) }
            }
        }
        section.panel {
            h2 { (lang.pick("时间线", "Timeline")) }
            table { tbody {
                @for e in &timeline { tr {
                    td.note { (t(Some(e.at()))) }
                    @match e {
                        TimelineEntry::Event(ev) => {
                            td { (ev.event_type) } td { (ev.touchpoints.channel.as_deref().unwrap_or("")) }
                        }
                        TimelineEntry::Order(o) => {
                            td { (lang.pick("订单 ", "order ")) (o.external_id) } td { (yuan(o.paid_fen)) @if o.refunded_fen > 0 { " (" (lang.pick("退 ", "refunded ")) (yuan(o.refunded_fen)) ")" } }
                        }
                        TimelineEntry::Merge(g) => {
                            td { (lang.pick("合并", "merge")) } td { (g.merged_id) }
                        }
                    }
                } }
            } }
        }
    };
    Ok(layout::page(console, &m.id, body))
}

pub async fn profile_page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> Response {
    respond(&console, profile(&state, &console, &id).await)
}
