//! RFM scores: recency (days since the last order, fewer is better), frequency (orders) and
//! monetary value (paid minus refunded), each scored 1–5 by quintile among the workspace's
//! buying members. Deterministic: members with equal values get equal scores (the score of
//! the first position their value takes in the sorted order), and the order of the input
//! does not matter. The quintile rule is [`Quintiles`], shared with the RFM over an orders
//! table in [`crate::analytics::rfm`].

use crate::analytics::rfm::Quintiles;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfmInput {
    pub member_id: String,
    pub days_since_last_order: i64,
    pub orders: i64,
    pub monetary_fen: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RfmScore {
    pub recency: u8,
    pub frequency: u8,
    pub monetary: u8,
}

impl RfmScore {
    /// `"555"` for the best customers.
    pub fn code(self) -> String {
        format!("{}{}{}", self.recency, self.frequency, self.monetary)
    }
}

/// Scores every member; the result is in the order of `members`.
pub fn rfm_scores(members: &[RfmInput]) -> Vec<RfmScore> {
    if members.is_empty() {
        return Vec::new();
    }
    // Recency: fewer days is better, so score the negation.
    let recency = Quintiles::scores(
        &members
            .iter()
            .map(|m| -m.days_since_last_order)
            .collect::<Vec<_>>(),
    );
    let frequency = Quintiles::scores(&members.iter().map(|m| m.orders).collect::<Vec<_>>());
    let monetary = Quintiles::scores(&members.iter().map(|m| m.monetary_fen).collect::<Vec<_>>());
    (0..members.len())
        .map(|i| RfmScore {
            recency: recency[i],
            frequency: frequency[i],
            monetary: monetary[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(id: &str, days: i64, orders: i64, fen: i64) -> RfmInput {
        RfmInput {
            member_id: id.into(),
            days_since_last_order: days,
            orders,
            monetary_fen: fen,
        }
    }

    #[test]
    fn ten_distinct_customers_fill_two_per_quintile() {
        let members: Vec<RfmInput> = (0..10)
            .map(|i| input(&format!("m{i}"), 100 - i * 10, i + 1, (i + 1) * 1000))
            .collect();
        let scores = rfm_scores(&members);
        let monetary: Vec<u8> = scores.iter().map(|s| s.monetary).collect();
        assert_eq!(monetary, vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        let recency: Vec<u8> = scores.iter().map(|s| s.recency).collect();
        assert_eq!(
            recency,
            vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
            "recent buyers score high"
        );
        assert_eq!(scores[9].code(), "555");
    }

    #[test]
    fn ties_share_a_score() {
        let members = vec![
            input("a", 1, 1, 500),
            input("b", 1, 1, 500),
            input("c", 1, 1, 500),
            input("d", 1, 9, 900),
        ];
        let scores = rfm_scores(&members);
        assert_eq!(scores[0], scores[1]);
        assert_eq!(scores[1], scores[2]);
        assert_eq!(scores[0].frequency, 1);
        assert_eq!(scores[3].frequency, 4);
    }

    proptest! {
        #[test]
        fn scores_are_monotone_bounded_and_independent_of_input_order(
            raw in prop::collection::vec((0i64..400, 1i64..30, 0i64..1_000_000), 1..200),
            rotation in 0usize..200,
        ) {
            let members: Vec<RfmInput> = raw.iter().enumerate().map(|(i, (d, o, m))| input(&format!("m{i:03}"), *d, *o, *m)).collect();
            let scores = rfm_scores(&members);
            for (a, sa) in members.iter().zip(&scores) {
                prop_assert!((1..=5).contains(&sa.recency) && (1..=5).contains(&sa.frequency) && (1..=5).contains(&sa.monetary));
                for (b, sb) in members.iter().zip(&scores) {
                    if a.monetary_fen <= b.monetary_fen { prop_assert!(sa.monetary <= sb.monetary); }
                    if a.orders <= b.orders { prop_assert!(sa.frequency <= sb.frequency); }
                    if a.days_since_last_order >= b.days_since_last_order { prop_assert!(sa.recency <= sb.recency); }
                }
            }
            let mut rotated = members.clone();
            let k = rotation % rotated.len();
            rotated.rotate_left(k);
            let again = rfm_scores(&rotated);
            for (m, s) in rotated.iter().zip(&again) {
                let original = members.iter().position(|x| x.member_id == m.member_id).unwrap();
                prop_assert_eq!(*s, scores[original]);
            }
        }
    }
}
