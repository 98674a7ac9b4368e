//! Members and OneID: identities, their normal forms and masks, event and order rules.

mod consent;
mod events;
mod identity;
mod lifecycle;
mod orders;
mod rfm;

pub use consent::{check_source, ConsentChannel};
pub use events::{EventType, IncomingEvent, Touchpoints, EVENT_BATCH_LIMIT};
pub use identity::{Identity, IdentityKind, LookupKey, PiiKey};
pub use lifecycle::LifecycleStage;
pub use orders::{
    allocate_refund, NewOrder, NewOrderItem, OrderLine, RefundLine, RefundPlan, RefundRequest,
};
pub use rfm::{rfm_scores, RfmInput, RfmScore};
