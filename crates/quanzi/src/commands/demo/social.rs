//! Social commerce: shares that make members inviters, group buys that fill or fail,
//! bargains that newcomers help along, and promoters with their two-level commissions.

use quanzi_app::services::social::{bargain, distribution, group_buy, referral};
use quanzi_app::services::tags;
use quanzi_domain::members::Touchpoints;
use quanzi_domain::time::Timestamp;
use serde_json::json;

use super::brand::{
    sku, BARGAIN_FLOOR_FEN, BARGAIN_HELPERS, BARGAIN_SKU, GROUP_PRICE_FEN, GROUP_SKU,
};
use super::population::{Channel, Role};
use super::sim::{Action, Sim, HOUR, MINUTE};

/// Friends who try to join a group, as weights for 0, 1, 2 and 3 of them: a group of
/// three fills when two arrive in time, about 60 % of groups.
const GROUP_JOINERS: [f64; 4] = [0.17, 0.21, 0.40, 0.22];
/// Share of joiners who are new to the brand (they arrive through the share).
const NEW_JOINERS: f64 = 0.5;
/// Newcomers who open a bargain link and help, as weights for 0..=6 of them: about 45 %
/// of bargains reach the five helpers the floor needs.
const BARGAIN_HELP: [f64; 7] = [0.10, 0.08, 0.10, 0.13, 0.14, 0.30, 0.15];

impl Sim {
    /// A share event; the first share gets the member an invite code, whose link then
    /// brings invited newcomers (fewer as the member's circle runs out).
    pub async fn share(
        &mut self,
        index: usize,
        at: Timestamp,
        touch: &Touchpoints,
        properties: serde_json::Value,
        campaign: Option<String>,
    ) -> anyhow::Result<()> {
        let share_touch = Touchpoints {
            campaign_id: campaign.or_else(|| touch.campaign_id.clone()),
            ..touch.clone()
        };
        self.events
            .push(&self.people[index], "share", at, properties, &share_touch);
        if self.people[index].role != Role::Regular {
            return Ok(());
        }
        if self.people[index].invite_code.is_none() {
            self.at(at);
            let code = referral::invite_code(
                &self.app,
                &self.principal,
                &self.people[index].member.clone(),
            )
            .await;
            if let Some((code, _path)) = self.refused(code)? {
                self.people[index].invite_code = Some(code);
                self.inviters.push((index, 1.0));
            }
        }
        Ok(())
    }

    /// A leader pays the group price and opens a group, then shares it.
    pub async fn lead_group(
        &mut self,
        index: usize,
        at: Timestamp,
        touch: &Touchpoints,
    ) -> anyhow::Result<()> {
        let Some(campaign) = self.brand.group_buy.clone() else {
            return Ok(());
        };
        let number = self.next_group_order(index);
        let touch = Touchpoints {
            campaign_id: Some(campaign.clone()),
            ..touch.clone()
        };
        let Some(_) = self
            .pay_at_price(
                index,
                &number,
                (sku(GROUP_SKU), GROUP_PRICE_FEN),
                &touch,
                at,
                false,
            )
            .await?
        else {
            return Ok(());
        };
        self.at(at.plus(MINUTE));
        let opened = group_buy::open(
            &self.app,
            &self.principal,
            &campaign,
            &self.people[index].member.clone(),
            &number,
        )
        .await;
        let Some(group) = self.refused(opened)? else {
            return Ok(());
        };
        self.people[index].group_seats += 1;
        let group_id = group.group.id;
        self.share(
            index,
            at.plus(MINUTE * 2),
            &touch,
            json!({"group_id": group_id, "sku": GROUP_SKU, "to": "wechat_group"}),
            Some(campaign),
        )
        .await?;
        let joiners = self.rng.weighted(&GROUP_JOINERS);
        for _ in 0..joiners {
            // Most friends answer the same evening; a few come back after the 24 hours.
            let when = at.plus(MINUTE * (10 + self.rng.below(20 * 60) as u32));
            self.schedule(
                when,
                Action::JoinGroup {
                    group: group_id.clone(),
                    friend_of: index,
                },
            );
        }
        Ok(())
    }

    fn next_group_order(&mut self, index: usize) -> String {
        let prefix = self.people[index].platform.order_prefix();
        format!("{prefix}G{:08}", self.next_number("group_order"))
    }

    /// A friend opens the share: if the group is still open they pay and take a seat.
    pub async fn join_group(
        &mut self,
        group_id: &str,
        friend_of: usize,
        at: Timestamp,
    ) -> anyhow::Result<()> {
        self.at(at);
        let group = group_buy::group(&self.app, &self.principal, group_id).await;
        let Some(group) = self.refused(group)? else {
            return Ok(());
        };
        if group.group.status != "open" || group.group.expires_at <= at {
            *self.tally.refused.entry("group_closed_seen").or_default() += 1;
            return Ok(());
        }
        let joiner = if self.rng.chance(NEW_JOINERS) {
            self.register(Channel::GroupBuy, Role::Regular, at).await?
        } else {
            let mut found = None;
            for _ in 0..8 {
                let i = self.rng.below(self.people.len());
                let in_group = group
                    .members
                    .iter()
                    .any(|m| m.member_id == self.people[i].member);
                if i != friend_of && self.regular(i) && self.people[i].group_seats < 2 && !in_group
                {
                    found = Some(i);
                    break;
                }
            }
            found
        };
        let Some(joiner) = joiner else {
            return Ok(());
        };
        let touch = self.people[joiner].first_touch.clone();
        let touch = Touchpoints {
            channel: Some(self.people[joiner].platform.channel().into()),
            utm_source: Some("wechat_share".into()),
            utm_medium: Some("group_buy".into()),
            campaign_id: Some(group.group.campaign_id.clone()),
            ..touch
        };
        self.events.push(
            &self.people[joiner],
            "page_view",
            at,
            json!({"page": "group_buy", "group_id": group_id}),
            &touch,
        );
        let number = self.next_group_order(joiner);
        let paid = self
            .pay_at_price(
                joiner,
                &number,
                (sku(GROUP_SKU), GROUP_PRICE_FEN),
                &touch,
                at.plus(MINUTE),
                false,
            )
            .await?;
        if paid.is_none() {
            return Ok(());
        }
        self.at(at.plus(MINUTE * 2));
        let joined = group_buy::join(
            &self.app,
            &self.principal,
            group_id,
            &self.people[joiner].member.clone(),
            &number,
        )
        .await;
        if self.refused(joined)?.is_some() {
            self.people[joiner].group_seats += 1;
        }
        Ok(())
    }

    /// A member starts a bargain and sends the link to friends.
    pub async fn start_bargain(
        &mut self,
        index: usize,
        at: Timestamp,
        touch: &Touchpoints,
    ) -> anyhow::Result<()> {
        let Some(campaign) = self.brand.bargain.clone() else {
            return Ok(());
        };
        self.people[index].bargained = true;
        self.at(at);
        let started = bargain::start(
            &self.app,
            &self.principal,
            &campaign,
            &self.people[index].member.clone(),
        )
        .await;
        let Some(started) = self.refused(started)? else {
            return Ok(());
        };
        self.tally.bargains_started += 1;
        let id = started.bargain.id;
        self.bargains.insert(id.clone(), 0);
        self.share(
            index,
            at.plus(MINUTE),
            touch,
            json!({"bargain_id": id, "sku": BARGAIN_SKU, "to": "wechat_friend"}),
            Some(campaign),
        )
        .await?;
        for _ in 0..self.rng.weighted(&BARGAIN_HELP) {
            let when = at.plus(MINUTE * (10 + self.rng.below(26 * 60) as u32));
            self.schedule(
                when,
                Action::HelpBargain {
                    bargain: id.clone(),
                    starter: index,
                },
            );
        }
        Ok(())
    }

    /// A newcomer opens the bargain link, registers and cuts the price, then looks
    /// around the shop.
    pub async fn help_bargain(
        &mut self,
        bargain_id: &str,
        starter: usize,
        at: Timestamp,
    ) -> anyhow::Result<()> {
        let Some(helper) = self.register(Channel::Bargain, Role::Regular, at).await? else {
            return Ok(());
        };
        self.at(at.plus(MINUTE));
        let helped = bargain::help(
            &self.app,
            &self.principal,
            bargain_id,
            &self.people[helper].member.clone(),
        )
        .await;
        if self.refused(helped)?.is_some() {
            let helps = self.bargains.entry(bargain_id.to_owned()).or_default();
            *helps += 1;
            if *helps as usize == BARGAIN_HELPERS {
                let when = at.plus(MINUTE * (30 + self.rng.below(5 * 60) as u32));
                self.schedule(
                    when,
                    Action::BuyBargain {
                        bargain: bargain_id.to_owned(),
                        starter,
                    },
                );
            }
        }
        self.first_visit(helper, at.plus(MINUTE * 3)).await
    }

    /// The starter buys at the floor price.
    pub async fn buy_bargain(
        &mut self,
        bargain_id: &str,
        starter: usize,
        at: Timestamp,
    ) -> anyhow::Result<()> {
        let number = format!("WXB{:08}", self.next_number("bargain_order"));
        self.at(at);
        let bought = bargain::purchase(&self.app, &self.principal, bargain_id, &number).await;
        if self.refused(bought)?.is_none() {
            return Ok(());
        }
        let touch = Touchpoints {
            channel: Some("wechat_mp".into()),
            utm_medium: Some("bargain".into()),
            campaign_id: self.brand.bargain.clone(),
            ..Touchpoints::default()
        };
        if self
            .pay_at_price(
                starter,
                &number,
                (sku(BARGAIN_SKU), BARGAIN_FLOOR_FEN),
                &touch,
                at.plus(MINUTE),
                true,
            )
            .await?
            .is_some()
        {
            self.tally.bargains_bought += 1;
        }
        Ok(())
    }

    /// The brand appoints promoters among its best customers (KOCs): a quarter lead,
    /// the rest sit under one of them, so commissions reach two levels and no deeper.
    pub async fn appoint_promoters(&mut self) -> anyhow::Result<()> {
        let wanted = (self.plan.members / 500).max(3);
        let mut candidates: Vec<usize> = (0..self.people.len())
            .filter(|&i| self.regular(i))
            .collect();
        candidates.sort_by_key(|&i| (std::cmp::Reverse(self.people[i].orders), i));
        candidates.truncate(wanted);
        let leads = wanted.div_ceil(4);
        let group = tags::create_group(&self.app, &self.principal, "运营标记")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let tag = tags::create_tag(&self.app, &self.principal, &group.id, "分销推广员", None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for (n, &index) in candidates.iter().enumerate() {
            let upline = (n >= leads).then(|| self.people[candidates[n % leads]].member.clone());
            let added = distribution::add_promoter(
                &self.app,
                &self.principal,
                &self.people[index].member.clone(),
                upline.as_deref(),
            )
            .await;
            if self.refused(added)?.is_some() {
                self.promoters.push(index);
                let tagged = tags::tag_member(
                    &self.app,
                    &self.principal,
                    &self.people[index].member.clone(),
                    &tag.id,
                )
                .await;
                self.refused(tagged)?;
            }
        }
        Ok(())
    }

    /// At the end, promoters with settled commission ask to withdraw it; the operator
    /// approves and pays most requests.
    pub async fn withdraw_commissions(&mut self, at: Timestamp) -> anyhow::Result<()> {
        for index in self.promoters.clone() {
            self.at(at);
            let member = self.people[index].member.clone();
            let dashboard = distribution::dashboard(&self.app, &self.principal, &member).await;
            let Some(dashboard) = self.refused(dashboard)? else {
                continue;
            };
            let available = dashboard.balance.available_fen();
            if available < 1_000 {
                continue;
            }
            let requested =
                distribution::request_withdrawal(&self.app, &self.principal, &member, available)
                    .await;
            let Some(request) = self.refused(requested)? else {
                continue;
            };
            self.tally.withdrawals += 1;
            self.at(at.plus(HOUR));
            let approved = distribution::review_withdrawal(
                &self.app,
                &self.principal,
                &request.id,
                "approve",
                Some("核对无误"),
            )
            .await;
            if self.refused(approved)?.is_some() && self.rng.chance(0.8) {
                let paid = distribution::review_withdrawal(
                    &self.app,
                    &self.principal,
                    &request.id,
                    "pay",
                    Some("已打款"),
                )
                .await;
                self.refused(paid)?;
            }
        }
        Ok(())
    }
}
