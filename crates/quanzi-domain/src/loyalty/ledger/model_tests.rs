//! The ledger against a deliberately simple model: lots in a vector, rollback by cloning,
//! no journal and no double entry. Random batches must give the same outcomes and the
//! same balances, and the ledger's own books must balance after every batch.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

const MEMBERS: [&str; 3] = ["m1", "m2", "m3"];
const T0: i64 = 1_000_000;

#[derive(Debug, Clone)]
struct MLot {
    id: String,
    member: String,
    earned_at: i64,
    amount: i64,
    remaining: i64,
    reversed: i64,
    expired: i64,
    expires_at: Option<i64>,
}

#[derive(Debug, Clone)]
struct MPending {
    member: String,
    amount: i64,
    hold: bool,
    timeout_at: i64,
    lot_expires_at: Option<i64>,
    open: bool,
    posted: bool,
    uses: Vec<(usize, i64)>,
}

#[derive(Debug, Clone, Default)]
struct Model {
    lots: Vec<MLot>,
    pendings: HashMap<String, MPending>,
    debt: HashMap<String, i64>,
    seen: HashMap<String, (Operation, Option<LedgerError>)>,
}

impl Model {
    fn available(&self, member: &str) -> i64 {
        self.lots
            .iter()
            .filter(|l| l.member == member)
            .map(|l| l.remaining)
            .sum()
    }

    fn held(&self, member: &str) -> i64 {
        self.pendings
            .values()
            .filter(|p| p.open && p.hold && p.member == member)
            .map(|p| p.amount)
            .sum()
    }

    fn expire_due(&mut self, member: &str, now: i64) {
        for lot in self.lots.iter_mut().filter(|l| l.member == member) {
            if lot.expires_at.is_some_and(|at| at <= now) {
                lot.expired += lot.remaining;
                lot.remaining = 0;
            }
        }
    }

    /// Oldest first: by when earned, then by id.
    fn take(&mut self, member: &str, mut amount: i64) -> Vec<(usize, i64)> {
        let mut order: Vec<usize> = (0..self.lots.len()).collect();
        order.sort_by(|&a, &b| {
            (self.lots[a].earned_at, &self.lots[a].id)
                .cmp(&(self.lots[b].earned_at, &self.lots[b].id))
        });
        let mut uses = Vec::new();
        for i in order {
            let lot = &mut self.lots[i];
            if lot.member == member && amount > 0 {
                let t = amount.min(lot.remaining);
                lot.remaining -= t;
                amount -= t;
                if t > 0 {
                    uses.push((i, t));
                }
            }
        }
        uses
    }

    fn earn(&mut self, id: &str, member: &str, amount: i64, expires_at: Option<i64>, now: i64) {
        let debt = self.debt.entry(member.to_owned()).or_default();
        let repay = (*debt).min(amount);
        *debt -= repay;
        self.lots.push(MLot {
            id: id.to_owned(),
            member: member.to_owned(),
            earned_at: now,
            amount,
            remaining: amount - repay,
            reversed: 0,
            expired: 0,
            expires_at,
        });
    }

    fn batch(&mut self, requests: &[Request], now: i64) -> Vec<Result<(), LedgerError>> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < requests.len() {
            let mut end = start;
            while requests[end].linked && end + 1 < requests.len() {
                end += 1;
            }
            let chain = &requests[start..=end];
            if chain.last().unwrap().linked {
                for i in 0..chain.len() {
                    out.push(Err(if i + 1 == chain.len() {
                        LedgerError::LinkedChainOpen
                    } else {
                        LedgerError::LinkedEventFailed
                    }));
                }
            } else {
                let saved = self.clone();
                let mut results = Vec::new();
                for r in chain {
                    let result = self.request(r, now);
                    let failed = result.is_err();
                    results.push(result);
                    if failed {
                        break;
                    }
                }
                if let Some(Err(e)) = results.last().cloned() {
                    *self = saved;
                    let bad = results.len() - 1;
                    let req = &chain[bad];
                    let replay =
                        matches!(self.seen.get(&req.id), Some((op, Some(_))) if *op == req.op);
                    if !replay && e.is_remembered() {
                        self.seen.insert(req.id.clone(), (req.op.clone(), Some(e)));
                    }
                    for i in 0..chain.len() {
                        out.push(Err(if i == bad {
                            e
                        } else {
                            LedgerError::LinkedEventFailed
                        }));
                    }
                } else {
                    out.extend(results);
                }
            }
            start = end + 1;
        }
        out
    }

    fn request(&mut self, r: &Request, now: i64) -> Result<(), LedgerError> {
        if let Some((op, error)) = self.seen.get(&r.id) {
            if *op != r.op {
                return Err(LedgerError::ExistsWithDifferentFields);
            }
            return error.map_or(Ok(()), Err);
        }
        self.op(&r.id, &r.op, now)?;
        self.seen.insert(r.id.clone(), (r.op.clone(), None));
        Ok(())
    }

    fn op(&mut self, id: &str, op: &Operation, now: i64) -> Result<(), LedgerError> {
        use LedgerError as E;
        match op {
            Operation::Earn {
                member,
                amount,
                lot_expires_at,
                pending,
                ..
            } => {
                if *amount <= 0 {
                    return Err(E::AmountMustBePositive);
                }
                let exp = lot_expires_at.map(|t| t.millis());
                match pending {
                    Some(t) if t.at.millis() <= now => return Err(E::TimeoutInPast),
                    Some(t) => {
                        self.pendings.insert(
                            id.into(),
                            MPending {
                                member: member.clone(),
                                amount: *amount,
                                hold: false,
                                timeout_at: t.at.millis(),
                                lot_expires_at: exp,
                                open: true,
                                posted: false,
                                uses: vec![],
                            },
                        );
                    }
                    None => self.earn(id, member, *amount, exp, now),
                }
                Ok(())
            }
            Operation::Spend { member, amount, .. } | Operation::Hold { member, amount, .. } => {
                if *amount <= 0 {
                    return Err(E::AmountMustBePositive);
                }
                if let Operation::Hold {
                    timeout_seconds, ..
                } = op
                {
                    if *timeout_seconds <= 0 {
                        return Err(E::TimeoutInPast);
                    }
                }
                self.expire_due(member, now);
                if self.available(member) < *amount {
                    return Err(E::InsufficientPoints);
                }
                let uses = self.take(member, *amount);
                if let Operation::Hold {
                    timeout_seconds, ..
                } = op
                {
                    self.pendings.insert(
                        id.into(),
                        MPending {
                            member: member.clone(),
                            amount: *amount,
                            hold: true,
                            timeout_at: now + timeout_seconds * 1000,
                            lot_expires_at: None,
                            open: true,
                            posted: false,
                            uses,
                        },
                    );
                }
                Ok(())
            }
            Operation::Post { pending_id, .. } | Operation::Void { pending_id } => {
                let posting = matches!(op, Operation::Post { .. });
                let p = self
                    .pendings
                    .get(pending_id)
                    .cloned()
                    .ok_or(E::PendingNotFound)?;
                if !p.open {
                    return Err(if p.posted {
                        E::PendingAlreadyPosted
                    } else {
                        E::PendingAlreadyVoided
                    });
                }
                let amount = if let Operation::Post { amount, .. } = op {
                    *amount
                } else {
                    None
                };
                if posting {
                    if p.hold && now >= p.timeout_at {
                        return Err(E::PendingExpired);
                    }
                    let posted = amount.unwrap_or(p.amount);
                    if posted <= 0 {
                        return Err(E::AmountMustBePositive);
                    }
                    if posted > p.amount {
                        return Err(E::PostExceedsPending);
                    }
                    if p.hold {
                        self.give_back(&p.uses, p.amount - posted);
                    } else {
                        self.earn(pending_id, &p.member, posted, p.lot_expires_at, now);
                    }
                } else if p.hold {
                    self.give_back(&p.uses, p.amount);
                }
                let p = self.pendings.get_mut(pending_id).unwrap();
                p.open = false;
                p.posted = posting;
                Ok(())
            }
            Operation::Expire { lot_id } => {
                let lot = self
                    .lots
                    .iter_mut()
                    .find(|l| &l.id == lot_id)
                    .ok_or(E::LotNotFound)?;
                if lot.expires_at.is_none_or(|at| at > now) {
                    return Err(E::LotNotDue);
                }
                if lot.remaining == 0 {
                    return Err(E::NothingToExpire);
                }
                lot.expired += lot.remaining;
                lot.remaining = 0;
                Ok(())
            }
            Operation::Merge { from, into } => {
                if from == into {
                    return Ok(());
                }
                let mut open: Vec<String> = self
                    .pendings
                    .iter()
                    .filter(|(_, p)| p.open && &p.member == from)
                    .map(|(id, _)| id.clone())
                    .collect();
                open.sort();
                for pid in open {
                    let p = self.pendings[&pid].clone();
                    if p.hold {
                        self.give_back(&p.uses, p.amount);
                    } else {
                        let mut again = p.clone();
                        again.member = into.clone();
                        self.pendings.insert(format!("{pid}:merged"), again);
                    }
                    let p = self.pendings.get_mut(&pid).unwrap();
                    p.open = false;
                    p.posted = false;
                }
                for lot in self
                    .lots
                    .iter_mut()
                    .filter(|l| &l.member == from && l.remaining > 0)
                {
                    lot.member = into.clone();
                }
                let owed = self.debt.remove(from).unwrap_or(0);
                *self.debt.entry(into.clone()).or_default() += owed;
                Ok(())
            }
            Operation::Reverse {
                lot_id,
                amount,
                shortfall,
                ..
            } => {
                if *amount <= 0 {
                    return Err(E::AmountMustBePositive);
                }
                let i = self
                    .lots
                    .iter()
                    .position(|l| &l.id == lot_id)
                    .ok_or(E::LotNotFound)?;
                if *amount > self.lots[i].amount - self.lots[i].reversed {
                    return Err(E::ReversalExceedsEarned);
                }
                let member = self.lots[i].member.clone();
                self.expire_due(&member, now);
                let lot = &mut self.lots[i];
                let effective = (*amount)
                    .min(lot.amount - lot.reversed - lot.expired)
                    .max(0);
                let from_lot = effective.min(lot.remaining);
                lot.remaining -= from_lot;
                lot.reversed += effective;
                let mut missing = effective - from_lot;
                if *shortfall == Shortfall::NegativeCarry {
                    let carry = missing.min(self.available(&member));
                    self.take(&member, carry);
                    missing -= carry;
                }
                *self.debt.entry(member).or_default() += missing;
                Ok(())
            }
        }
    }

    fn give_back(&mut self, uses: &[(usize, i64)], amount: i64) {
        let mut left = amount;
        for (i, used) in uses.iter().rev() {
            let back = left.min(*used);
            self.lots[*i].remaining += back;
            left -= back;
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    Batch(Vec<(u8, bool, u8, i64, u8)>),
    Advance(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => prop::collection::vec((0u8..10, prop::bool::weighted(0.15), 0u8..8, -2i64..120, 0u8..4), 1..6).prop_map(Step::Batch),
        1 => (1i64..40).prop_map(Step::Advance),
    ]
}

/// Builds a request from random numbers, referring back to ids made earlier so that
/// posts, voids, expiries, reversals and resubmissions hit real targets.
fn request(
    seed: (u8, bool, u8, i64, u8),
    n: usize,
    now: i64,
    made: &[Request],
    lots: &[String],
) -> Request {
    let (kind, linked, pick, amount, variant) = seed;
    let member = MEMBERS[pick as usize % MEMBERS.len()].to_owned();
    let pick_from = |v: &[String]| {
        v.get(pick as usize % v.len().max(1))
            .cloned()
            .unwrap_or_else(|| "nope".into())
    };
    let pendings: Vec<String> = made
        .iter()
        .filter(|r| {
            matches!(
                r.op,
                Operation::Hold { .. }
                    | Operation::Earn {
                        pending: Some(_),
                        ..
                    }
            )
        })
        .map(|r| r.id.clone())
        .collect();
    let ts = |d: i64| Some(Timestamp::from_millis(now + d));
    let op = match kind {
        0 | 1 => Operation::Earn {
            member,
            source: format!("s{variant}"),
            amount,
            lot_expires_at: if variant % 2 == 0 {
                ts((10 + amount % 30) * 1000)
            } else {
                None
            },
            pending: (variant == 3).then(|| Timeout {
                at: Timestamp::from_millis(now + (5 + amount % 20) * 1000),
                action: OnTimeout::Post,
            }),
            order_id: None,
            reason: None,
        },
        2 => Operation::Spend {
            member,
            sink: "mall".into(),
            amount,
            order_id: None,
            reason: None,
        },
        3 => Operation::Hold {
            member,
            sink: "checkout".into(),
            amount,
            timeout_seconds: (variant as i64) * 7 - 1,
            on_timeout: OnTimeout::Void,
            order_id: None,
        },
        4 => Operation::Post {
            pending_id: pick_from(&pendings),
            amount: (variant > 1).then_some(amount),
        },
        5 => Operation::Void {
            pending_id: pick_from(&pendings),
        },
        6 => Operation::Expire {
            lot_id: pick_from(lots),
        },
        7 => Operation::Reverse {
            lot_id: pick_from(lots),
            amount,
            shortfall: if variant % 2 == 0 {
                Shortfall::NegativeCarry
            } else {
                Shortfall::ClawbackFuture
            },
            reason: None,
        },
        8 => Operation::Merge {
            from: member,
            into: MEMBERS[(pick as usize + 1 + variant as usize % 2) % MEMBERS.len()].to_owned(),
        },
        _ => {
            // Resubmit an earlier request, sometimes with other fields.
            if let Some(old) = made.get(pick as usize % made.len().max(1)) {
                let mut again = old.clone();
                again.linked = linked;
                if variant == 0 {
                    again.op = Operation::Void {
                        pending_id: "changed".into(),
                    };
                }
                return again;
            }
            Operation::Spend {
                member,
                sink: "mall".into(),
                amount,
                order_id: None,
                reason: None,
            }
        }
    };
    Request {
        id: format!("r{n}"),
        linked,
        op,
    }
}

/// Balances recomputed from the transfers alone.
fn replay(
    transfers: &[Transfer],
    pending_amounts: &HashMap<String, i64>,
) -> HashMap<AccountCode, Balance> {
    let mut books: HashMap<AccountCode, Balance> = HashMap::new();
    for t in transfers {
        match t.phase {
            Phase::Single => {
                books.entry(t.debit.clone()).or_default().debits_posted += t.amount;
                books.entry(t.credit.clone()).or_default().credits_posted += t.amount;
            }
            Phase::Pending => {
                books.entry(t.debit.clone()).or_default().debits_pending += t.amount;
                books.entry(t.credit.clone()).or_default().credits_pending += t.amount;
            }
            Phase::Post | Phase::Void => {
                let held = pending_amounts[t.pending_id.as_ref().unwrap()];
                let d = books.entry(t.debit.clone()).or_default();
                d.debits_pending -= held;
                let c = books.entry(t.credit.clone()).or_default();
                c.credits_pending -= held;
                if t.phase == Phase::Post {
                    books.get_mut(&t.debit).unwrap().debits_posted += t.amount;
                    books.get_mut(&t.credit).unwrap().credits_posted += t.amount;
                }
            }
        }
    }
    books
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn random_batches_match_the_model_and_the_books_balance(steps in prop::collection::vec(step(), 1..40)) {
        let mut working = Working::default();
        let mut model = Model::default();
        let mut now = T0;
        let mut made: Vec<Request> = Vec::new();
        let mut all: Vec<Transfer> = Vec::new();
        let mut n = 0;
        for step in steps {
            match step {
                Step::Advance(by) => now += by * 1000,
                Step::Batch(seeds) => {
                    let lots: Vec<String> = model.lots.iter().map(|l| l.id.clone()).collect();
                    let batch: Vec<Request> = seeds.into_iter().map(|s| { n += 1; request(s, n, now, &made, &lots) }).collect();
                    let expected = model.batch(&batch, now);
                    let applied = apply(&mut working, &batch, Timestamp::from_millis(now));
                    for (i, (want, got)) in expected.iter().zip(&applied.outcomes).enumerate() {
                        let got = match got {
                            Outcome::Created(_) | Outcome::Exists => Ok(()),
                            Outcome::Failed { error, .. } => Err(*error),
                        };
                        prop_assert_eq!(want, &got, "request {} of {:?}", i, batch);
                    }
                    for t in &applied.effects.transfers {
                        prop_assert!(t.amount > 0, "{:?}", t);
                        prop_assert_ne!(&t.debit, &t.credit);
                    }
                    all.extend(applied.effects.transfers.iter().cloned());
                    made.extend(batch);
                }
            }
            let pending_amounts: HashMap<String, i64> = working.pendings.values().map(|p| (p.id.clone(), p.amount)).collect();
            let books = replay(&all, &pending_amounts);
            let (mut posted, mut pending) = (0i64, 0i64);
            for (code, b) in &books {
                posted += b.credits_posted - b.debits_posted;
                pending += b.credits_pending - b.debits_pending;
                if code.member().is_some() {
                    prop_assert_eq!(*b, working.balance(code), "{} counters differ from its transfers", code);
                }
            }
            prop_assert_eq!(posted, 0);
            prop_assert_eq!(pending, 0);
            for m in MEMBERS {
                let wallet = working.balance(&AccountCode::Wallet(m.into()));
                prop_assert!(wallet.available() >= 0);
                prop_assert!(wallet.debits_pending >= 0 && wallet.credits_pending >= 0);
                prop_assert_eq!(wallet.available(), model.available(m), "member {}", m);
                prop_assert_eq!(wallet.debits_pending, model.held(m));
                let open: i64 = working.lots.values().filter(|l| l.member == m).map(|l| l.remaining).sum();
                prop_assert_eq!(open, wallet.available(), "lots of {} must cover its balance", m);
                let debt = -working.balance(&AccountCode::Debt(m.into())).posted();
                prop_assert_eq!(debt, model.debt.get(m).copied().unwrap_or(0));
            }
        }
    }
}

fn earn(id: &str, member: &str, amount: i64) -> Request {
    Request {
        id: id.into(),
        linked: false,
        op: Operation::Earn {
            member: member.into(),
            source: "checkin".into(),
            amount,
            lot_expires_at: None,
            pending: None,
            order_id: None,
            reason: None,
        },
    }
}

fn spend(id: &str, member: &str, amount: i64) -> Request {
    Request {
        id: id.into(),
        linked: false,
        op: Operation::Spend {
            member: member.into(),
            sink: "mall".into(),
            amount,
            order_id: None,
            reason: None,
        },
    }
}

#[test]
fn a_failed_id_stays_failed_even_when_points_arrive_later() {
    let mut w = Working::default();
    let now = Timestamp::from_millis(T0);
    let first = apply(&mut w, &[spend("s1", "m1", 50)], now);
    assert_eq!(
        first.outcomes[0],
        Outcome::Failed {
            error: LedgerError::InsufficientPoints,
            replayed: false
        }
    );
    apply(&mut w, &[earn("e1", "m1", 100)], now);
    let again = apply(&mut w, &[spend("s1", "m1", 50)], now);
    assert_eq!(
        again.outcomes[0],
        Outcome::Failed {
            error: LedgerError::InsufficientPoints,
            replayed: true
        }
    );
    assert_eq!(
        w.balance(&AccountCode::Wallet("m1".into())).available(),
        100
    );
}

#[test]
fn a_linked_chain_leaves_nothing_behind_when_one_part_fails() {
    let mut w = Working::default();
    let now = Timestamp::from_millis(T0);
    apply(&mut w, &[earn("e1", "m1", 100)], now);
    let mut a = spend("a", "m1", 60);
    a.linked = true;
    let b = spend("b", "m1", 60);
    let out = apply(&mut w, &[a, b], now);
    assert_eq!(
        out.outcomes[0],
        Outcome::Failed {
            error: LedgerError::LinkedEventFailed,
            replayed: false
        }
    );
    assert_eq!(
        out.outcomes[1],
        Outcome::Failed {
            error: LedgerError::InsufficientPoints,
            replayed: false
        }
    );
    assert!(out.effects.transfers.is_empty());
    assert_eq!(
        w.balance(&AccountCode::Wallet("m1".into())).available(),
        100
    );
    assert_eq!(w.lots["e1"].remaining, 100);
    // The chain's other member may be retried; the failing one is remembered.
    assert_eq!(out.effects.ops.len(), 1);
    assert_eq!(out.effects.ops[0].id, "b");
}

#[test]
fn a_partial_post_returns_the_rest_to_the_newest_lot_taken() {
    let mut w = Working::default();
    let now = Timestamp::from_millis(T0);
    apply(&mut w, &[earn("old", "m1", 30)], now);
    apply(
        &mut w,
        &[earn("new", "m1", 30)],
        Timestamp::from_millis(T0 + 1),
    );
    let hold = Request {
        id: "h".into(),
        linked: false,
        op: Operation::Hold {
            member: "m1".into(),
            sink: "checkout".into(),
            amount: 50,
            timeout_seconds: 100,
            on_timeout: OnTimeout::Void,
            order_id: None,
        },
    };
    apply(&mut w, &[hold], now);
    assert_eq!((w.lots["old"].remaining, w.lots["new"].remaining), (0, 10));
    let post = Request {
        id: "p".into(),
        linked: false,
        op: Operation::Post {
            pending_id: "h".into(),
            amount: Some(35),
        },
    };
    apply(&mut w, &[post], now);
    assert_eq!((w.lots["old"].remaining, w.lots["new"].remaining), (0, 25));
    let wallet = w.balance(&AccountCode::Wallet("m1".into()));
    assert_eq!(
        (
            wallet.available(),
            wallet.debits_pending,
            wallet.debits_posted
        ),
        (25, 0, 35)
    );
    let void = Request {
        id: "v".into(),
        linked: false,
        op: Operation::Void {
            pending_id: "h".into(),
        },
    };
    let out = apply(&mut w, &[void], now);
    assert_eq!(
        out.outcomes[0],
        Outcome::Failed {
            error: LedgerError::PendingAlreadyPosted,
            replayed: false
        }
    );
}

#[test]
fn a_hold_past_its_timeout_cannot_be_posted() {
    let mut w = Working::default();
    apply(&mut w, &[earn("e", "m1", 30)], Timestamp::from_millis(T0));
    let hold = Request {
        id: "h".into(),
        linked: false,
        op: Operation::Hold {
            member: "m1".into(),
            sink: "checkout".into(),
            amount: 20,
            timeout_seconds: 10,
            on_timeout: OnTimeout::Void,
            order_id: None,
        },
    };
    apply(&mut w, &[hold], Timestamp::from_millis(T0));
    let post = Request {
        id: "p".into(),
        linked: false,
        op: Operation::Post {
            pending_id: "h".into(),
            amount: None,
        },
    };
    let out = apply(&mut w, &[post], Timestamp::from_millis(T0 + 10_000));
    assert_eq!(
        out.outcomes[0],
        Outcome::Failed {
            error: LedgerError::PendingExpired,
            replayed: false
        }
    );
}

#[test]
fn a_refund_after_spending_carries_the_shortfall_as_debt_repaid_by_the_next_earning() {
    let mut w = Working::default();
    let now = Timestamp::from_millis(T0);
    apply(
        &mut w,
        &[earn("order1", "m1", 100), spend("s", "m1", 90)],
        now,
    );
    let reverse = Request {
        id: "r".into(),
        linked: false,
        op: Operation::Reverse {
            lot_id: "order1".into(),
            amount: 100,
            shortfall: Shortfall::ClawbackFuture,
            reason: None,
        },
    };
    let out = apply(&mut w, &[reverse], now);
    let Outcome::Created(legs) = &out.outcomes[0] else {
        panic!("{:?}", out.outcomes)
    };
    let kinds: Vec<(&str, i64)> = legs.iter().map(|t| (t.kind, t.amount)).collect();
    assert_eq!(kinds, vec![("reverse", 10), ("debt", 90)]);
    apply(&mut w, &[earn("e2", "m1", 50)], now);
    assert_eq!(w.balance(&AccountCode::Wallet("m1".into())).available(), 0);
    assert_eq!(w.balance(&AccountCode::Debt("m1".into())).posted(), -40);
    assert_eq!(w.lots["e2"].remaining, 0);
}

#[test]
fn spending_never_uses_points_past_their_expiry() {
    let mut w = Working::default();
    let mut e = earn("e", "m1", 100);
    if let Operation::Earn { lot_expires_at, .. } = &mut e.op {
        *lot_expires_at = Some(Timestamp::from_millis(T0 + 10));
    }
    apply(&mut w, &[e], Timestamp::from_millis(T0));
    let out = apply(
        &mut w,
        &[spend("s", "m1", 1)],
        Timestamp::from_millis(T0 + 10),
    );
    assert_eq!(
        out.outcomes[0],
        Outcome::Failed {
            error: LedgerError::InsufficientPoints,
            replayed: false
        }
    );
    // The inline expiry belonged to the failed request, so it was rolled back too; the
    // expiry job posts it on its own.
    assert!(out.effects.transfers.is_empty());
}
