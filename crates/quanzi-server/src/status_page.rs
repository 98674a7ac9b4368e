//! `/`: an honest status page in zh-CN or English (from `Accept-Language`, or `?lang=`):
//! what is running, on which storage, and what the API offers so far. The operator console
//! and demo data come with a later release; this page says so rather than pretend.

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
            "目前提供：工作区、操作员与角色、API 密钥、登录、幂等请求、持久化后台任务，以及会员 OneID（识别、关联、合并）、行为事件批量上报、订单与退款、生命周期与 RFM、兴趣标签、人群分群、营销同意与个人信息导出/删除，以及积分（复式记账积分账本、过期、订单积分与退款冲回、签到、会员等级、积分商城）。运营控制台与演示数据将在后续版本提供。用 <code>quanzi workspace create --name 品牌名</code> 创建工作区并获取管理员密钥。",
            "What runs today: workspaces, operators and roles, API keys, login, idempotent requests, durable background jobs, member OneID (identify, link, merge), batch event ingestion, orders and refunds, lifecycle and RFM, interest tags, segments, marketing consent and member export/erasure, and loyalty (a double-entry points ledger with expiry, order points reversed on refunds, check-in, tiers, a points mall). The operator console and demo data come in later releases. Create a workspace and get an admin key with <code>quanzi workspace create --name Brand</code>."
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
