//! Cart pricing and checkout locks.
//!
//! `price` gathers every offer that may apply to a member's cart — running timed
//! discounts and spend-threshold rules, the member's tier discount, the member's
//! available coupons (or only those the shopper chose) — and lets the solver pick the
//! best combination the stacking rules allow. `lock` prices the same way and reserves the
//! coupons the best price uses for an unpaid order, in one transaction: each coupon by a
//! conditional update (so a single-use coupon is won once), the member's use count under
//! its limit, and the discount against the template's budget. The order's arrival marks
//! them used (`order_hooks`); a cancel or the payment timeout gives everything back.
//! Lines bought under a flash-sale reservation are priced beside the solver
//! (`flash_lines`); a checkout ties their reservations to its order, whose arrival pays
//! them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use quanzi_domain::auth::Scope;
use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::loyalty::tiers::Tier;
use quanzi_domain::promotions::coupons::{
    usable, CouponKind, CouponRefusal, ProductScope, Stacking,
};
use quanzi_domain::promotions::pricing::{
    solve, Cart, Line, Offer, OfferKind, Priced, PricingRequest, ThresholdBasis, ThresholdTier,
};
use quanzi_domain::time::Timestamp;
use quanzi_store::{CouponLock, CouponRow, CouponTemplateRow, MemberTierRow};

use super::coupons::{refused, Template};
use super::flash_lines::{self, FlashLine};
use super::order_hooks::{give_back, Benefit};
use super::rules::running_offers;
use crate::principal::Principal;
use crate::services::loyalty::settings::{self, TierProgram};
use crate::services::members;
use crate::{App, Error, Result};

/// Default and longest time an unpaid order may hold its coupons.
pub const DEFAULT_LOCK_SECONDS: i64 = 30 * 60;
pub const MAX_LOCK_SECONDS: i64 = 24 * 3_600;
const ATTEMPTS: usize = 8;

pub struct CartItem {
    pub sku: String,
    pub category: String,
    pub unit_price_fen: i64,
    pub quantity: i64,
    /// The margin floor: the line may not be sold below this per unit.
    pub floor_unit_fen: Option<i64>,
    /// The flash-sale reservation (`rsv_…`) this line is bought under: priced at the
    /// flash price and left out of every other promotion (`flash_lines`).
    pub flash_reservation_id: Option<String>,
}

pub struct CartInput {
    pub member_id: String,
    pub items: Vec<CartItem>,
    pub shipping_fen: i64,
    /// The coupons the shopper chose; `None` lets the solver pick from all of theirs.
    pub coupons: Option<Vec<String>>,
}

/// Where an offer came from, for the explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferSource {
    Coupon {
        template_id: String,
        per_member_use_limit: Option<i64>,
    },
    Promotion {
        kind: String,
    },
    Tier {
        tier: String,
    },
    /// A flash price held by a reservation.
    Flash {
        sale_id: String,
        reservation_id: String,
    },
}

/// The best price with what was considered.
pub struct Quote {
    pub member_id: String,
    pub priced: Priced,
    /// Every offer the solver considered, by id.
    pub offers: BTreeMap<String, (Offer, OfferSource)>,
    /// Chosen coupons that could not even be considered, with the refusal code.
    pub unusable: Vec<(String, CouponRefusal)>,
    /// The member's coupons the solver considered.
    pub coupons: BTreeMap<String, CouponRow>,
    /// Lines priced at a flash price, outside the solver.
    pub flash: Vec<FlashLine>,
}

pub async fn price(app: &App, principal: &Principal, input: CartInput) -> Result<Quote> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let now = app.clock.now();
    quote(app, principal, &input, now).await
}

async fn quote(
    app: &App,
    principal: &Principal,
    input: &CartInput,
    now: Timestamp,
) -> Result<Quote> {
    let ws = &principal.workspace_id;
    let chosen: Option<BTreeSet<String>> = match &input.coupons {
        Some(ids) if ids.len() > 20 => {
            return Err(InvalidInput::new("coupons", "choose at most 20 coupons").into())
        }
        Some(ids) => Some(ids.iter().cloned().collect()),
        None => None,
    };
    // Every read runs side by side in one round, the member's coupons and tier under the
    // id the caller gave: pricing latency is mostly these round trips. Only when that id
    // was merged into another member are those two read again for the survivor.
    let (member, running, loyalty, (coupons, tier_row)) = tokio::try_join!(
        members::find(app, principal, &input.member_id),
        running_offers(app, ws, now),
        settings::load(app, ws),
        coupons_and_tier(app, ws, &input.member_id),
    )?;
    let (coupons, tier_row) = if member.id == input.member_id {
        (coupons, tier_row)
    } else {
        coupons_and_tier(app, ws, &member.id).await?
    };
    let tier = tier_of(loyalty.tiers.as_ref(), tier_row);
    let flash = if input.items.iter().any(|i| i.flash_reservation_id.is_some()) {
        flash_lines::resolve(app, ws, [&input.member_id, &member.id], &input.items, now).await?
    } else {
        Vec::new()
    };
    let cart = Cart {
        lines: input
            .items
            .iter()
            .map(|item| Line {
                sku: item.sku.clone(),
                category: item.category.clone(),
                unit_price_fen: item.unit_price_fen,
                quantity: item.quantity,
                floor_unit_fen: item.floor_unit_fen,
            })
            .collect(),
        shipping_fen: input.shipping_fen,
    };
    let mut offers: BTreeMap<String, (Offer, OfferSource)> = BTreeMap::new();
    for (offer, kind) in running {
        offers.insert(offer.id.clone(), (offer, OfferSource::Promotion { kind }));
    }
    let mut unusable = Vec::new();
    let mut templates: BTreeMap<String, Template> = BTreeMap::new();
    let mut available = Vec::with_capacity(coupons.len());
    for (coupon, row) in coupons {
        if !templates.contains_key(&row.id) {
            templates.insert(row.id.clone(), super::coupons::read(row)?);
        }
        available.push(coupon);
    }
    let coupons = available;
    if let Some(chosen) = &chosen {
        for id in chosen {
            if !coupons.iter().any(|c| &c.id == id) {
                let refusal = match app.store.coupon(ws, id).await {
                    Ok(c) if c.member_id == member.id && c.valid_until <= now => {
                        CouponRefusal::Expired
                    }
                    _ => CouponRefusal::NotAvailable,
                };
                unusable.push((id.clone(), refusal));
            }
        }
    }
    let mut considered = BTreeMap::new();
    for coupon in &coupons {
        if chosen.as_ref().is_some_and(|c| !c.contains(&coupon.id)) {
            continue;
        }
        let Some(template) = templates.get(&coupon.template_id) else {
            continue;
        };
        let refusal = usable(coupon.valid_from, coupon.valid_until, now)
            .err()
            .or_else(|| {
                template
                    .row
                    .budget_fen
                    .is_some_and(|b| b <= template.row.booked_fen)
                    .then_some(CouponRefusal::BudgetExhausted)
            });
        if let Some(refusal) = refusal {
            if chosen.is_some() {
                unusable.push((coupon.id.clone(), refusal));
            }
            continue;
        }
        offers.insert(
            coupon.id.clone(),
            (
                coupon_offer(coupon, template),
                OfferSource::Coupon {
                    template_id: template.row.id.clone(),
                    per_member_use_limit: template.row.per_member_use_limit,
                },
            ),
        );
        considered.insert(coupon.id.clone(), coupon.clone());
    }
    if let Some(tier) = &tier {
        for offer in tier_offers(tier, &offers) {
            offers.insert(
                offer.id.clone(),
                (
                    offer,
                    OfferSource::Tier {
                        tier: tier.code.clone(),
                    },
                ),
            );
        }
    }
    // Chosen coupons that cannot be used were reported above; the solver sees the rest.
    let chosen_coupons = chosen.map(|c| {
        c.into_iter()
            .filter(|id| considered.contains_key(id))
            .collect()
    });
    let request = PricingRequest {
        cart,
        offers: offers.values().map(|(o, _)| o.clone()).collect(),
        chosen_coupons,
    };
    request.check().map_err(|err| {
        // The solver names cart fields by its own model; the caller sent `items`.
        let err = InvalidInput::from(err);
        let field = err.field().replacen("cart.lines", "items", 1).replacen(
            "cart.shipping_fen",
            "shipping_fen",
            1,
        );
        err.for_field(field)
    })?;
    let priced = if flash.is_empty() {
        solve(&request)
    } else {
        // Checked above with every line, so errors name the caller's indexes; the solver
        // sees only the lines without a flash price.
        let rest: Vec<usize> = (0..request.cart.lines.len())
            .filter(|i| !flash.iter().any(|f| f.line == *i))
            .collect();
        let mut request = request;
        request.cart.lines = rest
            .iter()
            .map(|i| request.cart.lines[*i].clone())
            .collect();
        for line in &flash {
            let (offer, source) = line.offer();
            offers.insert(offer.id.clone(), (offer, source));
        }
        flash_lines::put_back(solve(&request), &rest, &flash)
    };
    Ok(Quote {
        member_id: member.id,
        priced,
        offers,
        unusable,
        coupons: considered,
        flash,
    })
}

fn coupon_offer(coupon: &CouponRow, template: &Template) -> Offer {
    let kind = match &template.rules.kind {
        CouponKind::AmountOff {
            threshold_fen,
            amount_fen,
        } => OfferKind::CouponAmountOff {
            threshold_fen: *threshold_fen,
            amount_fen: *amount_fen,
        },
        CouponKind::PercentOff {
            threshold_fen,
            percent_off,
            cap_fen,
        } => OfferKind::CouponPercentOff {
            threshold_fen: *threshold_fen,
            percent_off: *percent_off,
            cap_fen: *cap_fen,
        },
        CouponKind::FreeShipping { threshold_fen } => OfferKind::CouponFreeShipping {
            threshold_fen: *threshold_fen,
        },
        CouponKind::Gift { sku } => OfferKind::CouponGift { sku: sku.clone() },
    };
    Offer {
        id: coupon.id.clone(),
        label: template.row.name.clone(),
        kind,
        scope: template.rules.scope.clone(),
        stacking: template.rules.stacking.clone(),
    }
}

/// A member's available coupons (with their templates) and tier row, read side by side.
async fn coupons_and_tier(
    app: &App,
    ws: &WorkspaceId,
    member: &str,
) -> Result<(Vec<(CouponRow, CouponTemplateRow)>, Option<MemberTierRow>)> {
    Ok(tokio::try_join!(
        app.store.available_coupons_with_templates(ws, member),
        app.store.member_tier(ws, member),
    )?)
}

/// The member's tier on the workspace's ladder (none without a tier program).
fn tier_of(program: Option<&TierProgram>, row: Option<MemberTierRow>) -> Option<Tier> {
    program?.ladder.get(&row?.tier).cloned()
}

/// The tier's discount and free shipping, willing to combine with every other offer
/// present: whether they accept it is up to their own stacking groups (`tier`).
fn tier_offers(tier: &Tier, others: &BTreeMap<String, (Offer, OfferSource)>) -> Vec<Offer> {
    let benefits = &tier.benefits;
    let groups: BTreeSet<String> = others
        .values()
        .filter_map(|(o, _)| match &o.stacking {
            Stacking::Group { group, .. } => Some(group.clone()),
            Stacking::Exclusive => None,
        })
        .chain(["tier".to_owned()])
        .collect();
    let stacking = Stacking::Group {
        group: "tier".into(),
        stacks_with: groups,
    };
    let mut offers = Vec::new();
    if benefits.discount_bp > 0 {
        offers.push(Offer {
            id: format!("tier:{}", tier.code),
            label: tier.name.clone(),
            kind: OfferKind::TierDiscount {
                discount_bp: benefits.discount_bp,
            },
            scope: ProductScope::everything(),
            stacking: stacking.clone(),
        });
    }
    if benefits.free_shipping {
        offers.push(Offer {
            id: format!("tier:{}:shipping", tier.code),
            label: tier.name.clone(),
            kind: OfferKind::Threshold {
                basis: ThresholdBasis::Amount,
                tiers: vec![ThresholdTier {
                    at: 0,
                    free_shipping: true,
                    ..ThresholdTier::default()
                }],
            },
            scope: ProductScope::everything(),
            stacking,
        });
    }
    offers
}

/// A priced checkout whose coupons are locked for `order_id` until `locked_until`.
pub struct Checkout {
    pub order_id: String,
    pub quote: Quote,
    pub locked: Vec<CouponRow>,
    pub locked_until: Timestamp,
}

/// Prices the cart and locks the coupons the best price uses for an unpaid order. Locking
/// again for the same order first releases what it held (the cart changed).
pub async fn lock(
    app: &App,
    principal: &Principal,
    order_id: &str,
    input: CartInput,
    timeout_seconds: Option<i64>,
) -> Result<Checkout> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    crate::services::orders::check_external_id("order_id", order_id)?;
    let timeout = timeout_seconds.unwrap_or(DEFAULT_LOCK_SECONDS);
    if !(60..=MAX_LOCK_SECONDS).contains(&timeout) {
        return Err(InvalidInput::new(
            "timeout_seconds",
            format!("must be 60 to {MAX_LOCK_SECONDS}"),
        )
        .into());
    }
    let ws = &principal.workspace_id;
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let quote = quote(app, principal, &input, now).await?;
        require_chosen_applied(&quote, input.coupons.as_deref())?;
        require_whole_reservations(&quote.flash)?;
        // A checkout holds nothing longer than its flash reservations hold their stock.
        let locked_until = quote
            .flash
            .iter()
            .map(|f| f.expires_at)
            .fold(now.plus(Duration::from_secs(timeout as u64)), |a, b| {
                a.min(b)
            });
        let mut tx = app.store.begin().await?;
        for released in retry_on_race!(tx.release_coupon_locks(ws, order_id, None, now).await) {
            retry_on_race!(give_back(&mut tx, ws, &released).await);
        }
        // Checking out again starts over: the new cart ties its own reservations.
        retry_on_race!(tx.detach_flash_reservations(ws, order_id).await);
        let mut locked = Vec::new();
        let mut lost = None;
        for applied in &quote.priced.applied {
            let Some((
                _,
                OfferSource::Coupon {
                    template_id,
                    per_member_use_limit,
                },
            )) = quote.offers.get(&applied.offer_id)
            else {
                continue;
            };
            let discount = applied.savings_fen + applied.shipping_fen;
            // Reads that a lock needs were made before the transaction: a second
            // connection taken while this one is held could wait on a drained pool.
            if !retry_on_race!(
                tx.lock_coupon(
                    ws,
                    &applied.offer_id,
                    &quote.member_id,
                    &CouponLock {
                        order: order_id,
                        discount_fen: discount,
                        until: locked_until,
                    },
                    now,
                )
                .await
            ) {
                lost = Some(CouponRefusal::NotAvailable);
                break;
            }
            if !retry_on_race!(
                tx.count_coupon_use(ws, template_id, &quote.member_id, *per_member_use_limit)
                    .await
            ) {
                lost = Some(CouponRefusal::UseLimitReached);
                break;
            }
            if !retry_on_race!(tx.book_coupon_budget(ws, template_id, discount).await) {
                lost = Some(CouponRefusal::BudgetExhausted);
                break;
            }
            if let Some(row) = quote.coupons.get(&applied.offer_id) {
                locked.push(CouponRow {
                    status: "locked".into(),
                    order_id: Some(order_id.to_owned()),
                    locked_until: Some(locked_until),
                    discount_fen: discount,
                    ..row.clone()
                });
            }
        }
        if let Some(refusal) = lost {
            // Nothing of this attempt may stay: dropping the transaction rolls it back.
            drop(tx);
            return Err(refused(refusal));
        }
        for line in &quote.flash {
            if !retry_on_race!(
                tx.attach_flash_reservation(ws, &line.reservation_id, order_id, now)
                    .await
            ) {
                drop(tx);
                return Err(Error::conflict(
                    "reservation_not_reserved",
                    format!(
                        "reservation {} is no longer reserved, or is held for another order",
                        line.reservation_id
                    ),
                ));
            }
        }
        let benefits = benefits_of(&quote);
        let benefits = (!benefits.is_empty())
            .then(|| serde_json::to_string(&benefits))
            .transpose()
            .map_err(|err| Error::Internal(err.into()))?;
        retry_on_race!(
            tx.set_checkout_benefits(ws, order_id, &quote.member_id, benefits.as_deref(), now)
                .await
        );
        retry_on_race!(tx.commit().await);
        return Ok(Checkout {
            order_id: order_id.to_owned(),
            quote,
            locked,
            locked_until,
        });
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a checkout kept losing races"
    )))
}

/// What the applied promotions grant besides a lower price (满送), to grant on payment.
fn benefits_of(quote: &Quote) -> Vec<Benefit> {
    quote
        .priced
        .applied
        .iter()
        .filter(|a| a.points > 0 || !a.gift_coupons.is_empty())
        .filter(|a| {
            matches!(
                quote.offers.get(&a.offer_id),
                Some((_, OfferSource::Promotion { .. }))
            )
        })
        .map(|a| Benefit {
            promotion_id: a.offer_id.clone(),
            points: a.points,
            gift_coupons: a.gift_coupons.clone(),
        })
        .collect()
}

/// A checkout buys every unit its reservations hold: the order's arrival pays a
/// reservation whole (cancel the reservation to buy fewer).
fn require_whole_reservations(flash: &[FlashLine]) -> Result<()> {
    for line in flash {
        let bought: i64 = flash
            .iter()
            .filter(|f| f.reservation_id == line.reservation_id)
            .map(|f| f.quantity)
            .sum();
        if bought != line.reserved_quantity {
            return Err(InvalidInput::new(
                format!("items[{}].quantity", line.line),
                format!(
                    "a checkout buys all {} units reservation {} holds; cancel the reservation to buy fewer",
                    line.reserved_quantity, line.reservation_id
                ),
            )
            .into());
        }
    }
    Ok(())
}

/// A checkout with coupons the shopper chose uses all of them or none: a chosen coupon
/// that is unusable or left out of the best price is an error the storefront can show.
fn require_chosen_applied(quote: &Quote, chosen: Option<&[String]>) -> Result<()> {
    for id in chosen.unwrap_or_default() {
        if let Some((_, refusal)) = quote.unusable.iter().find(|(u, _)| u == id) {
            return Err(refused(*refusal));
        }
        if !quote.priced.applied.iter().any(|a| &a.offer_id == id) {
            let reason = quote
                .priced
                .not_applied
                .iter()
                .find(|n| &n.offer_id == id)
                .map(|n| format!("{:?}", n.reason))
                .unwrap_or_else(|| "not considered".into());
            return Err(Error::Conflict {
                code: "coupon_not_applicable",
                message: format!(
                    "coupon {id} does not apply to this cart ({reason}); price the cart to see why"
                ),
            });
        }
    }
    Ok(())
}

/// Releases the coupons an unpaid order holds and unties its flash reservations (the
/// shopper cancelled; a timed-out checkout is released the same way).
pub async fn cancel(app: &App, principal: &Principal, order_id: &str) -> Result<Vec<CouponRow>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    crate::services::orders::check_external_id("order_id", order_id)?;
    let ws = &principal.workspace_id;
    release(app, ws, order_id, None).await
}

async fn release(
    app: &App,
    ws: &WorkspaceId,
    order_id: &str,
    only: Option<&str>,
) -> Result<Vec<CouponRow>> {
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let mut tx = app.store.begin().await?;
        let released = retry_on_race!(tx.release_coupon_locks(ws, order_id, only, now).await);
        for coupon in &released {
            retry_on_race!(give_back(&mut tx, ws, coupon).await);
        }
        // The reservations stay the member's until they expire, for another order.
        retry_on_race!(tx.detach_flash_reservations(ws, order_id).await);
        retry_on_race!(tx.commit().await);
        return Ok(released);
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a release kept losing races"
    )))
}

/// Releases coupon locks whose order did not pay in time (the minute sweep).
pub async fn release_due(app: &App, limit: i64) -> Result<usize> {
    let due = app.store.due_coupon_locks(app.clock.now(), limit).await?;
    let mut released = 0;
    for (workspace, id, order) in due {
        let ws = WorkspaceId::from_trusted(workspace);
        released += release(app, &ws, &order, Some(&id)).await?.len();
    }
    Ok(released)
}

pub async fn expire_coupons(app: &App, limit: i64) -> Result<u64> {
    let mut tx = app.store.begin().await?;
    let expired = tx.expire_coupons(app.clock.now(), limit).await?;
    tx.commit().await?;
    Ok(expired)
}
