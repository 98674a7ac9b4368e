//! The people: how members arrive (channel mix, KOL notes, invitations, promoters'
//! links), the OneID identities they bring from WeChat, Douyin and Tmall, and the people
//! seen on two platforms whom binding a phone merges.

use quanzi_app::services::members;
use quanzi_app::services::social::{distribution, referral};
use quanzi_domain::members::Touchpoints;
use quanzi_domain::time::Timestamp;
use serde_json::json;

use super::brand::{content_on, CONTENT, KOLS};
use super::rng::token;
use super::sim::{Action, Sim, DAY, HOUR, MINUTE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Wechat,
    Douyin,
    Tmall,
}

impl Platform {
    /// The `channel` touchpoint of a visit on this platform.
    pub fn channel(self) -> &'static str {
        match self {
            Platform::Wechat => "wechat_mp",
            Platform::Douyin => "douyin_shop",
            Platform::Tmall => "tmall_store",
        }
    }

    pub fn order_prefix(self) -> &'static str {
        match self {
            Platform::Wechat => "WX",
            Platform::Douyin => "DY",
            Platform::Tmall => "TM",
        }
    }
}

/// How a member first arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    WechatMp,
    Douyin,
    Tmall,
    /// A KOL's note on Xiaohongshu, landing in the mini-program.
    Xiaohongshu,
    /// A friend's invite link.
    Referral,
    /// A promoter's link.
    Distribution,
    /// A friend's group-buy share.
    GroupBuy,
    /// A friend's bargain link.
    Bargain,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::WechatMp => "wechat_mp",
            Channel::Douyin => "douyin",
            Channel::Tmall => "tmall",
            Channel::Xiaohongshu => "xiaohongshu",
            Channel::Referral => "referral",
            Channel::Distribution => "distribution",
            Channel::GroupBuy => "group_buy",
            Channel::Bargain => "bargain",
        }
    }

    pub fn platform(self) -> Platform {
        match self {
            Channel::Douyin => Platform::Douyin,
            Channel::Tmall => Platform::Tmall,
            _ => Platform::Wechat,
        }
    }
}

/// The daily mix of arrivals the acquisition quota is spread over (invitations and
/// promoters' links only once there are inviters and promoters).
pub const ARRIVAL_MIX: [(Channel, f64); 6] = [
    (Channel::WechatMp, 0.32),
    (Channel::Douyin, 0.22),
    (Channel::Tmall, 0.15),
    (Channel::Xiaohongshu, 0.12),
    (Channel::Referral, 0.14),
    (Channel::Distribution, 0.05),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Regular,
    /// A visitor of the experiment's landing page: exposed, maybe buys, then gone. Kept
    /// out of every other flow so the variant (hashed from the engine's random member id)
    /// changes nothing else the simulation does.
    Cohort,
    /// The second member record of someone first seen on another platform.
    Twin,
}

#[derive(Debug, Clone)]
pub struct Person {
    /// The engine's member id.
    pub member: String,
    pub platform: Platform,
    /// The identity events and orders name.
    pub kind: &'static str,
    pub value: String,
    pub channel: Channel,
    pub first_touch: Touchpoints,
    pub joined: Timestamp,
    /// Chance of a visit on an ordinary day.
    pub activity: f64,
    /// Chance of sharing during a visit.
    pub sharer: f64,
    pub checks_in: bool,
    pub alive: bool,
    pub role: Role,
    pub merged: bool,
    pub orders: u32,
    /// Points the member should have to spend (what the engine said it credited).
    pub points: i64,
    /// Order points still inside the return window, and when the last of them settle.
    pub pending_points: i64,
    pub pending_until: Timestamp,
    pub invite_code: Option<String>,
    pub community: bool,
    pub group_seats: u32,
    pub bargained: bool,
    /// Until when each coupon the member should hold is valid.
    pub coupons: Vec<Timestamp>,
    /// Paid so far (for the tier discount from gold up).
    pub spent_fen: i64,
    /// Bound to an inviter.
    pub invited: bool,
}

const NICKNAMES: [&str; 12] = [
    "小茶",
    "阿月",
    "Luna",
    "茶小白",
    "晴天",
    "木子",
    "Coco",
    "安安",
    "阿杰",
    "一叶",
    "北北",
    "Momo",
];
const CITIES: [(&str, f64); 8] = [
    ("上海", 3.0),
    ("北京", 2.5),
    ("杭州", 2.0),
    ("广州", 2.0),
    ("深圳", 2.0),
    ("成都", 1.5),
    ("武汉", 1.2),
    ("南京", 1.2),
];

impl Sim {
    fn identity_of(&self, index: usize, platform: Platform) -> (&'static str, String) {
        let seed = self.plan.seed;
        match platform {
            Platform::Wechat => (
                "wechat_openid",
                format!("o{}", token(seed, index as u64, 1, 27)),
            ),
            Platform::Douyin => (
                "douyin_id",
                format!("dy{}", token(seed, index as u64, 3, 18)),
            ),
            Platform::Tmall => (
                "tmall_id",
                format!("tb{}", token(seed, index as u64, 4, 14)),
            ),
        }
    }

    /// A mainland mobile number unique to the person (`13` + nine digits).
    fn phone_of(&self, index: usize) -> String {
        let n = (index as u64 * 7_919 + self.plan.seed % 1_000_003) % 1_000_000_000;
        format!("13{n:09}")
    }

    /// The touchpoints of an arrival through `channel`.
    fn arrival_touch(&mut self, channel: Channel) -> Touchpoints {
        let mut touch = Touchpoints {
            channel: Some(channel.platform().channel().into()),
            ..Touchpoints::default()
        };
        let content = |sim: &mut Sim, platform: &str, touch: &mut Touchpoints| {
            let pool = content_on(platform);
            let c = &CONTENT[*sim.rng.pick(&pool)];
            touch.kol_id = Some(KOLS[c.kol].id.into());
            touch.content_id = Some(c.id.into());
        };
        match channel {
            Channel::WechatMp => {
                let (source, medium) = *self.rng.pick(&[
                    ("wechat_search", "organic"),
                    ("wecom", "community"),
                    ("moments_ads", "cpc"),
                    ("official_account", "article"),
                ]);
                touch.utm_source = Some(source.into());
                touch.utm_medium = Some(medium.into());
            }
            Channel::Douyin => {
                touch.utm_source = Some("douyin".into());
                touch.utm_medium = Some("kol_video".into());
                content(self, "douyin", &mut touch);
            }
            Channel::Tmall => {
                touch.utm_source = Some("tmall_search".into());
                touch.utm_medium = Some("organic".into());
            }
            Channel::Xiaohongshu => {
                touch.utm_source = Some("xiaohongshu".into());
                touch.utm_medium = Some("kol_note".into());
                touch.utm_campaign = Some("seeding_notes".into());
                content(self, "xiaohongshu", &mut touch);
            }
            Channel::Referral => {
                touch.utm_source = Some("invite".into());
                touch.utm_medium = Some("referral".into());
                touch.utm_campaign = Some("old_brings_new".into());
            }
            Channel::Distribution => {
                touch.utm_source = Some("promoter".into());
                touch.utm_medium = Some("distribution".into());
            }
            Channel::GroupBuy => {
                touch.utm_source = Some("wechat_share".into());
                touch.utm_medium = Some("group_buy".into());
                touch.campaign_id = self.brand.group_buy.clone();
            }
            Channel::Bargain => {
                touch.utm_source = Some("wechat_share".into());
                touch.utm_medium = Some("bargain".into());
                touch.campaign_id = self.brand.bargain.clone();
            }
        }
        touch
    }

    /// Creates the member through OneID identify (which also hands out the registration
    /// coupon) and records the person; `None` if the engine refused.
    pub async fn register(
        &mut self,
        channel: Channel,
        role: Role,
        at: Timestamp,
    ) -> anyhow::Result<Option<usize>> {
        let index = self.people.len();
        let platform = channel.platform();
        let (kind, value) = self.identity_of(index, platform);
        let mut identities = vec![(kind.to_owned(), value.clone())];
        if platform == Platform::Wechat {
            identities.push((
                "wechat_unionid".into(),
                format!("u{}", token(self.plan.seed, index as u64, 2, 27)),
            ));
        }
        // Phone quick-login is common in the mini-program and on Tmall; people who will
        // show up on a second platform bind theirs later, which is what merges them.
        let twin_later =
            role == Role::Regular && platform != Platform::Wechat && self.rng.chance(0.12);
        let phone_share = match platform {
            Platform::Wechat => 0.7,
            Platform::Tmall => 0.5,
            Platform::Douyin => 0.35,
        };
        if role != Role::Twin && !twin_later && self.rng.chance(phone_share) {
            identities.push(("phone".into(), self.phone_of(index)));
        }
        let traits = json!({
            "nickname": format!("{}{}", self.rng.pick(&NICKNAMES), index % 1000),
            "gender": if self.rng.chance(0.72) { "female" } else { "male" },
            "city": CITIES[self.rng.weighted(&CITIES.map(|c| c.1))].0,
            "age_band": *self.rng.pick(&["18-24", "25-34", "25-34", "35-44", "45+"]),
            "acquired_via": channel.as_str(),
        });
        let touch = self.arrival_touch(channel);
        // Invited friends came on a nudge: they visit less on their own.
        let nudged = if channel == Channel::Referral {
            0.5
        } else {
            1.0
        };
        let activity = (nudged * self.rng.lognormal(0.045, 0.8)).clamp(0.005, 0.6);
        let sharer = self.rng.lognormal(0.03, 1.0).clamp(0.0, 0.5);
        let checks_in = self.rng.chance(0.04);
        self.at(at);
        let timer = std::time::Instant::now();
        let identified =
            members::identify(&self.app, &self.principal, &identities, traits.as_object()).await;
        self.tally.time("identify", timer);
        let Some(identified) = self.refused(identified)? else {
            return Ok(None);
        };
        self.people.push(Person {
            member: identified.member.id,
            platform,
            kind,
            value,
            channel,
            first_touch: touch,
            joined: at,
            activity,
            sharer,
            checks_in,
            alive: true,
            role,
            merged: false,
            orders: 0,
            points: 0,
            pending_points: 0,
            pending_until: at,
            invite_code: None,
            community: false,
            group_seats: 0,
            bargained: false,
            // The registration coupon (新人券), valid 14 days.
            coupons: if role == Role::Twin {
                Vec::new()
            } else {
                vec![at.plus(DAY * 14)]
            },
            spent_fen: 0,
            invited: false,
        });
        if role != Role::Twin {
            self.registered += 1;
        }
        if twin_later {
            // Days later, sooner in a short demo so the merge happens inside it.
            let spread = (self.plan.days / 4).clamp(2, 18) as usize;
            let later = at.plus(DAY * (1 + self.rng.below(spread) as u32));
            self.schedule(later, Action::Twin(index));
        }
        Ok(Some(index))
    }

    /// A new member arrives through `channel` and makes a first visit.
    pub async fn arrive(&mut self, channel: Channel, at: Timestamp) -> anyhow::Result<()> {
        // Invitations and promoters' links need someone to come from.
        let channel = match channel {
            Channel::Referral if self.inviters.is_empty() => Channel::WechatMp,
            Channel::Distribution if self.promoters.is_empty() => Channel::WechatMp,
            other => other,
        };
        let day = self.plan.day_of(at);
        let (exp_from, exp_to) = self.calendar.experiment;
        // The experiment's landing page greets organic mini-program newcomers.
        let cohort = self.brand.experiment.is_some()
            && (exp_from..exp_to).contains(&day)
            && matches!(channel, Channel::WechatMp | Channel::Xiaohongshu)
            && self.rng.chance(0.6);
        let role = if cohort { Role::Cohort } else { Role::Regular };
        let inviter = match channel {
            Channel::Referral => {
                // Each friend a link reaches makes the next one less likely: a member's
                // circle runs out.
                let weights: Vec<f64> = self.inviters.iter().map(|(_, w)| *w).collect();
                let chosen = self.rng.weighted(&weights);
                self.inviters[chosen].1 /= 3.0;
                Some(self.inviters[chosen].0)
            }
            _ => None,
        };
        let promoter = match channel {
            Channel::Distribution => Some(*self.rng.pick(&self.promoters.clone())),
            _ => None,
        };
        let Some(index) = self.register(channel, role, at).await? else {
            return Ok(());
        };
        if let Some(inviter) = inviter {
            self.bind_invitee(inviter, index, at.plus(MINUTE)).await?;
        }
        if let Some(promoter) = promoter {
            self.at(at.plus(MINUTE));
            let bound = distribution::bind_buyer(
                &self.app,
                &self.principal,
                &self.people[promoter].member.clone(),
                &self.people[index].member.clone(),
            )
            .await;
            self.refused(bound)?;
        }
        self.first_visit(index, at.plus(MINUTE * 2)).await
    }

    /// Binds an invitee to the inviter's code. Now and then the invitee's phone is one
    /// the inviter used before (a shared device): the engine's anti-fraud holds that
    /// reward for review.
    pub async fn bind_invitee(
        &mut self,
        inviter: usize,
        invitee: usize,
        at: Timestamp,
    ) -> anyhow::Result<()> {
        let Some(code) = self.people[inviter].invite_code.clone() else {
            return Ok(());
        };
        let device = if self.rng.chance(0.03) {
            format!("dev-{}", token(self.plan.seed, inviter as u64, 9, 16))
        } else {
            format!("dev-{}", token(self.plan.seed, invitee as u64, 9, 16))
        };
        self.at(at);
        let bound = referral::bind(
            &self.app,
            &self.principal,
            &code,
            &self.people[invitee].member.clone(),
            referral::Arrival {
                device_id: Some(device),
                ip: Some(format!(
                    "10.{}.{}.{}",
                    invitee % 200,
                    inviter % 250,
                    invitee % 250
                )),
            },
        )
        .await;
        if self.refused(bound)?.is_some() {
            self.people[invitee].invited = true;
        }
        Ok(())
    }

    /// Someone first seen on Douyin or Tmall opens the mini-program: a second member.
    pub async fn twin_arrives(&mut self, first: usize, at: Timestamp) -> anyhow::Result<()> {
        if !self.people[first].alive {
            return Ok(());
        }
        let Some(second) = self.register(Channel::WechatMp, Role::Twin, at).await? else {
            return Ok(());
        };
        self.page_view_only(second, at.plus(MINUTE)).await?;
        let spread = (self.plan.days as usize * 4).clamp(24, 120);
        let merge_at = at.plus(HOUR * (2 + self.rng.below(spread) as u32));
        self.schedule(merge_at, Action::Merge { first, second });
        Ok(())
    }

    /// The person binds the same phone on both platforms: the second identify finds the
    /// phone on one member and the unionid on the other, and OneID merges them (the older
    /// member survives).
    pub async fn merge(
        &mut self,
        first: usize,
        second: usize,
        at: Timestamp,
    ) -> anyhow::Result<()> {
        let phone = self.phone_of(first);
        let (kind, value) = (self.people[first].kind, self.people[first].value.clone());
        self.at(at);
        let linked = members::identify(
            &self.app,
            &self.principal,
            &[
                (kind.to_owned(), value),
                ("phone".to_owned(), phone.clone()),
            ],
            None,
        )
        .await;
        if self.refused(linked)?.is_none() {
            return Ok(());
        }
        let unionid = format!("u{}", token(self.plan.seed, second as u64, 2, 27));
        self.at(at.plus(MINUTE));
        let merged = members::identify(
            &self.app,
            &self.principal,
            &[
                ("wechat_unionid".to_owned(), unionid),
                ("phone".to_owned(), phone),
            ],
            None,
        )
        .await;
        if let Some(identified) = self.refused(merged)? {
            self.people[second].merged = true;
            self.people[second].alive = false;
            self.people[first].member = identified.member.id;
        }
        Ok(())
    }
}
