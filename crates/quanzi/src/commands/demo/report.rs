//! The summary, read back from the engine (its dashboards' own figures), so a second
//! run over the same database prints the same numbers as the run that made them.

use std::collections::BTreeMap;

use quanzi_app::principal::Principal;
use quanzi_app::services::analytics::{alerts, experiments, metrics};
use quanzi_app::services::loyalty::ledger;
use quanzi_app::services::promotions::flash;
use quanzi_app::services::social::{group_buy, referral};
use quanzi_app::App;
use quanzi_domain::time::Timestamp;

use super::brand::EXPERIMENT_KEY;

/// Labelled lines, in print order.
pub struct Summary {
    pub lines: Vec<(&'static str, String)>,
}

fn yuan(fen: i64) -> String {
    format!("¥{}.{:02}", fen / 100, (fen % 100).abs())
}

fn percent(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.1} %", 100.0 * part / whole)
    } else {
        "–".into()
    }
}

fn err(e: quanzi_app::Error) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

pub async fn summarize(
    app: &App,
    principal: &Principal,
    from: Timestamp,
    to: Timestamp,
) -> anyhow::Result<Summary> {
    let ws = &principal.workspace_id;
    let store = &app.store;
    let mut lines = Vec::new();

    // Members, their identities by kind, OneID merges and check-ins, member by member.
    let live = store.live_member_count(ws).await?;
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut merges, mut checkins, mut multi_platform) = (0u64, 0u64, 0u64);
    let mut after: Option<String> = None;
    loop {
        let page = store.members_page(ws, after.as_deref(), 200).await?;
        // The page's members side by side: reads run on the reader pool in parallel.
        let mut reads = tokio::task::JoinSet::new();
        for member in &page.items {
            let (store, ws, id) = (store.clone(), ws.clone(), member.id.clone());
            reads.spawn(async move {
                let identities = store.member_identities(&ws, &id).await?;
                let merges = store.member_merges(&ws, &id).await?.len() as u64;
                let checkins = store.checkins_since(&ws, &id, "0000-00-00").await?.len() as u64;
                Ok::<_, quanzi_store::StoreError>((identities, merges, checkins))
            });
        }
        while let Some(read) = reads.join_next().await {
            let (identities, member_merges, member_checkins) = read??;
            let mut platforms = 0;
            for identity in &identities {
                let kind = identity.kind.as_str();
                *kinds.entry(kind).or_default() += 1;
                if matches!(kind, "wechat_openid" | "douyin_id" | "tmall_id") {
                    platforms += 1;
                }
            }
            multi_platform += u64::from(platforms > 1);
            merges += member_merges;
            checkins += member_checkins;
        }
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    lines.push(("members", format!("{live}")));
    lines.push((
        "identities",
        format!(
            "wechat {} · douyin {} · tmall {} · phone {} · on two platforms {}",
            kinds.get("wechat_openid").unwrap_or(&0),
            kinds.get("douyin_id").unwrap_or(&0),
            kinds.get("tmall_id").unwrap_or(&0),
            kinds.get("phone").unwrap_or(&0),
            multi_platform
        ),
    ));
    lines.push(("merges", format!("{merges}")));
    lines.push(("events", format!("{}", store.count_events(ws).await?)));

    let (period, _) = metrics::overview(app, principal, from, to)
        .await
        .map_err(err)?;
    let t = &period.totals;
    lines.push(("orders", format!("{}", t.orders)));
    lines.push(("buyers", format!("{}", t.buyers)));
    lines.push(("gmv", yuan(t.gmv_fen)));
    lines.push((
        "aov",
        if t.orders > 0 {
            yuan(t.gmv_fen / t.orders)
        } else {
            "–".into()
        },
    ));
    lines.push((
        "refunds",
        format!(
            "{} ({} of GMV)",
            yuan(t.refund_fen),
            percent(t.refund_fen as f64, t.gmv_fen as f64)
        ),
    ));

    let usage = store.coupon_usage(ws).await?;
    let claimed: i64 = usage
        .iter()
        .map(|u| u.available + u.locked + u.used + u.expired + u.revoked)
        .sum();
    let used: i64 = usage.iter().map(|u| u.used).sum();
    let discount: i64 = usage.iter().map(|u| u.used_discount_fen).sum();
    lines.push((
        "coupons",
        format!("{claimed} issued · {used} used · {} off", yuan(discount)),
    ));
    lines.push(("coupons used", format!("{used}")));

    let (mut filled, mut failed, mut open) = (0, 0, 0);
    for campaign in group_buy::campaigns(app, principal).await.map_err(err)? {
        let (stats, _) = group_buy::stats(app, principal, &campaign.row.id)
            .await
            .map_err(err)?;
        filled += stats.succeeded + stats.succeeded_virtually;
        failed += stats.failed;
        open += stats.open;
    }
    lines.push((
        "group buys",
        format!("{filled} filled · {failed} failed · {open} open"),
    ));

    let mut sold = 0;
    for sale in flash::sales(app, principal).await.map_err(err)? {
        let sale = flash::sale(app, principal, &sale.id).await.map_err(err)?;
        sold += sale.skus.iter().map(|s| s.stock - s.remaining).sum::<i64>();
    }
    lines.push(("flash sale", format!("{sold} units sold")));

    for program in referral::programs(app, principal).await.map_err(err)? {
        let stats = referral::stats(app, principal, &program.row.id)
            .await
            .map_err(err)?;
        lines.push((
            "referrals",
            format!(
                "{} invited by {} inviters · {} converted",
                stats.invitees, stats.inviters, stats.converted
            ),
        ));
        lines.push(("k-factor", format!("{:.2}", stats.k_factor())));
    }

    lines.push(("check-ins", format!("{checkins}")));
    let (liability, _) = ledger::liability(app, principal, 30).await.map_err(err)?;
    let issued: i64 = liability
        .sources
        .iter()
        .map(|s| s.issued - s.returned)
        .sum();
    let spent: i64 = liability.sinks.iter().map(|(_, n)| n).sum();
    lines.push((
        "points",
        format!(
            "{issued} issued · {spent} spent (+{} held in the mall's cancel window) · {} outstanding · {} pending",
            liability.held, liability.outstanding, liability.pending_earned
        ),
    ));

    if let Ok(results) = experiments::results(app, principal, EXPERIMENT_KEY).await {
        let arms = results.arms.iter().chain(results.holdout.iter());
        let exposures: u64 = arms.clone().map(|a| a.members).sum();
        let converted: u64 = arms.clone().map(|a| a.converted).sum();
        lines.push(("exposures", format!("{exposures}")));
        lines.push(("exposed buyers", format!("{converted}")));
        let split = arms
            .map(|a| {
                format!(
                    "{} {}/{} ({})",
                    a.key,
                    a.converted,
                    a.members,
                    percent(a.converted as f64, a.members as f64)
                )
            })
            .collect::<Vec<_>>()
            .join(" · ");
        let chance = results
            .comparisons
            .first()
            .and_then(|c| c.conversion.as_ref().ok())
            .map(|r| format!(" · P(new_home beats control) {:.2}", r.chance_to_win))
            .unwrap_or_default();
        lines.push(("experiment", format!("{EXPERIMENT_KEY}: {split}{chance}")));
    }
    let fired = alerts::alerts(app, principal, None).await.map_err(err)?;
    lines.push((
        "alerts",
        match fired.first() {
            Some(alert) => format!(
                "{} fired (latest: {} on {})",
                fired.len(),
                alert.metric,
                alert.bucket_start.to_rfc3339()
            ),
            None => "none fired".into(),
        },
    ));
    Ok(Summary { lines })
}

impl Summary {
    pub fn print(&self) {
        for (label, value) in &self.lines {
            println!("{label:<14} {value}");
        }
    }
}
