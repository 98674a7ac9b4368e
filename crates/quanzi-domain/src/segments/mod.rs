//! Segments: a condition tree over a member's traits, profile, RFM, lifecycle and
//! behaviour in a time window. The store compiles it to SQL; [`Condition::matches`] is the
//! reference evaluator the SQL is property-tested against.

mod condition;
mod evaluate;

pub use condition::{Cmp, Condition, ProfileField, RfmDimension, TraitTest, MAX_DEPTH, MAX_NODES};
pub use evaluate::{days_between, MemberFacts, NEVER_DAYS};
