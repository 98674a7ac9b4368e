//! The RFM at scale against a direct implementation: a hash map of totals per customer,
//! scored by the member profile's [`rfm_scores`].

use std::collections::HashMap;

use proptest::prelude::*;

use super::score::days_between;
use super::*;
use crate::members::{rfm_scores, RfmInput};

/// `(customer, ts, amount, refunded)` rows with small codes, so customers repeat and
/// values tie.
fn rows() -> impl Strategy<Value = Vec<(u32, i64, i64, i64)>> {
    prop::collection::vec((0u32..40, 0i64..60 * 86_400, 0i64..5_000, 0u8..4), 0..300).prop_map(
        |rows| {
            rows.into_iter()
                // Every fourth order has a partial refund.
                .map(|(c, ts, amount, r)| (c, ts, amount, if r == 0 { amount / 3 } else { 0 }))
                .collect()
        },
    )
}

fn table(rows: &[(u32, i64, i64, i64)]) -> Orders {
    Orders::new(
        rows.iter().map(|r| r.0).collect(),
        rows.iter().map(|r| r.1).collect(),
        rows.iter().map(|r| r.2).collect(),
        Some(rows.iter().map(|r| r.3).collect()),
    )
    .unwrap()
}

proptest! {
    #[test]
    fn matches_a_hash_map_scored_by_the_member_profile(
        rows in rows(),
        as_of in 30i64 * 86_400..70 * 86_400,
        threads in 1usize..4,
        rotation in 0usize..300,
    ) {
        let result = rfm(&table(&rows), as_of, threads);

        let mut totals: HashMap<u32, (i64, i64, i64)> = HashMap::new();
        for &(customer, ts, amount, refunded) in &rows {
            if ts <= as_of {
                let t = totals.entry(customer).or_insert((i64::MIN, 0, 0));
                t.0 = t.0.max(ts);
                t.1 += 1;
                t.2 += amount - refunded;
            }
        }
        let mut customers: Vec<u32> = totals.keys().copied().collect();
        customers.sort_unstable();
        let inputs: Vec<RfmInput> = customers
            .iter()
            .map(|c| {
                let (last, orders, monetary) = totals[c];
                RfmInput {
                    member_id: c.to_string(),
                    days_since_last_order: days_between(last, as_of),
                    orders,
                    monetary_fen: monetary,
                }
            })
            .collect();
        let scores = rfm_scores(&inputs);

        prop_assert_eq!(result.customers().len(), customers.len());
        for ((got, input), score) in result.customers().iter().zip(&inputs).zip(&scores) {
            prop_assert_eq!(got.customer().to_string(), input.member_id.clone());
            prop_assert_eq!(got.recency_days(), input.days_since_last_order);
            prop_assert_eq!(i64::from(got.frequency()), input.orders);
            prop_assert_eq!(got.monetary_fen(), input.monetary_fen);
            prop_assert_eq!(got.score(), *score);
            prop_assert_eq!(got.segment(), Segment::of(*score));
        }
        let summary = result.summary();
        prop_assert_eq!(summary.segments().iter().map(|s| s.1).sum::<usize>(), customers.len());
        prop_assert_eq!(summary.recency().iter().sum::<usize>(), customers.len());
        let definition = result.definition();
        prop_assert_eq!(definition.orders() + definition.later_orders(), rows.len());

        // The order of the rows does not matter.
        let mut rotated = rows.clone();
        if !rotated.is_empty() {
            let k = rotation % rotated.len();
            rotated.rotate_left(k);
        }
        let again = rfm(&table(&rotated), as_of, 1);
        prop_assert_eq!(again.customers(), result.customers());
    }

    #[test]
    fn the_csv_reader_gives_the_same_rfm_as_the_columns(rows in rows(), threads in 1usize..4) {
        let mut text = String::from("order_id,customer_id,ts,amount_fen,refunded_fen\n");
        for (i, (c, ts, amount, refunded)) in rows.iter().enumerate() {
            text.push_str(&format!("o{i},cust-{c},{ts},{amount},{refunded}\n"));
        }
        let (orders, names) = Orders::from_csv(text.as_bytes(), threads).unwrap();
        let as_of = 60 * 86_400;
        let from_csv = rfm(&orders, as_of, threads);
        let direct = rfm(&table(&rows), as_of, threads);
        let by_name = |r: &Rfm, name: &dyn Fn(u32) -> String| {
            let mut v: Vec<(String, i64, u32, i64, String)> = r
                .customers()
                .iter()
                .map(|c| (name(c.customer()), c.recency_days(), c.frequency(), c.monetary_fen(), c.score().code()))
                .collect();
            v.sort();
            v
        };
        prop_assert_eq!(
            by_name(&from_csv, &|c| names.get(c).to_owned()),
            by_name(&direct, &|c| format!("cust-{c}"))
        );
    }
}
