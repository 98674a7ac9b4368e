//! Stored behaviour as the columns the funnel and retention algorithms take: members and
//! event types interned to dense codes, times in seconds.

use std::collections::HashMap;

use quanzi_domain::analytics::funnel::Dictionary;
use quanzi_domain::time::Timestamp;

use crate::principal::Principal;
use crate::{App, Result};

/// Events (and paid orders as `order`) in columns.
pub(crate) struct Behaviour {
    pub member: Vec<u32>,
    /// Seconds.
    pub ts: Vec<i64>,
    pub event: Vec<u32>,
    pub breakdown: Option<Vec<u32>>,
    pub events: Dictionary,
    pub breakdowns: Dictionary,
}

/// Value of events without a breakdown value.
pub const NO_BREAKDOWN: &str = "(none)";

pub(crate) async fn load(
    app: &App,
    principal: &Principal,
    from: Timestamp,
    to: Timestamp,
    types: Option<&[String]>,
    breakdown: Option<&str>,
) -> Result<Behaviour> {
    let rows = app
        .store
        .behaviour(&principal.workspace_id, from, to, types, breakdown)
        .await?;
    let mut members: HashMap<String, u32> = HashMap::new();
    let mut events = Dictionary::new();
    let mut breakdowns = Dictionary::new();
    let mut out = Behaviour {
        member: Vec::with_capacity(rows.len()),
        ts: Vec::with_capacity(rows.len()),
        event: Vec::with_capacity(rows.len()),
        breakdown: breakdown.map(|_| Vec::with_capacity(rows.len())),
        events: Dictionary::new(),
        breakdowns: Dictionary::new(),
    };
    for (member, at, kind, value) in rows {
        let next = members.len() as u32;
        out.member.push(*members.entry(member).or_insert(next));
        out.ts.push(at.div_euclid(1000));
        out.event.push(events.intern_str(&kind));
        if let Some(codes) = out.breakdown.as_mut() {
            codes.push(breakdowns.intern_str(value.as_deref().unwrap_or(NO_BREAKDOWN)));
        }
    }
    out.events = events;
    out.breakdowns = breakdowns;
    Ok(out)
}
