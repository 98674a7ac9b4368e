//! A referral program: what inviting pays, to whom, how often, and for how long an
//! invitation holds.

use crate::input::InvalidInput;
use crate::loyalty::earning::DEFAULT_ORDER_PENDING_DAYS;
use crate::time::Timestamp;

const MAX_POINTS: i64 = 1_000_000;
const MAX_STAGES: usize = 20;
const MAX_STAGE_INVITEES: u32 = 100_000;
const MAX_CAP: u32 = 1_000_000;
const MAX_BINDING_DAYS: u32 = 3_660;
const MAX_PENDING_DAYS: u32 = 90;
const MAX_NEW_MEMBER_MINUTES: u32 = 7 * 24 * 60;
const MAX_TEMPLATE_LEN: usize = 64;

/// What one grant gives: points, a coupon from a template, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reward {
    pub points: i64,
    /// The code of the coupon template to issue, if any.
    pub coupon_template: Option<String>,
}

impl Reward {
    pub fn points(points: i64) -> Self {
        Self {
            points,
            coupon_template: None,
        }
    }

    pub fn coupon(template: impl Into<String>) -> Self {
        Self {
            points: 0,
            coupon_template: Some(template.into()),
        }
    }

    fn check(&self, field: &str) -> Result<(), InvalidInput> {
        if !(0..=MAX_POINTS).contains(&self.points) {
            return Err(InvalidInput::new(
                format!("{field}.points"),
                format!("must be between 0 and {MAX_POINTS}"),
            ));
        }
        if let Some(template) = &self.coupon_template {
            if template.trim().is_empty()
                || template.len() > MAX_TEMPLATE_LEN
                || template.trim() != template
            {
                return Err(InvalidInput::new(
                    format!("{field}.coupon_template"),
                    format!("must be a template code of 1 to {MAX_TEMPLATE_LEN} characters"),
                ));
            }
        }
        if self.points == 0 && self.coupon_template.is_none() {
            // An empty reward would show in the console as a promise that pays nothing.
            return Err(InvalidInput::new(
                field,
                "must give points, a coupon or both; remove the reward instead",
            ));
        }
        Ok(())
    }
}

/// A multi-stage task (阶梯任务): when the inviter's count of qualified invitees reaches
/// `invitees`, `reward` is paid, once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub invitees: u32,
    pub reward: Reward,
}

/// Most invitees per inviter whose per-invitee reward is paid in one local calendar day
/// and month. Caps bound what a farm of fake accounts can extract per period; stage
/// rewards are bounded by the stage list itself and are not capped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    pub per_day: Option<u32>,
    pub per_month: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralProgram {
    /// Paid to the inviter for every qualified invitee, within [`Caps`].
    pub per_invitee: Option<Reward>,
    /// Paid to the inviter once each, as the count of qualified invitees reaches them;
    /// strictly ascending by `invitees`.
    pub stages: Vec<Stage>,
    /// Paid to the invitee when their first order is paid.
    pub invitee_reward: Option<Reward>,
    /// Days a binding holds, counted from the bind; 0 means it never expires. An expired
    /// binding may be replaced by a new first touch.
    pub binding_days: u32,
    /// Days rewards stay pending, so a return within the no-reason window (7 days by
    /// default) can void them before they are spent.
    pub pending_days: u32,
    /// How long before the bind a member may have registered and still count as new;
    /// covers the sign-up step between opening the share link and the bind call.
    pub new_member_minutes: u32,
    pub caps: Caps,
    /// Inclusive.
    pub active_from: Option<Timestamp>,
    /// Exclusive.
    pub active_until: Option<Timestamp>,
}

impl Default for ReferralProgram {
    /// Always active, nothing to pay yet, bindings holding 30 days, rewards pending through
    /// the 7-day return window, and 60 minutes for a newcomer to sign up before binding.
    fn default() -> Self {
        Self {
            per_invitee: None,
            stages: Vec::new(),
            invitee_reward: None,
            binding_days: 30,
            pending_days: DEFAULT_ORDER_PENDING_DAYS,
            new_member_minutes: 60,
            caps: Caps::default(),
            active_from: None,
            active_until: None,
        }
    }
}

impl ReferralProgram {
    /// Whether the program binds and pays at `at`: from `active_from` (inclusive) until
    /// `active_until` (exclusive).
    pub fn is_active(&self, at: Timestamp) -> bool {
        self.active_from.is_none_or(|from| at >= from)
            && self.active_until.is_none_or(|until| at < until)
    }

    pub fn check(&self) -> Result<(), InvalidInput> {
        if let Some(reward) = &self.per_invitee {
            reward.check("per_invitee")?;
        }
        if let Some(reward) = &self.invitee_reward {
            reward.check("invitee_reward")?;
        }
        if self.stages.len() > MAX_STAGES {
            return Err(InvalidInput::new(
                "stages",
                format!("at most {MAX_STAGES} stages"),
            ));
        }
        let mut previous = 0;
        for (i, stage) in self.stages.iter().enumerate() {
            let field = format!("stages[{i}]");
            if !(1..=MAX_STAGE_INVITEES).contains(&stage.invitees) {
                return Err(InvalidInput::new(
                    format!("{field}.invitees"),
                    format!("must be between 1 and {MAX_STAGE_INVITEES}"),
                ));
            }
            if stage.invitees <= previous {
                return Err(InvalidInput::new(
                    format!("{field}.invitees"),
                    format!("must be more than the previous stage's {previous}"),
                ));
            }
            previous = stage.invitees;
            stage.reward.check(&format!("{field}.reward"))?;
        }
        if self.per_invitee.is_none() && self.stages.is_empty() && self.invitee_reward.is_none() {
            return Err(InvalidInput::new(
                "rewards",
                "a program must reward the inviter, the invitee or both",
            ));
        }
        for (field, cap) in [
            ("caps.per_day", self.caps.per_day),
            ("caps.per_month", self.caps.per_month),
        ] {
            if cap.is_some_and(|cap| !(1..=MAX_CAP).contains(&cap)) {
                return Err(InvalidInput::new(
                    field,
                    format!("must be between 1 and {MAX_CAP}; remove per_invitee instead of capping it at 0"),
                ));
            }
        }
        if let (Some(day), Some(month)) = (self.caps.per_day, self.caps.per_month) {
            if day > month {
                return Err(InvalidInput::new(
                    "caps.per_day",
                    "must not exceed caps.per_month",
                ));
            }
        }
        if self.binding_days > MAX_BINDING_DAYS {
            return Err(InvalidInput::new(
                "binding_days",
                format!("must be at most {MAX_BINDING_DAYS}; use 0 for bindings that never expire"),
            ));
        }
        if self.pending_days > MAX_PENDING_DAYS {
            return Err(InvalidInput::new(
                "pending_days",
                format!("must be at most {MAX_PENDING_DAYS}"),
            ));
        }
        if self.new_member_minutes > MAX_NEW_MEMBER_MINUTES {
            return Err(InvalidInput::new(
                "new_member_minutes",
                format!("must be at most {MAX_NEW_MEMBER_MINUTES} (7 days)"),
            ));
        }
        if let (Some(from), Some(until)) = (self.active_from, self.active_until) {
            if until <= from {
                return Err(InvalidInput::new(
                    "active_until",
                    "must be after active_from",
                ));
            }
        }
        Ok(())
    }

    /// When a binding made at `bound_at` stops holding, if ever.
    pub fn binding_expires_at(&self, bound_at: Timestamp) -> Option<Timestamp> {
        (self.binding_days > 0).then(|| bound_at.plus(days(self.binding_days)))
    }

    /// When rewards granted at `granted_at` stop being pending.
    pub fn pending_until(&self, granted_at: Timestamp) -> Timestamp {
        granted_at.plus(days(self.pending_days))
    }
}

fn days(n: u32) -> std::time::Duration {
    std::time::Duration::from_secs(u64::from(n) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ReferralProgram {
        ReferralProgram {
            per_invitee: Some(Reward::points(100)),
            stages: vec![
                Stage {
                    invitees: 3,
                    reward: Reward::coupon("ref_a"),
                },
                Stage {
                    invitees: 10,
                    reward: Reward::points(2_000),
                },
            ],
            invitee_reward: Some(Reward::coupon("welcome_10")),
            caps: Caps {
                per_day: Some(5),
                per_month: Some(50),
            },
            ..ReferralProgram::default()
        }
    }

    fn field_of(program: ReferralProgram) -> String {
        program.check().unwrap_err().field().to_owned()
    }

    #[test]
    fn a_program_with_per_invitee_stages_and_a_welcome_reward_is_valid() {
        valid().check().unwrap();
        assert_eq!(ReferralProgram::default().pending_days, 7);
    }

    #[test]
    fn stages_must_be_positive_and_strictly_ascending() {
        let mut p = valid();
        p.stages[1].invitees = 3;
        assert_eq!(field_of(p), "stages[1].invitees");
        let mut p = valid();
        p.stages[0].invitees = 0;
        assert_eq!(field_of(p), "stages[0].invitees");
        let mut p = valid();
        p.stages.reverse();
        assert_eq!(field_of(p), "stages[1].invitees");
    }

    #[test]
    fn rewards_must_give_something_within_bounds() {
        let mut p = valid();
        p.per_invitee = Some(Reward::points(0));
        assert_eq!(field_of(p), "per_invitee");
        let mut p = valid();
        p.stages[0].reward = Reward::points(-5);
        assert_eq!(field_of(p), "stages[0].reward.points");
        let mut p = valid();
        p.invitee_reward = Some(Reward::coupon(" "));
        assert_eq!(field_of(p), "invitee_reward.coupon_template");
        let nothing = ReferralProgram::default();
        assert_eq!(field_of(nothing), "rewards");
    }

    #[test]
    fn caps_windows_and_day_counts_are_bounded() {
        let mut p = valid();
        p.caps.per_day = Some(0);
        assert_eq!(field_of(p), "caps.per_day");
        let mut p = valid();
        p.caps.per_day = Some(60);
        assert_eq!(field_of(p), "caps.per_day");
        let mut p = valid();
        p.pending_days = 91;
        assert_eq!(field_of(p), "pending_days");
        let mut p = valid();
        p.binding_days = 5_000;
        assert_eq!(field_of(p), "binding_days");
        let mut p = valid();
        p.active_from = Some(Timestamp::from_millis(10));
        p.active_until = Some(Timestamp::from_millis(10));
        assert_eq!(field_of(p), "active_until");
    }

    #[test]
    fn zero_binding_days_means_bindings_never_expire() {
        let mut p = valid();
        let t = Timestamp::from_millis(1_000);
        assert_eq!(
            p.binding_expires_at(t),
            Some(Timestamp::from_millis(1_000 + 30 * 86_400_000))
        );
        p.binding_days = 0;
        assert_eq!(p.binding_expires_at(t), None);
    }
}
