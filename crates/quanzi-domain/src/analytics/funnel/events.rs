//! The event table in columnar form: one row per event, members and event types as dense
//! integer codes, so the funnel never compares strings.

use super::dictionary::Dictionary;
use crate::input::InvalidInput;

/// Events as parallel columns: row `i` is member `member[i]` doing event type `event[i]`
/// at `ts[i]` (seconds; any epoch, the funnel only subtracts them), with an optional
/// breakdown code (channel, KOL, campaign) in `breakdown[i]`.
///
/// Rows may come in any order; the funnel groups them by member and time itself.
#[derive(Debug, Clone, PartialEq)]
pub struct EventColumns {
    member: Vec<u32>,
    ts: Vec<i64>,
    event: Vec<u32>,
    breakdown: Option<Vec<u32>>,
    member_count: u32,
    breakdown_count: u32,
}

impl EventColumns {
    /// Rows are indexed by `u32` while grouping, which bounds a table to this many events.
    pub const MAX_EVENTS: usize = u32::MAX as usize;

    /// Checks that the columns have one length (and at most [`Self::MAX_EVENTS`] rows).
    /// Member codes should be dense (`0..members`): the funnel allocates per code up to the
    /// largest.
    pub fn new(
        member: Vec<u32>,
        ts: Vec<i64>,
        event: Vec<u32>,
        breakdown: Option<Vec<u32>>,
    ) -> Result<Self, InvalidInput> {
        let member_count = member.iter().max().map_or(0, |&m| m + 1);
        let breakdown_count = breakdown
            .as_ref()
            .and_then(|codes| codes.iter().max())
            .map_or(0, |&b| b + 1);
        Self::with_counts(member, ts, event, breakdown, member_count, breakdown_count)
    }

    /// As [`Self::new`] when the code ranges are already known (from dictionaries).
    pub(crate) fn with_counts(
        member: Vec<u32>,
        ts: Vec<i64>,
        event: Vec<u32>,
        breakdown: Option<Vec<u32>>,
        member_count: u32,
        breakdown_count: u32,
    ) -> Result<Self, InvalidInput> {
        let len = member.len();
        if ts.len() != len
            || event.len() != len
            || breakdown.as_ref().is_some_and(|b| b.len() != len)
        {
            return Err(InvalidInput::new(
                "events",
                "member, ts, event and breakdown columns must have the same length",
            ));
        }
        if len > Self::MAX_EVENTS {
            return Err(InvalidInput::new(
                "events",
                format!(
                    "at most {} events can be analysed at once",
                    Self::MAX_EVENTS
                ),
            ));
        }
        Ok(Self {
            member,
            ts,
            event,
            breakdown,
            member_count,
            breakdown_count,
        })
    }

    pub fn len(&self) -> usize {
        self.member.len()
    }

    pub fn is_empty(&self) -> bool {
        self.member.is_empty()
    }

    pub fn member(&self) -> &[u32] {
        &self.member
    }

    pub fn ts(&self) -> &[i64] {
        &self.ts
    }

    pub fn event(&self) -> &[u32] {
        &self.event
    }

    pub fn breakdown(&self) -> Option<&[u32]> {
        self.breakdown.as_deref()
    }

    /// One more than the largest member code (the number of members for dense codes).
    pub fn member_count(&self) -> u32 {
        self.member_count
    }

    /// One more than the largest breakdown code, 0 without a breakdown column.
    pub fn breakdown_count(&self) -> u32 {
        self.breakdown_count
    }
}

/// Events read from a file: the columns with the names behind their codes.
#[derive(Debug, Clone, PartialEq)]
pub struct EventTable {
    pub(crate) columns: EventColumns,
    pub(crate) members: Dictionary,
    pub(crate) events: Dictionary,
    /// The breakdown column's header name and its values.
    pub(crate) breakdown: Option<(String, Dictionary)>,
}

impl EventTable {
    pub fn columns(&self) -> &EventColumns {
        &self.columns
    }

    /// Member ids by member code.
    pub fn members(&self) -> &Dictionary {
        &self.members
    }

    /// Event type names by event code.
    pub fn events(&self) -> &Dictionary {
        &self.events
    }

    /// The breakdown column's name as the header spells it (e.g. `channel`).
    pub fn breakdown_name(&self) -> Option<&str> {
        self.breakdown.as_ref().map(|(name, _)| name.as_str())
    }

    /// Breakdown values by breakdown code.
    pub fn breakdowns(&self) -> Option<&Dictionary> {
        self.breakdown.as_ref().map(|(_, values)| values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_of_different_lengths_are_refused() {
        assert!(EventColumns::new(vec![0], vec![1, 2], vec![0], None).is_err());
        assert!(EventColumns::new(vec![0], vec![1], vec![0], Some(vec![])).is_err());
        let columns =
            EventColumns::new(vec![0, 3], vec![1, 2], vec![0, 1], Some(vec![4, 0])).unwrap();
        assert_eq!(columns.member_count(), 4);
        assert_eq!(columns.breakdown_count(), 5);
        assert_eq!(columns.len(), 2);
    }
}
