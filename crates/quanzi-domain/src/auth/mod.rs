//! Who may do what: operator roles, API-key scopes, bearer credentials and the login throttle.

mod credential;
mod role;
mod scope;
mod throttle;

pub use credential::{ApiKeyToken, Secret, SecretHash, SessionToken};
pub use role::Role;
pub use scope::{Scope, Scopes};
pub use throttle::{LoginThrottle, ThrottleVerdict};
