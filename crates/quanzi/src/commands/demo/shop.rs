//! Buying: the cart priced and its coupons locked at checkout, the paid order recorded,
//! refunds (the 7-day no-reason returns and the odd bad batch), checkouts left unpaid,
//! and the flash-sale rush.

use quanzi_app::services::orders::{self, OrderInput, RecordedOrder, RefundInput};
use quanzi_app::services::promotions::checkout::{self, CartInput, CartItem};
use quanzi_app::services::promotions::flash;
use quanzi_domain::members::{NewOrderItem, Touchpoints};
use quanzi_domain::time::Timestamp;
use serde_json::json;

use super::brand::{sku, Sku, FLASH_SKU, FREE_SHIPPING_FROM_FEN, SHIPPING_FEN};
use super::population::Role;
use super::sim::{Action, Sim, DAY, HOUR, MINUTE};

/// Share of ordinary orders returned (the seeds' 7-day no-reason returns), of which some
/// return one line only.
const REFUND_RATE: f64 = 0.04;
const PARTIAL_REFUNDS: f64 = 0.3;
const REFUND_REASONS: [&str; 5] = [
    "七天无理由退货",
    "口味不合适",
    "包装破损",
    "发错货",
    "不想要了",
];
/// Buyers who post a review with photos (晒单).
const REVIEWS: f64 = 0.12;
/// Gold (5,000 growth at 1 per yuan) is the first tier with a discount.
const GOLD_SPEND_FEN: i64 = 500_000;

fn shipping_for(subtotal: i64) -> i64 {
    if subtotal >= FREE_SHIPPING_FROM_FEN {
        0
    } else {
        SHIPPING_FEN
    }
}

impl Sim {
    fn order_number(&mut self, index: usize) -> String {
        let prefix = self.people[index].platform.order_prefix();
        format!("{prefix}{:09}", self.next_number("order"))
    }

    fn cart_input(&self, index: usize, cart: &[(&'static Sku, i64)]) -> CartInput {
        let subtotal: i64 = cart.iter().map(|(s, q)| s.price_fen * q).sum();
        CartInput {
            member_id: self.people[index].member.clone(),
            items: cart
                .iter()
                .map(|(s, q)| CartItem {
                    sku: s.code.into(),
                    category: s.category.into(),
                    unit_price_fen: s.price_fen,
                    quantity: *q,
                    floor_unit_fen: None,
                    flash_reservation_id: None,
                })
                .collect(),
            shipping_fen: shipping_for(subtotal),
            // The solver picks the best of the member's coupons.
            coupons: None,
        }
    }

    /// Prices the cart at `at` and locks the coupons the best price uses, as a storefront
    /// checkout does; `None` when the engine refused (counted as a refusal).
    async fn lock_cart(
        &mut self,
        index: usize,
        number: &str,
        cart: &[(&'static Sku, i64)],
        at: Timestamp,
    ) -> anyhow::Result<Option<checkout::Checkout>> {
        self.at(at);
        let timer = std::time::Instant::now();
        let locked = checkout::lock(
            &self.app,
            &self.principal,
            number,
            self.cart_input(index, cart),
            None,
        )
        .await;
        self.tally.time("checkout.lock", timer);
        self.refused(locked)
    }

    /// Pays for a cart. A shopper holding a coupon (or a tier discount) goes through
    /// checkout: the engine prices the cart, locks the coupons the best price uses, and
    /// the order is recorded at that price. Everyone else pays the list price, which the
    /// storefront knows without asking.
    pub async fn checkout_and_pay(
        &mut self,
        index: usize,
        cart: &[(&'static Sku, i64)],
        touch: &Touchpoints,
        at: Timestamp,
    ) -> anyhow::Result<()> {
        let number = self.order_number(index);
        let subtotal: i64 = cart.iter().map(|(s, q)| s.price_fen * q).sum();
        let person = &mut self.people[index];
        person.coupons.retain(|until| *until > at);
        let priced_by_engine = !person.coupons.is_empty() || person.spent_fen >= GOLD_SPEND_FEN;
        let (discount, shipping, total, used) = if priced_by_engine {
            let Some(locked) = self.lock_cart(index, &number, cart, at).await? else {
                return Ok(());
            };
            let priced = &locked.quote.priced;
            let used: Vec<String> = locked.locked.iter().map(|c| c.id.clone()).collect();
            let person = &mut self.people[index];
            for _ in 0..used.len().min(person.coupons.len()) {
                person.coupons.remove(0);
            }
            (
                priced.discount_fen,
                priced.shipping_fen - priced.shipping_discount_fen,
                priced.total_fen,
                used,
            )
        } else {
            let shipping = shipping_for(subtotal);
            (0, shipping, subtotal + shipping, Vec::new())
        };
        let input = OrderInput {
            external_id: number.clone(),
            identity_kind: self.people[index].kind.into(),
            identity_value: self.people[index].value.clone(),
            paid_at: None,
            items: cart
                .iter()
                .map(|(s, q)| NewOrderItem {
                    sku: s.code.into(),
                    category: Some(s.category.into()),
                    name: Some(s.name.into()),
                    quantity: *q,
                    unit_price_fen: s.price_fen,
                    discount_fen: 0,
                })
                .collect(),
            order_discount_fen: discount,
            shipping_fen: shipping,
            paid_fen: Some(total),
            coupons: used,
            touchpoints: touch.clone(),
        };
        // Payment takes a minute or two.
        let paying = MINUTE * (1 + self.rng.below(3) as u32);
        self.at(at.plus(paying));
        let timer = std::time::Instant::now();
        let recorded = orders::record(&self.app, &self.principal, input).await;
        self.tally.time("orders.record", timer);
        if let Some(recorded) = self.refused(recorded)? {
            self.paid(index, &recorded, true);
        }
        Ok(())
    }

    /// An order at a campaign price (group buy, bargain, flash sale): the storefront
    /// charged that price, so no cart pricing.
    pub async fn pay_at_price(
        &mut self,
        index: usize,
        number: &str,
        (item, price_fen): (&'static Sku, i64),
        touch: &Touchpoints,
        at: Timestamp,
        returns: bool,
    ) -> anyhow::Result<Option<RecordedOrder>> {
        self.at(at);
        let recorded = orders::record(
            &self.app,
            &self.principal,
            OrderInput {
                external_id: number.to_owned(),
                identity_kind: self.people[index].kind.into(),
                identity_value: self.people[index].value.clone(),
                paid_at: None,
                items: vec![NewOrderItem {
                    sku: item.code.into(),
                    category: Some(item.category.into()),
                    name: Some(item.name.into()),
                    quantity: 1,
                    unit_price_fen: item.price_fen,
                    discount_fen: item.price_fen - price_fen,
                }],
                order_discount_fen: 0,
                shipping_fen: 0,
                paid_fen: Some(price_fen),
                coupons: Vec::new(),
                touchpoints: touch.clone(),
            },
        )
        .await;
        let recorded = self.refused(recorded)?;
        if let Some(recorded) = &recorded {
            self.paid(index, recorded, returns);
        }
        Ok(recorded)
    }

    /// Bookkeeping after a paid order: the points it should bring, the prices it sold
    /// at, and whether it will come back as a refund or a review.
    fn paid(&mut self, index: usize, recorded: &RecordedOrder, returns: bool) {
        let order = &recorded.order;
        let person = &mut self.people[index];
        // An invitee's first order brings the friend coupon (the referral programme's
        // invitee reward).
        if person.orders == 0 && person.invited {
            person.coupons.push(order.paid_at.plus(DAY * 30));
        }
        person.orders += 1;
        person.spent_fen += order.paid_fen;
        // What the member can count on spending: the order's base points once its return
        // window is over (never more than the engine credits, so a redemption's outcome
        // does not hang on when bonus points arrive). Group seats may be refunded by
        // the sweep, so they count for nothing here.
        if returns {
            person.pending_points += order.paid_fen / 100;
            person.pending_until = order.paid_at.plus(DAY * 8);
        }
        for item in &recorded.items {
            if item.quantity > 0 {
                self.sku_prices
                    .entry(item.sku.clone())
                    .or_default()
                    .push((order.paid_at, item.net_fen / item.quantity));
            }
        }
        self.recent_orders
            .push((order.paid_at, index, order.id.clone(), returns));
        if returns && self.rng.chance(REFUND_RATE) {
            let lines = (recorded.items.len() > 1 && self.rng.chance(PARTIAL_REFUNDS)).then(|| {
                let item = &recorded.items[self.rng.below(recorded.items.len())];
                vec![(item.line, item.quantity)]
            });
            let reason = *self.rng.pick(&REFUND_REASONS);
            let at = order.paid_at.plus(HOUR * (20 + self.rng.below(190) as u32));
            self.refund_later(index, order.id.clone(), lines, reason, at);
        }
        if self.rng.chance(REVIEWS) && self.people[index].role != Role::Twin {
            let at = order.paid_at.plus(DAY * (3 + self.rng.below(4) as u32));
            self.schedule(
                at,
                Action::Review {
                    person: index,
                    order: order.external_id.clone(),
                },
            );
        }
    }

    /// Schedules a refund of an order unless one is already planned.
    pub fn refund_later(
        &mut self,
        person: usize,
        order_id: String,
        lines: Option<Vec<(i64, i64)>>,
        reason: &'static str,
        at: Timestamp,
    ) {
        if self.refunding.insert(order_id.clone()) {
            self.schedule(
                at,
                Action::Refund {
                    person,
                    order_id,
                    lines,
                    reason,
                },
            );
        }
    }

    pub async fn refund(
        &mut self,
        person: usize,
        order_id: &str,
        lines: Option<Vec<(i64, i64)>>,
        reason: &'static str,
        at: Timestamp,
    ) -> anyhow::Result<()> {
        let number = format!("RF{:09}", self.next_number("refund"));
        self.at(at);
        let refunded = orders::refund(
            &self.app,
            &self.principal,
            order_id,
            RefundInput {
                external_id: number,
                lines,
                reason: Some(reason.into()),
                refunded_at: None,
            },
        )
        .await;
        if let Some(done) = self.refused(refunded)? {
            // The refund takes back its share of the order's points.
            let mut lost = done.refund.amount_fen / 100 + 1;
            let person = &mut self.people[person];
            let from_pending = lost.min(person.pending_points);
            person.pending_points -= from_pending;
            lost -= from_pending;
            person.points -= lost;
        }
        Ok(())
    }

    /// A checkout that never gets paid: its coupons stay locked until the promotions
    /// sweep gives them back.
    pub async fn abandon_checkout(
        &mut self,
        index: usize,
        cart: &[(&'static Sku, i64)],
        at: Timestamp,
    ) -> anyhow::Result<()> {
        let number = self.order_number(index);
        if self.lock_cart(index, &number, cart, at).await?.is_some() {
            self.tally.abandoned_checkouts += 1;
        }
        Ok(())
    }

    /// 秒杀 at 20:00: more buyers than stock tap "buy" in the first minutes; most who get
    /// a unit pay within the timeout, the rest let it lapse back into stock.
    pub async fn flash_rush(&mut self, at: Timestamp) -> anyhow::Result<()> {
        let Some(sale) = self.brand.flash.clone() else {
            return Ok(());
        };
        let stock = (self.plan.members / 40).max(10);
        let mut candidates: Vec<usize> = (0..self.people.len())
            .filter(|&i| self.regular(i))
            .collect();
        let rushing = ((stock as f64) * 1.6) as usize;
        let touch = Touchpoints {
            channel: Some("wechat_mp".into()),
            utm_source: Some("wecom".into()),
            utm_medium: Some("community".into()),
            utm_campaign: Some("flash_sale".into()),
            campaign_id: Some(sale.clone()),
            ..Touchpoints::default()
        };
        let mut t = at;
        for _ in 0..rushing.min(candidates.len()) {
            let index = candidates.swap_remove(self.rng.below(candidates.len()));
            t = t.plus(std::time::Duration::from_millis(
                300 + self.rng.below(2_000) as u64,
            ));
            self.events.push(
                &self.people[index],
                "click",
                t,
                json!({"sku": FLASH_SKU, "page": "flash_sale"}),
                &touch,
            );
            let number = self.order_number(index);
            self.at(t);
            let reserved = flash::reserve(
                &self.app,
                &self.principal,
                &sale,
                flash::ReserveInput {
                    member_id: self.people[index].member.clone(),
                    sku: FLASH_SKU.into(),
                    quantity: 1,
                    order_id: Some(number.clone()),
                },
            )
            .await;
            match self.refused(reserved)? {
                Some(_) => {
                    self.tally.flash_reserved += 1;
                    if self.rng.chance(0.9) {
                        let price = self.flash_price().await?;
                        let paid_at = t.plus(MINUTE * (1 + self.rng.below(10) as u32));
                        if self
                            .pay_at_price(
                                index,
                                &number,
                                (sku(FLASH_SKU), price),
                                &touch,
                                paid_at,
                                true,
                            )
                            .await?
                            .is_some()
                        {
                            self.tally.flash_paid += 1;
                        }
                        self.at(t);
                    }
                }
                None => self.tally.flash_sold_out += 1,
            }
        }
        Ok(())
    }

    async fn flash_price(&mut self) -> anyhow::Result<i64> {
        if let Some(price) = self.flash_price_fen {
            return Ok(price);
        }
        let sale = self.brand.flash.clone().unwrap_or_default();
        let found = flash::sale(&self.app, &self.principal, &sale)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let price = found
            .skus
            .iter()
            .find(|s| s.sku == FLASH_SKU)
            .map(|s| s.flash_price_fen)
            .unwrap_or(sku(FLASH_SKU).price_fen);
        self.flash_price_fen = Some(price);
        Ok(price)
    }

    /// A batch of one product goes bad: a quarter of the last three days' orders come
    /// back on one day, which the refund-rate alert should notice.
    pub fn refund_spike(&mut self, day: u32) {
        let (from, _) = self.plan.day_span(day);
        let since = from.minus(DAY * 3);
        let recent: Vec<(usize, String, bool)> = self
            .recent_orders
            .iter()
            .filter(|(at, ..)| *at >= since)
            .map(|(_, person, id, returns)| (*person, id.clone(), *returns))
            .collect();
        for (person, order_id, returns) in recent {
            if returns && self.rng.chance(0.25) {
                if let Some(at) = self.time_on(day) {
                    self.refund_later(person, order_id, None, "茶叶受潮 (批次质量问题)", at);
                }
            }
        }
    }
}
