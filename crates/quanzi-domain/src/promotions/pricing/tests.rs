//! Examples, one rule at a time, and the invariants every result must satisfy.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// Checks everything a [`Priced`] promises about itself and its request.
pub(super) fn assert_invariants(request: &PricingRequest, priced: &Priced) {
    let cart = &request.cart;
    let subtotal: i64 = cart.lines.iter().map(Line::list_fen).sum();
    assert_eq!(priced.subtotal_fen, subtotal);
    assert_eq!(priced.shipping_fen, cart.shipping_fen);
    assert_eq!(
        priced.total_fen,
        priced.subtotal_fen - priced.discount_fen + priced.shipping_fen
            - priced.shipping_discount_fen
    );
    let finals: i64 = priced.lines.iter().map(|l| l.final_fen).sum();
    assert_eq!(finals, priced.subtotal_fen - priced.discount_fen);
    assert!(priced.shipping_discount_fen == 0 || priced.shipping_discount_fen == cart.shipping_fen);

    let mut line_discounts = vec![0i64; cart.lines.len()];
    for applied in &priced.applied {
        let allocated: i64 = applied.allocations.iter().map(|a| a.fen).sum();
        assert_eq!(allocated, applied.savings_fen, "{}", applied.offer_id);
        assert!(applied.allocations.iter().all(|a| a.fen > 0));
        assert!(
            applied.savings_fen + applied.shipping_fen > 0
                || applied.points > 0
                || !applied.gift_coupons.is_empty(),
            "{} applied without benefit",
            applied.offer_id
        );
        let kind = &offers_by_id(request)[applied.offer_id.as_str()].kind;
        if !matches!(kind, OfferKind::Threshold { .. }) {
            assert_eq!(applied.points, 0, "{}", applied.offer_id);
            assert!(applied.gift_coupons.is_empty(), "{}", applied.offer_id);
        }
        for a in &applied.allocations {
            line_discounts[a.line] += a.fen;
        }
    }
    let discount: i64 = priced.applied.iter().map(|a| a.savings_fen).sum();
    assert_eq!(discount, priced.discount_fen);
    let shipping: i64 = priced.applied.iter().map(|a| a.shipping_fen).sum();
    assert_eq!(shipping, priced.shipping_discount_fen);

    assert_eq!(priced.lines.len(), cart.lines.len());
    for (i, (line, priced_line)) in cart.lines.iter().zip(&priced.lines).enumerate() {
        assert_eq!(priced_line.line, i);
        assert_eq!(priced_line.list_fen, line.list_fen());
        let listed: i64 = priced_line.discounts.iter().map(|d| d.1).sum();
        assert_eq!(listed, line_discounts[i]);
        assert_eq!(priced_line.final_fen, line.list_fen() - listed);
        assert!(priced_line.final_fen >= 0);
        match line.floor_unit_fen {
            Some(floor) if floor <= line.unit_price_fen => {
                assert!(
                    priced_line.final_fen >= floor * line.quantity,
                    "line {i} below floor"
                )
            }
            Some(_) => assert_eq!(priced_line.final_fen, line.list_fen(), "line {i}"),
            None => {}
        }
    }

    let offers = offers_by_id(request);
    for a in &priced.applied {
        for b in &priced.applied {
            if a.offer_id != b.offer_id {
                let (a, b) = (offers[a.offer_id.as_str()], offers[b.offer_id.as_str()]);
                assert!(combines(&a.stacking, &b.stacking), "{} with {}", a.id, b.id);
            }
        }
    }
    let mut reported: Vec<&str> = priced.applied.iter().map(|a| a.offer_id.as_str()).collect();
    reported.extend(priced.not_applied.iter().map(|n| n.offer_id.as_str()));
    reported.sort_unstable();
    let mut considered: Vec<&str> = request
        .offers
        .iter()
        .filter(|o| request.considers(o))
        .map(|o| o.id.as_str())
        .collect();
    considered.sort_unstable();
    assert_eq!(reported, considered);
}

fn offers_by_id(request: &PricingRequest) -> BTreeMap<&str, &Offer> {
    request.offers.iter().map(|o| (o.id.as_str(), o)).collect()
}

fn price(request: &PricingRequest) -> Priced {
    request.check().expect("valid request");
    let priced = solve(request);
    assert_invariants(request, &priced);
    assert_eq!(priced, brute_force(request), "solve and brute force differ");
    priced
}

fn request(lines: Vec<Line>, offers: Vec<Offer>) -> PricingRequest {
    PricingRequest {
        cart: Cart {
            lines,
            shipping_fen: 0,
        },
        offers,
        chosen_coupons: None,
    }
}

fn stacks(group: &str, with: &[&str]) -> Stacking {
    Stacking::Group {
        group: group.into(),
        stacks_with: with.iter().map(|g| g.to_string()).collect(),
    }
}

/// Every offer in one group that lists itself: everything combines.
fn open() -> Stacking {
    stacks("all", &["all"])
}

fn flash(id: &str, prices: &[(&str, i64)]) -> Offer {
    let prices = prices.iter().map(|&(s, p)| (s.to_string(), p)).collect();
    Offer::new(id, OfferKind::ActivityPrice { prices }).stacking(open())
}

fn amount_off(id: &str, threshold_fen: i64, amount_fen: i64) -> Offer {
    Offer::new(
        id,
        OfferKind::CouponAmountOff {
            threshold_fen,
            amount_fen,
        },
    )
    .stacking(open())
}

fn percent_off(id: &str, threshold_fen: i64, percent_off: u32, cap_fen: Option<i64>) -> Offer {
    Offer::new(
        id,
        OfferKind::CouponPercentOff {
            threshold_fen,
            percent_off,
            cap_fen,
        },
    )
    .stacking(open())
}

fn threshold(id: &str, basis: ThresholdBasis, tiers: Vec<ThresholdTier>) -> Offer {
    Offer::new(id, OfferKind::Threshold { basis, tiers }).stacking(open())
}

fn reason(priced: &Priced, id: &str) -> Reason {
    priced
        .not_applied
        .iter()
        .find(|n| n.offer_id == id)
        .unwrap_or_else(|| panic!("{id} is not in not_applied"))
        .reason
        .clone()
}

fn applied<'p>(priced: &'p Priced, id: &str) -> &'p AppliedOffer {
    priced
        .applied
        .iter()
        .find(|a| a.offer_id == id)
        .unwrap_or_else(|| panic!("{id} is not applied"))
}

#[test]
fn an_activity_price_lowers_the_unit_price_of_the_skus_it_lists() {
    let r = request(
        vec![Line::new("a", "x", 1_000, 3), Line::new("b", "x", 500, 1)],
        vec![flash("flash", &[("a", 800)])],
    );
    let p = price(&r);
    assert_eq!(p.discount_fen, 600);
    assert_eq!(
        applied(&p, "flash").allocations,
        vec![Allocation { line: 0, fen: 600 }]
    );
    assert_eq!(p.lines[0].final_fen, 2_400);
    assert_eq!(p.lines[1].final_fen, 500);
}

#[test]
fn the_lowest_activity_price_wins_and_gets_the_whole_discount() {
    let r = request(
        vec![Line::new("a", "x", 1_000, 1), Line::new("b", "x", 1_000, 1)],
        vec![
            flash("f1", &[("a", 800), ("b", 900)]),
            flash("f2", &[("a", 700)]),
        ],
    );
    let p = price(&r);
    assert_eq!(p.discount_fen, 400);
    assert_eq!(
        applied(&p, "f1").allocations,
        vec![Allocation { line: 1, fen: 100 }]
    );
    assert_eq!(
        applied(&p, "f2").allocations,
        vec![Allocation { line: 0, fen: 300 }]
    );
}

#[test]
fn an_activity_price_above_the_list_price_has_no_effect() {
    let r = request(
        vec![Line::new("a", "x", 1_000, 1)],
        vec![flash("f", &[("a", 1_200)]), flash("g", &[("zzz", 1)])],
    );
    let p = price(&r);
    assert_eq!(p.discount_fen, 0);
    assert_eq!(reason(&p, "f"), Reason::NoBenefit);
    assert_eq!(reason(&p, "g"), Reason::NoEligibleItems);
}

#[test]
fn an_activity_price_stops_at_the_floor() {
    let r = request(
        vec![Line::new("a", "x", 1_000, 2).with_floor(900)],
        vec![flash("f", &[("a", 500)])],
    );
    let p = price(&r);
    assert_eq!(p.lines[0].final_fen, 1_800);
}

#[test]
fn a_tier_discount_takes_its_percentage_of_each_in_scope_line_rounded_down() {
    let r = request(
        vec![Line::new("a", "x", 999, 1), Line::new("b", "y", 1_000, 1)],
        vec![
            Offer::new("vip", OfferKind::TierDiscount { discount_bp: 500 }).scope(ProductScope {
                categories: BTreeSet::from(["x".to_string()]),
                ..ProductScope::default()
            }),
        ],
    );
    let p = price(&r);
    assert_eq!(p.discount_fen, 49);
    assert_eq!(p.lines[1].final_fen, 1_000);
}

#[test]
fn a_threshold_applies_the_highest_tier_reached() {
    let tiers = vec![
        ThresholdTier::amount_off(10_000, 1_000),
        ThresholdTier::amount_off(20_000, 3_000),
        ThresholdTier::amount_off(30_000, 5_000),
    ];
    let r = request(
        vec![Line::new("a", "x", 25_000, 1)],
        vec![threshold("t", ThresholdBasis::Amount, tiers)],
    );
    let p = price(&r);
    assert_eq!(p.discount_fen, 3_000);
}

#[test]
fn a_threshold_below_its_lowest_tier_reports_what_is_missing() {
    let r = request(
        vec![Line::new("a", "x", 25_000, 1)],
        vec![threshold(
            "t",
            ThresholdBasis::Amount,
            vec![ThresholdTier::amount_off(30_000, 5_000)],
        )],
    );
    let p = price(&r);
    assert_eq!(reason(&p, "t"), Reason::BelowThreshold { missing: 5_000 });
}

#[test]
fn a_quantity_threshold_counts_in_scope_items() {
    let r = request(
        vec![
            Line::new("a", "x", 1_000, 2),
            Line::new("b", "x", 1_000, 1),
            Line::new("c", "y", 1_000, 5),
        ],
        vec![threshold(
            "three-for-90",
            ThresholdBasis::Quantity,
            vec![ThresholdTier::percent_off(3, 10)],
        )
        .scope(ProductScope {
            categories: BTreeSet::from(["x".to_string()]),
            ..ProductScope::default()
        })],
    );
    let p = price(&r);
    assert_eq!(p.discount_fen, 300);
    assert_eq!(p.lines[2].final_fen, 5_000);
}

#[test]
fn a_threshold_tier_records_free_shipping_points_and_gift_coupons() {
    let tier = ThresholdTier {
        free_shipping: true,
        points: 300,
        gift_coupons: vec!["next-order-10".into()],
        ..ThresholdTier::amount_off(10_000, 500)
    };
    let mut r = request(
        vec![Line::new("a", "x", 12_000, 1)],
        vec![threshold("t", ThresholdBasis::Amount, vec![tier])],
    );
    r.cart.shipping_fen = 800;
    let p = price(&r);
    let t = applied(&p, "t");
    assert_eq!((t.savings_fen, t.shipping_fen, t.points), (500, 800, 300));
    assert_eq!(t.gift_coupons, vec!["next-order-10".to_string()]);
    assert_eq!(p.total_fen, 11_500);
}

/// A threshold that only grants points and gift coupons (满赠): no price effect.
fn gifts(id: &str, at: i64, points: i64, gift_coupons: &[&str]) -> Offer {
    let tier = ThresholdTier {
        points,
        gift_coupons: gift_coupons.iter().map(|c| c.to_string()).collect(),
        ..ThresholdTier::amount_off(at, 0)
    };
    threshold(id, ThresholdBasis::Amount, vec![tier])
}

#[test]
fn a_reachable_tier_with_only_points_is_applied() {
    let r = request(
        vec![Line::new("a", "x", 12_000, 1)],
        vec![gifts("t", 100, 300, &[])],
    );
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["t"]);
    let t = applied(&p, "t");
    assert_eq!((t.savings_fen, t.shipping_fen, t.points), (0, 0, 300));
    assert_eq!((p.savings_fen(), p.points(), p.total_fen), (0, 300, 12_000));
}

#[test]
fn a_reachable_tier_with_only_gift_coupons_is_applied() {
    let r = request(
        vec![Line::new("a", "x", 12_000, 1)],
        vec![gifts("t", 10_000, 0, &["next-order-10", "tea-sample"])],
    );
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["t"]);
    assert_eq!(p.gift_coupon_count(), 2);
    assert_eq!(p.total_fen, 12_000);
}

#[test]
fn a_points_only_tier_out_of_reach_is_below_threshold() {
    let r = request(
        vec![Line::new("a", "x", 12_000, 1)],
        vec![gifts("t", 20_000, 300, &["next-order-10"])],
    );
    let p = price(&r);
    assert!(p.applied.is_empty());
    assert_eq!(reason(&p, "t"), Reason::BelowThreshold { missing: 8_000 });
}

#[test]
fn a_points_only_tier_pushed_below_its_threshold_by_savings_is_left_out() {
    // The activity price lowers the threshold's basis below its tier; saving 20 beats
    // 300 points, so the tier is left out and says how far it is.
    let r = request(
        vec![Line::new("a", "x", 10_000, 1)],
        vec![
            flash("flash", &[("a", 8_000)]),
            gifts("t", 10_000, 300, &[]),
        ],
    );
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["flash"]);
    assert_eq!(reason(&p, "t"), Reason::BelowThreshold { missing: 2_000 });
}

#[test]
fn a_tier_reached_that_grants_nothing_gives_no_benefit() {
    let tiers = vec![
        ThresholdTier::amount_off(100, 0),
        ThresholdTier {
            points: 50,
            ..ThresholdTier::amount_off(20_000, 0)
        },
    ];
    let r = request(
        vec![Line::new("a", "x", 12_000, 1)],
        vec![threshold("t", ThresholdBasis::Amount, tiers)],
    );
    assert_eq!(reason(&price(&r), "t"), Reason::NoBenefit);
}

#[test]
fn savings_come_before_points_and_points_before_gift_coupons() {
    let lines = vec![Line::new("a", "x", 12_000, 1)];
    let alone = |o: Offer| o.stacking(Stacking::Exclusive);
    // One fen of savings beats any number of points.
    let p = price(&request(
        lines.clone(),
        vec![
            alone(amount_off("coupon", 0, 1)),
            alone(gifts("points", 100, 10_000, &["c1"])),
        ],
    ));
    assert_eq!(p.applied_ids(), vec!["coupon"]);
    assert_eq!(
        reason(&p, "points"),
        Reason::NotCombinable {
            with: "coupon".into()
        }
    );
    // On equal savings, one point beats any number of gift coupons.
    let p = price(&request(
        lines.clone(),
        vec![
            alone(gifts("a-coupons", 100, 0, &["c1", "c2", "c3"])),
            alone(gifts("z-point", 100, 1, &[])),
        ],
    ));
    assert_eq!(p.applied_ids(), vec!["z-point"]);
    // On equal savings and points, more gift coupons win over a smaller id.
    let p = price(&request(
        lines,
        vec![
            alone(gifts("a-one", 100, 5, &["c1"])),
            alone(gifts("z-two", 100, 5, &["c1", "c2"])),
        ],
    ));
    assert_eq!(p.applied_ids(), vec!["z-two"]);
}

#[test]
fn on_equal_savings_more_points_win_over_fewer_offers() {
    // {b, c} saves as much as {a} and also grants points, so it wins despite two offers
    // and a larger first id: the search must not cut it on the savings bound alone.
    let lines = vec![Line::new("a", "x", 10_000, 1)];
    let p = price(&request(
        lines,
        vec![
            amount_off("a", 0, 1_000).stacking(Stacking::Exclusive),
            amount_off("b", 0, 1_000).stacking(stacks("g", &["t"])),
            gifts("c", 5_000, 100, &[]).stacking(stacks("t", &["g"])),
        ],
    ));
    assert_eq!(p.applied_ids(), vec!["c", "b"]);
    assert_eq!((p.savings_fen(), p.points()), (1_000, 100));
    assert_eq!(reason(&p, "a"), Reason::NotCombinable { with: "b".into() });
}

#[test]
fn points_tiers_stack_and_each_grants_its_own_reached_tier() {
    let tiered = threshold(
        "ladder",
        ThresholdBasis::Amount,
        vec![
            ThresholdTier {
                points: 10,
                ..ThresholdTier::amount_off(5_000, 0)
            },
            ThresholdTier {
                points: 30,
                gift_coupons: vec!["c1".into()],
                ..ThresholdTier::amount_off(10_000, 0)
            },
        ],
    );
    let p = price(&request(
        vec![Line::new("a", "x", 12_000, 1)],
        vec![tiered, gifts("flat", 0, 5, &["c2"])],
    ));
    assert_eq!(p.applied_ids(), vec!["flat", "ladder"]);
    assert_eq!((p.points(), p.gift_coupon_count()), (35, 2));
}

#[test]
fn man_300_jian_50_then_a_90_percent_coupon_takes_ten_percent_of_what_is_left() {
    // 满300减50 leaves 270; the 9折 coupon then takes 27.
    let r = request(
        vec![
            Line::new("a", "x", 20_000, 1),
            Line::new("b", "y", 12_000, 1),
        ],
        vec![
            threshold(
                "man-300-50",
                ThresholdBasis::Amount,
                vec![ThresholdTier::amount_off(30_000, 5_000)],
            ),
            percent_off("nine-zhe", 0, 10, None),
        ],
    );
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["man-300-50", "nine-zhe"]);
    assert_eq!(applied(&p, "man-300-50").savings_fen, 5_000);
    assert_eq!(applied(&p, "nine-zhe").savings_fen, 2_700);
    assert_eq!(p.total_fen, 24_300);
    // 50 spread 200:120 → 31.25 : 18.75.
    assert_eq!(
        applied(&p, "man-300-50").allocations,
        vec![
            Allocation {
                line: 0,
                fen: 3_125
            },
            Allocation {
                line: 1,
                fen: 1_875
            }
        ]
    );
}

#[test]
fn a_member_90_percent_discount_can_push_the_cart_below_man_300_jian_50() {
    // The tier discount runs first: 320 → 288, below 300. Alone, the threshold saves more.
    let r = request(
        vec![Line::new("a", "x", 32_000, 1)],
        vec![
            Offer::new("member-90", OfferKind::TierDiscount { discount_bp: 1000 }).stacking(open()),
            threshold(
                "man-300-50",
                ThresholdBasis::Amount,
                vec![ThresholdTier::amount_off(30_000, 5_000)],
            ),
        ],
    );
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["man-300-50"]);
    assert_eq!(p.total_fen, 27_000);
    assert_eq!(reason(&p, "member-90"), Reason::NotBetter);
}

#[test]
fn coupon_thresholds_are_measured_after_earlier_discounts() {
    let r = request(
        vec![Line::new("a", "x", 10_000, 1)],
        vec![
            flash("flash", &[("a", 9_000)]),
            amount_off("coupon-100-20", 10_000, 2_000),
            amount_off("coupon-85-5", 8_500, 500),
        ],
    );
    let p = price(&r);
    // Flash + 85-5 saves 1,500; coupon-100-20 alone saves 2,000, and neither coupon
    // reaches its threshold after the other or after the flash price.
    assert_eq!(p.applied_ids(), vec!["coupon-100-20"]);
    assert_eq!(reason(&p, "flash"), Reason::NotBetter);
}

#[test]
fn a_missing_amount_is_reported_where_the_coupon_would_apply() {
    let r = request(
        vec![Line::new("a", "x", 10_000, 1)],
        vec![
            flash("flash", &[("a", 7_000)]),
            amount_off("coupon-100-20", 10_000, 2_000),
        ],
    );
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["flash"]);
    assert_eq!(
        reason(&p, "coupon-100-20"),
        Reason::BelowThreshold { missing: 3_000 }
    );
}

#[test]
fn a_percent_coupon_is_capped() {
    let r = request(
        vec![Line::new("a", "x", 100_000, 1)],
        vec![percent_off("p", 0, 20, Some(5_000))],
    );
    assert_eq!(price(&r).discount_fen, 5_000);
}

#[test]
fn free_shipping_is_credited_once() {
    let mut r = request(
        vec![Line::new("a", "x", 10_000, 1)],
        vec![
            Offer::new("ship-a", OfferKind::CouponFreeShipping { threshold_fen: 0 })
                .stacking(open()),
            Offer::new("ship-b", OfferKind::CouponFreeShipping { threshold_fen: 0 })
                .stacking(open()),
        ],
    );
    r.cart.shipping_fen = 1_000;
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["ship-a"]);
    assert_eq!(p.shipping_discount_fen, 1_000);
    assert_eq!(p.total_fen, 10_000);
    assert_eq!(reason(&p, "ship-b"), Reason::NoBenefit);
}

#[test]
fn free_shipping_without_shipping_charged_gives_nothing() {
    let r = request(
        vec![Line::new("a", "x", 10_000, 1)],
        vec![Offer::new(
            "ship",
            OfferKind::CouponFreeShipping { threshold_fen: 0 },
        )],
    );
    assert_eq!(reason(&price(&r), "ship"), Reason::NoBenefit);
}

#[test]
fn a_gift_coupon_makes_one_unit_of_its_sku_free() {
    let gift = |id: &str, sku: &str| {
        Offer::new(id, OfferKind::CouponGift { sku: sku.into() }).stacking(open())
    };
    let r = request(
        vec![Line::new("a", "x", 1_000, 3), Line::new("b", "x", 500, 1)],
        vec![gift("gift-a", "a"), gift("gift-c", "c")],
    );
    let p = price(&r);
    assert_eq!(
        applied(&p, "gift-a").allocations,
        vec![Allocation {
            line: 0,
            fen: 1_000
        }]
    );
    assert_eq!(p.lines[0].final_fen, 2_000);
    assert_eq!(reason(&p, "gift-c"), Reason::NoEligibleItems);
}

#[test]
fn two_gift_coupons_free_two_units_and_a_third_finds_none_left() {
    let gift =
        |id: &str| Offer::new(id, OfferKind::CouponGift { sku: "a".into() }).stacking(open());
    let r = request(
        vec![Line::new("a", "x", 1_000, 2)],
        vec![gift("g1"), gift("g2"), gift("g3")],
    );
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["g1", "g2"]);
    assert_eq!(p.total_fen, 0);
    assert_eq!(reason(&p, "g3"), Reason::NoBenefit);
}

#[test]
fn an_order_discount_stops_at_floors_and_moves_to_lines_with_room() {
    let r = request(
        vec![
            Line::new("a", "x", 10_000, 1).with_floor(9_500),
            Line::new("b", "x", 10_000, 1),
        ],
        vec![amount_off("c", 0, 4_000)],
    );
    let p = price(&r);
    assert_eq!(
        applied(&p, "c").allocations,
        vec![
            Allocation { line: 0, fen: 500 },
            Allocation {
                line: 1,
                fen: 3_500
            }
        ]
    );
}

#[test]
fn an_offer_gives_less_than_nominal_when_every_line_is_at_its_floor() {
    let r = request(
        vec![Line::new("a", "x", 10_000, 1).with_floor(9_000)],
        vec![amount_off("c", 0, 4_000)],
    );
    let p = price(&r);
    assert_eq!(p.discount_fen, 1_000);
    assert_eq!(p.lines[0].final_fen, 9_000);
}

#[test]
fn a_line_listed_below_its_floor_gets_no_discount() {
    let r = request(
        vec![
            Line::new("a", "x", 1_000, 1).with_floor(1_200),
            Line::new("b", "x", 1_000, 1),
        ],
        vec![
            flash("f", &[("a", 500)]),
            Offer::new("vip", OfferKind::TierDiscount { discount_bp: 1000 }).stacking(open()),
            amount_off("c", 0, 1_000),
        ],
    );
    let p = price(&r);
    assert_eq!(p.lines[0].final_fen, 1_000);
    assert_eq!(reason(&p, "f"), Reason::NoBenefit);
}

#[test]
fn an_exclusive_coupon_is_used_alone_when_it_beats_any_combination() {
    let r = request(
        vec![Line::new("a", "x", 10_000, 1)],
        vec![
            Offer::new(
                "big",
                OfferKind::CouponAmountOff {
                    threshold_fen: 0,
                    amount_fen: 5_000,
                },
            ),
            amount_off("small-1", 0, 1_000),
            amount_off("small-2", 0, 1_000),
        ],
    );
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["big"]);
    assert_eq!(
        reason(&p, "small-1"),
        Reason::NotCombinable { with: "big".into() }
    );
}

#[test]
fn an_exclusive_coupon_is_not_combinable_with_a_better_combination() {
    let r = request(
        vec![Line::new("a", "x", 10_000, 1)],
        vec![
            Offer::new(
                "big",
                OfferKind::CouponAmountOff {
                    threshold_fen: 0,
                    amount_fen: 1_500,
                },
            ),
            amount_off("small-1", 0, 1_000),
            amount_off("small-2", 0, 1_000),
        ],
    );
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["small-1", "small-2"]);
    assert_eq!(
        reason(&p, "big"),
        Reason::NotCombinable {
            with: "small-1".into()
        }
    );
}

#[test]
fn offers_of_one_group_combine_only_if_the_group_lists_itself() {
    let coupon = |id: &str, with: &[&str]| {
        Offer::new(
            id,
            OfferKind::CouponAmountOff {
                threshold_fen: 0,
                amount_fen: 1_000,
            },
        )
        .stacking(stacks("coupon", with))
    };
    let lines = vec![Line::new("a", "x", 10_000, 1)];
    let closed = price(&request(
        lines.clone(),
        vec![coupon("c1", &[]), coupon("c2", &[])],
    ));
    assert_eq!(closed.applied_ids(), vec!["c1"]);
    assert_eq!(
        reason(&closed, "c2"),
        Reason::NotCombinable { with: "c1".into() }
    );
    let listed = price(&request(
        lines,
        vec![coupon("c1", &["coupon"]), coupon("c2", &["coupon"])],
    ));
    assert_eq!(listed.applied_ids(), vec!["c1", "c2"]);
}

#[test]
fn stacking_needs_both_sides_to_list_each_other() {
    let a = Offer::new(
        "a",
        OfferKind::CouponAmountOff {
            threshold_fen: 0,
            amount_fen: 1_000,
        },
    )
    .stacking(stacks("ga", &["gb"]));
    let b =
        Offer::new("b", OfferKind::TierDiscount { discount_bp: 500 }).stacking(stacks("gb", &[]));
    let p = price(&request(vec![Line::new("x", "x", 10_000, 1)], vec![a, b]));
    assert_eq!(p.applied_ids(), vec!["a"]);
    assert_eq!(reason(&p, "b"), Reason::NotCombinable { with: "a".into() });
}

#[test]
fn ties_go_to_fewer_offers_then_to_smaller_ids() {
    let lines = vec![Line::new("a", "x", 10_000, 1)];
    let p = price(&request(
        lines.clone(),
        vec![
            amount_off("z-one", 0, 1_000),
            amount_off("b-half", 0, 500),
            amount_off("c-half", 0, 500),
        ],
    ));
    // {z-one, b-half, c-half} saves most.
    assert_eq!(p.applied_ids(), vec!["b-half", "c-half", "z-one"]);
    let exclusive = |id: &str| {
        Offer::new(
            id,
            OfferKind::CouponAmountOff {
                threshold_fen: 0,
                amount_fen: 1_000,
            },
        )
    };
    let p = price(&request(lines, vec![exclusive("y"), exclusive("x")]));
    assert_eq!(p.applied_ids(), vec!["x"]);
    assert_eq!(reason(&p, "y"), Reason::NotCombinable { with: "x".into() });
}

#[test]
fn chosen_coupons_limit_which_coupons_are_considered() {
    let mut r = request(
        vec![Line::new("a", "x", 10_000, 1)],
        vec![
            amount_off("best", 0, 3_000),
            amount_off("picked", 0, 1_000),
            Offer::new("vip", OfferKind::TierDiscount { discount_bp: 500 }).stacking(open()),
        ],
    );
    r.chosen_coupons = Some(BTreeSet::from(["picked".to_string()]));
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["vip", "picked"]);
    assert!(
        p.not_applied.is_empty(),
        "unchosen coupons are not reported"
    );
    r.chosen_coupons = Some(BTreeSet::new());
    assert_eq!(price(&r).applied_ids(), vec!["vip"]);
}

#[test]
fn an_offer_lowering_a_threshold_basis_can_add_more_than_its_standalone_savings() {
    // The search must not assume "marginal <= standalone": adding the 1 % tier discount
    // drops the threshold (30 off) but lets the coupon reach its 80 threshold (40 off).
    let r = request(
        vec![Line::new("a", "x", 10_000, 1)],
        vec![
            Offer::new("tier-1", OfferKind::TierDiscount { discount_bp: 100 }).stacking(open()),
            threshold(
                "t",
                ThresholdBasis::Amount,
                vec![ThresholdTier::amount_off(10_000, 3_000)],
            ),
            amount_off("coupon", 8_000, 4_000),
        ],
    );
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["tier-1", "coupon"]);
    assert_eq!(p.discount_fen, 4_100);
}

#[test]
fn the_input_order_of_offers_does_not_matter() {
    let r = typical_request();
    let mut reversed = r.clone();
    reversed.offers.reverse();
    assert_eq!(solve(&r), solve(&reversed));
}

#[test]
fn the_typical_request_prices_like_the_brute_force() {
    let r = typical_request();
    let p = price(&r);
    assert!(p.applied.len() >= 3);
    assert_eq!(r.offers.len(), 10);
    assert_eq!(r.cart.lines.len(), 20);
}

#[test]
fn an_empty_cart_costs_its_shipping() {
    let mut r = request(vec![], vec![amount_off("c", 0, 100)]);
    r.cart.shipping_fen = 600;
    let p = price(&r);
    assert_eq!(p.total_fen, 600);
    assert_eq!(reason(&p, "c"), Reason::NoEligibleItems);
}

fn field_of(r: &PricingRequest) -> String {
    r.check().expect_err("invalid").field
}

#[test]
fn check_rejects_bad_lines() {
    let base = request(vec![Line::new("a", "x", 100, 1)], vec![]);
    let mut r = base.clone();
    r.cart.lines[0].unit_price_fen = -1;
    assert_eq!(field_of(&r), "cart.lines[0].unit_price_fen");
    let mut r = base.clone();
    r.cart.lines[0].quantity = 0;
    assert_eq!(field_of(&r), "cart.lines[0].quantity");
    let mut r = base.clone();
    r.cart.lines[0].floor_unit_fen = Some(-5);
    assert_eq!(field_of(&r), "cart.lines[0].floor_unit_fen");
    let mut r = base.clone();
    r.cart.shipping_fen = -1;
    assert_eq!(field_of(&r), "cart.shipping_fen");
    let mut r = base;
    r.cart.lines = vec![Line::new("a", "x", 100, 1); MAX_LINES + 1];
    assert_eq!(field_of(&r), "cart.lines");
}

#[test]
fn check_rejects_bad_offers() {
    let with = |offer: Offer| request(vec![Line::new("a", "x", 100, 1)], vec![offer]);
    let r = with(Offer::new(
        "t",
        OfferKind::TierDiscount { discount_bp: 10100 },
    ));
    assert_eq!(field_of(&r), "offers[0].kind.discount_bp");
    let r = with(threshold("t", ThresholdBasis::Amount, vec![]));
    assert_eq!(field_of(&r), "offers[0].kind.tiers");
    let r = with(threshold(
        "t",
        ThresholdBasis::Amount,
        vec![
            ThresholdTier::amount_off(200, 10),
            ThresholdTier::amount_off(100, 20),
        ],
    ));
    assert_eq!(field_of(&r), "offers[0].kind.tiers[1].at");
    let r = with(amount_off("c", -1, 10));
    assert_eq!(field_of(&r), "offers[0].kind.threshold_fen");
    let r = with(amount_off("c", 0, 10).scope(ProductScope::default()));
    assert_eq!(field_of(&r), "offers[0].scope");
    let r = with(Offer::new("", OfferKind::TierDiscount { discount_bp: 500 }));
    assert_eq!(field_of(&r), "offers[0].id");
    assert_eq!(
        Offer::new(
            "f",
            OfferKind::ActivityPrice {
                prices: BTreeMap::new()
            }
        )
        .check()
        .expect_err("empty prices")
        .field,
        "offer.kind.prices"
    );
}

#[test]
fn check_rejects_duplicate_ids_too_many_offers_and_unknown_chosen_coupons() {
    let mut r = request(
        vec![Line::new("a", "x", 100, 1)],
        vec![amount_off("c", 0, 10), amount_off("c", 0, 20)],
    );
    assert_eq!(field_of(&r), "offers[1].id");
    r.offers = (0..=MAX_OFFERS)
        .map(|i| amount_off(&format!("c{i}"), 0, 10))
        .collect();
    assert_eq!(field_of(&r), "offers");
    r.offers = vec![
        amount_off("c", 0, 10),
        Offer::new("vip", OfferKind::TierDiscount { discount_bp: 500 }),
    ];
    r.chosen_coupons = Some(BTreeSet::from(["vip".to_string()]));
    assert_eq!(field_of(&r), "chosen_coupons");
    r.chosen_coupons = Some(BTreeSet::from(["c".to_string()]));
    assert!(r.check().is_ok());
}

#[test]
fn a_threshold_whose_lower_tier_gives_more_is_bounded_by_its_best_reachable_tier() {
    // Alone, the threshold reaches its 200 tier (1 off); after the 1 % member discount it
    // falls to the 100 tier (80 off). The search must not bound it by the 1 off.
    let r = request(
        vec![Line::new("a", "x", 20_000, 1)],
        vec![
            flash("a-flash", &[("a", 19_000)]).stacking(stacks("act", &["tier"])),
            Offer::new("b-tier", OfferKind::TierDiscount { discount_bp: 100 })
                .stacking(stacks("tier", &["act", "thr"])),
            threshold(
                "c-thr",
                ThresholdBasis::Amount,
                vec![
                    ThresholdTier::amount_off(10_000, 8_000),
                    ThresholdTier::amount_off(20_000, 100),
                ],
            )
            .stacking(stacks("thr", &["tier"])),
        ],
    );
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["b-tier", "c-thr"]);
    assert_eq!(p.discount_fen, 8_200);
    assert_eq!(
        reason(&p, "a-flash"),
        Reason::NotCombinable {
            with: "c-thr".into()
        }
    );
}

#[test]
fn a_threshold_whose_lower_tier_grants_more_points_is_bounded_by_its_best_reachable_tier() {
    // Alone, the ladder reaches its 200 tier (1 point); after the 1 % member discount it
    // falls to the 100 tier (100 points). {b-tier, a-gift} (2 points) is found first; the
    // search must not bound the ladder by its 1 point and cut {b-tier, c-ladder}.
    let r = request(
        vec![Line::new("a", "x", 20_000, 1)],
        vec![
            Offer::new("b-tier", OfferKind::TierDiscount { discount_bp: 100 })
                .stacking(stacks("tier", &["a", "c"])),
            gifts("a-gift", 0, 2, &[]).stacking(stacks("a", &["tier"])),
            threshold(
                "c-ladder",
                ThresholdBasis::Amount,
                vec![
                    ThresholdTier {
                        points: 100,
                        ..ThresholdTier::amount_off(10_000, 0)
                    },
                    ThresholdTier {
                        points: 1,
                        ..ThresholdTier::amount_off(20_000, 0)
                    },
                ],
            )
            .stacking(stacks("c", &["tier"])),
        ],
    );
    let p = price(&r);
    assert_eq!(p.applied_ids(), vec!["b-tier", "c-ladder"]);
    assert_eq!((p.savings_fen(), p.points()), (200, 100));
    assert_eq!(
        reason(&p, "a-gift"),
        Reason::NotCombinable {
            with: "c-ladder".into()
        }
    );
}
