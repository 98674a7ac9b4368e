//! Anomaly alerts: the rules, the alerts they fired (acknowledge), a rule form, and each
//! watched metric's daily series drawn with its seasonal band.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::analytics::{alerts, metrics};
use quanzi_app::services::workspaces::time_zone;
use quanzi_domain::analytics::anomaly::rule::{Granularity, Metric};

use super::chart::{self, LinePoint};
use super::format::{count, local_date, local_time, percent, yuan_f};
use super::layout;
use super::session::Console;
use super::widgets::{action, field, respond};
use super::Lang;
use crate::error::ApiError;
use crate::state::AppState;

pub fn metric_label(lang: Lang, metric: &str) -> &'static str {
    match metric {
        "gmv" => lang.pick("成交额", "GMV"),
        "orders" => lang.pick("订单数", "Orders"),
        "new_members" => lang.pick("新会员", "New members"),
        "active_members" => lang.pick("活跃会员", "Active members"),
        "conversion_rate" => lang.pick("转化率", "Conversion rate"),
        "refund_rate" => lang.pick("退款率", "Refund rate"),
        "share_rate" => lang.pick("分享率", "Share rate"),
        _ => lang.pick("其他", "Other"),
    }
}

pub fn show_value(metric: &str, v: f64) -> String {
    match metric {
        "gmv" => yuan_f(v),
        m if m.ends_with("_rate") => percent(Some(v)),
        _ => count(v.round() as i64),
    }
}

async fn render(state: &AppState, console: &Console) -> Result<Markup, ApiError> {
    let app = &state.app;
    let lang = console.lang;
    let p = &console.principal;
    let zone = time_zone(app, &p.workspace_id).await?;
    let rules = alerts::rules(app, p).await?;
    let fired = alerts::alerts(app, p, None).await?;
    let mut charts = Vec::new();
    for rule in rules
        .iter()
        .filter(|r| r.condition.granularity == Granularity::Day)
    {
        let series = metrics::series(
            app,
            p,
            rule.condition.metric,
            Granularity::Day,
            None,
            None,
            rule.condition.config(),
        )
        .await?;
        let name = rule.condition.metric.as_str();
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
        charts.push((
            rule.name.clone(),
            chart::line(&points, |v| show_value(name, v)),
        ));
    }
    let body = html! {
        section.panel {
            h2 { (lang.pick("告警", "Alerts")) }
            @if fired.is_empty() { p.muted { (lang.pick("还没有触发过告警。", "No alert has fired yet.")) } } @else {
                table.sortable #alerts { thead { tr {
                    th { (lang.pick("触发时间", "Fired")) } th { (lang.pick("指标", "Metric")) } th { (lang.pick("时段", "Bucket")) }
                    th.num { (lang.pick("数值", "Value")) } th.num { (lang.pick("基线", "Expected")) } th.num { "z" }
                    th { (lang.pick("动作", "Actions")) } th { (lang.pick("状态", "Status")) } th {}
                } } tbody {
                    @for a in &fired {
                        @let d: serde_json::Value = serde_json::from_str(&a.details).unwrap_or_default();
                        tr {
                            td { (local_time(a.fired_at, &zone)) }
                            td { (metric_label(lang, &a.metric)) }
                            td { (local_time(a.bucket_start, &zone)) }
                            td.num { (d["value"].as_f64().map_or("—".into(), |v| show_value(&a.metric, v))) }
                            td.num { (d["expected"].as_f64().map_or("—".into(), |v| show_value(&a.metric, v))) }
                            td.num { (d["score"].as_f64().map_or("—".into(), |v| format!("{v:.1}"))) }
                            td { @for t in d["paused_coupon_templates"].as_array().into_iter().flatten() {
                                (lang.pick("暂停 ", "paused ")) (t.as_str().unwrap_or("")) " " } }
                            td { (a.status) }
                            td { @if a.status == "open" { (action(&format!("/api/v1/alerts/{}/acknowledge", a.id), lang.pick("确认", "Acknowledge"))) } }
                        }
                    }
                } }
            }
        }
        div.grid2 { @for (name, svg) in &charts { section.panel { h2 { (name) } (svg) } } }
        section.panel {
            h2 { (lang.pick("告警规则", "Alert rules")) }
            table { thead { tr {
                th { (lang.pick("名称", "Name")) } th { (lang.pick("指标", "Metric")) } th { (lang.pick("粒度", "Granularity")) }
                th { (lang.pick("方法", "Method")) } th { (lang.pick("方向", "Direction")) } th.num { (lang.pick("阈值", "Threshold")) }
                th { (lang.pick("触发后暂停的券", "Pauses coupons")) } th { (lang.pick("启用", "Enabled")) }
            } } tbody {
                @for r in &rules { tr {
                    td { (r.name) } td { (metric_label(lang, r.condition.metric.as_str())) } td { (r.condition.granularity.as_str()) }
                    td { (r.condition.method.as_str()) } td { (r.condition.direction.as_str()) } td.num { (r.condition.threshold) }
                    td { (r.actions.pause_coupon_templates.join(", ")) } td { (if r.enabled { "✓" } else { "—" }) }
                } }
            } }
            h2 { (lang.pick("新建规则", "New rule")) }
            form #new-rule data-api="/api/v1/alerts/rules" data-method="POST" data-redirect="/console/analytics/alerts" {
                div.grid2 {
                    div {
                        (field(lang.pick("名称", "Name"), html! { input name="name" required; }, None))
                        (field(lang.pick("指标", "Metric"), html! { select name="metric" {
                            @for m in Metric::ALL { option value=(m.as_str()) { (metric_label(lang, m.as_str())) } }
                        } }, None))
                        (field(lang.pick("方向", "Direction"), html! { select name="direction" {
                            option value="both" { (lang.pick("双向", "both")) } option value="up" { (lang.pick("上升", "up")) } option value="down" { (lang.pick("下降", "down")) }
                        } }, None))
                    }
                    div {
                        (field(lang.pick("阈值（|z|）", "Threshold (|z|)"), html! { input name="threshold" type="number" step="0.1" value="3.5"; }, None))
                        (field(lang.pick("基线周数", "Baseline weeks"), html! { input name="lookback_weeks" type="number" value="8"; }, None))
                        (field(lang.pick("触发后暂停的券模板", "Coupon templates to pause"), html! { input name="pause_coupon_templates" data-type="list" placeholder="cpt_…"; }, Some(lang.pick("逗号分隔", "comma separated"))))
                    }
                }
                button type="submit" { (lang.pick("创建规则", "Create rule")) }
            }
        }
    };
    Ok(layout::page(
        console,
        lang.pick("异常告警", "Anomaly alerts"),
        body,
    ))
}

pub async fn page(State(state): State<AppState>, console: Console) -> Response {
    respond(&console, render(&state, &console).await)
}
