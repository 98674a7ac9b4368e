//! Binding an invitee to the inviter who brought them: first touch wins while the binding
//! holds, and the invite graph stays a forest (no one invites themselves or an ancestor).

use std::time::Duration;

use super::program::ReferralProgram;
use crate::time::Timestamp;

/// How many ancestors of the inviter the caller should load for the loop check. A loop
/// longer than this cannot be seen at bind time; [`super::stats`] stays finite on such data
/// anyway. Real invite chains rarely pass a dozen generations.
pub const MAX_ANCESTOR_DEPTH: usize = 64;

/// Who invited whom, since when, and until when the binding holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    inviter: String,
    invitee: String,
    bound_at: Timestamp,
    expires_at: Option<Timestamp>,
}

impl Binding {
    /// Rebuilds a binding read back from our own storage.
    pub fn from_stored(
        inviter: String,
        invitee: String,
        bound_at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> Self {
        Self {
            inviter,
            invitee,
            bound_at,
            expires_at,
        }
    }

    pub fn inviter(&self) -> &str {
        &self.inviter
    }

    pub fn invitee(&self) -> &str {
        &self.invitee
    }

    pub fn bound_at(&self) -> Timestamp {
        self.bound_at
    }

    /// `None` when the binding never expires.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.expires_at
    }

    /// Whether the binding still attributes the invitee to the inviter at `at`; the
    /// expiry instant itself is already outside.
    pub fn holds_at(&self, at: Timestamp) -> bool {
        self.expires_at.is_none_or(|expires| at < expires)
    }
}

/// What the store knows about the would-be invitee when the bind is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InviteeFacts {
    /// When the member record was created.
    pub created_at: Timestamp,
    /// Paid orders so far, refunded ones included: a refund does not make a customer new.
    pub order_count: u32,
    /// The earliest event of any identity merged into the member (OneID), which can
    /// predate `created_at` when an anonymous visitor signs up later.
    pub first_seen_at: Option<Timestamp>,
}

impl InviteeFacts {
    /// When the member first showed up in any form.
    pub fn arrived_at(&self) -> Timestamp {
        self.first_seen_at
            .map_or(self.created_at, |seen| seen.min(self.created_at))
    }

    /// The newcomer rule: a member is new when they have never ordered and arrived either
    /// within `program.new_member_minutes` before `now` (the sign-up step of the share
    /// link's flow) or at or after the program started. Otherwise inviting them would pay
    /// for customers the brand already had.
    pub fn is_new(&self, program: &ReferralProgram, now: Timestamp) -> bool {
        let arrived = self.arrived_at();
        let grace = Duration::from_secs(u64::from(program.new_member_minutes) * 60);
        self.order_count == 0
            && (arrived >= now.minus(grace) || program.active_from.is_some_and(|s| arrived >= s))
    }
}

/// A request to bind `invitee` to `inviter`.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub inviter: &'a str,
    /// The inviter's own inviter, that one's inviter and so on upward, nearest first, up
    /// to [`MAX_ANCESTOR_DEPTH`]; expired bindings included, since rewards already paid
    /// along them keep them part of the tree.
    pub inviter_ancestors: &'a [String],
    pub invitee: &'a str,
    pub facts: InviteeFacts,
}

/// Why a bind was refused; each has a stable code for the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BindRefusal {
    #[error("the referral program is not running")]
    ProgramInactive,
    #[error("a member cannot invite themselves")]
    SelfReferral,
    #[error("the invitee is already bound to another inviter")]
    AlreadyBound,
    #[error("the invitee is an ancestor of the inviter in the invite tree")]
    ReferralLoop,
    #[error("only new members without orders can be invited")]
    NotNew,
}

impl BindRefusal {
    pub fn code(self) -> &'static str {
        match self {
            BindRefusal::ProgramInactive => "program_inactive",
            BindRefusal::SelfReferral => "self_referral",
            BindRefusal::AlreadyBound => "already_bound",
            BindRefusal::ReferralLoop => "referral_loop",
            BindRefusal::NotNew => "not_new",
        }
    }
}

/// Binds the candidate's invitee to its inviter, given the invitee's current binding.
///
/// First touch wins: while `existing` holds, another inviter is refused with
/// `already_bound`, and the same inviter gets `existing` back unchanged (a second tap on the
/// same link is not an error and does not extend the binding). Once `existing` has expired
/// a new binding replaces it, if the invitee still counts as new. Checks run in the order
/// program window, self-referral, existing binding, loop, newness, so the refusal names
/// the most specific reason.
pub fn bind(
    program: &ReferralProgram,
    existing: Option<&Binding>,
    candidate: &Candidate<'_>,
    now: Timestamp,
) -> Result<Binding, BindRefusal> {
    if !program.is_active(now) {
        return Err(BindRefusal::ProgramInactive);
    }
    if candidate.inviter == candidate.invitee {
        return Err(BindRefusal::SelfReferral);
    }
    if let Some(existing) = existing.filter(|b| b.holds_at(now)) {
        return if existing.inviter == candidate.inviter {
            Ok(existing.clone())
        } else {
            Err(BindRefusal::AlreadyBound)
        };
    }
    if candidate
        .inviter_ancestors
        .iter()
        .any(|ancestor| ancestor == candidate.invitee)
    {
        return Err(BindRefusal::ReferralLoop);
    }
    if !candidate.facts.is_new(program, now) {
        return Err(BindRefusal::NotNew);
    }
    Ok(Binding {
        inviter: candidate.inviter.to_owned(),
        invitee: candidate.invitee.to_owned(),
        bound_at: now,
        expires_at: program.binding_expires_at(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::social::referral::program::Reward;
    use proptest::prelude::*;
    use std::collections::HashMap;

    const MINUTE: i64 = 60_000;
    const DAY: i64 = 86_400_000;
    const START: i64 = 1_790_000_000_000;

    fn program() -> ReferralProgram {
        ReferralProgram {
            per_invitee: Some(Reward::points(100)),
            active_from: Some(Timestamp::from_millis(START)),
            ..ReferralProgram::default()
        }
    }

    fn t(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis)
    }

    fn fresh(now: i64) -> InviteeFacts {
        InviteeFacts {
            created_at: t(now - MINUTE),
            order_count: 0,
            first_seen_at: None,
        }
    }

    fn candidate<'a>(
        inviter: &'a str,
        ancestors: &'a [String],
        invitee: &'a str,
        facts: InviteeFacts,
    ) -> Candidate<'a> {
        Candidate {
            inviter,
            inviter_ancestors: ancestors,
            invitee,
            facts,
        }
    }

    #[test]
    fn a_new_member_binds_to_the_first_inviter_for_binding_days() {
        let now = START + DAY;
        let b = bind(
            &program(),
            None,
            &candidate("a", &[], "n", fresh(now)),
            t(now),
        )
        .unwrap();
        assert_eq!((b.inviter(), b.invitee(), b.bound_at()), ("a", "n", t(now)));
        assert_eq!(b.expires_at(), Some(t(now + 30 * DAY)));
        assert!(b.holds_at(t(now + 30 * DAY - 1)));
        assert!(!b.holds_at(t(now + 30 * DAY)));
    }

    #[test]
    fn inviting_yourself_is_refused_as_self_referral() {
        let now = START + DAY;
        let err = bind(
            &program(),
            None,
            &candidate("a", &[], "a", fresh(now)),
            t(now),
        );
        assert_eq!(err.unwrap_err().code(), "self_referral");
    }

    #[test]
    fn inviting_an_ancestor_is_refused_as_referral_loop() {
        let now = START + DAY;
        // a invited b, b invited c; c now tries to invite a.
        let ancestors = ["b".to_owned(), "a".to_owned()];
        let err = bind(
            &program(),
            None,
            &candidate("c", &ancestors, "a", fresh(now)),
            t(now),
        );
        assert_eq!(err.unwrap_err().code(), "referral_loop");
    }

    #[test]
    fn members_with_orders_or_an_old_arrival_are_refused_as_not_new() {
        let p = program();
        let now = START + 10 * DAY;
        let ordered = InviteeFacts {
            order_count: 1,
            ..fresh(now)
        };
        let before_start = InviteeFacts {
            created_at: t(START - DAY),
            order_count: 0,
            first_seen_at: None,
        };
        let seen_before_start = InviteeFacts {
            created_at: t(now - MINUTE),
            order_count: 0,
            first_seen_at: Some(t(START - DAY)),
        };
        for facts in [ordered, before_start, seen_before_start] {
            let err = bind(&p, None, &candidate("a", &[], "n", facts), t(now)).unwrap_err();
            assert_eq!(err.code(), "not_new", "{facts:?}");
        }
    }

    #[test]
    fn newness_is_a_recent_sign_up_or_an_arrival_after_the_program_started() {
        let mut p = program();
        let now = START + 10 * DAY;
        let after_start = InviteeFacts {
            created_at: t(START + DAY),
            order_count: 0,
            first_seen_at: None,
        };
        assert!(after_start.is_new(&p, t(now)));
        // Without a start, only the sign-up grace counts.
        p.active_from = None;
        assert!(!after_start.is_new(&p, t(now)));
        let signed_up = |ago: i64| InviteeFacts {
            created_at: t(now - ago),
            ..after_start
        };
        assert!(signed_up(60 * MINUTE).is_new(&p, t(now)));
        assert!(!signed_up(60 * MINUTE + 1).is_new(&p, t(now)));
    }

    #[test]
    fn a_second_inviter_is_refused_as_already_bound_while_the_binding_holds() {
        let p = program();
        let now = START + DAY;
        let first = bind(&p, None, &candidate("a", &[], "n", fresh(now)), t(now)).unwrap();
        let later = now + DAY;
        let err = bind(
            &p,
            Some(&first),
            &candidate("b", &[], "n", fresh(now)),
            t(later),
        );
        assert_eq!(err.unwrap_err().code(), "already_bound");
        // The same inviter again is a no-op, not a refusal, and does not extend the binding.
        let again = bind(
            &p,
            Some(&first),
            &candidate("a", &[], "n", fresh(now)),
            t(later),
        );
        assert_eq!(again.unwrap(), first);
    }

    #[test]
    fn an_expired_binding_can_be_replaced_by_a_new_first_touch() {
        let mut p = program();
        p.binding_days = 1;
        let now = START + DAY;
        let first = bind(&p, None, &candidate("a", &[], "n", fresh(now)), t(now)).unwrap();
        let later = now + DAY;
        let second = bind(
            &p,
            Some(&first),
            &candidate("b", &[], "n", fresh(now)),
            t(later),
        );
        assert_eq!(second.unwrap().inviter(), "b");
    }

    #[test]
    fn binds_outside_the_active_window_are_refused_as_program_inactive() {
        let mut p = program();
        p.active_until = Some(t(START + DAY));
        for now in [START - 1, START + DAY] {
            let err = bind(&p, None, &candidate("a", &[], "n", fresh(now)), t(now));
            assert_eq!(err.unwrap_err().code(), "program_inactive");
        }
    }

    /// The ancestors of `member` in `inviter_of`, nearest first, bounded like the store's
    /// query.
    fn ancestors(inviter_of: &HashMap<String, String>, member: &str) -> Vec<String> {
        let mut chain = Vec::new();
        let mut current = member;
        while let Some(parent) = inviter_of.get(current) {
            if chain.len() == MAX_ANCESTOR_DEPTH {
                break;
            }
            chain.push(parent.clone());
            current = parent;
        }
        chain
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn random_bind_sequences_never_make_a_cycle_or_a_self_referral(
            attempts in proptest::collection::vec((0u8..12, 0u8..12, 0i64..3 * DAY), 1..80),
            binding_days in 0u32..3,
        ) {
            let p = ReferralProgram { binding_days, ..program() };
            let mut inviter_of: HashMap<String, String> = HashMap::new();
            let mut current: HashMap<String, Binding> = HashMap::new();
            let mut now = START;
            for (inviter, invitee, step) in attempts {
                now += step;
                let (inviter, invitee) = (format!("m{inviter}"), format!("m{invitee}"));
                let chain = ancestors(&inviter_of, &inviter);
                // Everyone arrived after the start and never ordered, so only the graph
                // rules can refuse.
                let facts = InviteeFacts { created_at: t(START), order_count: 0, first_seen_at: None };
                let request = candidate(&inviter, &chain, &invitee, facts);
                if let Ok(binding) = bind(&p, current.get(&invitee), &request, t(now)) {
                    prop_assert_ne!(binding.inviter(), binding.invitee());
                    inviter_of.insert(invitee.clone(), inviter.clone());
                    current.insert(invitee.clone(), binding);
                }
                // Walking up from every member ends at a root within the member count.
                for member in inviter_of.keys() {
                    let mut steps = 0;
                    let mut at = member.as_str();
                    while let Some(parent) = inviter_of.get(at) {
                        prop_assert_ne!(parent.as_str(), at);
                        steps += 1;
                        prop_assert!(steps <= 12, "cycle through {}", member);
                        at = parent;
                    }
                }
            }
        }
    }
}
