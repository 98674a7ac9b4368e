//! Storage: the only crate that speaks SQL.
//!
//! # Layout
//! - [`connect`]: opening a [`Store`] on SQLite (a file, WAL) or PostgreSQL from a URL.
//! - [`migrate`]: embedded, numbered migrations, one set per engine kept in step.
//! - [`Tx`]: a write transaction; multi-step changes take one and commit once.
//! - one module per table group: `workspaces`, `operators`, `api_keys`, `sessions`,
//!   `login_attempts`, `idempotency`, `jobs`, `audit`, `members` (OneID), `events`,
//!   `orders` (with refunds and the `domain_events` outbox), `secrets`, `loyalty` (the points
//!   ledger's accounts, transfers, lots and pending transfers), `promotions` (coupons,
//!   flash-sale stock and reservations, threshold rules, SKU price history), `social`
//!   (group buys, bargains, referrals, distribution), `analytics` (per-bucket metric totals,
//!   alert rules and alerts, experiments and exposures).
//! - `sql`: placeholders and chunking for portable multi-row statements.
//! - [`testkit`] (feature `testkit`): a fresh database per test on either engine.
//!
//! All SQL is portable between the two engines (`$n` placeholders, `BIGINT`, `TEXT`,
//! `ON CONFLICT`, `RETURNING`); the few places where they differ branch on [`Backend`].
//! On SQLite, writes go through a single connection so that writers queue in the process
//! instead of failing with `SQLITE_BUSY`; reads use a pool of their own (WAL lets them run
//! beside the writer).
#![forbid(unsafe_code)]

mod analytics;
mod api_keys;
mod audit;
mod bench;
mod checkpoints;
pub mod connect;
mod error;
mod events;
mod idempotency;
mod inline_reads;
mod jobs;
mod login_attempts;
mod loyalty;
mod member_key;
mod members;
pub mod migrate;
mod operators;
mod orders;
mod pg_arrays;
mod probes;
mod promotions;
mod rows;
mod secrets;
mod segments;
mod sessions;
mod social;
mod sql;
mod tags;
#[cfg(feature = "testkit")]
pub mod testkit;
mod tx;
mod workspaces;

pub use analytics::{
    AlertRow, AlertRuleRow, BehaviourRow, BucketTotals, ConversionRow, ExperimentRow,
    ExposureOutcome, ProfileScoreRow, TouchRow, ORDER_STEP, TOUCH_COLUMNS,
};
pub use api_keys::{ApiKeyRow, NewApiKey};
pub use audit::{AuditEntry, NewAuditEntry};
pub use connect::{Backend, SqliteSync, Store, StoreOptions};
pub use error::StoreError;
pub use events::{EventRow, NewEvent};
pub use idempotency::{ClaimOutcome, StoredResponse};
pub use jobs::{ClaimedJob, JobLease, JobRow, JobStateCount, NewJob};
pub use login_attempts::FailureCount;
pub use loyalty::{
    CheckinRow, LiabilityReport, MallItemRow, MemberTierRow, RedemptionRow, SourceCost, TransferRow,
};
pub use members::{
    ConsentRow, IdentityRef, IdentityRow, MemberRow, MergeRow, NewIdentity, ProfileDelta,
};
pub use operators::{MembershipRow, NewOperator, OperatorRow};
pub use orders::{OrderItemRow, OrderRow, RefundRow};
pub use promotions::{
    CouponLock, CouponRow, CouponTemplateRow, CouponTemplateUsage, FlashAttempt, FlashOutcome,
    FlashSaleRow, FlashSkuRow, PromotionRow, ReservationRow, ReserveRefusal, SoldUnit,
};
pub use segments::SegmentRow;
pub use sessions::{NewSession, SessionRow};
pub use social::{
    BargainCampaignRow, BargainRow, BindingRow, CommissionRow, FraudFlagRow, GroupBuyCampaignRow,
    GroupBuyStats, GroupMemberRow, GroupRow, HelpRow, JoinRefusal, PromoterBalance, PromoterRow,
    ReferralProgramRow, ReferralRewardRow, WithdrawalRow,
};
pub use tags::{MemberTagRow, TagGroupRow, TagRow};
pub use tx::Tx;
pub use workspaces::WorkspaceRow;

/// A page of rows ordered by id, and where the next page starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Clamps a requested page size into 1..=200 and asks for one extra row to learn whether
/// another page follows.
pub(crate) fn page_limit(limit: u32) -> i64 {
    i64::from(limit.clamp(1, 200)) + 1
}

pub(crate) fn into_page<T>(mut rows: Vec<T>, limit: u32, id_of: impl Fn(&T) -> String) -> Page<T> {
    let limit = limit.clamp(1, 200) as usize;
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(&id_of)
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}
