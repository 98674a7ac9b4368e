//! Anti-fraud signals for social rewards. Each signal carries a stable code and a reason an
//! operator can read; a reward with any signal is held for review instead of paid.
//!
//! The signals are deliberately simple and explainable: invitees sharing a device with
//! the inviter or with each other (one person, many accounts), a burst of sign-ups under
//! one inviter, an inviter whose invitees never do anything, an inviter whose rewarded
//! invitees keep refunding, and accounts younger than a few minutes.

use std::time::Duration;

use crate::input::InvalidInput;
use crate::time::Timestamp;

/// Thresholds; `None` switches a signal off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FraudRules {
    /// Flag an invitee who shares a device id with the inviter or another invitee.
    pub shared_device: bool,
    /// Flag when an inviter bound at least `count` invitees within `minutes`.
    pub burst: Option<(u32, u32)>,
    /// Flag when at least `min_count` of an inviter's invitees, bound over 7 days ago,
    /// never acted (no events, no orders), and they are at least `percent` % of them.
    pub inactive_invitees: Option<(u32, u32)>,
    /// Flag when this many of an inviter's rewarded invitees refunded their first order.
    pub refunds_after_reward: Option<u32>,
    /// Flag a member whose account is younger than this many minutes.
    pub min_account_age_minutes: Option<u32>,
}

impl Default for FraudRules {
    fn default() -> Self {
        FraudRules {
            shared_device: true,
            burst: Some((10, 10)),
            inactive_invitees: Some((5, 80)),
            refunds_after_reward: Some(3),
            min_account_age_minutes: None,
        }
    }
}

impl FraudRules {
    pub fn check(&self) -> Result<(), InvalidInput> {
        if let Some((count, minutes)) = self.burst {
            if count < 2 || minutes == 0 || minutes > 1_440 {
                return Err(InvalidInput::new(
                    "burst",
                    "needs a count of at least 2 within 1 to 1440 minutes",
                ));
            }
        }
        if let Some((count, percent)) = self.inactive_invitees {
            if count == 0 || !(1..=100).contains(&percent) {
                return Err(InvalidInput::new(
                    "inactive_invitees",
                    "needs a count of at least 1 and a percent of 1 to 100",
                ));
            }
        }
        if self.refunds_after_reward == Some(0) {
            return Err(InvalidInput::new(
                "refunds_after_reward",
                "must be at least 1",
            ));
        }
        if self
            .min_account_age_minutes
            .is_some_and(|m| m == 0 || m > 10_080)
        {
            return Err(InvalidInput::new(
                "min_account_age_minutes",
                "must be 1 to 10080 minutes",
            ));
        }
        Ok(())
    }
}

/// What is known about a reward's circumstances when it is about to be paid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewardFacts {
    /// Other members (the inviter, other invitees) sharing a device id with the invitee.
    pub device_shared_with: Vec<String>,
    /// Invitees the inviter bound within the burst window.
    pub recent_bindings: u32,
    /// The inviter's invitees bound over 7 days ago, and how many of them never acted.
    pub old_invitees: u32,
    pub inactive_old_invitees: u32,
    /// The inviter's rewarded invitees whose qualifying order was refunded.
    pub refunded_after_reward: u32,
    /// When the invitee's account was created.
    pub invitee_created_at: Timestamp,
}

/// A reason to hold a reward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    SharedDevice { with: Vec<String> },
    BurstSignups { count: u32, minutes: u32 },
    InactiveInvitees { inactive: u32, of: u32 },
    RefundsAfterReward { count: u32 },
    YoungAccount { minutes: i64 },
}

impl Signal {
    pub fn code(&self) -> &'static str {
        match self {
            Signal::SharedDevice { .. } => "shared_device",
            Signal::BurstSignups { .. } => "burst_signups",
            Signal::InactiveInvitees { .. } => "inactive_invitees",
            Signal::RefundsAfterReward { .. } => "refunds_after_reward",
            Signal::YoungAccount { .. } => "young_account",
        }
    }

    /// A sentence for the operator.
    pub fn reason(&self) -> String {
        match self {
            Signal::SharedDevice { with } => {
                format!(
                    "shares a device with {} other member(s): {}",
                    with.len(),
                    with.join(", ")
                )
            }
            Signal::BurstSignups { count, minutes } => {
                format!("the inviter bound {count} invitees within {minutes} minutes")
            }
            Signal::InactiveInvitees { inactive, of } => {
                format!("{inactive} of the inviter's {of} older invitees never did anything")
            }
            Signal::RefundsAfterReward { count } => {
                format!("{count} of the inviter's rewarded invitees refunded their first order")
            }
            Signal::YoungAccount { minutes } => {
                format!("the account is only {minutes} minute(s) old")
            }
        }
    }
}

/// The signals `facts` raise under `rules`, at `now`.
pub fn assess(rules: &FraudRules, facts: &RewardFacts, now: Timestamp) -> Vec<Signal> {
    let mut signals = Vec::new();
    if rules.shared_device && !facts.device_shared_with.is_empty() {
        signals.push(Signal::SharedDevice {
            with: facts.device_shared_with.clone(),
        });
    }
    if let Some((count, minutes)) = rules.burst {
        if facts.recent_bindings >= count {
            signals.push(Signal::BurstSignups {
                count: facts.recent_bindings,
                minutes,
            });
        }
    }
    if let Some((min_count, percent)) = rules.inactive_invitees {
        let (inactive, of) = (facts.inactive_old_invitees, facts.old_invitees);
        if inactive >= min_count && u64::from(inactive) * 100 >= u64::from(of) * u64::from(percent)
        {
            signals.push(Signal::InactiveInvitees { inactive, of });
        }
    }
    if let Some(limit) = rules.refunds_after_reward {
        if facts.refunded_after_reward >= limit {
            signals.push(Signal::RefundsAfterReward {
                count: facts.refunded_after_reward,
            });
        }
    }
    if let Some(minutes) = rules.min_account_age_minutes {
        let age = now.since(facts.invitee_created_at);
        if age < Duration::from_secs(u64::from(minutes) * 60) {
            signals.push(Signal::YoungAccount {
                minutes: (age.as_secs() / 60) as i64,
            });
        }
    }
    signals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> RewardFacts {
        RewardFacts {
            invitee_created_at: Timestamp::from_millis(0),
            ..RewardFacts::default()
        }
    }

    #[test]
    fn clean_circumstances_raise_nothing() {
        let now = Timestamp::from_millis(86_400_000);
        assert!(assess(&FraudRules::default(), &clean(), now).is_empty());
    }

    #[test]
    fn each_signal_fires_at_its_threshold_and_explains_itself() {
        let now = Timestamp::from_millis(86_400_000);
        let rules = FraudRules {
            min_account_age_minutes: Some(30),
            ..FraudRules::default()
        };
        let facts = RewardFacts {
            device_shared_with: vec!["mem_a".into()],
            recent_bindings: 10,
            old_invitees: 6,
            inactive_old_invitees: 5,
            refunded_after_reward: 3,
            invitee_created_at: now.minus(Duration::from_secs(5 * 60)),
        };
        let codes: Vec<&str> = assess(&rules, &facts, now)
            .iter()
            .map(Signal::code)
            .collect();
        assert_eq!(
            codes,
            [
                "shared_device",
                "burst_signups",
                "inactive_invitees",
                "refunds_after_reward",
                "young_account"
            ]
        );
        for signal in assess(&rules, &facts, now) {
            assert!(!signal.reason().is_empty());
        }
        let below = RewardFacts {
            recent_bindings: 9,
            inactive_old_invitees: 4,
            refunded_after_reward: 2,
            ..clean()
        };
        assert!(assess(&FraudRules::default(), &below, now).is_empty());
    }

    #[test]
    fn inactive_invitees_need_both_a_count_and_a_share() {
        let now = Timestamp::from_millis(86_400_000);
        let facts = RewardFacts {
            old_invitees: 20,
            inactive_old_invitees: 5,
            ..clean()
        };
        // 5 of 20 is 25 %, below the 80 % default.
        assert!(assess(&FraudRules::default(), &facts, now).is_empty());
    }

    #[test]
    fn impossible_thresholds_are_refused() {
        let rules = FraudRules {
            burst: Some((1, 10)),
            ..FraudRules::default()
        };
        assert_eq!(rules.check().unwrap_err().field(), "burst");
    }
}
