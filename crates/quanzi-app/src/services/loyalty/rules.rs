//! Earning rules that pay for events: a share, a review with a photo (晒单), a referral, or
//! any custom event type. They run inside the ingest transaction that stores the events,
//! so a point is paid exactly when its event is stored, once per event (the request id
//! names the event), within the rule's active window and per-member caps per local day,
//! ISO week and month.

use std::collections::HashMap;
use std::time::Duration;

use quanzi_domain::calendar::TimeZone;
use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::loyalty::earning::{apply_caps, is_active, period_starts, EarningRule, Trigger};
use quanzi_domain::loyalty::ledger::{OnTimeout, Operation, Request, Timeout};
use quanzi_domain::time::Timestamp;
use quanzi_store::{NewEvent, StoreError, Tx};

use super::settings;
use crate::App;

/// A workspace's event rules and the zone its caps count calendar periods in.
pub(crate) struct RuleContext {
    pub rules: Vec<EarningRule>,
    pub tz: TimeZone,
}

/// The workspace's event rules; `None` when it has none (the common case costs nothing).
pub(crate) async fn load(app: &App, workspace: &WorkspaceId) -> crate::Result<Option<RuleContext>> {
    let rules = settings::load(app, workspace).await?.rules;
    if rules.is_empty() {
        return Ok(None);
    }
    let tz = crate::services::workspaces::time_zone(app, workspace).await?;
    Ok(Some(RuleContext { rules, tz }))
}

fn source(rule: &EarningRule) -> String {
    format!("rule.{}", rule.code)
}

/// Whether an event of `event_type` with `properties` (a JSON object) earns under `rule`.
fn pays(rule: &EarningRule, event_type: &str, properties: &str) -> bool {
    match &rule.trigger {
        Trigger::Share { .. } => event_type == "share",
        Trigger::ReviewWithPhoto { .. } => event_type == "review" && has_photo(properties),
        Trigger::Referral { .. } => event_type == "referral",
        Trigger::CustomEvent {
            event_type: wanted, ..
        } => event_type == wanted,
        Trigger::OrderSpend { .. } | Trigger::FirstOrder { .. } | Trigger::Checkin => false,
    }
}

fn has_photo(properties: &str) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(properties) else {
        return false;
    };
    value["has_photo"] == serde_json::Value::Bool(true)
        || value["photos"]
            .as_array()
            .is_some_and(|photos| !photos.is_empty())
}

/// The ledger requests that pay for `events` (just stored, in order), capped per member.
pub(crate) async fn requests_for_events(
    tx: &mut Tx,
    workspace: &WorkspaceId,
    context: &RuleContext,
    events: &[&NewEvent],
    now: Timestamp,
) -> Result<Vec<Request>, StoreError> {
    let periods = period_starts(now, &context.tz);
    let mut requests = Vec::new();
    for rule in context.rules.iter().filter(|r| is_active(r, now)) {
        let Some(points) = rule.trigger.fixed_points() else {
            continue;
        };
        let paying: Vec<&&NewEvent> = events
            .iter()
            .filter(|e| pays(rule, &e.event_type, &e.properties))
            .collect();
        if paying.is_empty() {
            continue;
        }
        let capped = rule.caps.per_day.is_some()
            || rule.caps.per_week.is_some()
            || rule.caps.per_month.is_some();
        let mut earned: HashMap<String, (i64, i64, i64)> = if capped {
            let mut members: Vec<String> = paying.iter().map(|e| e.member_id.clone()).collect();
            members.sort();
            members.dedup();
            tx.earnings_from_source(
                workspace,
                &source(rule),
                &members,
                periods.day(),
                periods.week(),
                periods.month(),
            )
            .await?
        } else {
            HashMap::new()
        };
        let pending = (rule.pending_days > 0).then(|| Timeout {
            at: now.plus(Duration::from_secs(u64::from(rule.pending_days) * 86_400)),
            action: OnTimeout::Post,
        });
        for event in paying {
            let so_far = earned.entry(event.member_id.clone()).or_default();
            let amount = apply_caps(&rule.caps, points, so_far.0, so_far.1, so_far.2);
            if amount <= 0 {
                continue;
            }
            so_far.0 += amount;
            so_far.1 += amount;
            so_far.2 += amount;
            requests.push(Request {
                id: format!("rule:{}:{}", rule.code, event.event_id),
                linked: false,
                op: Operation::Earn {
                    member: event.member_id.clone(),
                    source: source(rule),
                    amount,
                    lot_expires_at: rule
                        .expiry
                        .expires_at(pending.map_or(now, |p| p.at), &context.tz),
                    pending,
                    order_id: None,
                    reason: Some(format!(
                        "{} event {}",
                        rule.trigger.as_str(),
                        event.event_id
                    )),
                },
            });
        }
    }
    Ok(requests)
}
