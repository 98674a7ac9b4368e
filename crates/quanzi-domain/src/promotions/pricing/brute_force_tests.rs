//! Property tests: on random carts and offers the branch-and-bound agrees with the brute
//! force exactly, every result keeps its invariants, and pricing is deterministic.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::tests::assert_invariants;
use super::*;

const SKUS: [&str; 5] = ["a", "b", "c", "d", "e"];
const CATEGORIES: [&str; 3] = ["x", "y", "z"];
const GROUPS: [&str; 3] = ["g1", "g2", "g3"];

fn subset(names: &'static [&'static str]) -> impl Strategy<Value = BTreeSet<String>> {
    proptest::sample::subsequence(names, 0..=names.len())
        .prop_map(|picked| picked.into_iter().map(String::from).collect())
}

fn line() -> impl Strategy<Value = Line> {
    (
        proptest::sample::select(&SKUS[..]),
        proptest::sample::select(&CATEGORIES[..]),
        prop_oneof![1 => Just(0i64), 9 => 100i64..=5_000],
        1i64..=3,
        prop_oneof![2 => Just(None), 1 => (0i64..=5_000).prop_map(Some)],
    )
        .prop_map(|(sku, category, unit, quantity, floor)| Line {
            sku: sku.into(),
            category: category.into(),
            unit_price_fen: unit,
            quantity,
            floor_unit_fen: floor,
        })
}

fn cart() -> impl Strategy<Value = Cart> {
    (
        proptest::collection::vec(line(), 1..=8),
        prop_oneof![Just(0i64), Just(500), Just(1_000)],
    )
        .prop_map(|(lines, shipping_fen)| Cart {
            lines,
            shipping_fen,
        })
}

/// Points from a few values so sets often tie on them (and the gift coupon count and the
/// offer count decide).
fn points() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => Just(0i64),
        1 => Just(10),
        1 => Just(50),
        1 => 1i64..=100,
    ]
}

fn gift_coupons() -> impl Strategy<Value = Vec<String>> {
    (0usize..=3).prop_map(|n| (0..n).map(|i| format!("gift-{i}")).collect())
}

/// One tier, `step` above the previous one: a general tier, or one that only grants
/// points, or one that only grants gift coupons (满赠: no price effect).
fn tier(quantity: bool) -> impl Strategy<Value = (i64, ThresholdTier)> {
    let step = if quantity { 1i64..=4 } else { 1i64..=8_000 };
    let general = (
        prop_oneof![Just(0i64), 1i64..=3_000],
        prop_oneof![Just(0u32), 1u32..=20],
        proptest::bool::weighted(0.3),
        points(),
        prop_oneof![3 => Just(vec![]), 1 => gift_coupons()],
    )
        .prop_map(
            |(amount_off_fen, percent_off, free_shipping, points, gift_coupons)| ThresholdTier {
                at: 0,
                amount_off_fen,
                percent_off,
                free_shipping,
                points,
                gift_coupons,
            },
        );
    let points_only = points().prop_map(|points| ThresholdTier {
        points,
        ..ThresholdTier::default()
    });
    let gifts_only = gift_coupons().prop_map(|gift_coupons| ThresholdTier {
        gift_coupons,
        ..ThresholdTier::default()
    });
    (
        step,
        prop_oneof![3 => general, 1 => points_only, 1 => gifts_only],
    )
}

fn tiers(quantity: bool) -> impl Strategy<Value = Vec<ThresholdTier>> {
    proptest::collection::vec(tier(quantity), 1..=3).prop_map(|raw| {
        let mut at = 0;
        raw.into_iter()
            .map(|(step, tier)| {
                at += step;
                ThresholdTier { at, ..tier }
            })
            .collect()
    })
}

fn kind() -> impl Strategy<Value = OfferKind> {
    let prices = proptest::collection::btree_map(
        proptest::sample::select(&SKUS[..]).prop_map(String::from),
        0i64..=5_000,
        1..=3,
    );
    prop_oneof![
        1 => prices.prop_map(|prices: BTreeMap<String, i64>| OfferKind::ActivityPrice { prices }),
        1 => (1u32..=30).prop_map(|percent| OfferKind::TierDiscount {
            discount_bp: percent * 100
        }),
        2 => any::<bool>().prop_flat_map(|quantity| tiers(quantity).prop_map(move |tiers| {
            OfferKind::Threshold {
                basis: if quantity {
                    ThresholdBasis::Quantity
                } else {
                    ThresholdBasis::Amount
                },
                tiers,
            }
        })),
        1 => (0i64..=15_000, 1i64..=3_000).prop_map(|(threshold_fen, amount_fen)| {
            OfferKind::CouponAmountOff {
                threshold_fen,
                amount_fen,
            }
        }),
        1 => (
            0i64..=15_000,
            1u32..=50,
            prop_oneof![Just(None), (0i64..=3_000).prop_map(Some)]
        )
            .prop_map(|(threshold_fen, percent_off, cap_fen)| {
                OfferKind::CouponPercentOff {
                    threshold_fen,
                    percent_off,
                    cap_fen,
                }
            }),
        1 => (0i64..=15_000).prop_map(|threshold_fen| OfferKind::CouponFreeShipping { threshold_fen }),
        1 => proptest::sample::select(&SKUS[..])
            .prop_map(|sku| OfferKind::CouponGift { sku: sku.into() }),
    ]
}

fn scope() -> impl Strategy<Value = ProductScope> {
    (
        proptest::bool::weighted(0.6),
        subset(&SKUS),
        subset(&CATEGORIES),
        prop_oneof![3 => Just(BTreeSet::new()), 1 => subset(&SKUS)],
        prop_oneof![3 => Just(BTreeSet::new()), 1 => subset(&CATEGORIES)],
    )
        .prop_map(
            |(all, skus, categories, excluded_skus, excluded_categories)| {
                // A scope must select something; fall back to "all" when it would not.
                let all = all || (skus.is_empty() && categories.is_empty());
                ProductScope {
                    all,
                    skus,
                    categories,
                    excluded_skus,
                    excluded_categories,
                }
            },
        )
}

fn stacking() -> impl Strategy<Value = Stacking> {
    prop_oneof![
        1 => Just(Stacking::Exclusive),
        // Each group lists each other group with probability 0.7, so most pairs
        // combine and the search has real sets to choose from.
        5 => (
            proptest::sample::select(&GROUPS[..]),
            proptest::collection::vec(proptest::bool::weighted(0.7), GROUPS.len()),
        )
            .prop_map(|(group, listed)| Stacking::Group {
                group: group.into(),
                stacks_with: GROUPS
                    .iter()
                    .zip(listed)
                    .filter(|(_, on)| *on)
                    .map(|(g, _)| g.to_string())
                    .collect(),
            }),
    ]
}

fn offers() -> impl Strategy<Value = Vec<Offer>> {
    let offer = (
        proptest::sample::select(&SKUS[..]),
        kind(),
        scope(),
        stacking(),
    );
    proptest::collection::vec(offer, 0..=9).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            // A random letter before the index scrambles id order against input order.
            .map(|(i, (letter, kind, scope, stacking))| {
                Offer::new(format!("{letter}{i}"), kind)
                    .scope(scope)
                    .stacking(stacking)
            })
            .collect()
    })
}

fn request() -> impl Strategy<Value = (PricingRequest, Vec<Offer>)> {
    (cart(), offers(), any::<bool>(), any::<u64>()).prop_flat_map(|(cart, offers, choose, seed)| {
        // Sometimes the shopper picks a pseudo-random half of the coupons.
        let chosen = choose.then(|| {
            offers
                .iter()
                .enumerate()
                .filter(|(i, o)| o.is_coupon() && (seed >> (i % 64)) & 1 == 1)
                .map(|(_, o)| o.id.clone())
                .collect()
        });
        let request = PricingRequest {
            cart,
            offers: offers.clone(),
            chosen_coupons: chosen,
        };
        (Just(request), Just(offers).prop_shuffle())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(800))]

    #[test]
    fn solve_finds_exactly_what_the_brute_force_finds((request, shuffled) in request()) {
        prop_assert!(request.check().is_ok(), "{:?}", request.check());
        let solved = solve(&request);
        let reference = brute_force(&request);
        prop_assert_eq!(solved.savings_fen(), reference.savings_fen());
        prop_assert_eq!(solved.applied_ids(), reference.applied_ids());
        prop_assert_eq!(&solved, &reference);
        assert_invariants(&request, &solved);

        prop_assert_eq!(&solve(&request), &solved, "not deterministic");
        let reordered = PricingRequest { offers: shuffled, ..request.clone() };
        prop_assert_eq!(&solve(&reordered), &solved, "depends on offer order");
    }

    #[test]
    fn a_reason_below_threshold_names_a_positive_shortfall((request, _) in request()) {
        let priced = solve(&request);
        for n in &priced.not_applied {
            if let Reason::BelowThreshold { missing } = n.reason {
                prop_assert!(missing > 0, "{}: {}", n.offer_id, missing);
            }
            if let Reason::NotCombinable { with } = &n.reason {
                prop_assert!(priced.applied.iter().any(|a| &a.offer_id == with));
            }
        }
    }
}
