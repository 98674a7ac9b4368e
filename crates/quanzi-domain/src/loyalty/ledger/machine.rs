//! Applies a batch of ledger requests to a working set, as one state machine step.
//!
//! Every mutation is journaled, so a linked chain that fails is rolled back to where it
//! began and leaves no trace but the failure of the request that caused it.

use std::collections::{BTreeSet, HashMap};

use super::{
    AccountCode, Balance, LedgerError, Lot, OnTimeout, Operation, Pending, PendingState, Phase,
    Request, Shortfall, Timeout, Transfer,
};
use crate::time::Timestamp;

/// What the store loaded for a batch: the member accounts, lots and pending transfers the
/// requests touch, and the outcomes of request ids seen before. Accounts missing from the
/// map are new and start at zero. `lots` must hold every open lot of every member touched,
/// every lot a request names, and every lot a named pending transfer took points from.
#[derive(Debug, Default, Clone)]
pub struct Working {
    pub accounts: HashMap<AccountCode, Balance>,
    pub lots: HashMap<String, Lot>,
    pub pendings: HashMap<String, Pending>,
    /// Request id → (fingerprint, the error it failed with, if it failed).
    pub known: HashMap<String, (String, Option<LedgerError>)>,
    /// Open lot ids per member, oldest first; built from `lots` on first use.
    by_member: HashMap<String, Vec<String>>,
    indexed: bool,
}

impl Working {
    pub fn new(
        accounts: HashMap<AccountCode, Balance>,
        lots: Vec<Lot>,
        pendings: Vec<Pending>,
        known: HashMap<String, (String, Option<LedgerError>)>,
    ) -> Self {
        Self {
            accounts,
            lots: lots.into_iter().map(|l| (l.id.clone(), l)).collect(),
            pendings: pendings.into_iter().map(|p| (p.id.clone(), p)).collect(),
            known,
            by_member: HashMap::new(),
            indexed: false,
        }
    }

    pub fn balance(&self, code: &AccountCode) -> Balance {
        self.accounts.get(code).copied().unwrap_or_default()
    }

    fn index(&mut self) {
        if self.indexed {
            return;
        }
        let mut lots: Vec<&Lot> = self.lots.values().collect();
        lots.sort_by(|a, b| (a.earned_at, &a.id).cmp(&(b.earned_at, &b.id)));
        for lot in lots {
            self.by_member
                .entry(lot.member.clone())
                .or_default()
                .push(lot.id.clone());
        }
        self.indexed = true;
    }
}

/// One request's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied now; these are its legs (none when there was nothing left to reverse).
    Created(Vec<Transfer>),
    /// Applied before with the same fields; nothing changed now.
    Exists,
    /// Refused; `replayed` when the id had already failed with this error before.
    Failed { error: LedgerError, replayed: bool },
}

/// A request as remembered for idempotency: its fingerprint and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpRecord {
    pub id: String,
    pub kind: &'static str,
    pub fingerprint: String,
    pub error: Option<LedgerError>,
    pub member: Option<String>,
    pub created_at: Timestamp,
}

/// Points taken from (positive) or given back to (negative) a lot by a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotUse {
    pub transfer_id: String,
    pub lot_id: String,
    pub amount: i64,
}

/// What to write back: new rows, and the keys of changed member accounts, lots and
/// pending transfers whose final state is in the [`Working`] set.
#[derive(Debug, Default, Clone)]
pub struct Effects {
    pub ops: Vec<OpRecord>,
    pub transfers: Vec<Transfer>,
    pub lot_uses: Vec<LotUse>,
    pub accounts: BTreeSet<AccountCode>,
    pub lots: BTreeSet<String>,
    pub pendings: BTreeSet<String>,
}

impl Effects {
    /// Adds what a later batch on the same working set did, so several batches can be
    /// written back at once.
    pub fn absorb(&mut self, later: Effects) {
        self.ops.extend(later.ops);
        self.transfers.extend(later.transfers);
        self.lot_uses.extend(later.lot_uses);
        self.accounts.extend(later.accounts);
        self.lots.extend(later.lots);
        self.pendings.extend(later.pendings);
    }
}

#[derive(Debug)]
pub struct Applied {
    pub outcomes: Vec<Outcome>,
    pub effects: Effects,
}

enum Undo {
    Account(AccountCode, Option<Balance>),
    Lot(String, Option<Lot>),
    Pending(String, Option<Pending>),
    Known(String, Option<(String, Option<LedgerError>)>),
    MemberLotsSwap(String, Option<Vec<String>>),
}

struct Mark {
    journal: usize,
    ops: usize,
    transfers: usize,
    lot_uses: usize,
}

struct Machine<'a> {
    w: &'a mut Working,
    fx: Effects,
    journal: Vec<Undo>,
    now: Timestamp,
}

/// Applies `requests` in order. Linked chains succeed or fail as one; the working set
/// holds the final state of everything named in the effects.
pub fn apply(w: &mut Working, requests: &[Request], now: Timestamp) -> Applied {
    w.index();
    let mut m = Machine {
        w,
        fx: Effects::default(),
        journal: Vec::new(),
        now,
    };
    let mut outcomes = Vec::with_capacity(requests.len());
    let mut start = 0;
    while start < requests.len() {
        let mut end = start;
        while requests[end].linked && end + 1 < requests.len() {
            end += 1;
        }
        let chain = &requests[start..=end];
        if chain[chain.len() - 1].linked {
            for (i, _) in chain.iter().enumerate() {
                let error = if i + 1 == chain.len() {
                    LedgerError::LinkedChainOpen
                } else {
                    LedgerError::LinkedEventFailed
                };
                outcomes.push(Outcome::Failed {
                    error,
                    replayed: false,
                });
            }
        } else {
            outcomes.extend(m.chain(chain));
        }
        start = end + 1;
    }
    Applied {
        outcomes,
        effects: m.fx,
    }
}

impl Machine<'_> {
    fn chain(&mut self, chain: &[Request]) -> Vec<Outcome> {
        let mark = self.mark();
        let mut outcomes = Vec::with_capacity(chain.len());
        for (i, request) in chain.iter().enumerate() {
            match self.request(request) {
                Ok(outcome) => outcomes.push(outcome),
                Err((error, replayed)) => {
                    self.rollback(mark);
                    let mut failed: Vec<Outcome> = (0..chain.len())
                        .map(|_| Outcome::Failed {
                            error: LedgerError::LinkedEventFailed,
                            replayed: false,
                        })
                        .collect();
                    failed[i] = Outcome::Failed { error, replayed };
                    if !replayed && error.is_remembered() {
                        self.remember(request, Some(error));
                    }
                    return failed;
                }
            }
        }
        outcomes
    }

    fn request(&mut self, request: &Request) -> Result<Outcome, (LedgerError, bool)> {
        let fingerprint = request.op.fingerprint();
        if let Some((known, error)) = self.w.known.get(&request.id) {
            return match (*known == fingerprint, error) {
                (false, _) => Err((LedgerError::ExistsWithDifferentFields, false)),
                (true, Some(error)) => Err((*error, true)),
                (true, None) => Ok(Outcome::Exists),
            };
        }
        let first = self.fx.transfers.len();
        self.op(&request.id, &request.op).map_err(|e| (e, false))?;
        self.remember(request, None);
        Ok(Outcome::Created(self.fx.transfers[first..].to_vec()))
    }

    fn remember(&mut self, request: &Request, error: Option<LedgerError>) {
        let fingerprint = request.op.fingerprint();
        let old = self
            .w
            .known
            .insert(request.id.clone(), (fingerprint.clone(), error));
        self.journal.push(Undo::Known(request.id.clone(), old));
        let member = request.op.member().map(str::to_owned).or_else(|| {
            self.fx.transfers.last().and_then(|t| {
                (t.op_id == request.id)
                    .then(|| t.member().map(str::to_owned))
                    .flatten()
            })
        });
        self.fx.ops.push(OpRecord {
            id: request.id.clone(),
            kind: request.op.kind(),
            fingerprint,
            error,
            member,
            created_at: self.now,
        });
    }

    fn op(&mut self, id: &str, op: &Operation) -> Result<(), LedgerError> {
        match op {
            Operation::Earn {
                member,
                source,
                amount,
                lot_expires_at,
                pending,
                order_id,
                reason,
            } => {
                positive(*amount)?;
                let wallet = AccountCode::Wallet(member.clone());
                let source = AccountCode::Source(source.clone());
                let leg = Leg::new(id, id, "earn", &source, &wallet, *amount)
                    .order(order_id)
                    .reason(reason);
                if let Some(timeout) = pending {
                    if timeout.at <= self.now {
                        return Err(LedgerError::TimeoutInPast);
                    }
                    self.account(&wallet).credits_pending += amount;
                    self.put_pending(Pending {
                        id: id.to_owned(),
                        debit: source,
                        credit: wallet,
                        amount: *amount,
                        state: PendingState::Pending,
                        timeout: *timeout,
                        lot_expires_at: *lot_expires_at,
                        order_id: order_id.clone(),
                        created_at: self.now,
                        resolved_amount: 0,
                        resolved_at: None,
                        uses: Vec::new(),
                    });
                    self.emit(leg.phase(Phase::Pending));
                } else {
                    self.account(&wallet).credits_posted += amount;
                    self.emit(leg);
                    self.new_lot(id, member, &source, *amount, *lot_expires_at, order_id);
                    self.repay(id, member, id);
                }
                Ok(())
            }
            Operation::Spend {
                member,
                sink,
                amount,
                order_id,
                reason,
            } => {
                positive(*amount)?;
                let wallet = self.funded(id, member, *amount)?;
                self.account(&wallet).debits_posted += amount;
                self.consume(member, *amount, id);
                let sink = AccountCode::Sink(sink.clone());
                self.emit(
                    Leg::new(id, id, "spend", &wallet, &sink, *amount)
                        .order(order_id)
                        .reason(reason),
                );
                Ok(())
            }
            Operation::Hold {
                member,
                sink,
                amount,
                timeout_seconds,
                on_timeout,
                order_id,
            } => {
                positive(*amount)?;
                if *timeout_seconds <= 0 {
                    return Err(LedgerError::TimeoutInPast);
                }
                let timeout_at = Timestamp::from_millis(
                    self.now
                        .millis()
                        .saturating_add(timeout_seconds.saturating_mul(1000)),
                );
                let wallet = self.funded(id, member, *amount)?;
                self.account(&wallet).debits_pending += amount;
                let uses = self.consume(member, *amount, id);
                let sink = AccountCode::Sink(sink.clone());
                self.put_pending(Pending {
                    id: id.to_owned(),
                    debit: wallet.clone(),
                    credit: sink.clone(),
                    amount: *amount,
                    state: PendingState::Pending,
                    timeout: Timeout {
                        at: timeout_at,
                        action: *on_timeout,
                    },
                    lot_expires_at: None,
                    order_id: order_id.clone(),
                    created_at: self.now,
                    resolved_amount: 0,
                    resolved_at: None,
                    uses,
                });
                self.emit(
                    Leg::new(id, id, "hold", &wallet, &sink, *amount)
                        .phase(Phase::Pending)
                        .order(order_id),
                );
                Ok(())
            }
            Operation::Post { pending_id, amount } => {
                let p = self.open_pending(pending_id)?;
                if p.timeout.action == OnTimeout::Void && self.now >= p.timeout.at {
                    return Err(LedgerError::PendingExpired);
                }
                let posted = amount.unwrap_or(p.amount);
                positive(posted)?;
                if posted > p.amount {
                    return Err(LedgerError::PostExceedsPending);
                }
                if let AccountCode::Wallet(_) = &p.debit {
                    let balance = self.account(&p.debit);
                    balance.debits_pending -= p.amount;
                    balance.debits_posted += posted;
                    self.give_back(&p.uses, p.amount - posted, id);
                }
                self.resolve(&p, PendingState::Posted, posted);
                self.emit(
                    Leg::new(id, id, "post", &p.debit, &p.credit, posted)
                        .phase(Phase::Post)
                        .pending(&p.id)
                        .order(&p.order_id),
                );
                if let AccountCode::Wallet(member) = &p.credit {
                    let balance = self.account(&p.credit);
                    balance.credits_pending -= p.amount;
                    balance.credits_posted += posted;
                    self.new_lot(
                        &p.id,
                        member,
                        &p.debit,
                        posted,
                        p.lot_expires_at,
                        &p.order_id,
                    );
                    self.repay(id, member, &p.id);
                }
                Ok(())
            }
            Operation::Void { pending_id } => {
                let p = self.open_pending(pending_id)?;
                if let AccountCode::Wallet(_) = &p.debit {
                    self.account(&p.debit).debits_pending -= p.amount;
                    self.give_back(&p.uses, p.amount, id);
                }
                if let AccountCode::Wallet(_) = &p.credit {
                    self.account(&p.credit).credits_pending -= p.amount;
                }
                self.resolve(&p, PendingState::Voided, 0);
                self.emit(
                    Leg::new(id, id, "void", &p.debit, &p.credit, p.amount)
                        .phase(Phase::Void)
                        .pending(&p.id)
                        .order(&p.order_id),
                );
                Ok(())
            }
            Operation::Expire { lot_id } => {
                let lot = self.w.lots.get(lot_id).ok_or(LedgerError::LotNotFound)?;
                if lot.expires_at.is_none_or(|at| at > self.now) {
                    return Err(LedgerError::LotNotDue);
                }
                if lot.remaining == 0 {
                    return Err(LedgerError::NothingToExpire);
                }
                self.expire_lot(id, id, lot_id);
                Ok(())
            }
            Operation::Merge { from, into } => {
                if from != into {
                    self.merge(id, from, into);
                }
                Ok(())
            }
            Operation::Reverse {
                lot_id,
                amount,
                shortfall,
                reason,
            } => {
                positive(*amount)?;
                let lot = self.w.lots.get(lot_id).ok_or(LedgerError::LotNotFound)?;
                if *amount > lot.amount - lot.reversed {
                    return Err(LedgerError::ReversalExceedsEarned);
                }
                let member = lot.member.clone();
                self.expire_due(id, &member);
                let lot = &self.w.lots[lot_id];
                // Points that expired are gone, not reversed. A hold voided after an earlier
                // reversal can return points that then expire, so what is left to reverse
                // may be less than nothing: never reverse a negative amount.
                let effective = (*amount)
                    .min(lot.amount - lot.reversed - lot.expired)
                    .max(0);
                let from_lot = effective.min(lot.remaining);
                let source = AccountCode::Source(lot.source.clone());
                let order = lot.order_id.clone();
                let wallet = AccountCode::Wallet(member.clone());
                self.lot(lot_id).reversed += effective;
                if from_lot > 0 {
                    self.account(&wallet).debits_posted += from_lot;
                    self.take_from_lot(lot_id, from_lot, id);
                    self.emit(
                        Leg::new(id, id, "reverse", &wallet, &source, from_lot)
                            .lot(lot_id)
                            .order(&order)
                            .reason(reason),
                    );
                }
                let mut missing = effective - from_lot;
                if missing > 0 && *shortfall == Shortfall::NegativeCarry {
                    let carry = missing.min(self.w.balance(&wallet).available());
                    if carry > 0 {
                        let leg_id = format!("{id}:carry");
                        self.account(&wallet).debits_posted += carry;
                        self.consume(&member, carry, &leg_id);
                        self.emit(
                            Leg::new(&leg_id, id, "carry", &wallet, &source, carry)
                                .lot(lot_id)
                                .order(&order)
                                .reason(reason),
                        );
                        missing -= carry;
                    }
                }
                if missing > 0 {
                    let debt = AccountCode::Debt(member.clone());
                    self.account(&debt).debits_posted += missing;
                    self.emit(
                        Leg::new(&format!("{id}:debt"), id, "debt", &debt, &source, missing)
                            .lot(lot_id)
                            .order(&order)
                            .reason(reason),
                    );
                }
                Ok(())
            }
        }
    }

    /// See [`Operation::Merge`]. The working set must hold both members' accounts, their
    /// open lots, and the merged member's open pending transfers.
    fn merge(&mut self, id: &str, from: &str, into: &str) {
        let from_wallet = AccountCode::Wallet(from.to_owned());
        let into_wallet = AccountCode::Wallet(into.to_owned());
        let mut open: Vec<Pending> = self
            .w
            .pendings
            .values()
            .filter(|p| {
                p.state == PendingState::Pending
                    && (p.debit == from_wallet || p.credit == from_wallet)
            })
            .cloned()
            .collect();
        open.sort_by(|a, b| a.id.cmp(&b.id));
        for p in open {
            let leg_id = format!("{id}:void:{}", p.id);
            if p.debit == from_wallet {
                self.account(&from_wallet).debits_pending -= p.amount;
                self.give_back(&p.uses, p.amount, &leg_id);
            } else {
                self.account(&from_wallet).credits_pending -= p.amount;
            }
            self.resolve(&p, PendingState::Voided, 0);
            self.emit(
                Leg::new(&leg_id, id, "void", &p.debit, &p.credit, p.amount)
                    .phase(Phase::Void)
                    .pending(&p.id)
                    .order(&p.order_id),
            );
            if p.credit == from_wallet {
                // Points earned on an order keep waiting for its return window, now for
                // the survivor.
                let again = format!("{}:merged", p.id);
                self.account(&into_wallet).credits_pending += p.amount;
                self.put_pending(Pending {
                    id: again.clone(),
                    credit: into_wallet.clone(),
                    state: PendingState::Pending,
                    created_at: self.now,
                    resolved_amount: 0,
                    resolved_at: None,
                    uses: Vec::new(),
                    ..p.clone()
                });
                self.emit(
                    Leg::new(&again, id, "earn", &p.debit, &into_wallet, p.amount)
                        .phase(Phase::Pending)
                        .order(&p.order_id),
                );
            }
        }
        let amount = self.w.balance(&from_wallet).available();
        if amount > 0 {
            self.account(&from_wallet).debits_posted += amount;
            self.account(&into_wallet).credits_posted += amount;
            let moving: Vec<String> = self
                .w
                .by_member
                .get(from)
                .into_iter()
                .flatten()
                .filter(|lot| self.w.lots[*lot].remaining > 0)
                .cloned()
                .collect();
            for lot_id in &moving {
                self.lot(lot_id).member = into.to_owned();
            }
            self.journal.push(Undo::MemberLotsSwap(
                from.to_owned(),
                self.w.by_member.get(from).cloned(),
            ));
            self.journal.push(Undo::MemberLotsSwap(
                into.to_owned(),
                self.w.by_member.get(into).cloned(),
            ));
            if let Some(list) = self.w.by_member.get_mut(from) {
                list.retain(|lot| !moving.contains(lot));
            }
            let mut merged: Vec<String> = self.w.by_member.get(into).cloned().unwrap_or_default();
            merged.extend(moving);
            let lots = &self.w.lots;
            merged.sort_by(|a, b| (lots[a].earned_at, a).cmp(&(lots[b].earned_at, b)));
            self.w.by_member.insert(into.to_owned(), merged);
            self.emit(Leg::new(
                id,
                id,
                "merge",
                &from_wallet,
                &into_wallet,
                amount,
            ));
        }
        let from_debt = AccountCode::Debt(from.to_owned());
        let owed = -self.w.balance(&from_debt).posted();
        if owed > 0 {
            let into_debt = AccountCode::Debt(into.to_owned());
            self.account(&into_debt).debits_posted += owed;
            self.account(&from_debt).credits_posted += owed;
            self.emit(Leg::new(
                &format!("{id}:debt"),
                id,
                "merge",
                &into_debt,
                &from_debt,
                owed,
            ));
        }
    }

    /// Expires the member's due lots, then checks that `amount` is available.
    fn funded(&mut self, id: &str, member: &str, amount: i64) -> Result<AccountCode, LedgerError> {
        self.expire_due(id, member);
        let wallet = AccountCode::Wallet(member.to_owned());
        if self.w.balance(&wallet).available() < amount {
            return Err(LedgerError::InsufficientPoints);
        }
        Ok(wallet)
    }

    fn open_pending(&self, pending_id: &str) -> Result<Pending, LedgerError> {
        let p = self
            .w
            .pendings
            .get(pending_id)
            .ok_or(LedgerError::PendingNotFound)?;
        match p.state {
            PendingState::Pending => Ok(p.clone()),
            PendingState::Posted => Err(LedgerError::PendingAlreadyPosted),
            PendingState::Voided => Err(LedgerError::PendingAlreadyVoided),
        }
    }

    fn resolve(&mut self, p: &Pending, state: PendingState, amount: i64) {
        let now = self.now;
        let old = self.w.pendings.get(&p.id).cloned();
        self.journal.push(Undo::Pending(p.id.clone(), old));
        let pending = self.w.pendings.get_mut(&p.id).expect("pending exists");
        pending.state = state;
        pending.resolved_amount = amount;
        pending.resolved_at = Some(now);
        self.fx.pendings.insert(p.id.clone());
    }

    /// Lots are expired before any debit, so points past their date are never spent even
    /// when the expiry job has not run yet.
    fn expire_due(&mut self, op_id: &str, member: &str) {
        let now = self.now;
        let due: Vec<String> = self
            .w
            .by_member
            .get(member)
            .into_iter()
            .flatten()
            .filter(|id| self.w.lots[*id].is_due(now))
            .cloned()
            .collect();
        for lot_id in due {
            self.expire_lot(&format!("{op_id}:expire:{lot_id}"), op_id, &lot_id);
        }
    }

    fn expire_lot(&mut self, leg_id: &str, op_id: &str, lot_id: &str) {
        let lot = &self.w.lots[lot_id];
        let amount = lot.remaining;
        let wallet = AccountCode::Wallet(lot.member.clone());
        let order = lot.order_id.clone();
        self.account(&wallet).debits_posted += amount;
        self.take_from_lot(lot_id, amount, leg_id);
        self.lot(lot_id).expired += amount;
        self.emit(
            Leg::new(
                leg_id,
                op_id,
                "expire",
                &wallet,
                &AccountCode::Expiry,
                amount,
            )
            .lot(lot_id)
            .order(&order),
        );
    }

    /// Repays the member's debt from a lot just earned, before the points can be spent.
    fn repay(&mut self, op_id: &str, member: &str, lot_id: &str) {
        let debt = AccountCode::Debt(member.to_owned());
        let owed = -self.w.balance(&debt).posted();
        let amount = owed.min(self.w.lots[lot_id].remaining);
        if amount <= 0 {
            return;
        }
        let wallet = AccountCode::Wallet(member.to_owned());
        let leg_id = format!("{op_id}:repay");
        self.account(&wallet).debits_posted += amount;
        self.account(&debt).credits_posted += amount;
        self.take_from_lot(lot_id, amount, &leg_id);
        self.emit(Leg::new(&leg_id, op_id, "repay", &wallet, &debt, amount).lot(lot_id));
    }

    fn new_lot(
        &mut self,
        id: &str,
        member: &str,
        source: &AccountCode,
        amount: i64,
        expires_at: Option<Timestamp>,
        order_id: &Option<String>,
    ) {
        let source = match source {
            AccountCode::Source(s) => s.clone(),
            other => other.to_string(),
        };
        let lot = Lot {
            id: id.to_owned(),
            member: member.to_owned(),
            source,
            amount,
            remaining: amount,
            reversed: 0,
            expired: 0,
            earned_at: self.now,
            expires_at,
            order_id: order_id.clone(),
        };
        let old = self.w.lots.insert(id.to_owned(), lot);
        self.journal.push(Undo::Lot(id.to_owned(), old));
        self.fx.lots.insert(id.to_owned());
        // Kept in (earned_at, id) order, the order the store loads them in, so a batch
        // spends the same lots whether or not its lots were made in this batch.
        let old = self.w.by_member.get(member).cloned();
        self.journal
            .push(Undo::MemberLotsSwap(member.to_owned(), old));
        let now = self.now;
        let lots = &self.w.lots;
        let list = self.w.by_member.entry(member.to_owned()).or_default();
        let at = list.partition_point(|other| (lots[other].earned_at, other.as_str()) < (now, id));
        list.insert(at, id.to_owned());
    }

    /// Takes `amount` from the member's lots, oldest first, and says which it used.
    fn consume(&mut self, member: &str, amount: i64, transfer_id: &str) -> Vec<(String, i64)> {
        let ids: Vec<String> = self.w.by_member.get(member).cloned().unwrap_or_default();
        let mut left = amount;
        let mut uses = Vec::new();
        for lot_id in ids {
            if left == 0 {
                break;
            }
            let take = left.min(self.w.lots[&lot_id].remaining);
            if take > 0 {
                self.take_from_lot(&lot_id, take, transfer_id);
                uses.push((lot_id, take));
                left -= take;
            }
        }
        debug_assert_eq!(left, 0, "open lots must cover the available balance");
        uses
    }

    /// Returns `amount` of a hold to the lots it came from, the last taken first.
    fn give_back(&mut self, uses: &[(String, i64)], amount: i64, transfer_id: &str) {
        let mut left = amount;
        for (lot_id, used) in uses.iter().rev() {
            if left == 0 {
                break;
            }
            let back = left.min(*used);
            self.take_from_lot(lot_id, -back, transfer_id);
            left -= back;
        }
    }

    fn take_from_lot(&mut self, lot_id: &str, amount: i64, transfer_id: &str) {
        self.lot(lot_id).remaining -= amount;
        self.fx.lot_uses.push(LotUse {
            transfer_id: transfer_id.to_owned(),
            lot_id: lot_id.to_owned(),
            amount,
        });
    }

    fn account(&mut self, code: &AccountCode) -> &mut Balance {
        let old = self.w.accounts.get(code).copied();
        self.journal.push(Undo::Account(code.clone(), old));
        self.fx.accounts.insert(code.clone());
        self.w.accounts.entry(code.clone()).or_default()
    }

    fn lot(&mut self, lot_id: &str) -> &mut Lot {
        let old = self.w.lots.get(lot_id).cloned();
        self.journal.push(Undo::Lot(lot_id.to_owned(), old));
        self.fx.lots.insert(lot_id.to_owned());
        self.w.lots.get_mut(lot_id).expect("lot exists")
    }

    fn put_pending(&mut self, pending: Pending) {
        let id = pending.id.clone();
        let old = self.w.pendings.insert(id.clone(), pending);
        self.journal.push(Undo::Pending(id.clone(), old));
        self.fx.pendings.insert(id);
    }

    fn emit(&mut self, leg: Leg) {
        self.fx.transfers.push(Transfer {
            id: leg.id,
            op_id: leg.op_id,
            kind: leg.kind,
            debit: leg.debit,
            credit: leg.credit,
            amount: leg.amount,
            phase: leg.phase,
            pending_id: leg.pending_id,
            lot_id: leg.lot_id,
            order_id: leg.order_id,
            reason: leg.reason,
            created_at: self.now,
        });
    }

    fn mark(&self) -> Mark {
        Mark {
            journal: self.journal.len(),
            ops: self.fx.ops.len(),
            transfers: self.fx.transfers.len(),
            lot_uses: self.fx.lot_uses.len(),
        }
    }

    fn rollback(&mut self, mark: Mark) {
        while self.journal.len() > mark.journal {
            match self.journal.pop().expect("journal entry") {
                Undo::Account(code, old) => restore(&mut self.w.accounts, code, old),
                Undo::Lot(id, old) => restore(&mut self.w.lots, id, old),
                Undo::Pending(id, old) => restore(&mut self.w.pendings, id, old),
                Undo::Known(id, old) => restore(&mut self.w.known, id, old),
                Undo::MemberLotsSwap(member, old) => restore(&mut self.w.by_member, member, old),
            }
        }
        self.fx.ops.truncate(mark.ops);
        self.fx.transfers.truncate(mark.transfers);
        self.fx.lot_uses.truncate(mark.lot_uses);
    }
}

fn restore<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, old: Option<V>) {
    match old {
        Some(value) => {
            map.insert(key, value);
        }
        None => {
            map.remove(&key);
        }
    }
}

fn positive(amount: i64) -> Result<(), LedgerError> {
    if amount > 0 {
        Ok(())
    } else {
        Err(LedgerError::AmountMustBePositive)
    }
}

/// A transfer being described, before it is stamped with the batch's time.
struct Leg {
    id: String,
    op_id: String,
    kind: &'static str,
    debit: AccountCode,
    credit: AccountCode,
    amount: i64,
    phase: Phase,
    pending_id: Option<String>,
    lot_id: Option<String>,
    order_id: Option<String>,
    reason: Option<String>,
}

impl Leg {
    fn new(
        id: &str,
        op_id: &str,
        kind: &'static str,
        debit: &AccountCode,
        credit: &AccountCode,
        amount: i64,
    ) -> Self {
        Self {
            id: id.to_owned(),
            op_id: op_id.to_owned(),
            kind,
            debit: debit.clone(),
            credit: credit.clone(),
            amount,
            phase: Phase::Single,
            pending_id: None,
            lot_id: None,
            order_id: None,
            reason: None,
        }
    }

    fn phase(mut self, phase: Phase) -> Self {
        self.phase = phase;
        self
    }

    fn pending(mut self, id: &str) -> Self {
        self.pending_id = Some(id.to_owned());
        self
    }

    fn lot(mut self, id: &str) -> Self {
        self.lot_id = Some(id.to_owned());
        self
    }

    fn order(mut self, order: &Option<String>) -> Self {
        self.order_id = order.clone();
        self
    }

    fn reason(mut self, reason: &Option<String>) -> Self {
        self.reason = reason.clone();
        self
    }
}
