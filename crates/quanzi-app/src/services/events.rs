//! Batch event ingestion. Every row is checked on its own: good rows are stored, bad rows
//! are reported by index, duplicates (by `event_id`, within the batch or already stored)
//! are counted and skipped. The answer comes after the transaction holding the batch has
//! committed (see `ingest_queue` for how concurrent batches share one), so an answer means
//! every accepted event is durable.

use std::collections::HashSet;

use quanzi_domain::auth::Scope;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::members::{
    EventType, Identity, IdentityKind, IncomingEvent, Touchpoints, EVENT_BATCH_LIMIT,
};
use quanzi_domain::time::Timestamp;

use super::ingest_queue::Submission;
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
    let (reply, answer) = tokio::sync::oneshot::channel();
    let submission = Submission {
        principal: principal.clone(),
        events: valid,
        reply,
    };
    app.ingest_queue()
        .send(submission)
        .await
        .map_err(|_| Error::Internal(anyhow::anyhow!("the ingest writer has stopped")))?;
    let (accepted, duplicates) = answer
        .await
        .map_err(|_| Error::Internal(anyhow::anyhow!("the ingest writer dropped a batch")))?
        .map_err(|err| Error::Internal(anyhow::anyhow!("storing events failed: {err}")))?;
    report.accepted = accepted;
    report.duplicates += duplicates;
    Ok(report)
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
