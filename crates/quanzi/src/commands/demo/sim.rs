//! The simulation's state: the engine it drives (an [`App`] on a [`ManualClock`]), the
//! people it plays, what is scheduled, and tallies of what the engine answered.
//!
//! Every area adds its steps to [`Sim`] in its own file (`population`, `session`,
//! `shop`, `social`, `days`); this one holds what they share.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;
use std::time::Duration;

use quanzi_app::principal::Principal;
use quanzi_app::App;
use quanzi_domain::time::{Clock, ManualClock, Timestamp};

use super::brand::{Brand, Calendar};
use super::events::EventBuffer;
use super::population::{Channel, Person};
use super::rng::Rng;

pub const MINUTE: Duration = Duration::from_secs(60);
pub const HOUR: Duration = Duration::from_secs(3_600);
pub const DAY: Duration = Duration::from_secs(86_400);
const DAY_MS: i64 = 86_400_000;
/// The workspace's calendar is China time (UTC+8, no daylight saving).
pub const LOCAL_OFFSET_MS: i64 = 8 * 3_600_000;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Plan {
    pub members: usize,
    pub days: u32,
    pub seed: u64,
    /// `days` before `end`.
    pub start: Timestamp,
    /// The real time the run started at.
    pub end: Timestamp,
    /// Local midnight on or before `start`: simulated days are local calendar days.
    pub first_midnight: Timestamp,
    /// Local calendar days the window touches.
    pub local_days: u32,
}

impl Plan {
    pub fn new(members: usize, days: u32, seed: u64, end: Timestamp) -> Self {
        let start = end.minus(DAY * days);
        let local = start.millis() + LOCAL_OFFSET_MS;
        let first_midnight =
            Timestamp::from_millis(local - local.rem_euclid(DAY_MS) - LOCAL_OFFSET_MS);
        let local_days =
            ((end.millis() - first_midnight.millis()) as f64 / DAY_MS as f64).ceil() as u32;
        Self {
            members,
            days,
            seed,
            start,
            end,
            first_midnight,
            local_days: local_days.max(1),
        }
    }

    /// The simulated part of local day `day`: `[from, to)`, clipped to the window.
    pub fn day_span(&self, day: u32) -> (Timestamp, Timestamp) {
        let midnight = self.first_midnight.plus(DAY * day);
        (midnight.max(self.start), midnight.plus(DAY).min(self.end))
    }

    pub fn midnight(&self, day: u32) -> Timestamp {
        self.first_midnight.plus(DAY * day)
    }

    /// The local day `at` falls on.
    pub fn day_of(&self, at: Timestamp) -> u32 {
        ((at.millis() - self.first_midnight.millis()).max(0) / DAY_MS) as u32
    }

    /// Local hour of the day (0–23) of `at`.
    #[cfg(test)]
    pub fn hour_of(at: Timestamp) -> u32 {
        ((at.millis() + LOCAL_OFFSET_MS).rem_euclid(DAY_MS) / 3_600_000) as u32
    }

    /// Saturday or Sunday, local time.
    pub fn is_weekend(&self, day: u32) -> bool {
        // 1970-01-01 was a Thursday: local day number 0 → weekday index 3 (Mon = 0).
        let number = (self.midnight(day).millis() + LOCAL_OFFSET_MS).div_euclid(DAY_MS);
        (number + 3).rem_euclid(7) >= 5
    }
}

/// Something to do at a time, in the order it was planned when times tie.
#[derive(Debug)]
pub struct Scheduled {
    pub at: Timestamp,
    pub seq: u64,
    pub action: Action,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Debug, Clone)]
pub enum Action {
    /// A new member arrives through `channel` and has a first visit.
    Arrive(Channel),
    /// A returning member's visit.
    Visit(usize),
    /// The check-ins of one hour, which touch one member each and run side by side.
    CheckIns(Vec<(usize, Timestamp)>),
    /// A refund of an order (`None` lines: all of it).
    Refund {
        person: usize,
        order_id: String,
        lines: Option<Vec<(i64, i64)>>,
        reason: &'static str,
    },
    /// A buyer posts a review with photos (晒单) a few days after delivery.
    Review { person: usize, order: String },
    /// A friend (or a newcomer from the share) joins a group buy.
    JoinGroup { group: String, friend_of: usize },
    /// A newcomer opens a shared bargain link and helps.
    HelpBargain { bargain: String, starter: usize },
    /// The starter comes back to buy a bargain at its floor.
    BuyBargain { bargain: String, starter: usize },
    /// The flash sale opens: buyers rush.
    FlashRush,
    /// Promoters withdraw their settled commission; the operator reviews.
    Withdrawals,
    /// A person seen on one platform shows up on another as a separate member.
    Twin(usize),
    /// The person binds their phone on both platforms: OneID merges the two members.
    Merge { first: usize, second: usize },
    /// An experiment's exposed visitor buys within the window.
    CohortBuy(usize),
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Arrive(_) => "arrive",
            Action::Visit(_) => "visit",
            Action::CheckIns(_) => "check_ins",
            Action::Refund { .. } => "refund",
            Action::Review { .. } => "review",
            Action::JoinGroup { .. } => "join_group",
            Action::HelpBargain { .. } => "help_bargain",
            Action::BuyBargain { .. } => "buy_bargain",
            Action::FlashRush => "flash_rush",
            Action::Withdrawals => "withdrawals",
            Action::Twin(_) => "twin",
            Action::Merge { .. } => "merge",
            Action::CohortBuy(_) => "cohort_buy",
        }
    }
}

/// What the simulation asked for and what the engine answered, by outcome.
#[derive(Debug, Default)]
pub struct Tally {
    pub calls: u64,
    /// Refusals by their stable code (coupon limits, sold out, group closed…).
    pub refused: BTreeMap<&'static str, u64>,
    pub bargains_started: u64,
    pub bargains_bought: u64,
    pub flash_reserved: u64,
    pub flash_paid: u64,
    pub flash_sold_out: u64,
    pub abandoned_checkouts: u64,
    pub redemptions: u64,
    pub withdrawals: u64,
    /// Wall time and count per kind of action (printed with `QUANZI_DEMO_PROFILE=1`).
    pub timings: BTreeMap<&'static str, (Duration, u64)>,
}

impl Tally {
    pub fn time(&mut self, kind: &'static str, since: std::time::Instant) {
        let entry = self.timings.entry(kind).or_default();
        entry.0 += since.elapsed();
        entry.1 += 1;
    }
}

pub struct Sim {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub principal: Principal,
    pub rng: Rng,
    pub plan: Plan,
    pub calendar: Calendar,
    pub brand: Brand,
    pub people: Vec<Person>,
    pub events: EventBuffer,
    pub tally: Tally,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    counters: BTreeMap<&'static str, u64>,
    /// Members with an invite code, and how often each has shared.
    pub inviters: Vec<(usize, f64)>,
    /// Promoters (people indices), level-1 ones first.
    pub promoters: Vec<usize>,
    /// Helps each started bargain has had.
    pub bargains: BTreeMap<String, u32>,
    /// Today's experiment exposures: (person, variant index or holdout).
    pub exposed_today: Vec<(usize, Option<usize>)>,
    /// Lowest unit price each SKU sold for, by day (for the flash sale's original price).
    pub sku_prices: BTreeMap<String, Vec<(Timestamp, i64)>>,
    /// Paid orders: (paid at, buyer, order id, may be returned).
    pub recent_orders: Vec<(Timestamp, usize, String, bool)>,
    /// Orders with a refund planned (one each).
    pub refunding: BTreeSet<String>,
    pub flash_price_fen: Option<i64>,
    /// Members registered towards the target (twins of a person not counted).
    pub registered: usize,
    pub community_size: usize,
}

impl Sim {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        app: App,
        clock: Arc<ManualClock>,
        principal: Principal,
        plan: Plan,
        calendar: Calendar,
        brand: Brand,
    ) -> Self {
        Self {
            rng: Rng::new(plan.seed),
            app,
            clock,
            principal,
            plan,
            calendar,
            brand,
            people: Vec::new(),
            events: EventBuffer::default(),
            tally: Tally::default(),
            queue: BinaryHeap::new(),
            seq: 0,
            counters: BTreeMap::new(),
            inviters: Vec::new(),
            promoters: Vec::new(),
            bargains: BTreeMap::new(),
            exposed_today: Vec::new(),
            sku_prices: BTreeMap::new(),
            recent_orders: Vec::new(),
            refunding: BTreeSet::new(),
            flash_price_fen: None,
            registered: 0,
            community_size: 0,
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Moves the engine's clock to `at`.
    pub fn at(&self, at: Timestamp) {
        self.clock.set(at);
    }

    pub fn schedule(&mut self, at: Timestamp, action: Action) {
        if at >= self.plan.end {
            return;
        }
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            action,
        }));
    }

    /// The next action due before `until`.
    pub fn next_before(&mut self, until: Timestamp) -> Option<Scheduled> {
        if self.queue.peek().is_some_and(|Reverse(s)| s.at < until) {
            self.queue.pop().map(|Reverse(s)| s)
        } else {
            None
        }
    }

    /// A fresh number for `what` (order numbers, refund numbers…), from 1.
    pub fn next_number(&mut self, what: &'static str) -> u64 {
        let n = self.counters.entry(what).or_default();
        *n += 1;
        *n
    }

    /// Counts a refusal the engine gave (a 409 with a stable code) and goes on; anything
    /// else is a failure of the demo.
    pub fn refused<T>(&mut self, result: quanzi_app::Result<T>) -> anyhow::Result<Option<T>> {
        self.tally.calls += 1;
        match result {
            Ok(value) => Ok(Some(value)),
            Err(quanzi_app::Error::Conflict { code, .. }) => {
                *self.tally.refused.entry(code).or_default() += 1;
                Ok(None)
            }
            Err(err) => Err(anyhow::anyhow!("{err}")),
        }
    }

    /// A time on local day `day` drawn from the hourly shape of shopping traffic
    /// (evening peak), inside the simulated window; `None` if none of that day is.
    pub fn time_on(&mut self, day: u32) -> Option<Timestamp> {
        let (from, to) = self.plan.day_span(day);
        if to <= from {
            return None;
        }
        let midnight = self.plan.midnight(day);
        for _ in 0..8 {
            let hour = self.rng.weighted(&HOURLY);
            let at = midnight
                .plus(HOUR * hour as u32)
                .plus(Duration::from_secs(self.rng.below(3_600) as u64));
            if at >= from && at < to {
                return Some(at);
            }
        }
        let span = (to.millis() - from.millis()).max(1) as usize;
        Some(Timestamp::from_millis(
            from.millis() + self.rng.below(span) as i64,
        ))
    }

    /// Share of a day's traffic that falls inside the simulated window (1 for whole days).
    pub fn day_weight(&self, day: u32) -> f64 {
        let (from, to) = self.plan.day_span(day);
        let midnight = self.plan.midnight(day);
        let total: f64 = HOURLY.iter().sum();
        let mut inside = 0.0;
        for (hour, w) in HOURLY.iter().enumerate() {
            let h_from = midnight.plus(HOUR * hour as u32);
            let h_to = h_from.plus(HOUR);
            let overlap = (h_to.min(to).millis() - h_from.max(from).millis()).max(0) as f64;
            inside += w * overlap / 3_600_000.0;
        }
        inside / total
    }

    /// Living people of the general population (not twins, not experiment-only visitors).
    pub fn regular(&self, index: usize) -> bool {
        let p = &self.people[index];
        p.alive && !p.merged && p.role == super::population::Role::Regular
    }
}

/// Relative traffic per local hour: a morning commute, lunch, and the 8–10 pm peak.
pub const HOURLY: [f64; 24] = [
    0.6, 0.3, 0.15, 0.1, 0.1, 0.15, 0.4, 0.9, 1.3, 1.5, 1.6, 1.7, 2.0, 1.7, 1.5, 1.5, 1.6, 1.8,
    2.0, 2.5, 3.0, 3.2, 2.6, 1.5,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_days_are_local_calendar_days_covering_the_window() {
        // 2026-01-10T03:00:00Z is 11:00 in Shanghai.
        let end = Timestamp::parse_rfc3339("2026-01-10T03:00:00Z").unwrap();
        let plan = Plan::new(100, 2, 1, end);
        assert_eq!(plan.start.to_rfc3339(), "2026-01-08T03:00:00.000Z");
        // Local midnight of 2026-01-08 is 2026-01-07T16:00Z.
        assert_eq!(plan.first_midnight.to_rfc3339(), "2026-01-07T16:00:00.000Z");
        assert_eq!(plan.local_days, 3);
        assert_eq!(plan.day_span(0).0, plan.start);
        assert_eq!(plan.day_span(2).1, end);
        assert_eq!(Plan::hour_of(end), 11);
        // 2026-01-10 is a Saturday.
        assert!(plan.is_weekend(2) && !plan.is_weekend(0));
    }
}
