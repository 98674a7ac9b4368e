//! Social commerce tables.
//!
//! # Layout
//! - `group_buy`: group-buy campaigns, groups (seats taken by a conditional update) and
//!   their members.

mod group_buy;

pub use group_buy::{GroupBuyCampaignRow, GroupBuyStats, GroupMemberRow, GroupRow, JoinRefusal};
