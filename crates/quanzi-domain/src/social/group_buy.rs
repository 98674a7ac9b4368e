//! Group buying (拼团): a leader opens a group at the group price, others join until the
//! group is full (success), or its time runs out (failure: every member's payment is
//! refunded). A campaign may complete a group "virtually" (虚拟成团) when at expiry it has
//! at least a stated share of its seats; the terms are shown to buyers up front.

use crate::input::InvalidInput;
use crate::time::Timestamp;

pub const MAX_GROUP_SIZE: i64 = 100;
pub const MIN_DURATION_SECONDS: i64 = 3_600;
pub const MAX_DURATION_SECONDS: i64 = 7 * 86_400;

/// A checked group-buy campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub sku: String,
    pub group_price_fen: i64,
    pub original_price_fen: i64,
    /// Members a group needs, the leader included (2–100).
    pub group_size: i64,
    /// How long a group stays open (1 hour to 7 days).
    pub duration_seconds: i64,
    /// Groups one member may be in per campaign.
    pub per_member_limit: i64,
    /// Points the leader earns when the group succeeds (团长福利).
    pub leader_points: i64,
    /// 虚拟成团: at expiry a group with at least this percent of its seats succeeds.
    pub virtual_completion_percent: Option<u32>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

impl Campaign {
    pub fn check(&self) -> Result<(), InvalidInput> {
        crate::promotions::coupons::check_code("sku", &self.sku)?;
        if !(1..=10_000_000_000).contains(&self.original_price_fen) {
            return Err(InvalidInput::new(
                "original_price_fen",
                "must be 1 to 10000000000 fen",
            ));
        }
        if !(0..self.original_price_fen).contains(&self.group_price_fen) {
            return Err(InvalidInput::new(
                "group_price_fen",
                "must be at least 0 and below original_price_fen",
            ));
        }
        if !(2..=MAX_GROUP_SIZE).contains(&self.group_size) {
            return Err(InvalidInput::new(
                "group_size",
                format!("must be 2 to {MAX_GROUP_SIZE}"),
            ));
        }
        if !(MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&self.duration_seconds) {
            return Err(InvalidInput::new(
                "duration_hours",
                "must be 1 to 168 hours",
            ));
        }
        if !(1..=100).contains(&self.per_member_limit) {
            return Err(InvalidInput::new("per_member_limit", "must be 1 to 100"));
        }
        if !(0..=1_000_000).contains(&self.leader_points) {
            return Err(InvalidInput::new("leader_points", "must be 0 to 1000000"));
        }
        if self
            .virtual_completion_percent
            .is_some_and(|p| !(1..=99).contains(&p))
        {
            return Err(InvalidInput::new(
                "virtual_completion_percent",
                "must be 1 to 99, or absent for none",
            ));
        }
        if self.ends_at <= self.starts_at {
            return Err(InvalidInput::new("ends_at", "must be after starts_at"));
        }
        Ok(())
    }
}

/// How a group ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every seat taken.
    Succeeded,
    /// Not full at expiry but above the campaign's virtual-completion share.
    SucceededVirtually,
    /// Not full at expiry: every member is refunded.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::SucceededVirtually => "succeeded_virtually",
            Outcome::Failed => "failed",
        }
    }
}

/// What becomes of a group of `seats` with `joined` members when its time runs out.
pub fn outcome_at_expiry(seats: i64, joined: i64, virtual_percent: Option<u32>) -> Outcome {
    if joined >= seats {
        return Outcome::Succeeded;
    }
    match virtual_percent {
        // Integer arithmetic: 3 of 5 seats is 60 %, which meets a 60 % threshold.
        Some(percent) if joined * 100 >= seats * i64::from(percent) => Outcome::SucceededVirtually,
        _ => Outcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign() -> Campaign {
        Campaign {
            sku: "tea".into(),
            group_price_fen: 6_900,
            original_price_fen: 9_900,
            group_size: 3,
            duration_seconds: 24 * 3_600,
            per_member_limit: 1,
            leader_points: 100,
            virtual_completion_percent: None,
            starts_at: Timestamp::from_millis(0),
            ends_at: Timestamp::from_millis(1_000_000),
        }
    }

    #[test]
    fn a_group_price_must_be_below_the_original() {
        let mut c = campaign();
        assert!(c.check().is_ok());
        c.group_price_fen = 9_900;
        assert_eq!(c.check().unwrap_err().field(), "group_price_fen");
    }

    #[test]
    fn a_group_needs_two_to_a_hundred_members_and_one_hour_to_seven_days() {
        let mut c = campaign();
        c.group_size = 1;
        assert_eq!(c.check().unwrap_err().field(), "group_size");
        let mut c = campaign();
        c.duration_seconds = 60;
        assert_eq!(c.check().unwrap_err().field(), "duration_hours");
    }

    #[test]
    fn a_full_group_succeeds_and_an_unfilled_one_fails_unless_virtual_completion_covers_it() {
        assert_eq!(outcome_at_expiry(3, 3, None), Outcome::Succeeded);
        assert_eq!(outcome_at_expiry(3, 2, None), Outcome::Failed);
        assert_eq!(
            outcome_at_expiry(5, 3, Some(60)),
            Outcome::SucceededVirtually
        );
        assert_eq!(outcome_at_expiry(5, 2, Some(60)), Outcome::Failed);
    }
}
