//! Application services: the use cases of quanzi over the domain rules and the store.
//!
//! # Layout
//! - [`config`]: typed configuration (defaults → TOML → `QUANZI__…` env).
//! - [`App`]: the shared state every use case runs with (store, clock, config).
//! - [`Error`]: what a use case can refuse, in terms the HTTP layer maps to statuses.
//! - [`principal`]: who is calling (an API key or a logged-in operator) and what they may do.
//! - [`services`]: one module per area: workspaces, operators, keys, sessions, jobs,
//!   members, events, orders, segments, tags, privacy, loyalty.
//! - [`jobs`]: the durable job runtime: handler registry, worker pool, built-in jobs.
//!
//! The HTTP server and the CLI both call these functions, so a rule lives in one place.
#![forbid(unsafe_code)]

mod app;
pub mod config;
mod error;
pub mod jobs;
mod passwords;
pub mod principal;
pub mod services;

pub use app::{store_options, App};
pub use error::{Error, Result};
pub use passwords::PasswordHasher;
