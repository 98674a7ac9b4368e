//! The overview: the period's GMV, orders, UV value, share, refund and conversion rates,
//! new and active members beside the previous period; points and coupon liability; daily
//! trends with their seasonal band; open anomaly alerts.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::analytics::{alerts, metrics};
use quanzi_app::services::loyalty::ledger;
use quanzi_app::services::promotions::liability;
use quanzi_app::services::workspaces::time_zone;
use quanzi_domain::analytics::anomaly::rule::{Granularity, Metric};
use quanzi_domain::analytics::anomaly::AnomalyConfig;
use quanzi_domain::calendar::LocalDate;
use quanzi_domain::time::Timestamp;
use serde::Deserialize;

use super::chart::{self, LinePoint};
use super::format::{change, count, local_date, percent, yuan, yuan_f};
use super::layout;
use super::session::Console;
use super::widgets::respond;
use super::Lang;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct DashboardQuery {
    /// Days in the period: 7, 30 or 90 (default 30).
    days: Option<u32>,
}

struct Card {
    /// Stable name of the figure (`gmv`, `orders`…), for links and tests.
    key: &'static str,
    label: &'static str,
    value: String,
    /// Relative change from the previous period, and whether up is good.
    delta: Option<(f64, bool)>,
}

fn card(c: &Card, lang: Lang) -> Markup {
    html! {
        div.card data-metric=(c.key) {
            div.label { (c.label) }
            div.value { (c.value) }
            @match c.delta {
                Some((d, up_is_good)) => {
                    @let good = (d >= 0.0) == up_is_good;
                    div.delta.up[good].down[!good] {
                        (if d >= 0.0 { "▲ " } else { "▼ " }) (format!("{:.1}%", d.abs() * 100.0))
                        span.muted { " " (lang.pick("较上期", "vs previous")) }
                    }
                }
                None => div.delta.muted { (lang.pick("上期无数据", "no previous data")) }
            }
        }
    }
}

async fn page_for(state: &AppState, console: &Console, days: u32) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let now = app.clock.now();
    // Whole local days: the period ends at the coming midnight, so today is included.
    let today = LocalDate::of(now, &zone);
    let to = today.next_day().start_in(&zone);
    let from = today.add_days(1 - i64::from(days)).start_in(&zone);
    let (cur, prev) = metrics::overview(app, p, from, to).await?;
    let (points, _) = ledger::liability(app, p, 30).await?;
    let coupons = liability::report(app, p).await?;
    let coupon_outstanding: i64 = coupons.iter().filter_map(|t| t.outstanding_max_fen).sum();
    let coupon_budget_left: i64 = coupons.iter().filter_map(|t| t.budget_left_fen).sum();
    let cards = [
        Card {
            key: "gmv",
            label: lang.pick("成交额 GMV", "GMV"),
            value: yuan(cur.totals.gmv_fen),
            delta: change(cur.totals.gmv_fen as f64, prev.totals.gmv_fen as f64).map(|d| (d, true)),
        },
        Card {
            key: "orders",
            label: lang.pick("订单数", "Orders"),
            value: count(cur.totals.orders),
            delta: change(cur.totals.orders as f64, prev.totals.orders as f64).map(|d| (d, true)),
        },
        Card {
            key: "uv_value",
            label: lang.pick("UV 价值", "UV value"),
            value: yuan_f(cur.uv_value_fen()),
            delta: change(cur.uv_value_fen(), prev.uv_value_fen()).map(|d| (d, true)),
        },
        Card {
            key: "conversion_rate",
            label: lang.pick("转化率", "Conversion rate"),
            value: percent(Some(cur.value(Metric::ConversionRate))),
            delta: change(
                cur.value(Metric::ConversionRate),
                prev.value(Metric::ConversionRate),
            )
            .map(|d| (d, true)),
        },
        Card {
            key: "share_rate",
            label: lang.pick("分享率", "Share rate"),
            value: percent(Some(cur.value(Metric::ShareRate))),
            delta: change(cur.value(Metric::ShareRate), prev.value(Metric::ShareRate))
                .map(|d| (d, true)),
        },
        Card {
            key: "refund_rate",
            label: lang.pick("退款率", "Refund rate"),
            value: percent(Some(cur.value(Metric::RefundRate))),
            delta: change(
                cur.value(Metric::RefundRate),
                prev.value(Metric::RefundRate),
            )
            .map(|d| (d, false)),
        },
        Card {
            key: "new_members",
            label: lang.pick("新会员", "New members"),
            value: count(cur.totals.new_members),
            delta: change(
                cur.totals.new_members as f64,
                prev.totals.new_members as f64,
            )
            .map(|d| (d, true)),
        },
        Card {
            key: "active_members",
            label: lang.pick("活跃会员", "Active members"),
            value: count(cur.totals.active_members),
            delta: change(
                cur.totals.active_members as f64,
                prev.totals.active_members as f64,
            )
            .map(|d| (d, true)),
        },
    ];
    let mut trends = Vec::new();
    for (metric, zh, en) in [
        (Metric::Gmv, "每日成交额", "GMV per day"),
        (Metric::Orders, "每日订单", "Orders per day"),
        (Metric::NewMembers, "每日新会员", "New members per day"),
        (Metric::RefundRate, "每日退款率", "Refund rate per day"),
    ] {
        let series = metrics::series(
            app,
            p,
            metric,
            Granularity::Day,
            Some(from),
            Some(to),
            AnomalyConfig::default(),
        )
        .await?;
        let points: Vec<LinePoint> = series
            .points
            .iter()
            .map(|s| LinePoint {
                label: local_date(s.start, &zone),
                value: s.measured.value.is_finite().then_some(s.measured.value),
                band: s.judged.lower.zip(s.judged.upper),
                flagged: s.judged.anomalous,
            })
            .collect();
        let svg = match metric {
            Metric::Gmv => chart::line(&points, yuan_f),
            Metric::RefundRate => chart::line(&points, |v| percent(Some(v))),
            _ => chart::line(&points, |v| count(v.round() as i64)),
        };
        trends.push((lang.pick(zh, en), svg));
    }
    let open = alerts::alerts(app, p, Some("open")).await?;
    let body = html! {
        p.muted #period data-from=(from.to_rfc3339()) data-to=(to.to_rfc3339()) {
            (lang.pick("统计区间", "Period")) " " (local_date(from, &zone)) " – "
            (local_date(Timestamp::from_millis(to.millis() - 1), &zone)) " (" (zone.name()) ") · "
            @for d in [7u32, 30, 90] {
                @if d == days { strong { (d) (lang.pick(" 天", " days")) } } @else {
                    a href=(format!("/console/dashboard?days={d}")) { (d) (lang.pick(" 天", " days")) }
                }
                " "
            }
        }
        div.cards { @for c in &cards { (card(c, lang)) } }
        div.cards {
            div.card {
                div.label { (lang.pick("积分负债（可用）", "Points outstanding")) }
                div.value { (count(points.outstanding)) }
                div.delta.muted { (lang.pick("30 天内到期 ", "expiring in 30 days ")) (count(points.expiring)) }
            }
            div.card {
                div.label { (lang.pick("优惠券未核销面额上限", "Coupons outstanding (max)")) }
                div.value { (yuan(coupon_outstanding)) }
                div.delta.muted { (lang.pick("剩余预算 ", "budget left ")) (yuan(coupon_budget_left)) }
            }
        }
        div.grid2 {
            @for (title, svg) in &trends {
                section.panel { h2 { (title) } (svg) }
            }
        }
        section.panel {
            h2 { (lang.pick("未处理的异常告警", "Open anomaly alerts")) }
            @if open.is_empty() {
                p.muted { (lang.pick("没有未处理的告警。", "No open alerts.")) }
            } @else {
                table {
                    thead { tr {
                        th { (lang.pick("指标", "Metric")) }
                        th { (lang.pick("时段", "Bucket")) }
                        th.num { (lang.pick("数值", "Value")) }
                        th.num { (lang.pick("基线", "Expected")) }
                        th { (lang.pick("规则", "Rule")) }
                    } }
                    tbody {
                        @for a in &open {
                            @let details: serde_json::Value = serde_json::from_str(&a.details).unwrap_or_default();
                            tr {
                                td { (super::alerts::metric_label(lang, &a.metric)) }
                                td { (local_date(a.bucket_start, &zone)) }
                                td.num { (show_metric(&a.metric, details["value"].as_f64())) }
                                td.num { (show_metric(&a.metric, details["expected"].as_f64())) }
                                td { (details["rule_name"].as_str().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(console, lang.pick("概览", "Overview"), body))
}

fn show_metric(metric: &str, v: Option<f64>) -> String {
    match (metric, v) {
        (_, None) => "—".into(),
        ("gmv", Some(v)) => yuan_f(v),
        (m, Some(v)) if m.ends_with("_rate") => percent(Some(v)),
        (_, Some(v)) => count(v.round() as i64),
    }
}

pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(q): Query<DashboardQuery>,
) -> Response {
    let days = match q.days {
        Some(7) => 7,
        Some(90) => 90,
        _ => 30,
    };
    respond(&console, page_for(&state, &console, days).await)
}
