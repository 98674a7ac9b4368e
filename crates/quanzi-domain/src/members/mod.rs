//! Members and OneID: identities, their normal forms and masks, event and order rules.

mod events;
mod identity;
mod orders;

pub use events::{EventType, IncomingEvent, Touchpoints, EVENT_BATCH_LIMIT};
pub use identity::{Identity, IdentityKind, LookupKey, PiiKey};
pub use orders::{
    allocate_refund, NewOrder, NewOrderItem, OrderLine, RefundLine, RefundPlan, RefundRequest,
};
