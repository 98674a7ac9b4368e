//! `/status`: an honest status page in zh-CN or English (from `Accept-Language`, or
//! `?lang=`): what is running, on which storage, and what the API offers. `/` itself opens
//! the operator console.

use axum::extract::{Query, State};
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::openapi::operations;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lang {
    ZhCn,
    En,
}

/// `?lang=` wins; otherwise the first of zh/en in Accept-Language; Chinese by default.
pub fn negotiate(query: Option<&str>, accept_language: Option<&str>) -> Lang {
    match query {
        Some("en") => return Lang::En,
        Some("zh-CN") | Some("zh") => return Lang::ZhCn,
        _ => {}
    }
    let Some(header) = accept_language else {
        return Lang::ZhCn;
    };
    let mut best: Option<(f32, Lang)> = None;
    for part in header.split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let lang = if tag.starts_with("zh") {
            Lang::ZhCn
        } else if tag.starts_with("en") {
            Lang::En
        } else {
            continue;
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, lang)| lang).unwrap_or(Lang::ZhCn)
}

fn escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub async fn page(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = negotiate(
        query.lang.as_deref(),
        headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
    );
    let t = |zh: &'static str, en: &'static str| if lang == Lang::ZhCn { zh } else { en };
    let ready = state.app.store.ping().await.is_ok();
    let workspaces = state
        .app
        .store
        .workspaces()
        .await
        .map(|w| w.len())
        .unwrap_or(0);
    let jobs = state.app.store.job_state_counts().await.unwrap_or_default();
    let job_summary = if jobs.is_empty() {
        t("队列为空", "queue empty").to_owned()
    } else {
        jobs.iter()
            .map(|c| format!("{} {}", c.state.as_str(), c.count))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let rows: String = operations()
        .into_iter()
        .map(|(method, path, summary)| {
            format!(
                "<tr><td><code>{method}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                escape(&path),
                escape(summary.lines().next().unwrap_or(""))
            )
        })
        .collect();
    let html_lang = if lang == Lang::ZhCn { "zh-CN" } else { "en" };
    let html = format!(
        r#"<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>quanzi 圈子</title>
<style>
body{{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1f2328}}
h1{{margin-bottom:.2rem}} .sub{{color:#656d76;margin-top:0}} table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}}
.ok{{color:#1a7f37}} .bad{{color:#cf222e}} .note{{background:#fff8c5;border:1px solid #d4a72c66;padding:.6rem .8rem;border-radius:6px}}
nav a{{margin-right:1rem}}
</style></head><body>
<nav><a href="?lang=zh-CN">中文</a><a href="?lang=en">English</a></nav>
<h1>quanzi 圈子</h1>
<p class="sub">{tagline}</p>
<table>
<tr><th>{version_l}</th><td>{version}</td></tr>
<tr><th>{storage_l}</th><td>{backend} · <span class="{ready_class}">{ready_text}</span></td></tr>
<tr><th>{node_l}</th><td><code>{node}</code></td></tr>
<tr><th>{workspaces_l}</th><td>{workspaces}</td></tr>
<tr><th>{jobs_l}</th><td>{job_summary}</td></tr>
</table>
<p class="note">{note}</p>
<h2>{api_l}</h2>
<p>{api_hint} <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> · <a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a> · <a href="/metrics">/metrics</a></p>
<table><tr><th>{method_l}</th><th>{path_l}</th><th>{what_l}</th></tr>{rows}</table>
</body></html>"#,
        tagline = t("社交电商增长引擎：会员、积分、优惠券、裂变、拼团、分销与度量，一个二进制。", "The social-commerce growth engine: members, points, coupons, fission, group buys, distribution and measurement, in one binary."),
        version_l = t("版本", "Version"),
        version = env!("CARGO_PKG_VERSION"),
        storage_l = t("存储", "Storage"),
        backend = state.app.store.backend().as_str(),
        ready_class = if ready { "ok" } else { "bad" },
        ready_text = if ready { t("数据库正常", "database ready") } else { t("数据库无响应", "database not answering") },
        node_l = t("节点", "Node"),
        node = escape(&state.app.node_id),
        workspaces_l = t("工作区", "Workspaces"),
        jobs_l = t("后台任务", "Background jobs"),
        note = t(
            "运营控制台在 <a href=\"/console\">/console</a>。会员 OneID、行为事件、订单与退款、分群与标签、积分、优惠券与秒杀、拼团砍价裂变分销、风控，以及度量分析（指标与异常告警、实验、归因）均已可用。用 <code>quanzi serve --demo</code> 生成演示品牌，或用 <code>quanzi workspace create --name 品牌名</code> 创建工作区并获取管理员密钥。",
            "The operator console is at <a href=\"/console\">/console</a>. Members and OneID, events, orders and refunds, segments and tags, loyalty, coupons and flash sales, group buys, bargains, referrals and distribution, anti-fraud, and analytics (metrics with anomaly alerts, experiments, attribution) all run. Start a demo brand with <code>quanzi serve --demo</code>, or create a workspace and get an admin key with <code>quanzi workspace create --name Brand</code>."
        ),
        api_l = t("API 接口", "API"),
        api_hint = t("完整说明：", "Full description:"),
        method_l = t("方法", "Method"),
        path_l = t("路径", "Path"),
        what_l = t("说明", "What it does"),
    );
    Html(html).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_the_default_and_quality_values_decide() {
        assert_eq!(negotiate(None, None), Lang::ZhCn);
        assert_eq!(negotiate(None, Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(negotiate(None, Some("en;q=0.5,zh-CN;q=0.9")), Lang::ZhCn);
        assert_eq!(negotiate(None, Some("fr-FR")), Lang::ZhCn);
        assert_eq!(negotiate(Some("en"), Some("zh-CN")), Lang::En);
    }
}
