//! The points ledger, modelled on TigerBeetle's guarantees and kept free of IO.
//!
//! Every change is a double-entry [`Transfer`] from a debit account to a credit account.
//! Member accounts (a wallet and a debt account per member) carry counters; system
//! accounts (issuance sources per rule or campaign, spend sinks, expiry) are derived from
//! the transfers, so no hot row serialises a busy workspace. A wallet never goes negative:
//! `debits_posted + debits_pending <= credits_posted` holds after every request.
//!
//! Points credited to a wallet form a [`Lot`] with its own expiry; debits consume the
//! oldest lots first and record which lots they used, so a hold returns its points to the
//! lots it took them from and a refund reverses exactly the lot its order earned.
//!
//! Requests are applied in batches to a [`Working`] set the store loads (under locks on
//! PostgreSQL, on the single writer on SQLite) by [`apply`]; the result says what to write
//! back. A request id is its idempotency key: the same id with the same fields answers the
//! original outcome, with other fields it is refused, and a failed id stays failed.
//!
//! # Layout
//! - this file: accounts, requests, transfers, lots, pending transfers and errors.
//! - [`machine`]: the state machine that applies a batch of requests.

mod machine;
#[cfg(test)]
mod model_tests;

use std::fmt;

use sha2::{Digest, Sha256};

use crate::input::InvalidInput;
use crate::time::Timestamp;

pub use machine::{apply, Applied, Effects, LotUse, OpRecord, Outcome, Working};

/// The longest batch one request may carry, as for events.
pub const BATCH_LIMIT: usize = 1000;

/// An account of the ledger, named by a readable code (`wallet:mem_…`, `source:checkin`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountCode {
    /// The member's spendable points.
    Wallet(String),
    /// Points the member owes after a refund reversed points already spent (negative
    /// balance); future earnings repay it first.
    Debt(String),
    /// An issuer: every point is paid by one source (an earning rule, a campaign,
    /// operator adjustments), which is its cost centre.
    Source(String),
    /// Where spent points go (the points mall, checkout, adjustments).
    Sink(String),
    /// Where expired points go.
    Expiry,
}

impl AccountCode {
    pub fn member(&self) -> Option<&str> {
        match self {
            AccountCode::Wallet(m) | AccountCode::Debt(m) => Some(m),
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            AccountCode::Wallet(_) => "wallet",
            AccountCode::Debt(_) => "debt",
            AccountCode::Source(_) => "source",
            AccountCode::Sink(_) => "sink",
            AccountCode::Expiry => "expiry",
        }
    }

    pub fn parse(raw: &str) -> Option<AccountCode> {
        let (kind, rest) = raw.split_once(':').unwrap_or((raw, ""));
        match (kind, rest) {
            ("expiry", "") => Some(AccountCode::Expiry),
            (_, "") => None,
            ("wallet", m) => Some(AccountCode::Wallet(m.to_owned())),
            ("debt", m) => Some(AccountCode::Debt(m.to_owned())),
            ("source", s) => Some(AccountCode::Source(s.to_owned())),
            ("sink", s) => Some(AccountCode::Sink(s.to_owned())),
            _ => None,
        }
    }
}

impl fmt::Display for AccountCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountCode::Expiry => f.write_str("expiry"),
            other => {
                let name = match other {
                    AccountCode::Wallet(s)
                    | AccountCode::Debt(s)
                    | AccountCode::Source(s)
                    | AccountCode::Sink(s) => s,
                    AccountCode::Expiry => unreachable!(),
                };
                write!(f, "{}:{name}", other.kind())
            }
        }
    }
}

/// The counters of a member account. Balances are credits minus debits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balance {
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
}

impl Balance {
    /// Posted credits minus posted debits.
    pub fn posted(&self) -> i64 {
        self.credits_posted - self.debits_posted
    }

    /// What can be spent now: posted balance less the points held.
    pub fn available(&self) -> i64 {
        self.credits_posted - self.debits_posted - self.debits_pending
    }
}

/// A name of a source or sink chosen by operators (`checkin`, `double11`, `mall`):
/// 1–48 characters of lowercase letters, digits, `_`, `-` and `.`.
pub fn check_account_name(raw: &str, field: &str) -> Result<String, InvalidInput> {
    let ok = (1..=48).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(InvalidInput::new(
            field,
            "use 1–48 characters: lowercase letters, digits, '_', '-' or '.'",
        ))
    }
}

/// A client's request id, its idempotency key: 1–64 characters of letters, digits, `_`,
/// `-` and `.`. Ids the ledger derives for extra legs contain `:`, so they never collide
/// with a client's.
pub fn check_request_id(raw: &str, field: &str) -> Result<String, InvalidInput> {
    let ok = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(InvalidInput::new(
            field,
            "use 1–64 characters: letters, digits, '_', '-' or '.'",
        ))
    }
}

/// What happens to a pending transfer nobody posted or voided by its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTimeout {
    /// A checkout hold lapses and the points return to the wallet.
    Void,
    /// Points earned on an order settle once the return window has passed.
    Post,
}

impl OnTimeout {
    pub fn as_str(self) -> &'static str {
        match self {
            OnTimeout::Void => "void",
            OnTimeout::Post => "post",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "void" => Some(OnTimeout::Void),
            "post" => Some(OnTimeout::Post),
            _ => None,
        }
    }
}

/// When a refund reverses points the member already spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shortfall {
    /// Take the missing points from the member's other points now; what is still missing
    /// is carried as a negative balance (debt) that future earnings repay.
    #[default]
    NegativeCarry,
    /// Leave the member's other points alone; the missing points become debt that only
    /// future earnings repay.
    ClawbackFuture,
}

impl Shortfall {
    pub fn as_str(self) -> &'static str {
        match self {
            Shortfall::NegativeCarry => "negative_carry",
            Shortfall::ClawbackFuture => "clawback_future",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "negative_carry" => Some(Shortfall::NegativeCarry),
            "clawback_future" => Some(Shortfall::ClawbackFuture),
            _ => None,
        }
    }
}

/// A pending deadline and what happens at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout {
    pub at: Timestamp,
    pub action: OnTimeout,
}

/// One operation on the ledger. Each becomes one or more balanced transfers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Credit a member from a source. With `pending`, the points are reserved for the
    /// member (e.g. until an order's return window passes) and become a lot when posted.
    Earn {
        member: String,
        source: String,
        amount: i64,
        lot_expires_at: Option<Timestamp>,
        pending: Option<Timeout>,
        order_id: Option<String>,
        reason: Option<String>,
    },
    /// Debit a member into a sink, oldest lots first.
    Spend {
        member: String,
        sink: String,
        amount: i64,
        order_id: Option<String>,
        reason: Option<String>,
    },
    /// Reserve points: a pending debit that is posted or voided, and at `timeout_seconds`
    /// after it is made either lapses (a checkout hold, `Void`) or settles (a points-mall
    /// redemption past its cancellation window, `Post`). The timeout is relative so that a
    /// resubmission later on is recognised as the same request.
    Hold {
        member: String,
        sink: String,
        amount: i64,
        timeout_seconds: i64,
        on_timeout: OnTimeout,
        order_id: Option<String>,
    },
    /// Settle a pending transfer, all of it or (`amount`) part of it.
    Post {
        pending_id: String,
        amount: Option<i64>,
    },
    /// Cancel a pending transfer.
    Void { pending_id: String },
    /// Expire what is left of a lot whose time has come.
    Expire { lot_id: String },
    /// Moves everything of a merged member to the survivor: open holds are voided (their
    /// points return first), pending earnings are re-made for the survivor with the same
    /// deadline, the available points move with their lots (same ids and expiries), and a
    /// debt moves too.
    Merge { from: String, into: String },
    /// Take back points a lot earned (an order refunded); what the member already spent
    /// is handled by the shortfall policy.
    Reverse {
        lot_id: String,
        amount: i64,
        shortfall: Shortfall,
        reason: Option<String>,
    },
}

impl Operation {
    pub fn kind(&self) -> &'static str {
        match self {
            Operation::Earn { .. } => "earn",
            Operation::Spend { .. } => "spend",
            Operation::Hold { .. } => "hold",
            Operation::Post { .. } => "post",
            Operation::Void { .. } => "void",
            Operation::Expire { .. } => "expire",
            Operation::Reverse { .. } => "reverse",
            Operation::Merge { .. } => "merge",
        }
    }

    /// The member whose wallet an earn, spend or hold books to, to be replaced by the
    /// live member when the named one has been merged.
    pub fn booked_member_mut(&mut self) -> Option<&mut String> {
        match self {
            Operation::Earn { member, .. }
            | Operation::Spend { member, .. }
            | Operation::Hold { member, .. } => Some(member),
            _ => None,
        }
    }

    /// The member the operation names directly, if any.
    pub fn member(&self) -> Option<&str> {
        match self {
            Operation::Earn { member, .. }
            | Operation::Spend { member, .. }
            | Operation::Hold { member, .. } => Some(member),
            Operation::Merge { into, .. } => Some(into),
            _ => None,
        }
    }

    /// A digest of every field, so a resubmitted id can be told apart from a reused one.
    pub fn fingerprint(&self) -> String {
        fn opt<T: fmt::Display>(v: &Option<T>) -> String {
            v.as_ref().map(|v| v.to_string()).unwrap_or_default()
        }
        fn ts(v: &Option<Timestamp>) -> String {
            v.map(|t| t.millis().to_string()).unwrap_or_default()
        }
        let canonical = match self {
            Operation::Earn {
                member,
                source,
                amount,
                lot_expires_at,
                pending,
                order_id,
                reason,
            } => format!(
                "earn\u{1f}{member}\u{1f}{source}\u{1f}{amount}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
                ts(lot_expires_at),
                ts(&pending.map(|p| p.at)),
                pending.map(|p| p.action.as_str()).unwrap_or(""),
                opt(order_id),
                opt(reason)
            ),
            Operation::Spend {
                member,
                sink,
                amount,
                order_id,
                reason,
            } => format!(
                "spend\u{1f}{member}\u{1f}{sink}\u{1f}{amount}\u{1f}{}\u{1f}{}",
                opt(order_id),
                opt(reason)
            ),
            Operation::Hold {
                member,
                sink,
                amount,
                timeout_seconds,
                on_timeout,
                order_id,
            } => format!(
                "hold\u{1f}{member}\u{1f}{sink}\u{1f}{amount}\u{1f}{timeout_seconds}\u{1f}{}\u{1f}{}",
                on_timeout.as_str(),
                opt(order_id)
            ),
            Operation::Post { pending_id, amount } => {
                format!("post\u{1f}{pending_id}\u{1f}{}", opt(amount))
            }
            Operation::Void { pending_id } => format!("void\u{1f}{pending_id}"),
            Operation::Expire { lot_id } => format!("expire\u{1f}{lot_id}"),
            Operation::Merge { from, into } => format!("merge\u{1f}{from}\u{1f}{into}"),
            Operation::Reverse {
                lot_id,
                amount,
                shortfall,
                reason,
            } => format!(
                "reverse\u{1f}{lot_id}\u{1f}{amount}\u{1f}{}\u{1f}{}",
                shortfall.as_str(),
                opt(reason)
            ),
        };
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }
}

/// An operation with its id; `linked` chains it to the next request of the batch so that
/// the chain succeeds or fails as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: String,
    pub linked: bool,
    pub op: Operation,
}

/// Where a transfer stands in the two-phase protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Single,
    Pending,
    Post,
    Void,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Single => "single",
            Phase::Pending => "pending",
            Phase::Post => "post",
            Phase::Void => "void",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "single" => Some(Phase::Single),
            "pending" => Some(Phase::Pending),
            "post" => Some(Phase::Post),
            "void" => Some(Phase::Void),
            _ => None,
        }
    }
}

/// An immutable, balanced movement of points. A request's first leg carries the request
/// id; further legs (debt, repayment, inline expiry) carry `<request id>:<what>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: String,
    pub op_id: String,
    /// What the leg does: `earn`, `spend`, `hold`, `post`, `void`, `expire`, `reverse`,
    /// `carry`, `debt`, `repay`.
    pub kind: &'static str,
    pub debit: AccountCode,
    pub credit: AccountCode,
    pub amount: i64,
    pub phase: Phase,
    pub pending_id: Option<String>,
    pub lot_id: Option<String>,
    pub order_id: Option<String>,
    pub reason: Option<String>,
    pub created_at: Timestamp,
}

impl Transfer {
    /// The member whose account the transfer touches (a transfer never joins two).
    pub fn member(&self) -> Option<&str> {
        self.debit.member().or(self.credit.member())
    }
}

/// Points credited to a wallet by one earning, spent oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub id: String,
    pub member: String,
    pub source: String,
    pub amount: i64,
    pub remaining: i64,
    pub reversed: i64,
    pub expired: i64,
    pub earned_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub order_id: Option<String>,
}

impl Lot {
    fn is_due(&self, now: Timestamp) -> bool {
        self.remaining > 0 && self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A two-phase transfer and its resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: String,
    pub debit: AccountCode,
    pub credit: AccountCode,
    pub amount: i64,
    pub state: PendingState,
    pub timeout: Timeout,
    /// For pending earnings: when the lot made at posting expires.
    pub lot_expires_at: Option<Timestamp>,
    pub order_id: Option<String>,
    pub created_at: Timestamp,
    pub resolved_amount: i64,
    pub resolved_at: Option<Timestamp>,
    /// For holds: the lots the held points came from, in the order taken.
    pub uses: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingState {
    Pending,
    Posted,
    Voided,
}

impl PendingState {
    pub fn as_str(self) -> &'static str {
        match self {
            PendingState::Pending => "pending",
            PendingState::Posted => "posted",
            PendingState::Voided => "voided",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(PendingState::Pending),
            "posted" => Some(PendingState::Posted),
            "voided" => Some(PendingState::Voided),
            _ => None,
        }
    }
}

/// Why a request failed. The codes are part of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerError {
    AmountMustBePositive,
    InsufficientPoints,
    ExistsWithDifferentFields,
    PendingNotFound,
    PendingAlreadyPosted,
    PendingAlreadyVoided,
    PendingExpired,
    PostExceedsPending,
    LotNotFound,
    LotNotDue,
    NothingToExpire,
    ReversalExceedsEarned,
    LinkedEventFailed,
    LinkedChainOpen,
    TimeoutInPast,
}

impl LedgerError {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerError::AmountMustBePositive => "amount_must_be_positive",
            LedgerError::InsufficientPoints => "insufficient_points",
            LedgerError::ExistsWithDifferentFields => "exists_with_different_fields",
            LedgerError::PendingNotFound => "pending_not_found",
            LedgerError::PendingAlreadyPosted => "pending_already_posted",
            LedgerError::PendingAlreadyVoided => "pending_already_voided",
            LedgerError::PendingExpired => "pending_expired",
            LedgerError::PostExceedsPending => "post_exceeds_pending",
            LedgerError::LotNotFound => "lot_not_found",
            LedgerError::LotNotDue => "lot_not_due",
            LedgerError::NothingToExpire => "nothing_to_expire",
            LedgerError::ReversalExceedsEarned => "reversal_exceeds_earned",
            LedgerError::LinkedEventFailed => "linked_event_failed",
            LedgerError::LinkedChainOpen => "linked_chain_open",
            LedgerError::TimeoutInPast => "timeout_in_past",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        ALL_ERRORS.iter().copied().find(|e| e.as_str() == raw)
    }

    /// Failures that say nothing about the request itself are not remembered, so the
    /// same id may be tried again (a chain that failed because of another member, or a
    /// reused id).
    pub fn is_remembered(self) -> bool {
        !matches!(
            self,
            LedgerError::LinkedEventFailed | LedgerError::ExistsWithDifferentFields
        )
    }

    pub fn message(self) -> &'static str {
        match self {
            LedgerError::AmountMustBePositive => "amount must be a positive whole number of points",
            LedgerError::InsufficientPoints => "the member does not have enough available points",
            LedgerError::ExistsWithDifferentFields => {
                "this id was already used for a different request; use a new id"
            }
            LedgerError::PendingNotFound => "no pending transfer has this id",
            LedgerError::PendingAlreadyPosted => "the pending transfer was already posted",
            LedgerError::PendingAlreadyVoided => "the pending transfer was already voided",
            LedgerError::PendingExpired => "the hold has timed out and its points were returned",
            LedgerError::PostExceedsPending => "cannot post more than the pending amount",
            LedgerError::LotNotFound => "no lot has this id",
            LedgerError::LotNotDue => "the lot has not reached its expiry",
            LedgerError::NothingToExpire => "the lot has no points left to expire",
            LedgerError::ReversalExceedsEarned => {
                "cannot reverse more points than the lot earned and has not reversed"
            }
            LedgerError::LinkedEventFailed => "another request of the linked chain failed",
            LedgerError::LinkedChainOpen => "the last request of a batch cannot be linked",
            LedgerError::TimeoutInPast => "the timeout must be in the future",
        }
    }
}

const ALL_ERRORS: [LedgerError; 15] = [
    LedgerError::AmountMustBePositive,
    LedgerError::InsufficientPoints,
    LedgerError::ExistsWithDifferentFields,
    LedgerError::PendingNotFound,
    LedgerError::PendingAlreadyPosted,
    LedgerError::PendingAlreadyVoided,
    LedgerError::PendingExpired,
    LedgerError::PostExceedsPending,
    LedgerError::LotNotFound,
    LedgerError::LotNotDue,
    LedgerError::NothingToExpire,
    LedgerError::ReversalExceedsEarned,
    LedgerError::LinkedEventFailed,
    LedgerError::LinkedChainOpen,
    LedgerError::TimeoutInPast,
];

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
