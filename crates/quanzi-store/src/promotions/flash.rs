//! Flash sales: the sale, its SKUs, stock rows (buckets) and reservations.
//!
//! A reservation is three conditional writes, each of which can only succeed while its
//! limit allows: the member's held units (`held + q <= limit`), a stock bucket
//! (`remaining >= q`, also a CHECK) and the reservation row. A step that fails undoes the
//! steps before it in the same transaction, so many attempts can share one transaction
//! (group commit, `flash_group`) without a failed one spoiling the rest. Reservations end once: the
//! move out of `reserved` is a conditional update, and only the caller that made it
//! returns the stock.

use std::collections::BTreeMap;

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use super::flash_group::Taken;
use crate::connect::Backend;
use crate::error::{Result, StoreError};
use crate::rows::{int, opt_int, opt_text, opt_ts, text, ts};
use crate::sql::{in_list, keep_prepared, param, CHUNK};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashSaleRow {
    pub id: String,
    pub name: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub payment_timeout_seconds: i64,
    pub per_member_limit: i64,
    pub buckets: i64,
    /// `none`, or `redis` (a Redis admission gate in front of the database).
    pub gate: String,
    /// `active` or `cancelled`.
    pub status: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashSkuRow {
    pub sku: String,
    pub flash_price_fen: i64,
    pub original_price_fen: i64,
    /// Stock the sale started with.
    pub stock: i64,
    /// Stock left in all buckets now.
    pub remaining: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationRow {
    pub id: String,
    pub sale_id: String,
    pub sku: String,
    pub member_id: String,
    pub quantity: i64,
    pub bucket: i64,
    /// `reserved`, `paid`, `expired` or `cancelled`.
    pub status: String,
    /// The order (external id) it is for, when the storefront said.
    pub order_id: Option<String>,
    pub reserved_at: Timestamp,
    pub expires_at: Timestamp,
    pub settled_at: Option<Timestamp>,
}

/// Why an attempt got no reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReserveRefusal {
    LimitReached,
    SoldOut,
    /// The sale was cancelled while the attempt waited.
    SaleCancelled,
}

const SALE_COLUMNS: &str =
    "id, name, starts_at, ends_at, payment_timeout_seconds, per_member_limit, buckets, \
     gate, status, created_at";
const RESERVATION_COLUMNS: &str =
    "id, sale_id, sku, member_id, quantity, bucket, status, order_id, \
     reserved_at, expires_at, settled_at";

fn sale(row: &AnyRow) -> Result<FlashSaleRow> {
    Ok(FlashSaleRow {
        id: text(row, "id")?,
        name: text(row, "name")?,
        starts_at: ts(row, "starts_at")?,
        ends_at: ts(row, "ends_at")?,
        payment_timeout_seconds: int(row, "payment_timeout_seconds")?,
        per_member_limit: int(row, "per_member_limit")?,
        buckets: int(row, "buckets")?,
        gate: text(row, "gate")?,
        status: text(row, "status")?,
        created_at: ts(row, "created_at")?,
    })
}

fn reservation(row: &AnyRow) -> Result<ReservationRow> {
    Ok(ReservationRow {
        id: text(row, "id")?,
        sale_id: text(row, "sale_id")?,
        sku: text(row, "sku")?,
        member_id: text(row, "member_id")?,
        quantity: int(row, "quantity")?,
        bucket: int(row, "bucket")?,
        status: text(row, "status")?,
        order_id: opt_text(row, "order_id")?,
        reserved_at: ts(row, "reserved_at")?,
        expires_at: ts(row, "expires_at")?,
        settled_at: opt_ts(row, "settled_at")?,
    })
}

impl Store {
    pub async fn flash_sales(&self, workspace: &WorkspaceId) -> Result<Vec<FlashSaleRow>> {
        sqlx::query(&format!(
            "SELECT {SALE_COLUMNS} FROM flash_sales WHERE workspace_id = $1 ORDER BY starts_at DESC, id LIMIT 500"
        ))
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(sale)
        .collect()
    }

    pub async fn flash_sale(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<(FlashSaleRow, Vec<FlashSkuRow>)> {
        let row = sqlx::query(&format!(
            "SELECT {SALE_COLUMNS} FROM flash_sales WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        let skus = sqlx::query(
            "SELECT s.sku, s.flash_price_fen, s.original_price_fen, s.stock,
                    CAST(COALESCE(SUM(b.remaining), 0) AS BIGINT) AS remaining
             FROM flash_sale_skus s
             LEFT JOIN flash_stock b ON b.workspace_id = s.workspace_id AND b.sale_id = s.sale_id AND b.sku = s.sku
             WHERE s.workspace_id = $1 AND s.sale_id = $2
             GROUP BY s.sku, s.flash_price_fen, s.original_price_fen, s.stock ORDER BY s.sku",
        )
        .bind(workspace.as_str())
        .bind(id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|r| {
            Ok(FlashSkuRow {
                sku: text(r, "sku")?,
                flash_price_fen: int(r, "flash_price_fen")?,
                original_price_fen: int(r, "original_price_fen")?,
                stock: int(r, "stock")?,
                remaining: int(r, "remaining")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok((sale(&row)?, skus))
    }

    pub async fn flash_reservation(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<ReservationRow> {
        let row = sqlx::query(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM flash_reservations WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        reservation(&row)
    }

    /// A sale's reservations (all of them, or one member's), oldest first.
    pub async fn flash_reservations(
        &self,
        workspace: &WorkspaceId,
        sale_id: &str,
        member: Option<&str>,
    ) -> Result<Vec<ReservationRow>> {
        sqlx::query(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM flash_reservations
             WHERE workspace_id = $1 AND sale_id = $2 AND (CAST($3 AS TEXT) IS NULL OR member_id = $3)
             ORDER BY reserved_at, id LIMIT 100000"
        ))
        .bind(workspace.as_str())
        .bind(sale_id)
        .bind(member)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(reservation)
        .collect()
    }

    /// Sales with a Redis gate that have not ended, with each SKU's stock left:
    /// `(workspace, sale, sku, remaining)`, for reconciling the gate.
    pub async fn gated_flash_stock(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(String, String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT b.workspace_id, b.sale_id, b.sku, CAST(SUM(b.remaining) AS BIGINT) AS remaining
             FROM flash_stock b JOIN flash_sales s ON s.workspace_id = b.workspace_id AND s.id = b.sale_id
             WHERE s.gate = 'redis' AND s.status = 'active' AND s.ends_at > $1
             GROUP BY b.workspace_id, b.sale_id, b.sku",
        )
        .bind(now.millis())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    text(r, "workspace_id")?,
                    text(r, "sale_id")?,
                    text(r, "sku")?,
                    int(r, "remaining")?,
                ))
            })
            .collect()
    }

    /// Reservations whose payment time is up, oldest first.
    pub async fn due_flash_reservations(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT workspace_id, id FROM flash_reservations
             WHERE status = 'reserved' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now.millis())
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((text(r, "workspace_id")?, text(r, "id")?)))
            .collect()
    }
}

impl Tx {
    /// Stores a sale with its SKUs, each SKU's stock split into `bucket_stock`.
    pub async fn insert_flash_sale(
        &mut self,
        workspace: &WorkspaceId,
        row: &FlashSaleRow,
        skus: &[(FlashSkuRow, Vec<i64>)],
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO flash_sales ({SALE_COLUMNS}, workspace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(row.id.as_str())
        .bind(row.name.as_str())
        .bind(row.starts_at.millis())
        .bind(row.ends_at.millis())
        .bind(row.payment_timeout_seconds)
        .bind(row.per_member_limit)
        .bind(row.buckets)
        .bind(row.gate.as_str())
        .bind(row.status.as_str())
        .bind(row.created_at.millis())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("flash_sale"))?;
        for (sku, buckets) in skus {
            sqlx::query(
                "INSERT INTO flash_sale_skus (workspace_id, sale_id, sku, flash_price_fen, original_price_fen, stock)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(workspace.as_str())
            .bind(row.id.as_str())
            .bind(sku.sku.as_str())
            .bind(sku.flash_price_fen)
            .bind(sku.original_price_fen)
            .bind(sku.stock)
            .execute(self.conn())
            .await?;
            for (bucket, remaining) in buckets.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO flash_stock (workspace_id, sale_id, sku, bucket, remaining) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(workspace.as_str())
                .bind(row.id.as_str())
                .bind(sku.sku.as_str())
                .bind(bucket as i64)
                .bind(*remaining)
                .execute(self.conn())
                .await?;
            }
        }
        Ok(())
    }

    /// Adds `quantity` to the member's units held in the sale, if the per-member limit
    /// allows; false (and nothing changed) when it does not. Either way the member's hold
    /// row stays locked until the transaction ends (PostgreSQL locks the conflicting row
    /// even when the update's condition fails).
    pub(crate) async fn hold_flash_units(
        &mut self,
        workspace: &WorkspaceId,
        sale: &FlashSaleRow,
        member: &str,
        quantity: i64,
    ) -> Result<bool> {
        let held = sqlx::query(
            "INSERT INTO flash_member_counts (workspace_id, sale_id, member_id, held)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (workspace_id, sale_id, member_id)
             DO UPDATE SET held = flash_member_counts.held + $4
             WHERE flash_member_counts.held + $4 <= $5
             RETURNING held",
        )
        .bind(workspace.as_str())
        .bind(sale.id.as_str())
        .bind(member)
        .bind(quantity)
        .bind(sale.per_member_limit)
        .fetch_optional(self.conn())
        .await?;
        Ok(held.is_some())
    }

    pub(crate) async fn insert_flash_reservation(
        &mut self,
        workspace: &WorkspaceId,
        row: &ReservationRow,
    ) -> std::result::Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO flash_reservations ({RESERVATION_COLUMNS}, workspace_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(row.id.as_str())
        .bind(row.sale_id.as_str())
        .bind(row.sku.as_str())
        .bind(row.member_id.as_str())
        .bind(row.quantity)
        .bind(row.bucket)
        .bind(row.status.as_str())
        .bind(row.order_id.as_deref())
        .bind(row.reserved_at.millis())
        .bind(row.expires_at.millis())
        .bind(row.settled_at.map(Timestamp::millis))
        .bind(workspace.as_str())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Takes `quantity` from the first bucket, in this buyer's order, that has it.
    ///
    /// On PostgreSQL a bucket locked by another transaction is skipped first (`SKIP
    /// LOCKED`), so buyers on different nodes spread over buckets instead of queueing.
    /// Only when every bucket with stock is busy does the buyer wait, and then only for
    /// buckets above `held_up_to`, the highest of the SKU this transaction may hold (-1
    /// for none), in ascending order: see `flash_group` for why. `held_up_to` is raised
    /// to what this call may have locked — a row waited for and then found emptied stays
    /// locked though not taken. "Sold out" is answered when no committed bucket has the
    /// quantity.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn take_flash_bucket(
        &mut self,
        workspace: &WorkspaceId,
        sale: &str,
        sku: &str,
        quantity: i64,
        first_bucket: i64,
        buckets: i64,
        held_up_to: &mut i64,
    ) -> Result<Taken> {
        let backend = self.backend();
        // Each waiting round either takes stock or sees a bucket emptied by another
        // buyer; more rounds than buckets are not expected, and past them the attempt is
        // put off rather than called sold out.
        for round in 0..=buckets {
            let waiting = backend == Backend::Postgres && round > 0;
            // Waiting, buckets are locked in ascending order; otherwise from this buyer's
            // first bucket round.
            let (lock, above, order) = match (backend, waiting) {
                (Backend::Sqlite, _) => ("", -1, "(bucket + $6 - $7) % $6"),
                (Backend::Postgres, false) => {
                    ("FOR UPDATE SKIP LOCKED", -1, "(bucket + $6 - $7) % $6")
                }
                (Backend::Postgres, true) => ("FOR UPDATE", *held_up_to, "bucket"),
            };
            let sql = format!(
                "UPDATE flash_stock SET remaining = remaining - $1
                 WHERE workspace_id = $2 AND sale_id = $3 AND sku = $4 AND remaining >= $1
                   AND bucket = (SELECT bucket FROM flash_stock
                                 WHERE workspace_id = $2 AND sale_id = $3 AND sku = $4
                                   AND remaining >= $1 AND bucket > $5
                                 ORDER BY {order} LIMIT 1 {lock})
                 RETURNING bucket"
            );
            let mut query = sqlx::query(&sql)
                .bind(quantity)
                .bind(workspace.as_str())
                .bind(sale)
                .bind(sku)
                .bind(above);
            if !waiting {
                query = query.bind(buckets).bind(first_bucket);
            }
            let taken = query.fetch_optional(self.conn()).await?;
            if let Some(row) = taken {
                let bucket = int(&row, "bucket")?;
                *held_up_to = (*held_up_to).max(bucket);
                return Ok(Taken::Bucket(bucket));
            }
            if backend == Backend::Sqlite {
                return Ok(Taken::SoldOut);
            }
            if waiting {
                // It may have waited for, and kept, any bucket above the old mark.
                *held_up_to = buckets - 1;
            }
            let top = sqlx::query(
                "SELECT MAX(bucket) AS top FROM flash_stock
                 WHERE workspace_id = $1 AND sale_id = $2 AND sku = $3 AND remaining >= $4",
            )
            .bind(workspace.as_str())
            .bind(sale)
            .bind(sku)
            .bind(quantity)
            .fetch_one(self.conn())
            .await?;
            match opt_int(&top, "top")? {
                None => return Ok(Taken::SoldOut),
                Some(top) if top <= *held_up_to => return Ok(Taken::OnlyBelow),
                Some(_) => {}
            }
        }
        Ok(Taken::OnlyBelow)
    }

    pub(crate) async fn release_flash_hold(
        &mut self,
        workspace: &WorkspaceId,
        sale: &str,
        member: &str,
        quantity: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE flash_member_counts SET held = held - $1
             WHERE workspace_id = $2 AND sale_id = $3 AND member_id = $4",
        )
        .bind(quantity)
        .bind(workspace.as_str())
        .bind(sale)
        .bind(member)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Ends a reservation that is still `reserved` (`expired` or `cancelled`): its stock
    /// goes back to its bucket and the member's hold is released. None when it had
    /// already ended, so this happens exactly once.
    pub async fn end_flash_reservation(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        status: &str,
        now: Timestamp,
    ) -> Result<Option<ReservationRow>> {
        let ended = self
            .end_flash_reservations(workspace, &[id.to_owned()], status, now)
            .await?;
        Ok(ended.into_iter().next())
    }

    /// Ends those of `ids` still `reserved` at once (see `end_flash_reservation`) and
    /// returns them, by id. Rows are locked in the order of `flash_group`: the
    /// reservations by id, then the holds they release by (sale, member), then the
    /// buckets they refill by (sale, SKU, bucket), each statement waiting only for rows
    /// after those it holds.
    pub async fn end_flash_reservations(
        &mut self,
        workspace: &WorkspaceId,
        ids: &[String],
        status: &str,
        now: Timestamp,
    ) -> Result<Vec<ReservationRow>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let backend = self.backend();
        let mut ended = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            // One row needs no order: the update locks it.
            if backend == Backend::Postgres && chunk.len() > 1 {
                let sql = format!(
                    "SELECT id FROM flash_reservations WHERE workspace_id = $1 AND id IN {}
                     ORDER BY id COLLATE \"C\" FOR UPDATE",
                    in_list(backend, chunk.len(), 1)
                );
                let mut lock = sqlx::query(&sql)
                    .persistent(keep_prepared(backend))
                    .bind(workspace.as_str());
                for id in chunk {
                    lock = lock.bind(id.as_str());
                }
                lock.fetch_all(self.conn()).await?;
            }
            // Every placeholder from `param`: SQLite numbers anonymous ones by position
            // only among themselves, so they cannot follow `$1`.
            let p = |n| param(backend, n);
            let sql = format!(
                "UPDATE flash_reservations SET status = {}, settled_at = {}
                 WHERE workspace_id = {} AND status = 'reserved' AND id IN {}
                 RETURNING {RESERVATION_COLUMNS}",
                p(1),
                p(2),
                p(3),
                in_list(backend, chunk.len(), 3)
            );
            let mut end = sqlx::query(&sql)
                .persistent(keep_prepared(backend))
                .bind(status)
                .bind(now.millis())
                .bind(workspace.as_str());
            for id in chunk {
                end = end.bind(id.as_str());
            }
            for row in end.fetch_all(self.conn()).await? {
                ended.push(reservation(&row)?);
            }
        }
        let mut holds: BTreeMap<(&str, &str), i64> = BTreeMap::new();
        let mut stock: BTreeMap<(&str, &str, i64), i64> = BTreeMap::new();
        for r in &ended {
            *holds.entry((&r.sale_id, &r.member_id)).or_default() += r.quantity;
            *stock.entry((&r.sale_id, &r.sku, r.bucket)).or_default() += r.quantity;
        }
        for ((sale, member), quantity) in holds {
            self.release_flash_hold(workspace, sale, member, quantity)
                .await?;
        }
        for ((sale, sku, bucket), quantity) in stock {
            sqlx::query(
                "UPDATE flash_stock SET remaining = remaining + $1
                 WHERE workspace_id = $2 AND sale_id = $3 AND sku = $4 AND bucket = $5",
            )
            .bind(quantity)
            .bind(workspace.as_str())
            .bind(sale)
            .bind(sku)
            .bind(bucket)
            .execute(self.conn())
            .await?;
        }
        ended.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(ended)
    }

    /// Marks a reservation paid by `order`, if it is still reserved.
    pub async fn complete_flash_reservation(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        order: &str,
        now: Timestamp,
    ) -> Result<Option<ReservationRow>> {
        let row = sqlx::query(&format!(
            "UPDATE flash_reservations SET status = 'paid', order_id = $1, settled_at = $2
             WHERE workspace_id = $3 AND id = $4 AND status = 'reserved'
             RETURNING {RESERVATION_COLUMNS}"
        ))
        .bind(order)
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(reservation).transpose()
    }

    /// Ties a reservation to the storefront's order `order` (a checkout priced it), so
    /// that order's arrival pays it. False when it is no longer reserved, has run out of
    /// time, or is already tied to another order.
    pub async fn attach_flash_reservation(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        order: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE flash_reservations SET order_id = $1
             WHERE workspace_id = $2 AND id = $3 AND status = 'reserved' AND expires_at > $4
               AND (order_id IS NULL OR order_id = $1)",
        )
        .bind(order)
        .bind(workspace.as_str())
        .bind(id)
        .bind(now.millis())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Unties the reservations still waiting for `order` (its checkout was cancelled), so
    /// the shopper can check out again under another order number.
    pub async fn detach_flash_reservations(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
    ) -> Result<u64> {
        let done = sqlx::query(&format!(
            "UPDATE flash_reservations SET order_id = NULL WHERE {}",
            order_reservations(self.backend(), "$1", "$2")
        ))
        .bind(workspace.as_str())
        .bind(order)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Marks an order's reservations paid (the order arrived in time).
    pub async fn pay_flash_reservations(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
        now: Timestamp,
    ) -> Result<Vec<ReservationRow>> {
        let rows = sqlx::query(&format!(
            "UPDATE flash_reservations SET status = 'paid', settled_at = $1 WHERE {}
             RETURNING {RESERVATION_COLUMNS}",
            order_reservations(self.backend(), "$2", "$3")
        ))
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(order)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(reservation).collect()
    }
}

/// The condition picking an order's reservations still reserved (`ws` and `order` the
/// placeholders). On PostgreSQL it locks them by id first, the order the sweep and a
/// cancellation lock them in (`end_flash_reservations`), so that a payment and an ending
/// cannot each hold one the other waits for.
fn order_reservations(backend: Backend, ws: &str, order: &str) -> String {
    let filter = format!("workspace_id = {ws} AND order_id = {order} AND status = 'reserved'");
    match backend {
        Backend::Sqlite => filter,
        Backend::Postgres => format!(
            "{filter} AND id IN (SELECT id FROM flash_reservations WHERE {filter}
                                 ORDER BY id COLLATE \"C\" FOR UPDATE)"
        ),
    }
}
