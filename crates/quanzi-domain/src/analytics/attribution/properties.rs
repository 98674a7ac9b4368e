//! Invariants every model keeps, checked on random path tables.

use proptest::prelude::*;

use super::*;

fn table() -> impl Strategy<Value = Journeys> {
    prop::collection::vec(
        (
            prop::collection::vec(0u8..7, 1..8),
            prop_oneof![Just(0.0), 0.0..20.0],
            0.0..100.0,
            prop_oneof![Just(0.0), 0.0..20.0],
        ),
        0..25,
    )
    .prop_map(|rows| {
        let texts: Vec<String> = rows
            .iter()
            .map(|(path, ..)| {
                path.iter()
                    .map(|c| format!("ch{c}"))
                    .collect::<Vec<_>>()
                    .join(" > ")
            })
            .collect();
        Journeys::parse_rows(texts.iter().zip(&rows).map(|(text, (_, c, v, n))| {
            let value = if *c > 0.0 { *v } else { 0.0 };
            (text.as_str(), *c, value, *n)
        }))
        .expect("generated rows are valid")
    })
}

fn every_model(journeys: &Journeys) -> Vec<Attribution> {
    let mut all = vec![
        first_touch(journeys),
        last_touch(journeys),
        linear(journeys),
        position_based(journeys),
        time_decay(journeys, HalfLife::new(0.7).unwrap()),
        time_decay(journeys, HalfLife::new(3.0).unwrap()),
    ];
    for order in 1..=3 {
        all.push(markov(journeys, MarkovOrder::new(order).unwrap()).into_attribution());
    }
    all.push(shapley_exact(journeys).unwrap().into_attribution());
    all.push(shapley_sampled(journeys, ShapleySampling::new(16, 5).unwrap()).into_attribution());
    all
}

fn close(sum: f64, total: f64) -> bool {
    (sum - total).abs() <= 1e-6 * total.abs().max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_model_credits_exactly_the_total_conversions_and_value(journeys in table()) {
        for attribution in every_model(&journeys) {
            let conversions: f64 = attribution.credits().iter().map(|c| c.conversions()).sum();
            let value: f64 = attribution.credits().iter().map(|c| c.value()).sum();
            prop_assert!(close(conversions, journeys.total_conversions()),
                "{}: {conversions} vs {}", attribution.model(), journeys.total_conversions());
            prop_assert!(close(value, journeys.total_value()),
                "{}: {value} vs {}", attribution.model(), journeys.total_value());
            prop_assert_eq!(attribution.total_conversions(), journeys.total_conversions());
            prop_assert_eq!(attribution.credits().len(), journeys.channels().len());
            prop_assert!(attribution.credits().iter().all(|c| c.conversions() >= -1e-12 && c.value() >= -1e-12));
        }
    }

    #[test]
    fn csv_round_trips_to_the_same_table(journeys in table()) {
        let mut csv = String::from("path,total_conversions,total_conversion_value,total_null\n");
        for (i, path) in journeys.paths().enumerate() {
            let names: Vec<&str> = path.iter().map(|&c| journeys.channels()[c as usize].as_str()).collect();
            csv.push_str(&format!(
                "\"{}\",{:?},{:?},{:?}\n",
                names.join(" > "),
                journeys.conversions()[i],
                journeys.value()[i],
                journeys.nulls()[i]
            ));
        }
        prop_assert_eq!(Journeys::from_csv(&csv).unwrap(), journeys);
    }
}

#[test]
fn every_model_on_the_same_synthetic_table_agrees_on_the_totals() {
    let journeys = synthetic_journeys(50_000, 10, 3);
    for attribution in every_model(&journeys) {
        let conversions: f64 = attribution.credits().iter().map(|c| c.conversions()).sum();
        assert!(
            close(conversions, journeys.total_conversions()),
            "{}",
            attribution.model()
        );
        assert!(!attribution.definition().is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Counts estimated from whole paths conserve flow through every state, so the chain's
    /// P(conversion) from start is the table's conversion rate whatever the order.
    #[test]
    fn markov_conversion_probability_is_the_observed_conversion_rate(journeys in table()) {
        let weight = journeys.total_conversions() + journeys.total_nulls();
        prop_assume!(weight > 0.0);
        let rate = journeys.total_conversions() / weight;
        for order in 1..=3 {
            let result = markov(&journeys, MarkovOrder::new(order).unwrap());
            prop_assert!((result.conversion_probability() - rate).abs() < 1e-9,
                "order {order}: {} vs {rate}", result.conversion_probability());
        }
    }
}
