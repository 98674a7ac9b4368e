//! Cohort retention on stored data: members' start and return events (or paid orders as
//! `order`) in the period, on the workspace's calendar, optionally by acquisition touch.

use quanzi_domain::analytics::funnel::{Dictionary, EventColumns};
use quanzi_domain::analytics::retention::{
    retention, CohortKind, Period, RetentionMode, RetentionSpec, RetentionTable, UtcOffset,
};
use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::time::Timestamp;
use quanzi_store::TOUCH_COLUMNS;

use super::behaviour::{load, Behaviour};
use crate::principal::Principal;
use crate::services::workspaces::time_zone;
use crate::{App, Error, Result};

#[derive(Debug, Clone)]
pub struct RetentionQuery {
    pub from: Timestamp,
    pub to: Timestamp,
    /// The event that puts a member in a cohort (`order` = a paid order).
    pub start: String,
    /// The event that counts as coming back.
    pub return_event: String,
    /// `day`, `week` or `month`.
    pub period: String,
    pub periods: u32,
    /// `on` or `unbounded`.
    pub mode: String,
    /// `first_time` or `recurring`.
    pub kind: String,
    pub breakdown: Option<String>,
}

pub struct RetentionResult {
    pub query: RetentionQuery,
    pub table: RetentionTable,
    pub events: Dictionary,
    pub breakdowns: Dictionary,
}

pub async fn run(
    app: &App,
    principal: &Principal,
    query: RetentionQuery,
) -> Result<RetentionResult> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    super::check_period(query.from, query.to)?;
    let period = Period::parse(&query.period).map_err(|e| e.for_field("period"))?;
    let mode = RetentionMode::parse(&query.mode).map_err(|e| e.for_field("mode"))?;
    let kind = CohortKind::parse(&query.kind).map_err(|e| e.for_field("kind"))?;
    if !(1..=60).contains(&query.periods) {
        return Err(InvalidInput::new("periods", "must be 1 to 60").into());
    }
    for (field, name) in [
        ("start", &query.start),
        ("return_event", &query.return_event),
    ] {
        if name.trim().is_empty() {
            return Err(InvalidInput::new(field, "name an event type (or order)").into());
        }
    }
    if let Some(b) = &query.breakdown {
        if !TOUCH_COLUMNS.contains(&b.as_str()) {
            return Err(InvalidInput::new(
                "breakdown",
                format!("must be one of {}", TOUCH_COLUMNS.join(", ")),
            )
            .into());
        }
    }
    let zone = time_zone(app, &principal.workspace_id).await?;
    let offset = UtcOffset::from_seconds(i64::from(zone.offset_seconds()))?;
    let types = [query.start.clone(), query.return_event.clone()];
    let Behaviour {
        member,
        ts,
        event,
        breakdown,
        mut events,
        breakdowns,
    } = load(
        app,
        principal,
        query.from,
        query.to,
        Some(&types),
        query.breakdown.as_deref(),
    )
    .await?;
    let spec = RetentionSpec::new(
        events.intern_str(&query.start),
        events.intern_str(&query.return_event),
        period,
        query.periods,
    )?
    .with_mode(mode)
    .with_kind(kind)
    .with_offset(offset)
    .with_breakdown(query.breakdown.is_some());
    let columns = EventColumns::new(member, ts, event, breakdown)?;
    let table = tokio::task::spawn_blocking(move || retention(&columns, &spec, 2))
        .await
        .map_err(|e| Error::Internal(e.into()))??;
    Ok(RetentionResult {
        query,
        table,
        events,
        breakdowns,
    })
}
