//! Social commerce mechanics: what makes buying social.
//!
//! # Layout
//! - [`group_buy`]: group buying (拼团) campaigns, seats and the outcome at expiry.
//! - [`bargain`]: bargaining (砍价) rules and seeded cut sequences that reach the floor
//!   exactly at the last needed helper.
//! - [`commission`]: two-level distribution (分销) commissions and their proportional
//!   clawback on partial refunds.
//! - [`fraud`]: explainable anti-fraud signals that hold a reward for review.
//! - [`referral`]: referral fission (裂变): invite codes, first-touch binding without
//!   self-referral or loops, capped and staged rewards, invite-tree stats and K-factor.

pub mod bargain;
pub mod commission;
pub mod fraud;
pub mod group_buy;
pub mod referral;
