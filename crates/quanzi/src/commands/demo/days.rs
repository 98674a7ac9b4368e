//! The day-by-day simulation. Each local day starts with the jobs a server would have
//! run overnight (the sweeps, alerts, the weekly tier review), then plans the day —
//! arrivals against the acquisition quota, returning visits with weekday/weekend
//! seasonality, check-ins, churn and recall — and plays every action in time order on
//! the engine's clock.

use quanzi_app::jobs;
use quanzi_app::services::analytics::alerts;
use quanzi_domain::time::Timestamp;

use super::population::{Role, ARRIVAL_MIX};
use super::sim::{Action, Sim, HOUR};

/// Chance a settled member stops visiting on a given day, and a dormant one comes back
/// (the seeds' recall of churn-warned members).
const CHURN: f64 = 0.012;
const RECALL: f64 = 0.004;
/// Check-in habit: share of a habitual member's days with a check-in.
const CHECK_IN_DAYS: f64 = 0.45;

impl Sim {
    pub async fn simulate(&mut self, progress: bool) -> anyhow::Result<()> {
        self.at(self.plan.start);
        self.set_up_brand().await?;
        let weights: Vec<f64> = (0..self.plan.local_days)
            .map(|d| self.arrival_weight(d))
            .collect();
        for day in 0..self.plan.local_days {
            let (from, to) = self.plan.day_span(day);
            if to <= from {
                continue;
            }
            self.at(from);
            if day > 0 {
                let timer = std::time::Instant::now();
                self.overnight().await?;
                self.tally.time("overnight", timer);
            }
            self.campaigns_starting(day).await?;
            let rest: f64 = weights[day as usize..].iter().sum();
            let quota = self.plan.members.saturating_sub(self.registered) as f64
                * weights[day as usize]
                / rest.max(f64::MIN_POSITIVE);
            self.plan_day(day, quota);
            while let Some(next) = self.next_before(to) {
                let kind = next.action.kind();
                let timer = std::time::Instant::now();
                self.perform(next.at, next.action).await?;
                self.tally.time(kind, timer);
                if self.events.is_full() {
                    let timer = std::time::Instant::now();
                    self.flush_events(false).await?;
                    self.tally.time("ingest", timer);
                }
            }
            let timer = std::time::Instant::now();
            self.flush_events(true).await?;
            self.tally.time("ingest", timer);
            self.convert_exposed(day);
            if progress && (day + 1) % 10 == 0 {
                eprintln!(
                    "  day {:>3}/{}: {} members, {} events",
                    day + 1,
                    self.plan.local_days,
                    self.registered,
                    self.events.accepted
                );
            }
        }
        self.at(self.plan.end);
        self.overnight().await?;
        self.flush_events(true).await
    }

    /// Sends the buffered events with the clock at the newest of them (a collector sends
    /// what it has seen); `finish` also waits for the batch in flight.
    async fn flush_events(&mut self, finish: bool) -> anyhow::Result<()> {
        let now = self.now();
        self.at(now.max(self.events.latest()).min(self.plan.end));
        self.events.flush(&self.app, &self.principal).await?;
        if finish {
            self.events.finish().await?;
        }
        Ok(())
    }

    /// The acquisition curve: growing through the window (the seeds' ~10 % a month),
    /// busier at weekends and on the flash-sale day, scaled by the share of the day
    /// inside the window.
    fn arrival_weight(&self, day: u32) -> f64 {
        let growth = 0.7 + 0.6 * day as f64 / self.plan.local_days.max(1) as f64;
        let weekend = if self.plan.is_weekend(day) { 1.2 } else { 1.0 };
        let campaign = if day == self.calendar.flash { 1.4 } else { 1.0 };
        growth * weekend * campaign * self.day_weight(day)
    }

    fn plan_day(&mut self, day: u32, quota: f64) {
        let (from, _) = self.plan.day_span(day);
        let arrivals = self.rng.round(quota);
        let mix: Vec<f64> = ARRIVAL_MIX.iter().map(|(_, w)| *w).collect();
        for _ in 0..arrivals {
            let channel = ARRIVAL_MIX[self.rng.weighted(&mix)].0;
            if let Some(at) = self.time_on(day) {
                self.schedule(at, Action::Arrive(channel));
            }
        }
        let weekend = if self.plan.is_weekend(day) { 1.25 } else { 1.0 };
        let campaign = if day == self.calendar.flash {
            1.5
        } else if (self.calendar.percent_coupon.0..self.calendar.percent_coupon.1).contains(&day) {
            1.1
        } else {
            1.0
        };
        let share = self.day_weight(day);
        let mut check_ins: std::collections::BTreeMap<usize, Vec<(usize, Timestamp)>> =
            std::collections::BTreeMap::new();
        for index in 0..self.people.len() {
            let person = &self.people[index];
            if person.merged || person.role != Role::Regular || person.joined >= from {
                continue;
            }
            let age_days = (from.millis() - person.joined.millis()) / 86_400_000;
            if !person.alive {
                if self.rng.chance(RECALL) {
                    self.people[index].alive = true;
                }
                continue;
            }
            if age_days > 7 && self.rng.chance(CHURN) {
                self.people[index].alive = false;
                continue;
            }
            let fresh = match age_days {
                0..=7 => 2.0,
                8..=30 => 1.2,
                _ => 1.0,
            };
            let p = (person.activity * fresh * weekend * campaign * share).min(0.95);
            let checks_in = person.checks_in;
            if self.rng.chance(p) {
                if let Some(at) = self.time_on(day) {
                    self.schedule(at, Action::Visit(index));
                }
            }
            if checks_in && self.rng.chance(CHECK_IN_DAYS * share) {
                if let Some(at) = self.time_on(day) {
                    let hour = ((at.millis() - from.millis()) / 3_600_000) as usize;
                    check_ins.entry(hour).or_default().push((index, at));
                }
            }
        }
        for (_, mut batch) in check_ins {
            batch.sort_by_key(|(index, at)| (*at, *index));
            let first = batch[0].1;
            self.schedule(first, Action::CheckIns(batch));
        }
        if day == self.calendar.refund_spike {
            self.refund_spike(day);
        }
        if day + 1 == self.plan.local_days {
            let at = self.plan.end.minus(HOUR * 3).max(from);
            self.schedule(at, Action::Withdrawals);
        }
    }

    async fn perform(&mut self, at: Timestamp, action: Action) -> anyhow::Result<()> {
        match action {
            Action::Arrive(channel) => self.arrive(channel, at).await,
            Action::Visit(index) => {
                if self.regular(index) {
                    self.visit(index, at).await?;
                }
                Ok(())
            }
            Action::CheckIns(batch) => self.check_ins(batch, at).await,
            Action::Refund {
                person,
                order_id,
                lines,
                reason,
            } => self.refund(person, &order_id, lines, reason, at).await,
            Action::Review { person, order } => {
                self.review(person, &order, at);
                Ok(())
            }
            Action::JoinGroup { group, friend_of } => self.join_group(&group, friend_of, at).await,
            Action::HelpBargain { bargain, starter } => {
                self.help_bargain(&bargain, starter, at).await
            }
            Action::BuyBargain { bargain, starter } => {
                self.buy_bargain(&bargain, starter, at).await
            }
            Action::FlashRush => self.flash_rush(at).await,
            Action::Withdrawals => self.withdraw_commissions(at).await,
            Action::Twin(first) => self.twin_arrives(first, at).await,
            Action::Merge { first, second } => self.merge(first, second, at).await,
            Action::CohortBuy(index) => self.cohort_buy(index, at).await,
        }
    }

    /// What the worker pool would have done since yesterday: settle points whose return
    /// window passed, release unpaid checkouts and expire coupons and reservations, end
    /// group buys (refunding the failed ones) and settle commissions, judge the alert
    /// rules. Each sweep runs until it finds nothing due. (Tiers move with every order;
    /// the daily review runs once, when the books close.)
    async fn overnight(&mut self) -> anyhow::Result<()> {
        let timer = std::time::Instant::now();
        for _ in 0..50 {
            let report = jobs::loyalty::sweep(&self.app).await?;
            if report.settled == 0 && report.expired == 0 {
                break;
            }
        }
        self.tally.time("sweep.loyalty", timer);
        let timer = std::time::Instant::now();
        for _ in 0..50 {
            let report = jobs::promotions::sweep(&self.app).await?;
            if report.reservations_expired == 0
                && report.coupon_locks_released == 0
                && report.coupons_expired == 0
            {
                break;
            }
        }
        self.tally.time("sweep.promotions", timer);
        let timer = std::time::Instant::now();
        for _ in 0..50 {
            let report = jobs::social::sweep(&self.app).await?;
            if report == jobs::social::SweepReport::default() {
                break;
            }
        }
        self.tally.time("sweep.social", timer);
        if self.brand.alert_rule.is_some() {
            let timer = std::time::Instant::now();
            alerts::evaluate_due(&self.app)
                .await
                .map_err(|e| anyhow::anyhow!("judging alert rules: {e}"))?;
            self.tally.time("sweep.alerts", timer);
        }
        Ok(())
    }
}
