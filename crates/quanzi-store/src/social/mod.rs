//! Social commerce tables.
//!
//! # Layout
//! - `group_buy`: group-buy campaigns, groups (seats taken by a conditional update) and
//!   their members.
//! - `bargain`: bargain campaigns, bargains and helps (positions taken by a conditional
//!   update, one help per helper per campaign).
//! - `referral`: referral programs, invite codes, first-touch bindings and rewards.
//! - `fraud`: anti-fraud thresholds, the facts signals read, the review queue.
//! - `distribution`: distribution settings, promoters, buyer bindings, commissions per
//!   order line and level, withdrawals.

mod bargain;
mod distribution;
mod fraud;
mod group_buy;
mod referral;

pub use bargain::{BargainCampaignRow, BargainRow, HelpRow};
pub use distribution::{CommissionRow, PromoterBalance, PromoterRow, WithdrawalRow};
pub use fraud::FraudFlagRow;
pub use group_buy::{GroupBuyCampaignRow, GroupBuyStats, GroupMemberRow, GroupRow, JoinRefusal};
pub use referral::{BindingRow, ReferralProgramRow, ReferralRewardRow};
