//! Funnels on stored data: members' events of the steps' types (every type in strict
//! mode, where any other event breaks a run) and their paid orders as the `order` step,
//! in the period, through the domain's funnel. Results echo what was counted.

use quanzi_domain::analytics::funnel::{
    funnel, ConversionWindow, Dictionary, EventColumns, FunnelDefinition, FunnelMode, FunnelReport,
};
use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::time::Timestamp;
use quanzi_store::TOUCH_COLUMNS;

use super::behaviour::{load, Behaviour};
use crate::principal::Principal;
use crate::{App, Error, Result};

#[derive(Debug, Clone)]
pub struct FunnelQuery {
    pub from: Timestamp,
    pub to: Timestamp,
    /// Event types, first step first; `order` is a paid order.
    pub steps: Vec<String>,
    pub mode: String,
    /// `30m`, `2h`, `7d`…
    pub window: String,
    pub exclusions: Vec<String>,
    /// A touchpoint column of the first step to break the funnel down by.
    pub breakdown: Option<String>,
}

pub struct FunnelResult {
    pub query: FunnelQuery,
    pub report: FunnelReport,
    /// Step names by event code.
    pub events: Dictionary,
    /// Breakdown values by code (`(none)` for events without one).
    pub breakdowns: Dictionary,
}

pub async fn run(app: &App, principal: &Principal, query: FunnelQuery) -> Result<FunnelResult> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    super::check_period(query.from, query.to)?;
    let mode = FunnelMode::parse(&query.mode)?;
    let window = ConversionWindow::parse(&query.window).map_err(|e| e.for_field("window"))?;
    if query.steps.is_empty() {
        return Err(InvalidInput::new("steps", "name at least one step").into());
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
    let wanted: Option<Vec<String>> = (mode != FunnelMode::Strict).then(|| {
        query
            .steps
            .iter()
            .chain(&query.exclusions)
            .cloned()
            .collect()
    });
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
        wanted.as_deref(),
        query.breakdown.as_deref(),
    )
    .await?;
    let steps: Vec<u32> = query.steps.iter().map(|s| events.intern_str(s)).collect();
    let exclusions: Vec<u32> = query
        .exclusions
        .iter()
        .map(|s| events.intern_str(s))
        .collect();
    let definition = FunnelDefinition::new(steps, mode, window)?
        .with_exclusions(exclusions)?
        .with_breakdown(query.breakdown.is_some());
    let columns = EventColumns::new(member, ts, event, breakdown)?;
    let report = tokio::task::spawn_blocking(move || funnel(&columns, &definition))
        .await
        .map_err(|e| Error::Internal(e.into()))??;
    Ok(FunnelResult {
        query,
        report,
        events,
        breakdowns,
    })
}
