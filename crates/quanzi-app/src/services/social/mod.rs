//! Social commerce: group buying (拼团), bargaining (砍价), referral fission (裂变) and
//! distribution (分销), and the anti-fraud holds on their rewards.

pub mod bargain;
pub mod distribution;
pub mod fraud;
pub mod group_buy;
pub mod referral;
