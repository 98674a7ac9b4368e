//! The demo brand: a tea-drinks label (茶饮品牌) with a small catalogue, the KOL pyramid
//! and content the seeds describe, and its campaigns, all set up through the engine's
//! services exactly as an operator would in the console.

use quanzi_app::services::analytics::alerts::{self, AlertActions, RuleInput};
use quanzi_app::services::analytics::experiments::{self, ExperimentDefinition, Variant};
use quanzi_app::services::loyalty::{mall, settings};
use quanzi_app::services::promotions::coupons;
use quanzi_app::services::promotions::flash::{self, FalseOriginal, NewSale};
use quanzi_app::services::social::{bargain, distribution, group_buy, referral};
use quanzi_app::services::{segments, tags};
use quanzi_domain::analytics::anomaly::rule::{AlertCondition, Granularity, Metric};
use quanzi_domain::analytics::anomaly::{Direction, Method};
use quanzi_domain::promotions::coupons::{
    Audience, Channel, CouponKind, CouponRules, ProductScope, RefundPolicy, Stacking, UseWindow,
};
use quanzi_domain::promotions::flash::{FlashSale, FlashSku};
use quanzi_domain::social::bargain::{BargainMode, BargainRules};
use quanzi_domain::social::commission::{LevelRates, RateTable};
use quanzi_domain::social::group_buy::Campaign;
use quanzi_domain::social::referral::{Caps, ReferralProgram, Reward, Stage};
use serde_json::json;
use std::collections::BTreeSet;

use super::sim::{Sim, DAY, HOUR, MINUTE};

pub struct Sku {
    pub code: &'static str,
    pub name: &'static str,
    pub category: &'static str,
    pub price_fen: i64,
    /// Relative popularity in carts.
    pub weight: f64,
}

pub const CATALOGUE: &[Sku] = &[
    Sku {
        code: "TEA-OOLONG-250",
        name: "凤凰单丛乌龙 250g",
        category: "tea",
        price_fen: 12_800,
        weight: 3.0,
    },
    Sku {
        code: "TEA-JASMINE-100",
        name: "茉莉银毫 100g",
        category: "tea",
        price_fen: 6_800,
        weight: 3.5,
    },
    Sku {
        code: "TEA-PUER-357",
        name: "普洱熟茶饼 357g",
        category: "tea",
        price_fen: 29_800,
        weight: 1.2,
    },
    Sku {
        code: "TEA-COLDBREW-12",
        name: "冷泡茶 12 袋装",
        category: "tea",
        price_fen: 5_900,
        weight: 4.0,
    },
    Sku {
        code: "TEA-MATCHA-50",
        name: "宇治抹茶粉 50g",
        category: "tea",
        price_fen: 8_800,
        weight: 1.5,
    },
    Sku {
        code: "SET-GIFT-BOX",
        name: "四季茶礼盒",
        category: "gift",
        price_fen: 39_900,
        weight: 0.8,
    },
    Sku {
        code: "CUP-TRAVEL",
        name: "随行泡茶杯",
        category: "teaware",
        price_fen: 7_900,
        weight: 1.5,
    },
    Sku {
        code: "SNACK-OSMANTHUS",
        name: "桂花糕茶点",
        category: "snacks",
        price_fen: 3_900,
        weight: 2.0,
    },
];

pub fn sku(code: &str) -> &'static Sku {
    CATALOGUE
        .iter()
        .find(|s| s.code == code)
        .expect("a catalogue SKU")
}

/// Orders under this pay shipping (满 99 包邮).
pub const FREE_SHIPPING_FROM_FEN: i64 = 9_900;
pub const SHIPPING_FEN: i64 = 800;

/// The KOL pyramid of the seeds: head (1M+ followers), waist (300–500k), tail KOCs
/// (10–50k), on the platforms the brand sells through.
pub struct Kol {
    pub id: &'static str,
    pub name: &'static str,
    pub platform: &'static str,
    pub tier: &'static str,
    pub followers: u32,
}

pub const KOLS: &[Kol] = &[
    Kol {
        id: "kol_dy_chaxiansheng",
        name: "茶先生说",
        platform: "douyin",
        tier: "head",
        followers: 1_850_000,
    },
    Kol {
        id: "kol_dy_xiaoye",
        name: "小叶子的茶桌",
        platform: "douyin",
        tier: "waist",
        followers: 420_000,
    },
    Kol {
        id: "kol_xhs_molirij",
        name: "茉莉日记",
        platform: "xiaohongshu",
        tier: "waist",
        followers: 360_000,
    },
    Kol {
        id: "kol_xhs_lengpao",
        name: "冷泡少女",
        platform: "xiaohongshu",
        tier: "tail",
        followers: 38_000,
    },
    Kol {
        id: "kol_xhs_chajukong",
        name: "茶具控阿青",
        platform: "xiaohongshu",
        tier: "tail",
        followers: 21_000,
    },
    Kol {
        id: "koc_wx_ahua",
        name: "阿花的下午茶",
        platform: "wechat",
        tier: "tail",
        followers: 12_000,
    },
    Kol {
        id: "kol_dy_laochajiang",
        name: "老茶匠",
        platform: "douyin",
        tier: "tail",
        followers: 46_000,
    },
];

/// Content in the library: 70 % short video as the seeds ask, the rest notes and lives.
pub struct Content {
    pub id: &'static str,
    pub kol: usize,
    pub format: &'static str,
    pub sku: &'static str,
}

pub const CONTENT: &[Content] = &[
    Content {
        id: "cnt_dy_001",
        kol: 0,
        format: "short_video",
        sku: "TEA-OOLONG-250",
    },
    Content {
        id: "cnt_dy_002",
        kol: 0,
        format: "live",
        sku: "SET-GIFT-BOX",
    },
    Content {
        id: "cnt_dy_003",
        kol: 1,
        format: "short_video",
        sku: "TEA-PUER-357",
    },
    Content {
        id: "cnt_dy_004",
        kol: 1,
        format: "short_video",
        sku: "TEA-COLDBREW-12",
    },
    Content {
        id: "cnt_dy_005",
        kol: 6,
        format: "short_video",
        sku: "TEA-PUER-357",
    },
    Content {
        id: "cnt_xhs_001",
        kol: 2,
        format: "note",
        sku: "TEA-JASMINE-100",
    },
    Content {
        id: "cnt_xhs_002",
        kol: 2,
        format: "short_video",
        sku: "TEA-MATCHA-50",
    },
    Content {
        id: "cnt_xhs_003",
        kol: 3,
        format: "short_video",
        sku: "TEA-COLDBREW-12",
    },
    Content {
        id: "cnt_xhs_004",
        kol: 3,
        format: "note",
        sku: "CUP-TRAVEL",
    },
    Content {
        id: "cnt_xhs_005",
        kol: 4,
        format: "short_video",
        sku: "CUP-TRAVEL",
    },
    Content {
        id: "cnt_wx_001",
        kol: 5,
        format: "short_video",
        sku: "SNACK-OSMANTHUS",
    },
    Content {
        id: "cnt_wx_002",
        kol: 5,
        format: "note",
        sku: "TEA-JASMINE-100",
    },
];

/// Content of one platform.
pub fn content_on(platform: &str) -> Vec<usize> {
    CONTENT
        .iter()
        .enumerate()
        .filter(|(_, c)| KOLS[c.kol].platform == platform)
        .map(|(i, _)| i)
        .collect()
}

/// Which campaign runs when, as local day numbers of the window (scaled to its length,
/// so a short demo still has every campaign).
#[derive(Debug, Clone)]
pub struct Calendar {
    pub percent_coupon: (u32, u32),
    pub distribution: u32,
    pub group_buy: u32,
    pub bargain: (u32, u32),
    pub flash: u32,
    pub experiment: (u32, u32),
    pub refund_spike: u32,
    pub alerts: u32,
}

impl Calendar {
    pub fn for_days(local_days: u32) -> Self {
        let at =
            |share: f64| ((local_days as f64 * share) as u32).min(local_days.saturating_sub(1));
        // A window spans at least one day, even in a demo of a day or two.
        let span = |from: f64, to: f64| (at(from), at(to).max(at(from) + 1));
        Self {
            percent_coupon: span(0.30, 0.70),
            distribution: at(0.20),
            group_buy: at(0.25),
            bargain: span(0.40, 0.75),
            flash: at(0.65),
            experiment: span(0.55, 0.85),
            refund_spike: at(0.80),
            alerts: at(0.80).saturating_sub(5),
        }
    }
}

/// Ids of what the brand set up.
#[derive(Debug, Default)]
pub struct Brand {
    pub new_member_coupon: String,
    pub threshold_coupon: String,
    pub percent_coupon: String,
    pub friend_coupon: String,
    /// Mall items with their price in points.
    pub mall: Vec<(String, i64)>,
    pub group_buy: Option<String>,
    pub bargain: Option<String>,
    pub flash: Option<String>,
    pub experiment: Option<String>,
    pub alert_rule: Option<String>,
    pub segments: Vec<String>,
}

pub const GROUP_SKU: &str = "TEA-COLDBREW-12";
pub const GROUP_PRICE_FEN: i64 = 3_990;
pub const GROUP_SIZE: i64 = 3;
pub const BARGAIN_SKU: &str = "CUP-TRAVEL";
pub const BARGAIN_FLOOR_FEN: i64 = 990;
pub const BARGAIN_HELPERS: usize = 5;
pub const FLASH_SKU: &str = "TEA-PUER-357";
pub const FLASH_PRICE_FEN: i64 = 19_900;
pub const EXPERIMENT_KEY: &str = "home-redesign";

fn coupon_stacking() -> Stacking {
    Stacking::Group {
        group: "coupon".into(),
        stacks_with: BTreeSet::from(["tier".to_owned()]),
    }
}

fn rules(kind: CouponKind, use_days: i64, channels: &[Channel]) -> CouponRules {
    CouponRules {
        kind,
        claim_starts_at: None,
        claim_ends_at: None,
        use_window: UseWindow::DaysAfterClaim(use_days),
        total_quantity: None,
        per_member_claim_limit: Some(1),
        per_member_use_limit: None,
        channels: channels.iter().copied().collect(),
        scope: ProductScope::everything(),
        audience: Audience::default(),
        budget_fen: None,
        stacking: coupon_stacking(),
        refund_policy: RefundPolicy::Return,
    }
}

fn err(e: quanzi_app::Error) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

impl Sim {
    /// Day 0: the programme every later step relies on.
    pub async fn set_up_brand(&mut self) -> anyhow::Result<()> {
        let (app, p) = (&self.app, &self.principal);
        let n = self.plan.members as i64;

        // Loyalty: the defaults (1 point per yuan pending through the 7-day return
        // window, the check-in ladder, bronze → diamond tiers) plus a first-order bonus and
        // points for sharing and for reviews with photos (晒单有礼).
        let mut doc = settings::SettingsDoc::default();
        doc.orders.first_order_bonus = 50;
        doc.rules = vec![
            settings::RuleDoc {
                code: "share".into(),
                trigger: "share".into(),
                event_type: None,
                points: 10,
                per_day: Some(2),
                per_week: None,
                per_month: None,
                active_from: None,
                active_until: None,
                expiry: "days:365".into(),
                pending_days: None,
            },
            settings::RuleDoc {
                code: "review-photo".into(),
                trigger: "review_with_photo".into(),
                event_type: None,
                points: 20,
                per_day: Some(1),
                per_week: None,
                per_month: Some(4),
                active_from: None,
                active_until: None,
                expiry: "days:365".into(),
                pending_days: None,
            },
        ];
        settings::put(app, p, &serde_json::to_string(&doc)?)
            .await
            .map_err(err)?;

        // Coupons: the new-member no-threshold coupon (given on registration), 满199减30
        // to claim, and the friend coupon referral invitees get with their first order.
        self.brand.new_member_coupon = coupons::create_template(
            app,
            p,
            "新人无门槛券 ¥10",
            rules(
                CouponKind::AmountOff {
                    threshold_fen: 0,
                    amount_fen: 1_000,
                },
                14,
                &[Channel::Registration],
            ),
        )
        .await
        .map_err(err)?
        .row
        .id;
        let mut threshold = rules(
            CouponKind::AmountOff {
                threshold_fen: 19_900,
                amount_fen: 3_000,
            },
            30,
            &[Channel::Claim],
        );
        threshold.total_quantity = Some((n * 3 / 10).max(50));
        self.brand.threshold_coupon = coupons::create_template(app, p, "满199减30", threshold)
            .await
            .map_err(err)?
            .row
            .id;
        self.brand.friend_coupon = coupons::create_template(
            app,
            p,
            "好友专享 满79减15",
            rules(
                CouponKind::AmountOff {
                    threshold_fen: 7_900,
                    amount_fen: 1_500,
                },
                30,
                &[Channel::Journey],
            ),
        )
        .await
        .map_err(err)?
        .row
        .id;
        // The mid-season campaign coupon: 85折 capped at ¥40, a budget, claimable in its
        // window only.
        let (from, to) = self.calendar.percent_coupon;
        let mut percent = rules(
            CouponKind::PercentOff {
                threshold_fen: 9_900,
                percent_off: 15,
                cap_fen: Some(4_000),
            },
            7,
            &[Channel::Claim],
        );
        percent.claim_starts_at = Some(self.plan.midnight(from).max(self.plan.start));
        percent.claim_ends_at = Some(self.plan.midnight(to));
        percent.budget_fen = Some((n * 400).max(40_000));
        self.brand.percent_coupon = coupons::create_template(app, p, "夏日茶饮 85折券", percent)
            .await
            .map_err(err)?
            .row
            .id;

        // Referral fission: 200 points per qualified invitee (pending through the return
        // window), stage bonuses at 3 and 10, the friend coupon for the invitee.
        referral::create_program(
            app,
            p,
            "老带新 邀请有礼",
            ReferralProgram {
                per_invitee: Some(Reward::points(200)),
                stages: vec![
                    Stage {
                        invitees: 3,
                        reward: Reward::points(500),
                    },
                    Stage {
                        invitees: 10,
                        reward: Reward::points(2_000),
                    },
                ],
                invitee_reward: Some(Reward::coupon(self.brand.friend_coupon.clone())),
                caps: Caps {
                    per_day: Some(10),
                    per_month: Some(60),
                },
                ..ReferralProgram::default()
            },
        )
        .await
        .map_err(err)?;

        // The points mall.
        for (name, points, stock, limit) in [
            ("冷泡茶试饮装", 200, (n / 10).max(20), Some(2)),
            ("桂花糕茶点兑换券", 500, (n / 20).max(10), Some(1)),
            ("定制随行杯", 1_500, (n / 100).max(5), Some(1)),
        ] {
            let item = mall::create_item(
                app,
                p,
                mall::NewItem {
                    name: name.into(),
                    points,
                    cash_fen: 0,
                    stock,
                    per_member_limit: limit,
                },
            )
            .await
            .map_err(err)?;
            self.brand.mall.push((item.id, points));
        }

        // Audiences operators watch: new members, the seeds' 30-day churn warning,
        // high-value buyers by RFM, and community members; one interest rule tag.
        let group = tags::create_group(app, p, "兴趣偏好").await.map_err(err)?;
        tags::create_tag(
            app,
            p,
            &group.id,
            "高意向 (30 天加购 ≥ 2)",
            Some(&json!({"event": {"type": "add_to_cart", "within_days": 30, "op": "gte", "count": 2}})),
        )
        .await
        .map_err(err)?;
        for (name, condition) in [
            ("新客 (0–7 天)", json!({"lifecycle": {"in": ["new"]}})),
            (
                "流失预警 (30 天未互动)",
                json!({"all": [
                    {"order": {"op": "gte", "count": 1}},
                    {"profile": {"field": "days_since_last_seen", "op": "gte", "value": 30}}
                ]}),
            ),
            (
                "高价值 (RFM M ≥ 4)",
                json!({"rfm": {"dimension": "m", "op": "gte", "value": 4}}),
            ),
            (
                "社群成员",
                json!({"event": {"type": "join_community", "within_days": 365, "op": "gte", "count": 1}}),
            ),
        ] {
            let segment = segments::create(app, p, name, &condition)
                .await
                .map_err(err)?;
            self.brand.segments.push(segment.id);
        }

        Ok(())
    }

    /// Campaigns that start on `day`, set up at the start of that day.
    pub async fn campaigns_starting(&mut self, day: u32) -> anyhow::Result<()> {
        let cal = self.calendar.clone();
        let (day_from, _) = self.plan.day_span(day);
        let end = self.plan.end;
        if day == cal.alerts {
            self.create_alert_rule().await?;
        }
        if day == cal.distribution {
            // Two-level distribution (分销): 10 % and 3 %, commissions frozen through the
            // 7-day return window, appointed promoters, first link binds for 30 days.
            distribution::put_settings(
                &self.app,
                &self.principal,
                distribution::Settings {
                    enabled: true,
                    eligibility: distribution::Eligibility::Appointed,
                    binding: distribution::BindingPolicy::ExpiresAfterDays(30),
                    rates: RateTable {
                        levels: vec![
                            LevelRates {
                                level: 1,
                                default_bp: 1_000,
                                sku_bp: Default::default(),
                            },
                            LevelRates {
                                level: 2,
                                default_bp: 300,
                                sku_bp: Default::default(),
                            },
                        ],
                    },
                    freeze_days: 7,
                    min_withdrawal_fen: 1_000,
                },
            )
            .await
            .map_err(err)?;
            self.appoint_promoters().await?;
        }
        if day == cal.group_buy {
            let view = group_buy::create_campaign(
                &self.app,
                &self.principal,
                "冷泡茶 3 人团",
                Campaign {
                    sku: GROUP_SKU.into(),
                    group_price_fen: GROUP_PRICE_FEN,
                    original_price_fen: sku(GROUP_SKU).price_fen,
                    group_size: GROUP_SIZE,
                    duration_seconds: 24 * 3_600,
                    per_member_limit: 2,
                    leader_points: 50,
                    virtual_completion_percent: None,
                    starts_at: day_from,
                    ends_at: end.plus(DAY * 30),
                },
            )
            .await
            .map_err(err)?;
            self.brand.group_buy = Some(view.row.id);
        }
        if day == cal.bargain.0 {
            let start = sku(BARGAIN_SKU).price_fen;
            let total = start - BARGAIN_FLOOR_FEN;
            let view = bargain::create_campaign(
                &self.app,
                &self.principal,
                bargain::NewCampaign {
                    name: "砍价 9.9 元拿随行杯".into(),
                    sku: BARGAIN_SKU.into(),
                    rules: BargainRules {
                        start_price_fen: start,
                        floor_price_fen: BARGAIN_FLOOR_FEN,
                        helpers_needed: BARGAIN_HELPERS,
                        min_cut_fen: total / 10,
                        max_cut_fen: total / 2,
                        duration_seconds: 24 * 3_600,
                        mode: BargainMode::MustReachFloor,
                        new_users_only: true,
                    },
                    starts_at: day_from,
                    ends_at: self.plan.midnight(cal.bargain.1),
                },
            )
            .await
            .map_err(err)?;
            self.brand.bargain = Some(view.row.id);
        }
        if day + 1 == cal.flash || (cal.flash == 0 && day == 0) {
            self.create_flash_sale().await?;
        }
        if day == cal.experiment.0 {
            experiments::create(
                &self.app,
                &self.principal,
                EXPERIMENT_KEY,
                "新人首页改版",
                ExperimentDefinition {
                    variants: vec![
                        Variant {
                            key: "control".into(),
                            weight: 0.5,
                        },
                        Variant {
                            key: "new_home".into(),
                            weight: 0.5,
                        },
                    ],
                    // The seeds' 5–10 % control group for measuring the whole programme.
                    holdout_share: 0.05,
                    window_days: 14,
                    pre_period_days: 14,
                },
            )
            .await
            .map_err(err)?;
            experiments::transition(&self.app, &self.principal, EXPERIMENT_KEY, "running")
                .await
                .map_err(err)?;
            self.brand.experiment = Some(EXPERIMENT_KEY.into());
        }
        if day == cal.experiment.1 && self.brand.experiment.is_some() {
            experiments::transition(&self.app, &self.principal, EXPERIMENT_KEY, "stopped")
                .await
                .map_err(err)?;
        }
        Ok(())
    }

    /// The seeds' "refund spike → close the coupon channel": a daily refund-rate rule
    /// that pauses the claimable coupon when it fires. The operator sets it up five days
    /// before the bad batch; from then on it is judged every night.
    async fn create_alert_rule(&mut self) -> anyhow::Result<()> {
        let lookback_weeks = ((self.plan.days / 7).saturating_sub(2)).clamp(3, 4) as usize;
        let rule = alerts::create_rule(
            &self.app,
            &self.principal,
            RuleInput {
                name: "退款率异常 (日)".into(),
                condition: AlertCondition {
                    metric: Metric::RefundRate,
                    granularity: Granularity::Day,
                    method: Method::RobustZ,
                    direction: Direction::Up,
                    threshold: 3.5,
                    lookback_weeks,
                    min_denominator: 50_000.0,
                },
                actions: AlertActions {
                    pause_coupon_templates: vec![self.brand.threshold_coupon.clone()],
                },
                enabled: true,
            },
        )
        .await
        .map_err(err)?;
        self.brand.alert_rule = Some(rule.id);
        Ok(())
    }

    /// The 秒杀: the day before, at 20:00 on the flash day for an hour. Its crossed-out
    /// price is the lowest the SKU really sold for in the 7 days before (the price-marking
    /// rule the engine checks), or the list price if it never sold.
    async fn create_flash_sale(&mut self) -> anyhow::Result<()> {
        let starts_at = self.plan.midnight(self.calendar.flash).plus(HOUR * 20);
        let week_before = starts_at.minus(DAY * 7);
        let list = sku(FLASH_SKU).price_fen;
        let prices = self.sku_prices.get(FLASH_SKU);
        let lowest_recent = prices.and_then(|p| {
            p.iter()
                .filter(|(at, _)| *at >= week_before)
                .map(|(_, fen)| *fen)
                .min()
        });
        let last = prices.and_then(|p| p.last().map(|(_, fen)| *fen));
        let original = lowest_recent.or(last).unwrap_or(list).min(list);
        let stock = (self.plan.members as i64 / 40).max(10);
        let sale = flash::create(
            &self.app,
            &self.principal,
            NewSale {
                name: "普洱熟茶饼 限时秒杀".into(),
                sale: FlashSale {
                    starts_at,
                    ends_at: starts_at.plus(HOUR),
                    payment_timeout_seconds: 15 * 60,
                    per_member_limit: 1,
                    buckets: 1,
                    skus: vec![FlashSku {
                        sku: FLASH_SKU.into(),
                        flash_price_fen: FLASH_PRICE_FEN.min(original - 100),
                        original_price_fen: original,
                        stock,
                    }],
                },
                on_false_original: FalseOriginal::Refuse,
                redis_gate: false,
            },
        )
        .await
        .map_err(err)?;
        self.brand.flash = Some(sale.row.id);
        let rush = starts_at.plus(MINUTE / 60);
        self.schedule(rush, super::sim::Action::FlashRush);
        Ok(())
    }
}
