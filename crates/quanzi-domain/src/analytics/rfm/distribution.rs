//! How a workspace's members spread over the stored profile scores: the recency ×
//! frequency grid, the eleven segments with the value they bring, the monetary score and
//! the lifecycle stages. The profile's RFM job scores buyers only, so members without a
//! score are counted apart rather than folded into the lowest cell.

use super::score::RfmSummary;
use super::segment::Segment;
use crate::members::{LifecycleStage, RfmScore};

/// Members and their net value (GMV minus refunds, fen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cell {
    pub members: u64,
    pub net_fen: i64,
}

impl Cell {
    fn add(&mut self, net_fen: i64) {
        self.members += 1;
        self.net_fen += net_fen;
    }
}

/// The stages in the order a member lives through them.
pub const STAGES: [LifecycleStage; 5] = [
    LifecycleStage::New,
    LifecycleStage::Growing,
    LifecycleStage::Mature,
    LifecycleStage::ChurnRisk,
    LifecycleStage::Dormant,
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileDistribution {
    summary: RfmSummary,
    /// `grid[recency - 1][frequency - 1]`.
    grid: [[Cell; 5]; 5],
    segments: [Cell; 11],
    unscored: Cell,
    lifecycle: [u64; 5],
}

impl ProfileDistribution {
    /// Counts one member. A score with a part outside 1–5 (not one the job writes) counts
    /// as unscored instead of landing in a made-up cell.
    pub fn add(&mut self, rfm: Option<RfmScore>, net_fen: i64, stage: LifecycleStage) {
        let stage_index = STAGES.iter().position(|s| *s == stage).unwrap_or(0);
        self.lifecycle[stage_index] += 1;
        let valid = |part: u8| (1..=5).contains(&part);
        match rfm {
            Some(score)
                if valid(score.recency) && valid(score.frequency) && valid(score.monetary) =>
            {
                let segment = self.summary.add(score);
                self.segments[segment.index()].add(net_fen);
                self.grid[usize::from(score.recency - 1)][usize::from(score.frequency - 1)]
                    .add(net_fen);
            }
            _ => self.unscored.add(net_fen),
        }
    }

    /// Scored members per score part and segment.
    pub fn summary(&self) -> &RfmSummary {
        &self.summary
    }

    /// The cell of recency score `recency` and frequency score `frequency` (1–5).
    pub fn cell(&self, recency: u8, frequency: u8) -> Cell {
        self.grid[usize::from(recency - 1)][usize::from(frequency - 1)]
    }

    /// Each segment with its members and value, in the order of [`Segment::ALL`].
    pub fn segments(&self) -> [(Segment, Cell); 11] {
        Segment::ALL.map(|segment| (segment, self.segments[segment.index()]))
    }

    pub fn unscored(&self) -> Cell {
        self.unscored
    }

    pub fn scored(&self) -> u64 {
        self.segments.iter().map(|c| c.members).sum()
    }

    /// Members per stage, in the order of [`STAGES`].
    pub fn lifecycle(&self) -> [(LifecycleStage, u64); 5] {
        let mut i = 0;
        STAGES.map(|stage| {
            i += 1;
            (stage, self.lifecycle[i - 1])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(recency: u8, frequency: u8, monetary: u8) -> Option<RfmScore> {
        Some(RfmScore {
            recency,
            frequency,
            monetary,
        })
    }

    #[test]
    fn members_land_in_their_cell_segment_and_stage() {
        let mut d = ProfileDistribution::default();
        d.add(score(5, 5, 4), 90_000, LifecycleStage::Mature);
        d.add(score(5, 4, 2), 10_000, LifecycleStage::Growing);
        d.add(score(1, 1, 1), 500, LifecycleStage::Dormant);
        d.add(None, 0, LifecycleStage::New);
        assert_eq!(
            d.cell(5, 5),
            Cell {
                members: 1,
                net_fen: 90_000
            }
        );
        assert_eq!(d.cell(5, 4).members, 1);
        assert_eq!(d.cell(4, 4).members, 0);
        let champions = d.segments()[Segment::Champions.index()].1;
        assert_eq!(
            champions,
            Cell {
                members: 2,
                net_fen: 100_000
            }
        );
        assert_eq!(d.segments()[Segment::Lost.index()].1.members, 1);
        assert_eq!(d.scored(), 3);
        assert_eq!(d.unscored().members, 1);
        assert_eq!(d.summary().monetary(), [1, 1, 0, 1, 0]);
        let stages: Vec<(&str, u64)> = d
            .lifecycle()
            .iter()
            .map(|(s, n)| (s.as_str(), *n))
            .collect();
        assert_eq!(
            stages,
            [
                ("new", 1),
                ("growing", 1),
                ("mature", 1),
                ("churn_risk", 0),
                ("dormant", 1)
            ]
        );
    }

    #[test]
    fn a_score_outside_one_to_five_is_unscored_not_a_panic() {
        let mut d = ProfileDistribution::default();
        d.add(score(0, 3, 3), 100, LifecycleStage::New);
        d.add(score(3, 6, 3), 100, LifecycleStage::New);
        assert_eq!(d.scored(), 0);
        assert_eq!(
            d.unscored(),
            Cell {
                members: 2,
                net_fen: 200
            }
        );
    }

    #[test]
    fn the_grid_the_segments_and_the_summary_count_the_same_members() {
        let mut d = ProfileDistribution::default();
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=((r + f) % 3 + 1) {
                    d.add(score(r, f, m), i64::from(r * f), LifecycleStage::Growing);
                }
            }
        }
        let grid: u64 = (1..=5)
            .flat_map(|r| (1..=5).map(move |f| (r, f)))
            .map(|(r, f)| d.cell(r, f).members)
            .sum();
        let segments: u64 = d.segments().iter().map(|(_, c)| c.members).sum();
        let by_recency: usize = d.summary().recency().iter().sum();
        assert_eq!(grid, segments);
        assert_eq!(grid, by_recency as u64);
        assert_eq!(grid, d.scored());
    }
}
