//! Lifecycle stages with the seeds' rules: new for the first 7 days, growing until 3 months,
//! mature after that; churn risk after 30 days without an interaction; dormant after 90 days
//! without any activity. Computed from the profile and the clock when read, so it is never
//! stale.

use std::time::Duration;

use crate::time::Timestamp;

const DAY: Duration = Duration::from_secs(86_400);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleStage {
    New,
    Growing,
    Mature,
    ChurnRisk,
    Dormant,
}

impl LifecycleStage {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::New => "new",
            LifecycleStage::Growing => "growing",
            LifecycleStage::Mature => "mature",
            LifecycleStage::ChurnRisk => "churn_risk",
            LifecycleStage::Dormant => "dormant",
        }
    }

    /// The stage of a stored profile: known since the earlier of creation and first
    /// activity; active at the later of last seen and last order.
    pub fn of_profile(
        now: Timestamp,
        created_at: Timestamp,
        first_seen_at: Option<Timestamp>,
        last_seen_at: Option<Timestamp>,
        last_order_at: Option<Timestamp>,
        last_interaction_at: Option<Timestamp>,
    ) -> Self {
        let since = first_seen_at.unwrap_or(created_at).min(created_at);
        let last_activity = [last_seen_at, last_order_at].into_iter().flatten().max();
        Self::of(now, since, last_activity, last_interaction_at)
    }

    /// `since` is when the member was first seen (or created), `last_activity` any event or
    /// order, `last_interaction` an engaging event or an order.
    pub fn of(
        now: Timestamp,
        since: Timestamp,
        last_activity: Option<Timestamp>,
        last_interaction: Option<Timestamp>,
    ) -> Self {
        let idle = now.since(last_activity.unwrap_or(since));
        if idle >= DAY * 90 {
            return LifecycleStage::Dormant;
        }
        let quiet = now.since(last_interaction.unwrap_or(since));
        if quiet >= DAY * 30 {
            return LifecycleStage::ChurnRisk;
        }
        let age = now.since(since);
        if age < DAY * 7 {
            LifecycleStage::New
        } else if age < DAY * 90 {
            LifecycleStage::Growing
        } else {
            LifecycleStage::Mature
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_790_000_000_000);

    fn ago(days: u64) -> Timestamp {
        NOW.minus(DAY * days as u32)
    }

    #[test]
    fn stages_follow_the_seed_rules() {
        assert_eq!(
            LifecycleStage::of(NOW, ago(3), Some(ago(1)), Some(ago(1))),
            LifecycleStage::New
        );
        assert_eq!(
            LifecycleStage::of(NOW, ago(7), Some(ago(1)), Some(ago(1))),
            LifecycleStage::Growing
        );
        assert_eq!(
            LifecycleStage::of(NOW, ago(89), Some(ago(1)), Some(ago(2))),
            LifecycleStage::Growing
        );
        assert_eq!(
            LifecycleStage::of(NOW, ago(200), Some(ago(1)), Some(ago(1))),
            LifecycleStage::Mature
        );
        assert_eq!(
            LifecycleStage::of(NOW, ago(200), Some(ago(1)), Some(ago(30))),
            LifecycleStage::ChurnRisk
        );
        assert_eq!(
            LifecycleStage::of(NOW, ago(200), Some(ago(90)), Some(ago(90))),
            LifecycleStage::Dormant
        );
        // Seen but never engaged: quiet since first seen.
        assert_eq!(
            LifecycleStage::of(NOW, ago(40), Some(ago(2)), None),
            LifecycleStage::ChurnRisk
        );
    }
}
