//! The funnel end to end: rank the event types, group by member, walk each member once,
//! add up the counted attempts.

use super::definition::{FunnelDefinition, FunnelMode};
use super::events::EventColumns;
use super::group::{
    for_each_member, step_rank, MemberEvents, Ranks, DROP, RANK_EXCLUSION, RANK_OTHER,
};
use super::report::{step_counts, BreakdownRow, DefinitionEcho, FunnelReport, TimeToConvert};
use super::walk::{self, Outcome};
use crate::input::InvalidInput;

/// Runs `definition` over `events` on up to two threads (more would each re-read every
/// row while grouping, see `group`), or one for small tables.
pub fn funnel(
    events: &EventColumns,
    definition: &FunnelDefinition,
) -> Result<FunnelReport, InvalidInput> {
    let threads = if events.len() < 200_000 {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
    };
    funnel_with_threads(events, definition, threads)
}

/// [`funnel`] on exactly `threads` threads (at least one); the result does not depend on
/// the number.
pub fn funnel_with_threads(
    events: &EventColumns,
    definition: &FunnelDefinition,
    threads: usize,
) -> Result<FunnelReport, InvalidInput> {
    if definition.breakdown() && events.breakdown().is_none() {
        return Err(InvalidInput::new(
            "breakdown",
            "the events have no breakdown column to break the funnel down by",
        ));
    }
    let steps = definition.steps().len();
    let window = definition.window().seconds();
    let breakdowns = if definition.breakdown() {
        events.breakdown_count() as usize
    } else {
        0
    };
    let ranks = ranks(definition);
    let walker: fn(&[u64], usize, i64) -> Outcome = match definition.mode() {
        FunnelMode::Ordered => walk::ordered,
        FunnelMode::Strict => walk::strict,
        FunnelMode::Unordered => walk::unordered,
    };
    let grouped = for_each_member(
        events,
        &ranks,
        definition.breakdown(),
        threads,
        || Tally::new(steps, breakdowns),
        |tally, member: MemberEvents<'_>| {
            let outcome = walker(member.keys, steps, window);
            tally.add(&member, outcome, steps);
        },
    )?;
    let mut tallies = grouped.per_thread.into_iter();
    let mut total = tallies
        .next()
        .unwrap_or_else(|| Tally::new(steps, breakdowns));
    for tally in tallies {
        total.merge(tally);
    }
    Ok(total.report(definition, events, grouped.events_considered))
}

/// Event codes to ranks: steps by position, exclusions, and the rest kept (as `other`)
/// only in strict mode, where any event breaks a sequence.
fn ranks(definition: &FunnelDefinition) -> Ranks {
    let other = if definition.mode() == FunnelMode::Strict {
        RANK_OTHER
    } else {
        DROP
    };
    let named = definition.steps().iter().chain(definition.exclusions());
    let size = named.map(|&code| code as usize + 1).max().unwrap_or(0);
    let mut by_code = vec![other; size];
    for &code in definition.exclusions() {
        by_code[code as usize] = RANK_EXCLUSION;
    }
    for (index, &code) in definition.steps().iter().enumerate() {
        by_code[code as usize] = step_rank(index);
    }
    Ranks::new(by_code, other)
}

/// Counts by depth (members whose counted attempt stopped at step d), overall and per
/// breakdown code, and the conversion times.
struct Tally {
    by_depth: Vec<u64>,
    by_breakdown_depth: Vec<u64>,
    elapsed: Vec<u32>,
}

impl Tally {
    fn new(steps: usize, breakdowns: usize) -> Self {
        Self {
            by_depth: vec![0; steps + 1],
            by_breakdown_depth: vec![0; breakdowns * (steps + 1)],
            elapsed: Vec::new(),
        }
    }

    #[inline]
    fn add(&mut self, member: &MemberEvents<'_>, outcome: Outcome, steps: usize) {
        self.by_depth[outcome.depth] += 1;
        if outcome.depth == 0 {
            return;
        }
        if !member.breakdown.is_empty() {
            let code = member.breakdown[outcome.start] as usize;
            self.by_breakdown_depth[code * (steps + 1) + outcome.depth] += 1;
        }
        if outcome.depth == steps {
            // The window is at most ConversionWindow::MAX_SECONDS, far below u32::MAX.
            self.elapsed.push(outcome.elapsed as u32);
        }
    }

    fn merge(&mut self, other: Tally) {
        for (a, b) in self.by_depth.iter_mut().zip(&other.by_depth) {
            *a += b;
        }
        for (a, b) in self
            .by_breakdown_depth
            .iter_mut()
            .zip(&other.by_breakdown_depth)
        {
            *a += b;
        }
        self.elapsed.extend_from_slice(&other.elapsed);
    }

    fn report(
        mut self,
        definition: &FunnelDefinition,
        events: &EventColumns,
        events_considered: u64,
    ) -> FunnelReport {
        let steps = definition.steps().len();
        let reached = at_least(&self.by_depth);
        let mut breakdown: Vec<BreakdownRow> = self
            .by_breakdown_depth
            .chunks_exact(steps + 1)
            .enumerate()
            .map(|(code, by_depth)| BreakdownRow {
                code: code as u32,
                members: at_least(by_depth),
            })
            .filter(|row| row.members[0] > 0)
            .collect();
        breakdown.sort_by(|a, b| b.members[0].cmp(&a.members[0]).then(a.code.cmp(&b.code)));
        FunnelReport {
            definition: DefinitionEcho {
                mode: definition.mode(),
                window: definition.window(),
                steps: definition.steps().to_vec(),
                exclusions: definition.exclusions().to_vec(),
                breakdown: definition.breakdown(),
                members_considered: u64::from(events.member_count()),
                events_considered,
                events_total: events.len() as u64,
            },
            steps: step_counts(&reached),
            time_to_convert: TimeToConvert::from_elapsed(&mut self.elapsed),
            breakdown,
        }
    }
}

/// Members at step k or deeper, for k = 1..=steps, from counts by exact depth 0..=steps.
fn at_least(by_depth: &[u64]) -> Vec<u64> {
    let mut reached = vec![0; by_depth.len() - 1];
    let mut running = 0;
    for k in (1..by_depth.len()).rev() {
        running += by_depth[k];
        reached[k - 1] = running;
    }
    reached
}
