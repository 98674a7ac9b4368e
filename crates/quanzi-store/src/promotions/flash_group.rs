//! Reserving for a group of attempts in one transaction without deadlocking other nodes.
//!
//! On PostgreSQL every node's group transaction locks member holds and stock buckets of
//! the same sale. A deadlock is a cycle of transactions each waiting for a row the next
//! one holds; it cannot form if a transaction only ever *waits* for a row that comes
//! after every row it holds in one global order. Ours is: reservations, then member
//! holds by (workspace, sale, member), then buckets by (workspace, sale, SKU, bucket),
//! strings in byte order. Rows taken without waiting (`SKIP LOCKED`) may come in any
//! order: they add no wait. Hence a group
//! 1. takes every attempt's member hold first, in that order;
//! 2. then takes stock SKU by SKU in that order, waiting only for buckets above the
//!    highest one it may already hold of that SKU, in ascending order. "May hold"
//!    counts a bucket waited for and then found emptied: PostgreSQL keeps that row
//!    locked though the statement passes over it.
//!
//! One gap remains: a row the non-waiting search (`SKIP LOCKED`) locks just after
//! another transaction emptied and committed it also stays locked, unaccounted for. A
//! deadlock through such a row needs that commit to land inside one statement; it would
//! be detected and the group retried.
//!
//! An attempt whose stock is only in a lower bucket that another transaction holds is not
//! waited for: its hold is given back and it is put off (`Deferred`) to the caller's
//! next transaction, which starts holding nothing. So is an attempt refused for the
//! member's limit when this group gave that member's hold back: it may fit now.
//!
//! Processing a group in this order rather than in arrival order is sound: the attempts
//! were concurrent, so any order is one the buyers could have arrived in.
//!
//! The other writers keep the order: ending reservations locks them by id, then their
//! holds, then their buckets (`end_flash_reservations`); cancelling a sale locks only
//! buckets, in (SKU, bucket) byte order (`cancel_flash_sale`).

use std::collections::HashSet;

use quanzi_domain::ids::WorkspaceId;

use super::flash::{FlashSaleRow, ReservationRow, ReserveRefusal};
use crate::error::{Result, StoreError};
use crate::Tx;

/// One buyer's attempt in a group.
pub struct FlashAttempt<'a> {
    pub workspace: &'a WorkspaceId,
    pub sale: &'a FlashSaleRow,
    /// Where this buyer starts looking, so buyers spread over buckets.
    pub first_bucket: i64,
    /// The reservation to store (its bucket is filled in).
    pub row: &'a ReservationRow,
}

impl FlashAttempt<'_> {
    fn hold_key(&self) -> (&str, &str, &str) {
        (
            self.workspace.as_str(),
            self.sale.id.as_str(),
            self.row.member_id.as_str(),
        )
    }

    fn stock_key(&self) -> (&str, &str, &str) {
        (
            self.workspace.as_str(),
            self.sale.id.as_str(),
            self.row.sku.as_str(),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashOutcome {
    /// Stored, taking stock from this bucket.
    Reserved(i64),
    Refused(ReserveRefusal),
    /// Not decided in this transaction (see the module comment); changes nothing.
    Deferred,
}

/// What a bucket search found (see `Tx::take_flash_bucket`).
pub(crate) enum Taken {
    Bucket(i64),
    SoldOut,
    /// Stock is left only in buckets this transaction may not wait for.
    OnlyBelow,
}

impl Tx {
    /// Reserves for every attempt, answering each in `attempts`' order. Attempts that
    /// fail undo their own steps, so one refusal never spoils the others.
    pub async fn reserve_flash_group(
        &mut self,
        attempts: &[FlashAttempt<'_>],
    ) -> Result<Vec<FlashOutcome>> {
        let mut outcomes = vec![FlashOutcome::Deferred; attempts.len()];
        let mut order: Vec<usize> = (0..attempts.len()).collect();

        // 1. Member holds. A stable sort keeps one member's attempts in arrival order.
        order.sort_by_key(|&i| attempts[i].hold_key());
        let mut held = vec![false; attempts.len()];
        for &i in &order {
            let a = &attempts[i];
            held[i] = self
                .hold_flash_units(a.workspace, a.sale, &a.row.member_id, a.row.quantity)
                .await?;
            if !held[i] {
                outcomes[i] = FlashOutcome::Refused(ReserveRefusal::LimitReached);
            }
        }

        // 2. Stock, SKU by SKU.
        order.sort_by_key(|&i| attempts[i].stock_key());
        let mut given_back: HashSet<(&str, &str, &str)> = HashSet::new();
        // The highest bucket of the current SKU this transaction may hold.
        let mut held_up_to: ((&str, &str, &str), i64) = (("", "", ""), -1);
        for &i in order.iter().filter(|&&i| held[i]) {
            let a = &attempts[i];
            if held_up_to.0 != a.stock_key() {
                held_up_to = (a.stock_key(), -1);
            }
            let taken = self
                .take_flash_bucket(
                    a.workspace,
                    &a.sale.id,
                    &a.row.sku,
                    a.row.quantity,
                    a.first_bucket,
                    a.sale.buckets,
                    &mut held_up_to.1,
                )
                .await?;
            outcomes[i] = match taken {
                Taken::Bucket(bucket) => {
                    self.insert_flash_reservation(
                        a.workspace,
                        &ReservationRow {
                            bucket,
                            ..a.row.clone()
                        },
                    )
                    .await
                    .map_err(StoreError::unique("flash_reservation"))?;
                    FlashOutcome::Reserved(bucket)
                }
                Taken::SoldOut | Taken::OnlyBelow => {
                    self.release_flash_hold(
                        a.workspace,
                        &a.sale.id,
                        &a.row.member_id,
                        a.row.quantity,
                    )
                    .await?;
                    given_back.insert(a.hold_key());
                    match taken {
                        Taken::SoldOut => FlashOutcome::Refused(ReserveRefusal::SoldOut),
                        _ => FlashOutcome::Deferred,
                    }
                }
            };
        }
        for (i, outcome) in outcomes.iter_mut().enumerate() {
            if *outcome == FlashOutcome::Refused(ReserveRefusal::LimitReached)
                && given_back.contains(&attempts[i].hold_key())
            {
                *outcome = FlashOutcome::Deferred;
            }
        }
        Ok(outcomes)
    }
}
