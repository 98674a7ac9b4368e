//! The eleven customer segments of the common RFM map, by recency and frequency score.
//!
//! The map is the widely used 5 × 5 grid over the recency score (rows) and the frequency
//! score (columns), with "lost" carved out of "hibernating" for the least recent
//! customers. The monetary score does not enter it, as in the common map: it ranks
//! customers inside a segment.
//!
//! ```text
//!            F=1             F=2                 F=3                 F=4         F=5
//! R=5  new             potential loyalist  potential loyalist  champions   champions
//! R=4  promising       potential loyalist  potential loyalist  loyal       loyal
//! R=3  about to sleep  about to sleep      need attention      loyal       loyal
//! R=2  hibernating     hibernating         at risk             at risk     can't lose
//! R=1  lost            lost                at risk             at risk     can't lose
//! ```

use std::fmt;

use crate::members::RfmScore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// Bought recently and often.
    Champions,
    /// Buy often, fairly recently.
    Loyal,
    /// Recent, a few orders: could become loyal.
    PotentialLoyalist,
    /// One of the most recent buyers, bought rarely (usually once).
    New,
    /// Fairly recent, bought rarely.
    Promising,
    /// Middling recency and frequency.
    NeedAttention,
    /// Middling recency, bought rarely.
    AboutToSleep,
    /// Used to buy fairly often, not for a long time.
    AtRisk,
    /// Used to buy most often, not for a long time.
    CantLose,
    /// Bought rarely, a long time ago.
    Hibernating,
    /// Bought rarely, the longest time ago.
    Lost,
}

impl Segment {
    /// Every segment, best first (the order of summaries).
    pub const ALL: [Segment; 11] = [
        Segment::Champions,
        Segment::Loyal,
        Segment::PotentialLoyalist,
        Segment::New,
        Segment::Promising,
        Segment::NeedAttention,
        Segment::AboutToSleep,
        Segment::AtRisk,
        Segment::CantLose,
        Segment::Hibernating,
        Segment::Lost,
    ];

    /// The segment of a score, by the grid in the module documentation.
    pub fn of(score: RfmScore) -> Segment {
        use Segment::*;
        match (score.recency, score.frequency) {
            (5, 1) => New,
            (4, 1) => Promising,
            (4..=5, 2..=3) => PotentialLoyalist,
            (5, 4..) => Champions,
            (3..=4, 4..) => Loyal,
            (3, 3) => NeedAttention,
            (3, _) => AboutToSleep,
            (..=2, 5..) => CantLose,
            (..=2, 3..=4) => AtRisk,
            (2, _) => Hibernating,
            _ => Lost,
        }
    }

    /// The segment's name in lower case, e.g. `potential loyalist`.
    pub fn name(self) -> &'static str {
        match self {
            Segment::Champions => "champions",
            Segment::Loyal => "loyal",
            Segment::PotentialLoyalist => "potential loyalist",
            Segment::New => "new",
            Segment::Promising => "promising",
            Segment::NeedAttention => "need attention",
            Segment::AboutToSleep => "about to sleep",
            Segment::AtRisk => "at risk",
            Segment::CantLose => "can't lose",
            Segment::Hibernating => "hibernating",
            Segment::Lost => "lost",
        }
    }

    /// The position in [`Segment::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid_row(recency: u8) -> Vec<&'static str> {
        (1..=5)
            .map(|frequency| {
                Segment::of(RfmScore {
                    recency,
                    frequency,
                    monetary: 3,
                })
                .name()
            })
            .collect()
    }

    #[test]
    fn the_grid_is_the_documented_one() {
        let potential = "potential loyalist";
        assert_eq!(
            grid_row(5),
            ["new", potential, potential, "champions", "champions"]
        );
        assert_eq!(
            grid_row(4),
            ["promising", potential, potential, "loyal", "loyal"]
        );
        assert_eq!(
            grid_row(3),
            [
                "about to sleep",
                "about to sleep",
                "need attention",
                "loyal",
                "loyal"
            ]
        );
        assert_eq!(
            grid_row(2),
            [
                "hibernating",
                "hibernating",
                "at risk",
                "at risk",
                "can't lose"
            ]
        );
        assert_eq!(
            grid_row(1),
            ["lost", "lost", "at risk", "at risk", "can't lose"]
        );
    }

    #[test]
    fn every_segment_is_reachable_and_indexed_in_order() {
        let mut seen = [false; 11];
        for r in 1..=5 {
            for f in 1..=5 {
                let segment = Segment::of(RfmScore {
                    recency: r,
                    frequency: f,
                    monetary: 1,
                });
                seen[segment.index()] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
        for (i, segment) in Segment::ALL.iter().enumerate() {
            assert_eq!(segment.index(), i);
        }
    }
}
