//! Daily check-in (签到): one check-in per member and local date, streak ladders, cumulative
//! ladders, optional weekly or monthly cycles, and paid make-ups (补签).
//!
//! The state is only the member's sorted check-in dates, so every answer is recomputed
//! from them and cannot drift from what the store holds.
//!
//! Make-ups pay no base points and no streak bonus themselves; they restore the streak so
//! the next check-in continues it. A cumulative rung is paid by whichever action brings
//! the cycle's count to it, make-up included, because the count is what the rung rewards
//! and a count skipped by a make-up could otherwise never be paid.

use crate::calendar::LocalDate;
use crate::input::InvalidInput;

/// Upper bound for any single award or cost, far above real programs, so sums never overflow.
const MAX_POINTS: i64 = 1_000_000;
const MAX_RUNGS: usize = 50;

/// A ladder rung: `points` paid when the streak (or the cycle's count) reaches `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    pub at: u32,
    pub points: i64,
}

/// When streaks and cumulative counts restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckinCycle {
    /// Never: streaks run as long as the member keeps checking in.
    None,
    /// Every ISO week, on Monday.
    Weekly,
    /// On the first of every month.
    Monthly,
}

impl CheckinCycle {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckinCycle::None => "none",
            CheckinCycle::Weekly => "weekly",
            CheckinCycle::Monthly => "monthly",
        }
    }

    /// The longest streak or count one cycle can hold.
    fn max_days(self) -> u32 {
        match self {
            CheckinCycle::None => u32::MAX,
            CheckinCycle::Weekly => 7,
            CheckinCycle::Monthly => 31,
        }
    }
}

/// Paid make-ups (补签) of missed past days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MakeupPolicy {
    pub cost_points: i64,
    /// How many days before today the missed day may lie (1 = only yesterday).
    pub max_days_back: u32,
    /// Make-ups per cycle; per calendar month when the policy has no cycle.
    pub max_per_cycle: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinPolicy {
    pub base_points: i64,
    /// Bonuses paid on the day the streak reaches a rung.
    pub consecutive: Vec<Rung>,
    /// Whether streaks beyond the last rung run the ladder again (with rungs 3 and 7, day
    /// 10 pays the day-3 bonus and day 14 the day-7 bonus).
    pub repeat_ladder: bool,
    /// Bonuses paid when the number of check-ins in the cycle reaches a rung.
    pub cumulative: Vec<Rung>,
    pub cycle: CheckinCycle,
    pub makeup: Option<MakeupPolicy>,
}

impl Default for CheckinPolicy {
    /// 5 points a day, +10 on day 3 and +30 on day 7 of a streak, repeating every 7 days;
    /// no cumulative ladder; no cycle; make-ups cost 20 points, reach back 7 days, at most
    /// 2 a month.
    fn default() -> Self {
        Self {
            base_points: 5,
            consecutive: vec![Rung { at: 3, points: 10 }, Rung { at: 7, points: 30 }],
            repeat_ladder: true,
            cumulative: Vec::new(),
            cycle: CheckinCycle::None,
            makeup: Some(MakeupPolicy {
                cost_points: 20,
                max_days_back: 7,
                max_per_cycle: 2,
            }),
        }
    }
}

impl CheckinPolicy {
    pub fn validate(&self) -> Result<(), InvalidInput> {
        check_points("base_points", self.base_points)?;
        check_ladder("consecutive", &self.consecutive, self.cycle)?;
        check_ladder("cumulative", &self.cumulative, self.cycle)?;
        if let Some(makeup) = &self.makeup {
            check_points("makeup.cost_points", makeup.cost_points)?;
            if !(1..=366).contains(&makeup.max_days_back) {
                return Err(InvalidInput::new(
                    "makeup.max_days_back",
                    "must be between 1 and 366",
                ));
            }
            if makeup.max_per_cycle == 0 {
                return Err(InvalidInput::new(
                    "makeup.max_per_cycle",
                    "must be at least 1; turn make-ups off instead of allowing none",
                ));
            }
        }
        Ok(())
    }

    /// The first day of the cycle holding `today` (`LocalDate::MIN` without cycles).
    pub fn cycle_start(&self, today: LocalDate) -> LocalDate {
        match self.cycle {
            CheckinCycle::None => LocalDate::MIN,
            CheckinCycle::Weekly => today.start_of_week(),
            CheckinCycle::Monthly => today.start_of_month(),
        }
    }

    /// Make-ups whose missed date is on or after this day count against `max_per_cycle`.
    pub fn makeup_period_start(&self, today: LocalDate) -> LocalDate {
        match self.cycle {
            CheckinCycle::None => today.start_of_month(),
            _ => self.cycle_start(today),
        }
    }

    fn consecutive_rung(&self, streak: u32) -> Option<&Rung> {
        let last = self.consecutive.last()?;
        let day = if self.repeat_ladder && streak > last.at && last.at > 0 {
            (streak - 1) % last.at + 1
        } else {
            streak
        };
        self.consecutive.iter().find(|rung| rung.at == day)
    }
}

fn check_points(field: &str, points: i64) -> Result<(), InvalidInput> {
    if (0..=MAX_POINTS).contains(&points) {
        Ok(())
    } else {
        Err(InvalidInput::new(
            field,
            format!("must be between 0 and {MAX_POINTS} points"),
        ))
    }
}

fn check_ladder(field: &str, ladder: &[Rung], cycle: CheckinCycle) -> Result<(), InvalidInput> {
    if ladder.len() > MAX_RUNGS {
        return Err(InvalidInput::new(
            field,
            format!("must have at most {MAX_RUNGS} rungs"),
        ));
    }
    for (i, rung) in ladder.iter().enumerate() {
        check_points(&format!("{field}[{i}].points"), rung.points)?;
        let at = format!("{field}[{i}].at");
        if rung.at == 0 {
            return Err(InvalidInput::new(at, "must be at least 1"));
        }
        if rung.at > cycle.max_days() {
            return Err(InvalidInput::new(
                at,
                format!(
                    "is never reached: a {} cycle has at most {} days",
                    cycle.as_str(),
                    cycle.max_days()
                ),
            ));
        }
        match i.checked_sub(1).map(|prev| ladder[prev].at) {
            Some(prev) if prev == rung.at => {
                return Err(InvalidInput::new(
                    at,
                    format!("duplicates the rung at {prev}"),
                ));
            }
            Some(prev) if prev > rung.at => {
                return Err(InvalidInput::new(at, "rungs must be in increasing order"));
            }
            _ => {}
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BonusKind {
    Consecutive,
    Cumulative,
}

impl BonusKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BonusKind::Consecutive => "consecutive",
            BonusKind::Cumulative => "cumulative",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bonus {
    kind: BonusKind,
    rung: u32,
    points: i64,
}

impl Bonus {
    pub fn kind(&self) -> BonusKind {
        self.kind
    }

    /// The rung's day or count; for a repeated ladder the rung, not the streak (7, not 14).
    pub fn rung(&self) -> u32 {
        self.rung
    }

    pub fn points(&self) -> i64 {
        self.points
    }
}

/// What one check-in earns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinReward {
    date: LocalDate,
    streak: u32,
    cycle_count: u32,
    base_points: i64,
    bonuses: Vec<Bonus>,
}

impl CheckinReward {
    pub fn date(&self) -> LocalDate {
        self.date
    }

    /// Consecutive days ending today, within the cycle.
    pub fn streak(&self) -> u32 {
        self.streak
    }

    /// Check-ins in the cycle, today's included.
    pub fn cycle_count(&self) -> u32 {
        self.cycle_count
    }

    pub fn base_points(&self) -> i64 {
        self.base_points
    }

    pub fn bonuses(&self) -> &[Bonus] {
        &self.bonuses
    }

    pub fn total_points(&self) -> i64 {
        self.base_points + self.bonuses.iter().map(Bonus::points).sum::<i64>()
    }
}

/// What a make-up costs and what it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakeupOutcome {
    date: LocalDate,
    cost_points: i64,
    streak: u32,
    cycle_count: u32,
    bonuses: Vec<Bonus>,
}

impl MakeupOutcome {
    /// The day made up.
    pub fn date(&self) -> LocalDate {
        self.date
    }

    pub fn cost_points(&self) -> i64 {
        self.cost_points
    }

    /// The current streak after the make-up, as [`current_streak`] will report it.
    pub fn streak(&self) -> u32 {
        self.streak
    }

    pub fn cycle_count(&self) -> u32 {
        self.cycle_count
    }

    /// Cumulative rungs this make-up reached; never streak bonuses.
    pub fn bonuses(&self) -> &[Bonus] {
        &self.bonuses
    }

    pub fn bonus_points(&self) -> i64 {
        self.bonuses.iter().map(Bonus::points).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckinError {
    #[error("already checked in on {0}")]
    AlreadyCheckedIn(LocalDate),
    #[error("make-ups are not enabled")]
    MakeupDisabled,
    #[error("only a past day can be made up; today needs a check-in")]
    MakeupNotInPast,
    #[error("only the last {max_days_back} days can be made up")]
    MakeupTooFarBack { max_days_back: u32 },
    #[error("only days of the current check-in cycle can be made up")]
    MakeupOutsideCycle,
    #[error("at most {max_per_cycle} make-ups per cycle")]
    MakeupLimitReached { max_per_cycle: u32 },
}

impl CheckinError {
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckinError::AlreadyCheckedIn(_) => "already_checked_in",
            CheckinError::MakeupDisabled => "makeup_disabled",
            CheckinError::MakeupNotInPast => "makeup_not_in_past",
            CheckinError::MakeupTooFarBack { .. } => "makeup_too_far_back",
            CheckinError::MakeupOutsideCycle => "makeup_outside_cycle",
            CheckinError::MakeupLimitReached { .. } => "makeup_limit_reached",
        }
    }
}

/// Checks the member in on `today`. `history` is the member's check-in dates, sorted
/// ascending without duplicates.
pub fn check_in(
    policy: &CheckinPolicy,
    history: &[LocalDate],
    today: LocalDate,
) -> Result<CheckinReward, CheckinError> {
    let has = |date: LocalDate| history.binary_search(&date).is_ok();
    if has(today) {
        return Err(CheckinError::AlreadyCheckedIn(today));
    }
    let start = policy.cycle_start(today);
    let streak = streak_ending(today.prev_day(), start, has) + 1;
    let cycle_count = count_between(history, start, today) + 1;
    let mut bonuses = Vec::new();
    if let Some(rung) = policy.consecutive_rung(streak) {
        bonuses.push(Bonus {
            kind: BonusKind::Consecutive,
            rung: rung.at,
            points: rung.points,
        });
    }
    bonuses.extend(cumulative_bonus(policy, cycle_count));
    Ok(CheckinReward {
        date: today,
        streak,
        cycle_count,
        base_points: policy.base_points,
        bonuses,
    })
}

/// Makes up the missed past day `missed` for the policy's cost. `makeups_used` counts the
/// member's make-ups whose date is on or after [`CheckinPolicy::makeup_period_start`].
pub fn make_up(
    policy: &CheckinPolicy,
    history: &[LocalDate],
    missed: LocalDate,
    today: LocalDate,
    makeups_used: u32,
) -> Result<MakeupOutcome, CheckinError> {
    let makeup = policy.makeup.ok_or(CheckinError::MakeupDisabled)?;
    if missed >= today {
        return Err(CheckinError::MakeupNotInPast);
    }
    if history.binary_search(&missed).is_ok() {
        return Err(CheckinError::AlreadyCheckedIn(missed));
    }
    if missed.days_until(today) > i64::from(makeup.max_days_back) {
        return Err(CheckinError::MakeupTooFarBack {
            max_days_back: makeup.max_days_back,
        });
    }
    let start = policy.cycle_start(today);
    if missed < start {
        return Err(CheckinError::MakeupOutsideCycle);
    }
    if makeups_used >= makeup.max_per_cycle {
        return Err(CheckinError::MakeupLimitReached {
            max_per_cycle: makeup.max_per_cycle,
        });
    }
    let has = |date: LocalDate| date == missed || history.binary_search(&date).is_ok();
    let cycle_count = count_between(history, start, today.next_day()) + 1;
    Ok(MakeupOutcome {
        date: missed,
        cost_points: makeup.cost_points,
        streak: current(policy, today, has),
        cycle_count,
        bonuses: cumulative_bonus(policy, cycle_count).into_iter().collect(),
    })
}

/// The streak to show on `today`: a streak that ended yesterday stays current until today
/// passes without a check-in, and a new cycle starts at zero.
pub fn current_streak(policy: &CheckinPolicy, history: &[LocalDate], today: LocalDate) -> u32 {
    current(policy, today, |date| history.binary_search(&date).is_ok())
}

fn current(policy: &CheckinPolicy, today: LocalDate, has: impl Fn(LocalDate) -> bool) -> u32 {
    let end = if has(today) { today } else { today.prev_day() };
    streak_ending(end, policy.cycle_start(today), has)
}

/// Consecutive checked-in days ending on `end`, not counting days before `start`.
fn streak_ending(end: LocalDate, start: LocalDate, has: impl Fn(LocalDate) -> bool) -> u32 {
    let mut streak = 0;
    let mut day = end;
    while day >= start && has(day) {
        streak += 1;
        if day == LocalDate::MIN {
            break;
        }
        day = day.prev_day();
    }
    streak
}

/// Check-ins on days in `[from, until)`.
fn count_between(history: &[LocalDate], from: LocalDate, until: LocalDate) -> u32 {
    let lo = history.partition_point(|d| *d < from);
    let hi = history.partition_point(|d| *d < until);
    u32::try_from(hi.saturating_sub(lo)).unwrap_or(u32::MAX)
}

fn cumulative_bonus(policy: &CheckinPolicy, count: u32) -> Option<Bonus> {
    let rung = policy.cumulative.iter().find(|rung| rung.at == count)?;
    Some(Bonus {
        kind: BonusKind::Cumulative,
        rung: rung.at,
        points: rung.points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(raw: &str) -> LocalDate {
        LocalDate::parse(raw).unwrap()
    }

    /// `n` consecutive dates starting at `first`.
    fn run(first: &str, n: i64) -> Vec<LocalDate> {
        (0..n).map(|i| d(first).add_days(i)).collect()
    }

    fn bonuses(reward: &CheckinReward) -> Vec<(&'static str, u32, i64)> {
        reward
            .bonuses()
            .iter()
            .map(|b| (b.kind().as_str(), b.rung(), b.points()))
            .collect()
    }

    #[test]
    fn a_member_checks_in_once_per_local_date() {
        let policy = CheckinPolicy::default();
        let sh = crate::calendar::TimeZone::shanghai();
        let at = |raw| LocalDate::of(crate::time::Timestamp::parse_rfc3339(raw).unwrap(), &sh);
        let first = check_in(&policy, &[], at("2026-11-23T15:59:59.999Z")).unwrap();
        assert_eq!((first.date(), first.total_points()), (d("2026-11-23"), 5));
        let again = check_in(&policy, &[first.date()], at("2026-11-23T01:00:00Z")).unwrap_err();
        assert_eq!(again.as_str(), "already_checked_in");
        // 16:00 UTC is already the next day in Shanghai.
        let next = check_in(&policy, &[first.date()], at("2026-11-23T16:00:00Z")).unwrap();
        assert_eq!((next.date(), next.streak()), (d("2026-11-24"), 2));
    }

    #[test]
    fn streaks_continue_across_month_year_and_leap_day_ends() {
        let policy = CheckinPolicy::default();
        let cases = [
            ("2026-01-30", "2026-02-01"),
            ("2026-12-30", "2027-01-01"),
            ("2024-02-28", "2024-03-01"),
        ];
        for (first, today) in cases {
            let reward = check_in(&policy, &run(first, 2), d(today)).unwrap();
            assert_eq!(reward.streak(), 3, "{first} → {today}");
            assert_eq!(bonuses(&reward), [("consecutive", 3, 10)]);
        }
    }

    #[test]
    fn a_missed_day_resets_the_streak_to_one() {
        let policy = CheckinPolicy::default();
        let reward = check_in(&policy, &run("2026-11-01", 6), d("2026-11-08")).unwrap();
        assert_eq!((reward.streak(), reward.total_points()), (1, 5));
        assert_eq!(
            current_streak(&policy, &run("2026-11-01", 6), d("2026-11-08")),
            0
        );
    }

    #[test]
    fn a_streak_that_ended_yesterday_is_still_current() {
        let policy = CheckinPolicy::default();
        let history = run("2026-11-20", 3);
        assert_eq!(current_streak(&policy, &history, d("2026-11-22")), 3);
        assert_eq!(current_streak(&policy, &history, d("2026-11-23")), 3);
        assert_eq!(current_streak(&policy, &history, d("2026-11-24")), 0);
    }

    #[test]
    fn the_ladder_repeats_beyond_its_last_rung_only_when_asked() {
        let mut policy = CheckinPolicy::default();
        let paid = |policy: &CheckinPolicy, day: i64| {
            bonuses(
                &check_in(
                    policy,
                    &run("2026-01-01", day - 1),
                    d("2026-01-01").add_days(day - 1),
                )
                .unwrap(),
            )
        };
        assert_eq!(paid(&policy, 7), [("consecutive", 7, 30)]);
        assert_eq!(paid(&policy, 8), []);
        assert_eq!(paid(&policy, 10), [("consecutive", 3, 10)]);
        assert_eq!(paid(&policy, 14), [("consecutive", 7, 30)]);
        policy.repeat_ladder = false;
        assert_eq!(paid(&policy, 10), []);
        assert_eq!(paid(&policy, 14), []);
    }

    #[test]
    fn weekly_and_monthly_cycles_restart_streaks_and_counts() {
        let mut policy = CheckinPolicy {
            cycle: CheckinCycle::Weekly,
            cumulative: vec![Rung { at: 2, points: 15 }],
            ..CheckinPolicy::default()
        };
        // Sunday 2026-11-22 ends a week; Monday 2026-11-23 starts the next.
        let history = run("2026-11-20", 3);
        let monday = check_in(&policy, &history, d("2026-11-23")).unwrap();
        assert_eq!((monday.streak(), monday.cycle_count()), (1, 1));
        assert_eq!(current_streak(&policy, &history, d("2026-11-23")), 0);
        policy.cycle = CheckinCycle::Monthly;
        let same_month = check_in(&policy, &history, d("2026-11-23")).unwrap();
        assert_eq!((same_month.streak(), same_month.cycle_count()), (4, 4));
        let first = check_in(&policy, &run("2026-11-28", 3), d("2026-12-01")).unwrap();
        assert_eq!((first.streak(), first.cycle_count()), (1, 1));
    }

    #[test]
    fn a_cumulative_rung_pays_once_when_the_cycle_count_reaches_it() {
        let policy = CheckinPolicy {
            cycle: CheckinCycle::Monthly,
            cumulative: vec![Rung { at: 3, points: 40 }],
            ..CheckinPolicy::default()
        };
        let history = [d("2026-11-02"), d("2026-11-05")];
        let third = check_in(&policy, &history, d("2026-11-09")).unwrap();
        assert_eq!(bonuses(&third), [("cumulative", 3, 40)]);
        assert_eq!(third.total_points(), 45);
        let history = [history[0], history[1], d("2026-11-09")];
        assert_eq!(
            bonuses(&check_in(&policy, &history, d("2026-11-12")).unwrap()),
            []
        );
    }

    #[test]
    fn a_make_up_restores_the_streak_for_the_next_check_in() {
        let policy = CheckinPolicy::default();
        let history = [d("2026-11-20"), d("2026-11-21")];
        let outcome = make_up(&policy, &history, d("2026-11-22"), d("2026-11-23"), 0).unwrap();
        assert_eq!((outcome.cost_points(), outcome.streak()), (20, 3));
        assert_eq!(outcome.bonus_points(), 0);
        let history = run("2026-11-20", 3);
        let today = check_in(&policy, &history, d("2026-11-23")).unwrap();
        assert_eq!(today.streak(), 4);
        // Made up after today's check-in, the gap closes into one streak through today.
        let history = [d("2026-11-20"), d("2026-11-21"), d("2026-11-23")];
        let late = make_up(&policy, &history, d("2026-11-22"), d("2026-11-23"), 1).unwrap();
        assert_eq!(late.streak(), 4);
    }

    #[test]
    fn a_make_up_that_reaches_a_cumulative_rung_pays_it_once() {
        let policy = CheckinPolicy {
            cycle: CheckinCycle::Monthly,
            cumulative: vec![Rung { at: 3, points: 40 }],
            ..CheckinPolicy::default()
        };
        let history = [d("2026-11-20"), d("2026-11-23")];
        let outcome = make_up(&policy, &history, d("2026-11-21"), d("2026-11-23"), 0).unwrap();
        assert_eq!((outcome.cycle_count(), outcome.bonus_points()), (3, 40));
        let history = [d("2026-11-20"), d("2026-11-21"), d("2026-11-23")];
        assert_eq!(
            bonuses(&check_in(&policy, &history, d("2026-11-24")).unwrap()),
            []
        );
    }

    #[test]
    fn make_ups_are_refused_outside_the_rules() {
        let weekly = CheckinPolicy {
            cycle: CheckinCycle::Weekly,
            ..CheckinPolicy::default()
        };
        let history = [d("2026-11-24")];
        let today = d("2026-11-26");
        let code = |policy: &CheckinPolicy, missed: &str, used| {
            make_up(policy, &history, d(missed), today, used)
                .unwrap_err()
                .as_str()
        };
        let disabled = CheckinPolicy {
            makeup: None,
            ..weekly.clone()
        };
        assert_eq!(code(&disabled, "2026-11-25", 0), "makeup_disabled");
        assert_eq!(code(&weekly, "2026-11-26", 0), "makeup_not_in_past");
        assert_eq!(code(&weekly, "2026-11-27", 0), "makeup_not_in_past");
        assert_eq!(code(&weekly, "2026-11-24", 0), "already_checked_in");
        assert_eq!(code(&weekly, "2026-11-18", 0), "makeup_too_far_back");
        assert_eq!(code(&weekly, "2026-11-22", 0), "makeup_outside_cycle");
        assert_eq!(code(&weekly, "2026-11-25", 2), "makeup_limit_reached");
        assert!(make_up(&weekly, &history, d("2026-11-23"), today, 1).is_ok());
    }

    #[test]
    fn policies_with_nonsense_are_refused() {
        assert_eq!(CheckinPolicy::default().validate(), Ok(()));
        let rungs = |ats: &[u32]| ats.iter().map(|&at| Rung { at, points: 1 }).collect();
        let bad = [
            (
                "base_points",
                CheckinPolicy {
                    base_points: -1,
                    ..Default::default()
                },
            ),
            (
                "consecutive[0].at",
                CheckinPolicy {
                    consecutive: rungs(&[0, 3]),
                    ..Default::default()
                },
            ),
            (
                "consecutive[1].at",
                CheckinPolicy {
                    consecutive: rungs(&[3, 3]),
                    ..Default::default()
                },
            ),
            (
                "cumulative[1].at",
                CheckinPolicy {
                    cumulative: rungs(&[5, 2]),
                    ..Default::default()
                },
            ),
            (
                "consecutive[1].at",
                CheckinPolicy {
                    cycle: CheckinCycle::Weekly,
                    consecutive: rungs(&[3, 8]),
                    ..Default::default()
                },
            ),
            (
                "makeup.max_per_cycle",
                CheckinPolicy {
                    makeup: Some(MakeupPolicy {
                        cost_points: 20,
                        max_days_back: 7,
                        max_per_cycle: 0,
                    }),
                    ..Default::default()
                },
            ),
        ];
        for (field, policy) in bad {
            assert_eq!(policy.validate().unwrap_err().field(), field);
        }
    }

    proptest! {
        #[test]
        fn check_ins_never_pay_a_date_twice_and_streaks_stay_bounded(
            offsets in proptest::collection::btree_set(0i64..60, 0..40),
            today_offset in 0i64..70,
            cycle in prop_oneof![Just(CheckinCycle::None), Just(CheckinCycle::Weekly), Just(CheckinCycle::Monthly)],
        ) {
            let policy = CheckinPolicy { cycle, ..CheckinPolicy::default() };
            let base = d("2026-01-20");
            let mut history: Vec<LocalDate> = offsets.iter().map(|&o| base.add_days(o)).collect();
            let today = base.add_days(today_offset);
            match check_in(&policy, &history, today) {
                Err(e) => prop_assert!(history.contains(&today) && e.as_str() == "already_checked_in"),
                Ok(reward) => {
                    prop_assert!(!history.contains(&today));
                    prop_assert!(reward.streak() as usize <= history.len() + 1);
                    prop_assert!(reward.streak() <= reward.cycle_count());
                    prop_assert!(reward.total_points() >= policy.base_points);
                    let at = history.partition_point(|x| *x < today);
                    history.insert(at, today);
                    prop_assert_eq!(current_streak(&policy, &history, today), reward.streak());
                    prop_assert!(check_in(&policy, &history, today).is_err());
                }
            }
        }
    }
}
