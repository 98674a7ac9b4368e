//! The page shell: the navigation, the language switch and logout around a page's body.

use maud::{html, Markup, DOCTYPE};

use super::session::Console;
use super::Lang;

/// The console's sections, as (path, 中文, English). Only pages that exist are listed.
const NAV: &[(&str, &str, &str)] = &[
    ("/console/dashboard", "概览", "Overview"),
    ("/console/members", "会员", "Members"),
    ("/console/segments", "分群", "Segments"),
    ("/console/loyalty", "积分", "Loyalty"),
    ("/console/promotions/coupons", "优惠券", "Coupons"),
    ("/console/promotions/flash-sales", "秒杀", "Flash sales"),
    ("/console/promotions/pricing", "算价沙盒", "Pricing sandbox"),
    ("/console/social", "社交裂变", "Social"),
    ("/console/social/distribution", "分销", "Distribution"),
    ("/console/analytics/funnel", "漏斗", "Funnel"),
    ("/console/analytics/retention", "留存", "Retention"),
    ("/console/analytics/rfm", "RFM 分层", "RFM"),
    ("/console/analytics/attribution", "归因", "Attribution"),
    ("/console/analytics/clv", "终身价值", "Lifetime value"),
    ("/console/analytics/experiments", "实验", "Experiments"),
    ("/console/analytics/alerts", "异常告警", "Alerts"),
    ("/console/settings", "设置", "Settings"),
];

/// A whole page.
pub fn page(console: &Console, title: &str, body: Markup) -> Markup {
    let lang = console.lang;
    // The longest section the path is under, so `/console/social/distribution` lights
    // up 分销 and not 社交裂变 too.
    let current = NAV
        .iter()
        .map(|(path, _, _)| *path)
        .filter(|path| console.path.starts_with(path))
        .max_by_key(|path| path.len());
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="csrf-token" content=(console.csrf_token);
                title { (title) " · " (lang.pick("圈子控制台", "quanzi console")) }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                nav.side {
                    a.brand href="/console/dashboard" { "圈子 " span { "quanzi" } }
                    @for (path, zh, en) in NAV {
                        a.current[current == Some(*path)] href=(path) { (lang.pick(zh, en)) }
                    }
                }
                div.main {
                    header.top {
                        h1 { (title) }
                        div.tools {
                            (workspace_switch(console))
                            a.lang href=(format!("/console/lang?to={}&back={}", lang.other().code(), encode(&console.path))) {
                                (lang.pick("English", "中文"))
                            }
                            form.inline method="post" action="/console/logout" {
                                input type="hidden" name="csrf" value=(console.csrf_token);
                                button.link type="submit" { (lang.pick("退出", "Log out")) }
                            }
                        }
                    }
                    main { (body) }
                }
            }
        }
    }
}

/// The current workspace's name; with more than one, a switch (a plain form, so it works
/// without the script).
fn workspace_switch(console: &Console) -> Markup {
    let lang = console.lang;
    let current = &console.principal.workspace_id;
    let name = console
        .workspaces
        .iter()
        .find(|(id, _)| id == current)
        .map_or(current.as_str(), |(_, name)| name.as_str());
    html! {
        @if console.workspaces.len() > 1 {
            form.inline.workspace method="post" action="/console/workspace" {
                input type="hidden" name="csrf" value=(console.csrf_token);
                select name="workspace_id" aria-label=(lang.pick("切换工作区", "Switch workspace")) onchange="this.form.submit()" {
                    @for (id, name) in &console.workspaces {
                        option value=(id.as_str()) selected[id == current] { (name) }
                    }
                }
                noscript { button.link type="submit" { (lang.pick("切换", "Switch")) } }
            }
        } @else {
            span.workspace title=(current.as_str()) { (name) }
        }
    }
}

/// A page outside the session (the login).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body.bare { (body) }
        }
    }
}

/// Percent-encodes a path for a query value.
pub fn encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
