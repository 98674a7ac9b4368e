//! Attribution on stored data: journeys are assembled from members' touches (events with
//! a value in the chosen touchpoint column, plus each order's own) and their paid orders,
//! then every requested model credits the channels. The heavy part runs off the async
//! workers.

use std::collections::HashMap;

use quanzi_domain::analytics::attribution::models::{checked_models, run_model};
use quanzi_domain::analytics::attribution::touches::{assemble, Conversion, JourneyCounts, Touch};
use quanzi_domain::analytics::attribution::{Attribution, HalfLife};
use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::time::Timestamp;
use quanzi_store::TOUCH_COLUMNS;

use crate::principal::Principal;
use crate::{App, Error, Result};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone)]
pub struct AttributionQuery {
    /// The touchpoint column channels are read from: `channel` (default), `utm_source`,
    /// `utm_campaign`, `kol_id`, `campaign_id`, `content_id`.
    pub touch: String,
    pub from: Timestamp,
    pub to: Timestamp,
    /// Touches older than this before a conversion do not count (default 30 days).
    pub lookback_days: u32,
    /// Model names; empty for all.
    pub models: Vec<String>,
    /// Time-decay half-life in touches.
    pub half_life: f64,
}

#[derive(Debug, Clone)]
pub struct AttributionReport {
    pub query: AttributionQuery,
    pub counts: JourneyCounts,
    pub distinct_paths: usize,
    pub channels: Vec<String>,
    pub total_conversions: f64,
    /// Fen, paid minus refunded.
    pub total_value: f64,
    pub results: Vec<(String, Attribution)>,
}

pub async fn attribute(
    app: &App,
    principal: &Principal,
    query: AttributionQuery,
) -> Result<AttributionReport> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    if !TOUCH_COLUMNS.contains(&query.touch.as_str()) {
        return Err(InvalidInput::new(
            "touch",
            format!("must be one of {}", TOUCH_COLUMNS.join(", ")),
        )
        .into());
    }
    super::check_period(query.from, query.to)?;
    if !(1..=180).contains(&query.lookback_days) {
        return Err(InvalidInput::new("lookback_days", "must be 1 to 180").into());
    }
    let models = checked_models(&query.models)?;
    let half_life = HalfLife::new(query.half_life).map_err(|e| e.for_field("half_life"))?;
    let lookback = i64::from(query.lookback_days) * DAY_MS;
    let ws = &principal.workspace_id;
    let touch_rows = app
        .store
        .touches(
            ws,
            &query.touch,
            Timestamp::from_millis(query.from.millis() - lookback),
            query.to,
        )
        .await?;
    let orders = app
        .store
        .conversions(ws, &query.touch, query.from, query.to)
        .await?;
    let report = tokio::task::spawn_blocking(move || {
        let mut members: HashMap<String, u32> = HashMap::new();
        let mut channels: Vec<String> = Vec::new();
        let mut channel_ids: HashMap<String, u32> = HashMap::new();
        let mut intern_member = |m: String| {
            let next = members.len() as u32;
            *members.entry(m).or_insert(next)
        };
        let mut intern_channel = |c: String| {
            if let Some(&id) = channel_ids.get(&c) {
                return id;
            }
            let id = channels.len() as u32;
            channels.push(c.clone());
            channel_ids.insert(c, id);
            id
        };
        let mut touches = Vec::with_capacity(touch_rows.len() + orders.len());
        for (member, at, channel) in touch_rows {
            touches.push(Touch {
                member: intern_member(member),
                at,
                channel: intern_channel(channel),
            });
        }
        let mut conversions = Vec::with_capacity(orders.len());
        for (member, at, net, channel) in orders {
            let member = intern_member(member);
            if let Some(channel) = channel {
                touches.push(Touch {
                    member,
                    at,
                    channel: intern_channel(channel),
                });
            }
            conversions.push(Conversion {
                member,
                at,
                value: net as f64,
            });
        }
        let (journeys, counts) = assemble(touches, conversions, &channels, lookback);
        let results = if journeys.total_conversions() > 0.0 {
            models
                .iter()
                .map(|name| ((*name).to_owned(), run_model(&journeys, name, half_life)))
                .collect()
        } else {
            Vec::new()
        };
        AttributionReport {
            query,
            counts,
            distinct_paths: journeys.len(),
            channels: journeys.channels().to_vec(),
            total_conversions: journeys.total_conversions(),
            total_value: journeys.total_value(),
            results,
        }
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?;
    Ok(report)
}
