//! Login throttling: a sliding window over recent failed attempts, counted per email and per
//! client address, so that guessing one account's password and spraying many accounts from
//! one address are both slowed down. The counts come from storage, so every node agrees.

use std::time::Duration;

use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Failures allowed for one email inside the window before it is locked.
    pub max_failures_per_email: u32,
    /// Failures allowed from one client address inside the window.
    pub max_failures_per_address: u32,
    pub window: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            max_failures_per_email: 5,
            max_failures_per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleVerdict {
    Allow,
    /// Try again after this long.
    Locked {
        retry_after: Duration,
    },
}

impl LoginThrottle {
    pub fn window_start(&self, now: Timestamp) -> Timestamp {
        now.minus(self.window)
    }

    /// Decides whether a login attempt may proceed, given the failures inside the window
    /// (`oldest_*` is the earliest failure counted).
    pub fn verdict(
        &self,
        now: Timestamp,
        email_failures: u32,
        oldest_email_failure: Option<Timestamp>,
        address_failures: u32,
        oldest_address_failure: Option<Timestamp>,
    ) -> ThrottleVerdict {
        let locked_until = |count: u32, max: u32, oldest: Option<Timestamp>| {
            (count >= max).then(|| oldest.unwrap_or(now).plus(self.window))
        };
        let until = [
            locked_until(
                email_failures,
                self.max_failures_per_email,
                oldest_email_failure,
            ),
            locked_until(
                address_failures,
                self.max_failures_per_address,
                oldest_address_failure,
            ),
        ]
        .into_iter()
        .flatten()
        .max();
        match until {
            Some(until) => ThrottleVerdict::Locked {
                retry_after: until.since(now).max(Duration::from_secs(1)),
            },
            None => ThrottleVerdict::Allow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(10_000_000);

    #[test]
    fn allows_until_the_email_limit_then_locks_until_the_oldest_failure_ages_out() {
        let throttle = LoginThrottle::default();
        assert_eq!(
            throttle.verdict(NOW, 4, Some(NOW), 4, Some(NOW)),
            ThrottleVerdict::Allow
        );
        let oldest = NOW.minus(Duration::from_secs(600));
        assert_eq!(
            throttle.verdict(NOW, 5, Some(oldest), 5, Some(oldest)),
            ThrottleVerdict::Locked {
                retry_after: Duration::from_secs(300)
            }
        );
    }

    #[test]
    fn the_address_limit_locks_independently_of_the_email() {
        let throttle = LoginThrottle::default();
        assert!(matches!(
            throttle.verdict(NOW, 0, None, 20, Some(NOW)),
            ThrottleVerdict::Locked { .. }
        ));
    }
}
