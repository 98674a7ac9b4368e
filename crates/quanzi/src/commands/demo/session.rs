//! One visit of a member: the page views, impressions, KOL content, likes, comments and
//! shares it leaves as events, the five-step funnel (view → product → cart → checkout →
//! order) with its drop-offs, coupon claims, community joins, check-ins and points-mall
//! redemptions.

use quanzi_app::services::analytics::experiments;
use quanzi_app::services::loyalty::{checkin, mall};
use quanzi_app::services::promotions::coupons;
use quanzi_domain::members::Touchpoints;
use quanzi_domain::promotions::coupons::Channel as CouponChannel;
use quanzi_domain::time::Timestamp;
use serde_json::json;

use super::brand::{content_on, sku, Sku, CATALOGUE, CONTENT, EXPERIMENT_KEY, KOLS};
use super::population::{Channel, Role};
use super::sim::{Sim, MINUTE};

/// Funnel rates per visit. The seeds put product page → payment at 37 % (63 % lost) and a
/// community's conversion around 5 %; click × cart × order ≈ 0.40 × 0.33 × 0.42 ≈ 5.5 %.
const CLICK: f64 = 0.40;
const ADD_TO_CART: f64 = 0.33;
const ORDER: f64 = 0.42;
/// A newcomer holding the registration coupon orders more readily.
const FIRST_VISIT_BOOST: f64 = 1.7;
/// A friend's group-buy share comes with a reason to buy at once.
const GROUP_SHARE_BOOST: f64 = 1.8;
const SECONDS: std::time::Duration = std::time::Duration::from_secs(1);

/// The seeds' community size: groups of 500 (a new group opens when one is full).
const COMMUNITY_SIZE: usize = 500;

impl Sim {
    fn step(at: &mut Timestamp, seconds: u64) -> Timestamp {
        *at = at.plus(SECONDS * seconds as u32);
        *at
    }

    fn pick_sku(&mut self) -> &'static Sku {
        let weights: Vec<f64> = CATALOGUE.iter().map(|s| s.weight).collect();
        &CATALOGUE[self.rng.weighted(&weights)]
    }

    /// Where a returning visit comes from: a community push, a KOL's content, a search or
    /// the platform's own feed.
    fn returning_touch(&mut self, index: usize) -> Touchpoints {
        let platform = self.people[index].platform;
        let mut touch = Touchpoints {
            channel: Some(platform.channel().into()),
            ..Touchpoints::default()
        };
        let roll = self.rng.unit();
        if roll < 0.25 && self.people[index].community {
            touch.utm_source = Some("wecom".into());
            touch.utm_medium = Some("community".into());
            touch.utm_campaign = Some("daily_topic".into());
        } else if roll < 0.5 {
            let platform_name = match platform {
                super::population::Platform::Douyin => "douyin",
                super::population::Platform::Wechat => "xiaohongshu",
                super::population::Platform::Tmall => "xiaohongshu",
            };
            let pool = content_on(platform_name);
            let content = &CONTENT[*self.rng.pick(&pool)];
            touch.utm_source = Some(KOLS[content.kol].platform.into());
            touch.utm_medium = Some("kol_content".into());
            touch.kol_id = Some(KOLS[content.kol].id.into());
            touch.content_id = Some(content.id.into());
        } else if roll < 0.65 {
            touch.utm_source = Some("search".into());
            touch.utm_medium = Some("organic".into());
        }
        touch
    }

    /// A newcomer's first visit (right after registering).
    pub async fn first_visit(&mut self, index: usize, at: Timestamp) -> anyhow::Result<()> {
        let touch = self.people[index].first_touch.clone();
        if self.people[index].role == Role::Cohort {
            return self.exposed_visit(index, at, touch).await;
        }
        let boost = match self.people[index].channel {
            Channel::GroupBuy => GROUP_SHARE_BOOST,
            _ => FIRST_VISIT_BOOST,
        };
        self.visit_with(index, at, touch, boost, true).await
    }

    /// A returning member's visit.
    pub async fn visit(&mut self, index: usize, at: Timestamp) -> anyhow::Result<()> {
        let touch = self.returning_touch(index);
        self.visit_with(index, at, touch, 1.0, false).await
    }

    /// Only a page view (a member who looked once).
    pub async fn page_view_only(&mut self, index: usize, at: Timestamp) -> anyhow::Result<()> {
        let touch = self.people[index].first_touch.clone();
        self.events.push(
            &self.people[index],
            "page_view",
            at,
            json!({"page": "home"}),
            &touch,
        );
        Ok(())
    }

    async fn visit_with(
        &mut self,
        index: usize,
        at: Timestamp,
        touch: Touchpoints,
        boost: f64,
        first: bool,
    ) -> anyhow::Result<()> {
        let mut t = at;
        let day = self.plan.day_of(at);
        self.events.push(
            &self.people[index],
            "page_view",
            t,
            json!({"page": "home"}),
            &touch,
        );
        // KOL content: the touch's own, or one from the feed.
        let content = match &touch.content_id {
            Some(id) => CONTENT.iter().position(|c| c.id == id),
            None if self.rng.chance(0.3) => {
                let platform = match self.people[index].platform {
                    super::population::Platform::Douyin => "douyin",
                    _ => "xiaohongshu",
                };
                let pool = content_on(platform);
                Some(*self.rng.pick(&pool))
            }
            None => None,
        };
        let mut interest: Option<&'static Sku> = None;
        if let Some(c) = content {
            let item = &CONTENT[c];
            let content_touch = Touchpoints {
                kol_id: Some(KOLS[item.kol].id.into()),
                content_id: Some(item.id.into()),
                ..touch.clone()
            };
            let kol = &KOLS[item.kol];
            let props = json!({
                "format": item.format,
                "sku": item.sku,
                "kol_name": kol.name,
                "kol_tier": kol.tier,
                "kol_followers": kol.followers,
            });
            let when = Self::step(&mut t, 15);
            self.events.push(
                &self.people[index],
                "content_view",
                when,
                props.clone(),
                &content_touch,
            );
            // The seeds' "high-interaction content" sits at 8 %+ interaction.
            if self.rng.chance(0.09) {
                let when = Self::step(&mut t, 20);
                self.events.push(
                    &self.people[index],
                    "like",
                    when,
                    props.clone(),
                    &content_touch,
                );
            }
            if self.rng.chance(0.03) {
                let when = Self::step(&mut t, 30);
                self.events.push(
                    &self.people[index],
                    "comment",
                    when,
                    props.clone(),
                    &content_touch,
                );
            }
            interest = Some(sku(item.sku));
        }
        // Product impressions in the feed.
        for _ in 0..1 + self.rng.below(2) {
            let shown = self.pick_sku();
            let when = Self::step(&mut t, 8);
            self.events.push(
                &self.people[index],
                "exposure",
                when,
                json!({"sku": shown.code, "slot": "feed"}),
                &touch,
            );
        }
        // Sharing: the share earns points by the loyalty rule and makes the member an
        // inviter whose link brings friends.
        let share_chance = self.people[index].sharer * if first { 0.5 } else { 1.0 };
        if self.rng.chance(share_chance) {
            let shared = interest.unwrap_or_else(|| sku("TEA-COLDBREW-12"));
            let when = Self::step(&mut t, 20);
            self.share(
                index,
                when,
                &touch,
                json!({"sku": shared.code, "to": "wechat_friend"}),
                None,
            )
            .await?;
        }
        if !self.people[index].community && self.rng.chance(if first { 0.25 } else { 0.04 }) {
            let members = self.community_size;
            self.community_size += 1;
            let tier = if self.people[index].orders > 0 {
                "会员群"
            } else {
                "新客群"
            };
            let name = format!("{tier} {}", members / COMMUNITY_SIZE + 1);
            let when = Self::step(&mut t, 30);
            self.events.push(
                &self.people[index],
                "join_community",
                when,
                json!({"community": name, "via": "live_code"}),
                &touch,
            );
            self.people[index].community = true;
        }
        // Coupon centre (领券中心).
        if self.rng.chance(if first { 0.03 } else { 0.05 }) {
            let (from, to) = self.calendar.percent_coupon;
            let template = if (from..to).contains(&day) && self.rng.chance(0.6) {
                self.brand.percent_coupon.clone()
            } else {
                self.brand.threshold_coupon.clone()
            };
            self.at(Self::step(&mut t, 10));
            let claimed = coupons::claim(
                &self.app,
                &self.principal,
                &template,
                &self.people[index].member.clone(),
                CouponChannel::Claim,
            )
            .await;
            if let Some(coupon) = self.refused(claimed)? {
                self.people[index].coupons.push(coupon.valid_until);
                self.people[index].coupons.sort();
            }
        }
        // Campaign entries.
        if self.brand.group_buy.is_some()
            && self.people[index].group_seats < 2
            && self.rng.chance(0.016)
        {
            let when = Self::step(&mut t, 60);
            self.lead_group(index, when, &touch).await?;
        }
        let (b_from, b_to) = self.calendar.bargain;
        if self.brand.bargain.is_some()
            && (b_from..b_to).contains(&day)
            && !self.people[index].bargained
            && self.rng.chance(0.011)
        {
            let when = Self::step(&mut t, 60);
            self.start_bargain(index, when, &touch).await?;
        }
        // The funnel.
        if self.rng.chance(CLICK) {
            let product = match interest {
                Some(s) if self.rng.chance(0.6) => s,
                _ => self.pick_sku(),
            };
            let when = Self::step(&mut t, 20);
            self.events.push(
                &self.people[index],
                "click",
                when,
                json!({"sku": product.code, "page": "product"}),
                &touch,
            );
            if self.rng.chance(ADD_TO_CART) {
                let mut cart = vec![(product, 1 + i64::from(self.rng.chance(0.15)))];
                for extra in [0.35, 0.12] {
                    if self.rng.chance(extra) {
                        let more = self.pick_sku();
                        if cart.iter().all(|(s, _)| s.code != more.code) {
                            cart.push((more, 1));
                        }
                    }
                }
                for (item, quantity) in &cart {
                    let when = Self::step(&mut t, 15);
                    self.events.push(
                        &self.people[index],
                        "add_to_cart",
                        when,
                        json!({"sku": item.code, "quantity": quantity}),
                        &touch,
                    );
                }
                if self.rng.chance((ORDER * boost).min(0.95)) {
                    let when = Self::step(&mut t, 90);
                    self.checkout_and_pay(index, &cart, &touch, when).await?;
                } else if self.rng.chance(0.15) {
                    let when = Self::step(&mut t, 60);
                    self.abandon_checkout(index, &cart, when).await?;
                }
            }
        }
        // The points mall. Order points count once their return window has passed.
        let person = &mut self.people[index];
        if person.pending_points > 0 && t >= person.pending_until {
            person.points += std::mem::take(&mut person.pending_points);
        }
        let points = person.points;
        let affordable: Vec<usize> = (0..self.brand.mall.len())
            .filter(|&i| self.brand.mall[i].1 <= points)
            .collect();
        if !affordable.is_empty() && self.rng.chance(0.25) {
            let item = *self.rng.pick(&affordable);
            let (item_id, cost) = self.brand.mall[item].clone();
            self.at(Self::step(&mut t, 40));
            let redeemed = mall::redeem(
                &self.app,
                &self.principal,
                &item_id,
                &self.people[index].member.clone(),
                1,
            )
            .await;
            if self.refused(redeemed)?.is_some() {
                self.people[index].points -= cost;
                self.tally.redemptions += 1;
            }
        }
        Ok(())
    }

    /// A visitor of the experiment's landing page: the storefront asks the engine for the
    /// variant (which logs the exposure) and shows it.
    async fn exposed_visit(
        &mut self,
        index: usize,
        at: Timestamp,
        touch: Touchpoints,
    ) -> anyhow::Result<()> {
        self.at(at);
        let assigned = experiments::assign(
            &self.app,
            &self.principal,
            EXPERIMENT_KEY,
            &self.people[index].member.clone(),
        )
        .await;
        let Some((experiment, variant, _)) = self.refused(assigned)? else {
            return Ok(());
        };
        let shown = variant
            .and_then(|v| experiment.definition.variants.get(v))
            .map(|v| v.key.clone())
            .unwrap_or_else(|| "holdout".into());
        let mut t = at;
        self.events.push(
            &self.people[index],
            "page_view",
            t,
            json!({"page": "home", "experiment": EXPERIMENT_KEY, "variant": shown}),
            &touch,
        );
        for _ in 0..2 {
            let shown_sku = self.pick_sku();
            let when = Self::step(&mut t, 10);
            self.events.push(
                &self.people[index],
                "exposure",
                when,
                json!({"sku": shown_sku.code, "slot": "home_banner"}),
                &touch,
            );
        }
        self.exposed_today.push((index, variant));
        Ok(())
    }

    /// The day's exposed visitors who buy: how many is drawn from the base rate; who is
    /// drawn with the new home page weighing 1.5× — so the variant moves who buys but not
    /// how much the brand sells, and a seed replays every count.
    pub fn convert_exposed(&mut self, day: u32) {
        let exposed = std::mem::take(&mut self.exposed_today);
        let buyers = (0..exposed.len()).filter(|_| self.rng.chance(0.13)).count();
        let mut left: Vec<(usize, f64)> = exposed
            .iter()
            .map(|&(i, v)| (i, if v == Some(1) { 1.5 } else { 1.0 }))
            .collect();
        for _ in 0..buyers {
            let weights: Vec<f64> = left.iter().map(|(_, w)| *w).collect();
            let (person, _) = left.remove(self.rng.weighted(&weights));
            if let Some(at) = self.time_on(day + 1) {
                self.schedule(at, super::sim::Action::CohortBuy(person));
            }
        }
    }

    pub async fn cohort_buy(&mut self, index: usize, at: Timestamp) -> anyhow::Result<()> {
        let mut touch = self.people[index].first_touch.clone();
        touch.utm_campaign = Some(EXPERIMENT_KEY.into());
        let first = self.pick_sku();
        let mut cart = vec![(first, 1)];
        if self.rng.chance(0.3) {
            let more = self.pick_sku();
            if more.code != first.code {
                cart.push((more, 1));
            }
        }
        self.events.push(
            &self.people[index],
            "add_to_cart",
            at,
            json!({"sku": first.code, "quantity": 1}),
            &touch,
        );
        self.checkout_and_pay(index, &cart, &touch, at.plus(MINUTE))
            .await
    }

    /// An hour's check-ins, sent side by side at the hour's first (each locks only its
    /// own member's wallet, so their order cannot change any outcome).
    pub async fn check_ins(
        &mut self,
        batch: Vec<(usize, Timestamp)>,
        at: Timestamp,
    ) -> anyhow::Result<()> {
        self.at(at);
        let mut running = tokio::task::JoinSet::new();
        for (n, (index, _)) in batch.iter().enumerate() {
            let (app, principal) = (self.app.clone(), self.principal.clone());
            let member = self.people[*index].member.clone();
            running.spawn(async move { (n, checkin::check_in(&app, &principal, &member).await) });
        }
        let mut answers: Vec<Option<quanzi_app::Result<checkin::CheckedIn>>> =
            (0..batch.len()).map(|_| None).collect();
        while let Some(joined) = running.join_next().await {
            let (n, answer) = joined?;
            answers[n] = Some(answer);
        }
        for (n, ((index, _), answer)) in batch.into_iter().zip(answers).enumerate() {
            let Some(answer) = answer else { continue };
            let Some(done) = self.refused(answer)? else {
                continue;
            };
            self.people[index].points += done.points;
            let touch = Touchpoints {
                channel: Some(self.people[index].platform.channel().into()),
                ..Touchpoints::default()
            };
            self.events.push(
                &self.people[index],
                "checkin",
                at.plus(SECONDS * n as u32),
                json!({"streak": done.streak, "points": done.points}),
                &touch,
            );
        }
        Ok(())
    }

    /// 晒单: a review with photos, which the loyalty rule pays for.
    pub fn review(&mut self, index: usize, order: &str, at: Timestamp) {
        let touch = Touchpoints {
            channel: Some(self.people[index].platform.channel().into()),
            ..Touchpoints::default()
        };
        let stars = if self.rng.chance(0.85) {
            5
        } else {
            3 + self.rng.below(2)
        };
        self.events.push(
            &self.people[index],
            "review",
            at,
            json!({"order_id": order, "has_photo": true, "stars": stars}),
            &touch,
        );
    }
}
