//! Referral fission (裂变): invite codes, programs, who invited whom, what a conversion
//! pays, and how far invitations spread.
//!
//! # Layout
//! - [`code`]: [`InviteCode`], the short unambiguous code behind a share link.
//! - [`program`]: [`ReferralProgram`] with its rewards, stages, caps and windows.
//! - [`binding`]: [`bind`], first-touch attribution with its refusals
//!   (`self_referral`, `referral_loop`, `not_new`, `already_bound`, `program_inactive`).
//! - [`rewards`]: [`on_first_paid_order`], the grants a qualified invitee earns.
//! - [`stats`]: [`invite_stats`], generations of the invite tree, K-factor, conversion and
//!   shares per capita.
//! - [`tree`]: [`invite_trees`], the largest invite trees cut to a drawable size.
//!
//! The life of a referral: a member shares `/r/{code}`; a newcomer opens it and the storefront
//! calls [`bind`]; when the newcomer's first order is paid, [`on_first_paid_order`] says what
//! the inviter and the newcomer receive, pending through the return window so a return can
//! void it. Member ids are the store's public ids, passed as strings.

pub mod binding;
pub mod code;
pub mod program;
pub mod rewards;
pub mod stats;
pub mod tree;

pub use binding::{bind, BindRefusal, Binding, Candidate, InviteeFacts, MAX_ANCESTOR_DEPTH};
pub use code::{share_path, InviteCode};
pub use program::{Caps, ReferralProgram, Reward, Stage};
pub use rewards::{
    on_first_paid_order, stages_reached, InviterStats, Recipient, RewardGrant, RewardReason,
};
pub use stats::{invite_stats, GenerationStats, InviteEdge, InviteStats};
pub use tree::{invite_trees, TreeLimits, TreeNode};
