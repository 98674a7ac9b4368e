//! Social commerce mechanics: what makes buying social.
//!
//! # Layout
//! - [`group_buy`]: group buying (拼团) campaigns, seats and the outcome at expiry.

pub mod bargain;
pub mod commission;
pub mod group_buy;
