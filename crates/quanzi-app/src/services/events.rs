//! Batch event ingestion. Every row is checked on its own: good rows are stored, bad rows
//! are reported by index, duplicates (by `event_id`, within the batch or already stored)
//! are counted and skipped. The whole batch commits in one transaction, so an answer means
//! every accepted event is durable.

use std::collections::{HashMap, HashSet};

use quanzi_domain::auth::Scope;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::members::{
    EventType, Identity, IdentityKind, IncomingEvent, Touchpoints, EVENT_BATCH_LIMIT,
};
use quanzi_domain::time::Timestamp;
use quanzi_store::{NewEvent, NewIdentity, ProfileDelta, StoreError};

use super::members::resolve_members;
use crate::principal::Principal;
use crate::{App, Error, Result};

/// An event as received, before checks.
#[derive(Debug, Clone, Default)]
pub struct RawEvent {
    pub event_id: String,
    pub event_type: String,
    pub identity_kind: String,
    pub identity_value: String,
    /// RFC 3339 or milliseconds since the epoch; absent means "now".
    pub timestamp: Option<RawTime>,
    /// A JSON object as text.
    pub properties: String,
    pub touchpoints: Touchpoints,
}

#[derive(Debug, Clone)]
pub enum RawTime {
    Rfc3339(String),
    Millis(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub index: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: Vec<Rejection>,
}

const ATTEMPTS: usize = 8;

pub async fn ingest(
    app: &App,
    principal: &Principal,
    batch: Vec<RawEvent>,
) -> Result<IngestReport> {
    principal.require_any(&[Scope::Ingest, Scope::Storefront])?;
    if batch.is_empty() || batch.len() > EVENT_BATCH_LIMIT {
        return Err(InvalidInput::new(
            "events",
            format!("send 1 to {EVENT_BATCH_LIMIT} events per request"),
        )
        .into());
    }
    let now = app.clock.now();
    let key = app.pii_key().await?;
    let mut report = IngestReport::default();
    let mut valid: Vec<IncomingEvent> = Vec::with_capacity(batch.len());
    let mut seen = HashSet::with_capacity(batch.len());
    for (index, raw) in batch.into_iter().enumerate() {
        match check(raw, now) {
            Ok(event) => {
                if seen.insert(event.event_id.clone()) {
                    valid.push(event);
                } else {
                    report.duplicates += 1;
                }
            }
            Err(err) => report.rejected.push(Rejection {
                index,
                field: format!("events[{index}].{}", err.field()),
                message: err.message().to_owned(),
            }),
        }
    }
    if valid.is_empty() {
        return Ok(report);
    }
    let mut identities: Vec<NewIdentity> = Vec::new();
    let mut seen_identities = HashSet::new();
    for e in &valid {
        if seen_identities.insert(e.identity.clone()) {
            identities.push(NewIdentity {
                kind: e.identity.kind(),
                lookup: e.identity.lookup_key(&key),
                display: e.identity.masked(),
            });
        }
    }
    let lookups: HashMap<Identity, quanzi_domain::members::LookupKey> = seen_identities
        .into_iter()
        .map(|i| {
            let k = i.lookup_key(&key);
            (i, k)
        })
        .collect();

    let mut last_error = None;
    for _ in 0..ATTEMPTS {
        match store_batch(app, principal, &valid, &identities, &lookups, now).await {
            Ok(inserted) => {
                report.accepted = inserted;
                report.duplicates += valid.len() - inserted;
                return Ok(report);
            }
            Err(err) if err.is_transient() => last_error = Some(err),
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Internal(anyhow::anyhow!(
        "ingest kept losing races: {last_error:?}"
    )))
}

fn check(raw: RawEvent, now: Timestamp) -> Result<IncomingEvent, InvalidInput> {
    let event_id = IncomingEvent::check_event_id(&raw.event_id)?;
    let event_type = EventType::parse(&raw.event_type)?;
    let kind = IdentityKind::parse(&raw.identity_kind).map_err(|e| e.for_field("identity.kind"))?;
    let identity =
        Identity::parse(kind, &raw.identity_value).map_err(|e| e.for_field("identity.value"))?;
    let occurred_at = match raw.timestamp {
        None => now,
        Some(RawTime::Millis(ms)) => Timestamp::from_millis(ms),
        Some(RawTime::Rfc3339(text)) => Timestamp::parse_rfc3339(&text).ok_or_else(|| {
            InvalidInput::new(
                "timestamp",
                format!(
                    "`{text}` is not RFC 3339 (2026-11-23T20:00:00+08:00) or epoch milliseconds"
                ),
            )
        })?,
    };
    let occurred_at = IncomingEvent::check_time(occurred_at, now)?;
    if raw.properties.len() > 8 * 1024 {
        return Err(InvalidInput::new(
            "properties",
            "must be at most 8 KiB as JSON",
        ));
    }
    Ok(IncomingEvent {
        event_id,
        event_type,
        identity,
        occurred_at,
        properties: raw.properties,
        touchpoints: raw.touchpoints.checked()?,
    })
}

/// One transaction: resolve members, insert new events, add them to profiles. Returns how
/// many events were new.
async fn store_batch(
    app: &App,
    principal: &Principal,
    events: &[IncomingEvent],
    identities: &[NewIdentity],
    lookups: &HashMap<Identity, quanzi_domain::members::LookupKey>,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let ws = &principal.workspace_id;
    let mut tx = app.store.begin().await?;
    let members = resolve_members(&mut tx, principal, identities, now).await?;
    let member_of =
        |e: &IncomingEvent| members[&(e.identity.kind(), lookups[&e.identity].clone())].clone();
    let rows: Vec<NewEvent> = events
        .iter()
        .map(|e| NewEvent {
            event_id: e.event_id.clone(),
            member_id: member_of(e),
            event_type: e.event_type.as_str().to_owned(),
            occurred_at: e.occurred_at,
            properties: e.properties.clone(),
            touchpoints: e.touchpoints.clone(),
        })
        .collect();
    let inserted: HashSet<String> = tx
        .insert_events(ws, &rows, now)
        .await?
        .into_iter()
        .collect();
    let mut deltas: HashMap<String, ProfileDelta> = HashMap::new();
    for (event, row) in events.iter().zip(&rows) {
        if !inserted.contains(&row.event_id) {
            continue;
        }
        let delta = deltas.entry(row.member_id.clone()).or_default();
        let at = event.occurred_at;
        if delta.first_seen_at.is_none_or(|t| at < t) {
            delta.first_seen_at = Some(at);
            delta.channel = event.touchpoints.channel.clone().or(delta.channel.take());
        }
        delta.last_seen_at = Some(delta.last_seen_at.map_or(at, |t| t.max(at)));
        if event.event_type.is_interaction() {
            delta.last_interaction_at = Some(delta.last_interaction_at.map_or(at, |t| t.max(at)));
        }
        delta.events += 1;
    }
    let mut deltas: Vec<(String, ProfileDelta)> = deltas.into_iter().collect();
    deltas.sort_by(|a, b| a.0.cmp(&b.0));
    tx.apply_profile_deltas(&deltas, now).await?;
    tx.commit().await?;
    Ok(inserted.len())
}
