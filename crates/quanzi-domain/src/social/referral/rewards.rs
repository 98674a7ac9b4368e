//! What a qualified invitee earns: an invitee qualifies when their first order is paid
//! while their binding holds and the program runs.

use std::fmt;

use super::binding::Binding;
use super::program::{ReferralProgram, Reward, Stage};
use crate::calendar::TimeZone;
use crate::loyalty::earning::period_starts;
use crate::time::Timestamp;

/// Who receives a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recipient {
    Inviter,
    Invitee,
}

/// Why a grant was made; each has a stable code for ledgers and webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RewardReason {
    /// The inviter's reward for one qualified invitee.
    PerInvitee,
    /// The inviter reached a stage of the multi-stage task.
    Stage,
    /// The invitee's own reward for joining through an invitation.
    Welcome,
}

impl RewardReason {
    pub fn code(self) -> &'static str {
        match self {
            RewardReason::PerInvitee => "referral_invitee",
            RewardReason::Stage => "referral_stage",
            RewardReason::Welcome => "referral_welcome",
        }
    }
}

impl fmt::Display for RewardReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One reward to hand out once `pending_until` passes, unless a return voids it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardGrant {
    pub to: Recipient,
    /// The recipient's member id, copied from the binding.
    pub member: String,
    pub reward: Reward,
    pub reason: RewardReason,
    /// The stage's invitee count for [`RewardReason::Stage`]. The threshold rather than
    /// the stage's position names it, so a store can key "paid once" on it and editing
    /// other stages later does not renumber it.
    pub stage: Option<u32>,
    pub pending_until: Timestamp,
}

/// The inviter's standing just before this qualification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InviterStats {
    /// Invitees that qualified before this one, whether or not the caps let their
    /// per-invitee reward through.
    pub qualified_total: u32,
    /// Per-invitee rewards granted since the start of the local day of `now`.
    pub rewarded_in_day: u32,
    /// Per-invitee rewards granted since the start of the local month of `now`.
    pub rewarded_in_month: u32,
}

impl InviterStats {
    /// Counts the per-invitee rewards in `rewarded_at` that fall in the local day and
    /// month of `now`, in the workspace zone, the periods the caps speak of.
    pub fn from_history(
        qualified_total: u32,
        rewarded_at: impl IntoIterator<Item = Timestamp>,
        now: Timestamp,
        tz: &TimeZone,
    ) -> Self {
        let starts = period_starts(now, tz);
        let mut stats = InviterStats {
            qualified_total,
            ..InviterStats::default()
        };
        for at in rewarded_at {
            if at >= starts.month() {
                stats.rewarded_in_month += 1;
            }
            if at >= starts.day() {
                stats.rewarded_in_day += 1;
            }
        }
        stats
    }
}

/// The stages a count of qualified invitees moving from `before` to `after` reaches:
/// those with `before < invitees <= after`. Because the ranges of successive moves do not
/// overlap, each stage is paid exactly once however the counts arrive, one at a time or
/// in jumps.
pub fn stages_reached(stages: &[Stage], before: u32, after: u32) -> impl Iterator<Item = &Stage> {
    stages
        .iter()
        .filter(move |stage| before < stage.invitees && stage.invitees <= after)
}

/// The grants earned when the invitee of `binding` has their first order paid at `now`.
///
/// Nothing is granted unless the program is active at `now` and the binding holds (an
/// order after the binding expired, or before it was made, is not the inviter's doing).
/// Otherwise the invitee counts as qualified and:
/// - the inviter gets `per_invitee` if this invitee fits in the day and month caps;
/// - the inviter gets every stage the new qualified count reaches. Invitees over the caps
///   still count toward stages: caps limit how fast per-invitee rewards flow, while stages
///   pay once each and so are bounded by the program itself;
/// - the invitee gets `invitee_reward`, never capped, since caps protect against one
///   inviter's farm, not against a newcomer.
///
/// The caller calls this once per invitee (the first paid order is a one-time fact) and
/// holds the inviter's row locked while counting `stats` and storing the grants, so two
/// qualifications never read the same `qualified_total`. Every grant stays pending for the
/// program's `pending_days`; a return in that window should void the grants of the order.
pub fn on_first_paid_order(
    program: &ReferralProgram,
    binding: &Binding,
    stats: InviterStats,
    now: Timestamp,
) -> Vec<RewardGrant> {
    if !program.is_active(now) || !binding.holds_at(now) || now < binding.bound_at() {
        return Vec::new();
    }
    let pending_until = program.pending_until(now);
    let to_inviter = |reward: &Reward, reason, stage| RewardGrant {
        to: Recipient::Inviter,
        member: binding.inviter().to_owned(),
        reward: reward.clone(),
        reason,
        stage,
        pending_until,
    };
    let mut grants = Vec::new();
    let within_caps = program
        .caps
        .per_day
        .is_none_or(|cap| stats.rewarded_in_day < cap)
        && program
            .caps
            .per_month
            .is_none_or(|cap| stats.rewarded_in_month < cap);
    if let Some(reward) = program.per_invitee.as_ref().filter(|_| within_caps) {
        grants.push(to_inviter(reward, RewardReason::PerInvitee, None));
    }
    let after = stats.qualified_total.saturating_add(1);
    for stage in stages_reached(&program.stages, stats.qualified_total, after) {
        grants.push(to_inviter(
            &stage.reward,
            RewardReason::Stage,
            Some(stage.invitees),
        ));
    }
    if let Some(reward) = &program.invitee_reward {
        grants.push(RewardGrant {
            to: Recipient::Invitee,
            member: binding.invitee().to_owned(),
            reward: reward.clone(),
            reason: RewardReason::Welcome,
            stage: None,
            pending_until,
        });
    }
    grants
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::LocalDate;
    use crate::social::referral::program::Caps;
    use proptest::prelude::*;
    use std::collections::HashMap;

    const DAY: i64 = 86_400_000;

    fn at(raw: &str) -> Timestamp {
        Timestamp::parse_rfc3339(raw).unwrap()
    }

    fn program() -> ReferralProgram {
        ReferralProgram {
            per_invitee: Some(Reward::points(100)),
            stages: vec![
                Stage {
                    invitees: 3,
                    reward: Reward::coupon("stage_a"),
                },
                Stage {
                    invitees: 10,
                    reward: Reward::points(2_000),
                },
            ],
            invitee_reward: Some(Reward::coupon("welcome")),
            caps: Caps {
                per_day: Some(2),
                per_month: Some(20),
            },
            ..ReferralProgram::default()
        }
    }

    fn binding(bound_at: Timestamp, expires_at: Option<Timestamp>) -> Binding {
        Binding::from_stored("inviter".into(), "invitee".into(), bound_at, expires_at)
    }

    fn reasons(grants: &[RewardGrant]) -> Vec<(Recipient, &'static str, Option<u32>)> {
        grants
            .iter()
            .map(|g| (g.to, g.reason.code(), g.stage))
            .collect()
    }

    #[test]
    fn a_qualification_pays_the_inviter_and_the_invitee_pending_for_seven_days() {
        let now = at("2026-11-23T12:00:00+08:00");
        let grants = on_first_paid_order(
            &program(),
            &binding(now.minus(std::time::Duration::from_secs(3600)), None),
            InviterStats::default(),
            now,
        );
        assert_eq!(
            reasons(&grants),
            [
                (Recipient::Inviter, "referral_invitee", None),
                (Recipient::Invitee, "referral_welcome", None),
            ]
        );
        assert_eq!(grants[0].member, "inviter");
        assert_eq!(grants[1].member, "invitee");
        assert!(grants
            .iter()
            .all(|g| g.pending_until == at("2026-11-30T12:00:00+08:00")));
    }

    #[test]
    fn the_third_invitee_reaches_the_first_stage() {
        let now = at("2026-11-23T12:00:00+08:00");
        let stats = InviterStats {
            qualified_total: 2,
            ..InviterStats::default()
        };
        let grants = on_first_paid_order(&program(), &binding(now, None), stats, now);
        assert_eq!(
            reasons(&grants),
            [
                (Recipient::Inviter, "referral_invitee", None),
                (Recipient::Inviter, "referral_stage", Some(3)),
                (Recipient::Invitee, "referral_welcome", None),
            ]
        );
        assert_eq!(grants[1].reward, Reward::coupon("stage_a"));
    }

    #[test]
    fn an_invitee_over_the_cap_pays_no_per_invitee_reward_but_still_reaches_stages() {
        let now = at("2026-11-23T12:00:00+08:00");
        let stats = InviterStats {
            qualified_total: 9,
            rewarded_in_day: 2,
            rewarded_in_month: 9,
        };
        let grants = on_first_paid_order(&program(), &binding(now, None), stats, now);
        assert_eq!(
            reasons(&grants),
            [
                (Recipient::Inviter, "referral_stage", Some(10)),
                (Recipient::Invitee, "referral_welcome", None),
            ]
        );
    }

    #[test]
    fn an_expired_binding_or_an_ended_program_pays_nothing() {
        let now = at("2026-11-23T12:00:00+08:00");
        let expired = binding(now.minus(std::time::Duration::from_secs(60)), Some(now));
        assert!(on_first_paid_order(&program(), &expired, InviterStats::default(), now).is_empty());
        let ended = ReferralProgram {
            active_until: Some(now),
            ..program()
        };
        assert!(
            on_first_paid_order(&ended, &binding(now, None), InviterStats::default(), now)
                .is_empty()
        );
        let later = binding(now.plus(std::time::Duration::from_secs(1)), None);
        assert!(on_first_paid_order(&program(), &later, InviterStats::default(), now).is_empty());
    }

    #[test]
    fn history_is_counted_in_the_local_day_and_month() {
        let tz = TimeZone::shanghai();
        // 00:30 on 1 December in Shanghai is still 30 November in UTC.
        let now = at("2026-12-01T00:30:00+08:00");
        let history = [
            at("2026-11-30T23:59:00+08:00"),
            at("2026-12-01T00:00:00+08:00"),
            at("2026-12-01T00:10:00+08:00"),
        ];
        let stats = InviterStats::from_history(7, history, now, &tz);
        assert_eq!(
            stats,
            InviterStats {
                qualified_total: 7,
                rewarded_in_day: 2,
                rewarded_in_month: 2,
            }
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn caps_are_never_exceeded_and_never_withhold_a_reward_there_was_room_for(
            per_day in proptest::option::of(1u32..4),
            per_month in proptest::option::of(1u32..30),
            steps in proptest::collection::vec(0i64..DAY, 1..120),
            offset_hours in -12i32..=14,
        ) {
            let tz = TimeZone::parse(&format!("{offset_hours:+03}:00")).unwrap();
            let per_month = match (per_day, per_month) {
                (Some(day), Some(month)) => Some(month.max(day)),
                (_, month) => month,
            };
            let program = ReferralProgram {
                caps: Caps { per_day, per_month },
                ..program()
            };
            let mut now = at("2026-11-20T00:00:00Z");
            let b = binding(now, None);
            let mut rewarded: Vec<Timestamp> = Vec::new();
            for (n, step) in steps.into_iter().enumerate() {
                now = now.plus(std::time::Duration::from_millis(step as u64));
                let stats = InviterStats::from_history(n as u32, rewarded.iter().copied(), now, &tz);
                let grants = on_first_paid_order(&program, &b, stats, now);
                let paid = grants.iter().any(|g| g.reason == RewardReason::PerInvitee);
                let full = per_day.is_some_and(|cap| stats.rewarded_in_day >= cap)
                    || per_month.is_some_and(|cap| stats.rewarded_in_month >= cap);
                prop_assert_eq!(paid, !full);
                if paid {
                    rewarded.push(now);
                }
            }
            let mut by_day: HashMap<LocalDate, u32> = HashMap::new();
            let mut by_month: HashMap<(i32, u32), u32> = HashMap::new();
            for t in &rewarded {
                let date = LocalDate::of(*t, &tz);
                *by_day.entry(date).or_default() += 1;
                *by_month.entry((date.year(), date.month())).or_default() += 1;
            }
            if let Some(cap) = per_day {
                prop_assert!(by_day.values().all(|&n| n <= cap));
            }
            if let Some(cap) = per_month {
                prop_assert!(by_month.values().all(|&n| n <= cap));
            }
        }

        #[test]
        fn each_stage_is_paid_exactly_once_however_the_counts_arrive(
            thresholds in proptest::collection::btree_set(1u32..60, 0..8),
            jumps in proptest::collection::vec(0u32..7, 1..40),
        ) {
            let stages: Vec<Stage> = thresholds
                .iter()
                .map(|&invitees| Stage { invitees, reward: Reward::points(i64::from(invitees)) })
                .collect();
            let mut paid: HashMap<u32, u32> = HashMap::new();
            let mut count = 0u32;
            for jump in jumps {
                let next = count + jump;
                for stage in stages_reached(&stages, count, next) {
                    *paid.entry(stage.invitees).or_default() += 1;
                }
                count = next;
            }
            for stage in &stages {
                let expected = u32::from(stage.invitees <= count);
                prop_assert_eq!(paid.get(&stage.invitees).copied().unwrap_or(0), expected);
            }
        }

        #[test]
        fn one_qualification_at_a_time_pays_each_stage_once(
            thresholds in proptest::collection::btree_set(1u32..40, 1..8),
            qualifications in 0u32..50,
        ) {
            let program = ReferralProgram {
                stages: thresholds
                    .iter()
                    .map(|&invitees| Stage { invitees, reward: Reward::points(10) })
                    .collect(),
                caps: Caps { per_day: Some(1), per_month: Some(1) },
                ..program()
            };
            program.check().unwrap();
            let now = at("2026-11-23T12:00:00Z");
            let b = binding(now, None);
            let mut stages_paid = Vec::new();
            for n in 0..qualifications {
                let stats = InviterStats { qualified_total: n, rewarded_in_day: 1, rewarded_in_month: 1 };
                for grant in on_first_paid_order(&program, &b, stats, now) {
                    if grant.reason == RewardReason::Stage {
                        stages_paid.push(grant.stage.unwrap());
                    }
                }
            }
            let expected: Vec<u32> = thresholds.into_iter().filter(|&t| t <= qualifications).collect();
            prop_assert_eq!(stages_paid, expected);
        }
    }
}
