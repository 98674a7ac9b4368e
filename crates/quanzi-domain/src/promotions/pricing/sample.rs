//! A fixed, realistic request for benchmarks and smoke tests.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Cart, Line, Offer, OfferKind, PricingRequest, ThresholdBasis, ThresholdTier};
use crate::promotions::coupons::{ProductScope, Stacking};

fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn categories(categories: &[&str]) -> ProductScope {
    ProductScope {
        categories: names(categories),
        ..ProductScope::default()
    }
}

/// A 20-line cart with 10 applicable, mostly combinable offers (two activity prices, a
/// member tier discount, an amount and a quantity threshold, five coupons that stack with
/// each other), some lines with margin floors. The stacking is deliberately permissive so
/// the search has many compatible subsets: a harder case than most real carts. Meant for
/// timing [`solve`](super::solve) (the target is well under 1 ms in release builds).
pub fn typical_request() -> PricingRequest {
    let category_names = ["food", "drink", "beauty", "home"];
    let lines = (0..20)
        .map(|i: i64| {
            let line = Line::new(
                format!("sku-{i:02}"),
                category_names[i as usize % category_names.len()],
                1_990 + 1_350 * (i % 7),
                1 + i % 3,
            );
            if i % 4 == 1 {
                line.with_floor(1_500 + 1_000 * (i % 7))
            } else {
                line
            }
        })
        .collect();
    let group = |name: &str, with: &[&str]| Stacking::Group {
        group: name.into(),
        stacks_with: names(with),
    };
    let all_but = |own: &str| {
        let groups = ["activity", "tier", "threshold", "coupon"];
        groups.into_iter().filter(|g| *g != own).collect::<Vec<_>>()
    };
    let flash = |id: &str, skus: &[(i64, i64)]| {
        let prices: BTreeMap<String, i64> = skus
            .iter()
            .map(|&(i, p)| (format!("sku-{i:02}"), p))
            .collect();
        Offer::new(id, OfferKind::ActivityPrice { prices })
            .stacking(group("activity", &all_but("activity")))
    };
    let mut coupon_groups = all_but("coupon");
    coupon_groups.push("coupon");
    let coupon =
        |id: &str, kind: OfferKind| Offer::new(id, kind).stacking(group("coupon", &coupon_groups));
    let offers = vec![
        flash("flash-a", &[(0, 990), (3, 2_500), (7, 4_000), (12, 3_000)]),
        flash(
            "flash-b",
            &[(3, 2_200), (5, 9_000), (12, 3_500), (18, 1_000)],
        ),
        Offer::new("member-95", OfferKind::TierDiscount { discount_bp: 500 })
            .scope(ProductScope {
                excluded_categories: names(&["beauty"]),
                ..ProductScope::everything()
            })
            .stacking(group("tier", &all_but("tier"))),
        Offer::new(
            "man-300-50",
            OfferKind::Threshold {
                basis: ThresholdBasis::Amount,
                tiers: vec![
                    ThresholdTier::amount_off(30_000, 5_000),
                    ThresholdTier {
                        free_shipping: true,
                        points: 200,
                        ..ThresholdTier::amount_off(60_000, 12_000)
                    },
                ],
            },
        )
        .stacking(group("threshold", &all_but("threshold"))),
        Offer::new(
            "three-items-90",
            OfferKind::Threshold {
                basis: ThresholdBasis::Quantity,
                tiers: vec![ThresholdTier::percent_off(3, 10)],
            },
        )
        .scope(categories(&["drink", "food"]))
        .stacking(group("threshold", &all_but("threshold"))),
        coupon(
            "coupon-200-30",
            OfferKind::CouponAmountOff {
                threshold_fen: 20_000,
                amount_fen: 3_000,
            },
        ),
        coupon(
            "coupon-no-threshold-10",
            OfferKind::CouponAmountOff {
                threshold_fen: 0,
                amount_fen: 1_000,
            },
        ),
        coupon(
            "coupon-beauty-88",
            OfferKind::CouponPercentOff {
                threshold_fen: 5_000,
                percent_off: 12,
                cap_fen: Some(4_000),
            },
        )
        .scope(categories(&["beauty"])),
        coupon(
            "coupon-shipping",
            OfferKind::CouponFreeShipping {
                threshold_fen: 9_900,
            },
        ),
        coupon(
            "coupon-gift-sku-06",
            OfferKind::CouponGift {
                sku: "sku-06".into(),
            },
        ),
    ];
    PricingRequest {
        cart: Cart {
            lines,
            shipping_fen: 1_200,
        },
        offers,
        chosen_coupons: None,
    }
}
