//! Social commerce tables.
//!
//! # Layout
//! - `group_buy`: group-buy campaigns, groups (seats taken by a conditional update) and
//!   their members.
//! - `bargain`: bargain campaigns, bargains and helps (positions taken by a conditional
//!   update, one help per helper per campaign).

mod bargain;
mod group_buy;

pub use bargain::{BargainCampaignRow, BargainRow, HelpRow};
pub use group_buy::{GroupBuyCampaignRow, GroupBuyStats, GroupMemberRow, GroupRow, JoinRefusal};
