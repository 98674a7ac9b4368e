//! Durable jobs: states, and what happens after a failed attempt.
//!
//! A job is `queued` until a worker claims it; a claim sets `running` with a lease (the
//! worker's id and a deadline) and counts the attempt. A job whose lease runs out is
//! claimable again, so a crashed node's work is retried by the others. Finishing is fenced
//! by (worker, attempt): a worker that lost its lease cannot complete the job, so no job
//! completes twice.

use std::time::Duration;

use crate::input::InvalidInput;
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    Queued,
    Running,
    Done,
    /// Out of attempts; waits for an operator to retry or discard it.
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == raw)
            .ok_or_else(|| {
                InvalidInput::new(
                    "state",
                    format!("`{raw}` is not a job state: use queued, running, done or dead"),
                )
            })
    }
}

/// Exponential backoff: `base * 2^(attempt-1)`, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base: Duration::from_secs(5),
            max: Duration::from_secs(3600),
        }
    }
}

/// What to do with a job whose attempt number `attempt` (1-based) just failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(Timestamp),
    Dead,
}

impl RetryPolicy {
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(32);
        let factor = 1u64 << exponent;
        let millis = (self.base.as_millis() as u64).saturating_mul(factor);
        Duration::from_millis(millis).min(self.max)
    }

    pub fn after_failure(&self, attempt: u32, now: Timestamp) -> AfterFailure {
        if attempt >= self.max_attempts {
            AfterFailure::Dead
        } else {
            AfterFailure::RetryAt(now.plus(self.delay_after(attempt)))
        }
    }
}

/// A job kind such as `points.expire`: lowercase words joined by dots or underscores.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobKind(String);

impl JobKind {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidInput::new(
                "kind",
                format!("`{raw}` is not a job kind: lowercase letters, digits, `.` and `_`"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_secs(5),
            max: Duration::from_secs(60),
        };
        let delays: Vec<u64> = (1..=6).map(|a| policy.delay_after(a).as_secs()).collect();
        assert_eq!(delays, vec![5, 10, 20, 40, 60, 60]);
    }

    #[test]
    fn the_last_attempt_makes_the_job_dead() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let now = Timestamp::from_millis(0);
        assert_eq!(
            policy.after_failure(2, now),
            AfterFailure::RetryAt(Timestamp::from_millis(10_000))
        );
        assert_eq!(policy.after_failure(3, now), AfterFailure::Dead);
    }

    #[test]
    fn job_states_round_trip() {
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.as_str()).unwrap(), state);
        }
        assert!(JobState::parse("paused").is_err());
    }

    #[test]
    fn job_kinds_are_plain_lowercase_words() {
        assert!(JobKind::parse("points.expire").is_ok());
        assert!(JobKind::parse("Points").is_err());
        assert!(JobKind::parse("").is_err());
    }

    proptest! {
        #[test]
        fn backoff_never_shrinks_and_never_exceeds_the_cap(attempt in 1u32..200, base_ms in 1u64..100_000, max_s in 1u64..100_000) {
            let policy = RetryPolicy { max_attempts: 1000, base: Duration::from_millis(base_ms), max: Duration::from_secs(max_s) };
            prop_assert!(policy.delay_after(attempt) <= policy.max);
            prop_assert!(policy.delay_after(attempt) <= policy.delay_after(attempt + 1));
        }
    }
}
