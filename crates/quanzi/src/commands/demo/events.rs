//! Behaviour events, buffered and sent through batch ingestion a thousand at a time (the
//! ingestion service's limit), as a storefront's collector would.

use quanzi_app::principal::Principal;
use quanzi_app::services::events::{self, RawEvent, RawTime};
use quanzi_app::App;
use quanzi_domain::members::{Touchpoints, EVENT_BATCH_LIMIT};
use quanzi_domain::time::Timestamp;

use super::population::Person;

#[derive(Default)]
pub struct EventBuffer {
    pending: Vec<RawEvent>,
    next_id: u64,
    latest: Timestamp,
    in_flight: Option<tokio::task::JoinHandle<quanzi_app::Result<events::IngestReport>>>,
    pub accepted: u64,
    pub rejected: u64,
}

impl EventBuffer {
    pub fn push(
        &mut self,
        person: &Person,
        event_type: &str,
        at: Timestamp,
        properties: serde_json::Value,
        touch: &Touchpoints,
    ) {
        self.next_id += 1;
        self.latest = self.latest.max(at);
        self.pending.push(RawEvent {
            event_id: format!("ev-{:010}", self.next_id),
            event_type: event_type.to_owned(),
            identity_kind: person.kind.to_owned(),
            identity_value: person.value.clone(),
            timestamp: Some(RawTime::Millis(at.millis())),
            properties: properties.to_string(),
            touchpoints: touch.clone(),
        });
    }

    /// The latest time of an event pushed so far.
    pub fn latest(&self) -> Timestamp {
        self.latest
    }

    pub fn is_full(&self) -> bool {
        self.pending.len() >= EVENT_BATCH_LIMIT
    }

    /// Sends what is buffered, a thousand at a time. The last batch goes on in the
    /// background while the simulation carries on (the next flush or [`finish`] waits
    /// for it), so building events overlaps storing them. The engine's clock must stay
    /// within ten minutes of the newest event until then.
    pub async fn flush(&mut self, app: &App, principal: &Principal) -> anyhow::Result<()> {
        while !self.pending.is_empty() {
            let rest = self
                .pending
                .split_off(self.pending.len().min(EVENT_BATCH_LIMIT));
            let batch = std::mem::replace(&mut self.pending, rest);
            self.finish().await?;
            let (app, principal) = (app.clone(), principal.clone());
            self.in_flight = Some(tokio::spawn(async move {
                events::ingest(&app, &principal, batch).await
            }));
        }
        Ok(())
    }

    /// Waits for the batch in flight.
    pub async fn finish(&mut self) -> anyhow::Result<()> {
        let Some(running) = self.in_flight.take() else {
            return Ok(());
        };
        let report = running
            .await?
            .map_err(|e| anyhow::anyhow!("ingesting events: {e}"))?;
        if let Some(first) = report.rejected.first() {
            tracing::warn!(field = %first.field, message = %first.message, "demo events rejected");
        }
        self.accepted += report.accepted as u64;
        self.rejected += report.rejected.len() as u64;
        Ok(())
    }
}
