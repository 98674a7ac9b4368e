//! Coupon templates, instances and the counters that keep their limits.
//!
//! Every limit is a conditional update, never a count followed by an insert: quantity
//! issued (`issued < total_quantity`), per-member claims and uses (an upsert whose update
//! only happens under the limit), the budget (`booked_fen + d <= budget_fen`, also a
//! CHECK), and an instance's state (`status = 'available'` to lock it). Whatever runs at
//! once on however many nodes, each of these can only be won as often as it allows.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::rows::{int, opt_int, opt_text, opt_ts, text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponTemplateRow {
    pub id: String,
    pub name: String,
    /// The template's rules as JSON, owned by the application.
    pub definition: String,
    /// `active` or `paused` (by an operator).
    pub status: String,
    pub claim_starts_at: Option<Timestamp>,
    pub claim_ends_at: Option<Timestamp>,
    pub total_quantity: Option<i64>,
    pub issued: i64,
    pub per_member_claim_limit: Option<i64>,
    pub per_member_use_limit: Option<i64>,
    pub budget_fen: Option<i64>,
    pub booked_fen: i64,
    pub max_discount_fen: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl CouponTemplateRow {
    /// True when the budget left cannot pay for one more coupon: claims stop by themselves.
    pub fn budget_exhausted(&self) -> bool {
        self.budget_fen
            .is_some_and(|budget| budget - self.booked_fen < self.max_discount_fen)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponRow {
    pub id: String,
    pub template_id: String,
    pub member_id: String,
    /// `available`, `locked`, `used`, `expired` or `revoked`.
    pub status: String,
    /// How it was obtained: `claim`, `grant`, `registration`, `journey`.
    pub source: String,
    pub claimed_at: Timestamp,
    pub valid_from: Timestamp,
    pub valid_until: Timestamp,
    /// The order (its external id) that locked or used it.
    pub order_id: Option<String>,
    pub locked_until: Option<Timestamp>,
    /// The discount it gives (or gave) the order that locked it last; kept when the lock
    /// ends so that the counters it booked can be given back.
    pub discount_fen: i64,
    pub used_at: Option<Timestamp>,
    pub returned_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    /// The paid order (its `ord_…` id) whose promotion or referral reward granted it; a
    /// full refund of that order revokes it while it is still available.
    pub granted_by_order: Option<String>,
}

/// What a checkout locks a coupon with.
pub struct CouponLock<'a> {
    /// The order (its external id).
    pub order: &'a str,
    pub discount_fen: i64,
    pub until: Timestamp,
}

/// Per-template figures for the liability report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponTemplateUsage {
    pub template_id: String,
    pub available: i64,
    pub locked: i64,
    pub used: i64,
    pub expired: i64,
    pub revoked: i64,
    /// Discount given by used coupons.
    pub used_discount_fen: i64,
}

const TEMPLATE_COLUMNS: &str = "id, name, definition, status, claim_starts_at, claim_ends_at, \
     total_quantity, issued, per_member_claim_limit, per_member_use_limit, budget_fen, booked_fen, \
     max_discount_fen, created_at, updated_at";
/// Where a coupon goes when a lock ends or a use is returned: back to `available`, unless
/// it has run out (`expired`) or the order that granted it has since been refunded in full
/// (`revoked`: the refund found it locked or used and could not take it back then).
const COMES_BACK: &str = "status = CASE WHEN (SELECT status FROM orders g WHERE g.id = coupons.granted_by_order) = 'refunded' THEN 'revoked'
        WHEN valid_until > $1 THEN 'available' ELSE 'expired' END,
     ended_at = CASE WHEN (SELECT status FROM orders g WHERE g.id = coupons.granted_by_order) = 'refunded' THEN $1
        WHEN valid_until > $1 THEN NULL ELSE $1 END";
const COUPON_COLUMNS: &str = "id, template_id, member_id, status, source, claimed_at, valid_from, \
     valid_until, order_id, locked_until, discount_fen, used_at, returned_at, ended_at, granted_by_order";

fn template(row: &AnyRow) -> Result<CouponTemplateRow> {
    template_with(row, "")
}

/// A template from columns named with `prefix` (for joins).
fn template_with(row: &AnyRow, prefix: &str) -> Result<CouponTemplateRow> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(CouponTemplateRow {
        id: text(row, &col("id"))?,
        name: text(row, &col("name"))?,
        definition: text(row, &col("definition"))?,
        status: text(row, &col("status"))?,
        claim_starts_at: opt_ts(row, &col("claim_starts_at"))?,
        claim_ends_at: opt_ts(row, &col("claim_ends_at"))?,
        total_quantity: opt_int(row, &col("total_quantity"))?,
        issued: int(row, &col("issued"))?,
        per_member_claim_limit: opt_int(row, &col("per_member_claim_limit"))?,
        per_member_use_limit: opt_int(row, &col("per_member_use_limit"))?,
        budget_fen: opt_int(row, &col("budget_fen"))?,
        booked_fen: int(row, &col("booked_fen"))?,
        max_discount_fen: int(row, &col("max_discount_fen"))?,
        created_at: ts(row, &col("created_at"))?,
        updated_at: ts(row, &col("updated_at"))?,
    })
}

fn coupon(row: &AnyRow) -> Result<CouponRow> {
    Ok(CouponRow {
        id: text(row, "id")?,
        template_id: text(row, "template_id")?,
        member_id: text(row, "member_id")?,
        status: text(row, "status")?,
        source: text(row, "source")?,
        claimed_at: ts(row, "claimed_at")?,
        valid_from: ts(row, "valid_from")?,
        valid_until: ts(row, "valid_until")?,
        order_id: opt_text(row, "order_id")?,
        locked_until: opt_ts(row, "locked_until")?,
        discount_fen: int(row, "discount_fen")?,
        used_at: opt_ts(row, "used_at")?,
        returned_at: opt_ts(row, "returned_at")?,
        ended_at: opt_ts(row, "ended_at")?,
        granted_by_order: opt_text(row, "granted_by_order")?,
    })
}

impl Store {
    pub async fn coupon_templates(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<Vec<CouponTemplateRow>> {
        sqlx::query(&format!(
            "SELECT {TEMPLATE_COLUMNS} FROM coupon_templates WHERE workspace_id = $1 ORDER BY id"
        ))
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(template)
        .collect()
    }

    pub async fn coupon_template(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<CouponTemplateRow> {
        let row = sqlx::query(&format!(
            "SELECT {TEMPLATE_COLUMNS} FROM coupon_templates WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        template(&row)
    }

    /// A member's coupons, newest first; `status` filters when given.
    pub async fn coupons_of(
        &self,
        workspace: &WorkspaceId,
        member: &str,
        status: Option<&str>,
    ) -> Result<Vec<CouponRow>> {
        sqlx::query(&format!(
            "SELECT {COUPON_COLUMNS} FROM coupons
             WHERE workspace_id = $1 AND member_id = $2 AND (CAST($3 AS TEXT) IS NULL OR status = $3)
             ORDER BY claimed_at DESC, id DESC LIMIT 500"
        ))
        .bind(workspace.as_str())
        .bind(member)
        .bind(status)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(coupon)
        .collect()
    }

    pub async fn coupon(&self, workspace: &WorkspaceId, id: &str) -> Result<CouponRow> {
        let row = sqlx::query(&format!(
            "SELECT {COUPON_COLUMNS} FROM coupons WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        coupon(&row)
    }

    /// A member's available coupons with their templates, in one query (cart pricing).
    pub async fn available_coupons_with_templates(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Vec<(CouponRow, CouponTemplateRow)>> {
        let prefixed = |columns: &str, prefix: &str, alias: &str| {
            columns
                .split(", ")
                .map(|c| format!("{prefix}.{c} AS {alias}{c}", c = c.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let rows = sqlx::query(&format!(
            "SELECT {}, {} FROM coupons c
             JOIN coupon_templates t ON t.workspace_id = c.workspace_id AND t.id = c.template_id
             WHERE c.workspace_id = $1 AND c.member_id = $2 AND c.status = 'available'
             ORDER BY c.claimed_at DESC, c.id DESC LIMIT 500",
            prefixed(COUPON_COLUMNS, "c", ""),
            prefixed(TEMPLATE_COLUMNS, "t", "t_"),
        ))
        .bind(workspace.as_str())
        .bind(member)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((coupon(r)?, template_with(r, "t_")?)))
            .collect()
    }

    /// How many coupons of each template are in each state, for the liability report.
    pub async fn coupon_usage(&self, workspace: &WorkspaceId) -> Result<Vec<CouponTemplateUsage>> {
        let rows = sqlx::query(
            "SELECT template_id, status, CAST(COUNT(*) AS BIGINT) AS n,
                    CAST(COALESCE(SUM(discount_fen), 0) AS BIGINT) AS discount
             FROM coupons WHERE workspace_id = $1 GROUP BY template_id, status ORDER BY template_id",
        )
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?;
        let mut usage: Vec<CouponTemplateUsage> = Vec::new();
        for row in &rows {
            let template_id = text(row, "template_id")?;
            if usage.last().is_none_or(|u| u.template_id != template_id) {
                usage.push(CouponTemplateUsage {
                    template_id,
                    available: 0,
                    locked: 0,
                    used: 0,
                    expired: 0,
                    revoked: 0,
                    used_discount_fen: 0,
                });
            }
            let entry = usage.last_mut().expect("pushed above");
            let n = int(row, "n")?;
            match text(row, "status")?.as_str() {
                "available" => entry.available += n,
                "locked" => entry.locked += n,
                "used" => {
                    entry.used += n;
                    entry.used_discount_fen += int(row, "discount")?;
                }
                "expired" => entry.expired += n,
                _ => entry.revoked += n,
            }
        }
        Ok(usage)
    }

    /// Locked coupons whose order did not pay in time: `(workspace, coupon, order)`.
    pub async fn due_coupon_locks(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, String, String)>> {
        let rows = sqlx::query(
            "SELECT workspace_id, id, order_id FROM coupons
             WHERE status = 'locked' AND locked_until <= $1 ORDER BY locked_until LIMIT $2",
        )
        .bind(now.millis())
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    text(r, "workspace_id")?,
                    text(r, "id")?,
                    text(r, "order_id")?,
                ))
            })
            .collect()
    }
}

impl Tx {
    /// Active templates, read in this transaction (registration grants).
    pub async fn active_coupon_templates_in(
        &mut self,
        workspace: &WorkspaceId,
    ) -> Result<Vec<CouponTemplateRow>> {
        sqlx::query(&format!(
            "SELECT {TEMPLATE_COLUMNS} FROM coupon_templates
             WHERE workspace_id = $1 AND status = 'active' ORDER BY id"
        ))
        .bind(workspace.as_str())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(template)
        .collect()
    }

    /// A template read in this transaction (for grants made inside another change).
    pub async fn coupon_template_in(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<CouponTemplateRow> {
        let row = sqlx::query(&format!(
            "SELECT {TEMPLATE_COLUMNS} FROM coupon_templates WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.conn())
        .await?
        .ok_or(StoreError::NotFound)?;
        template(&row)
    }

    pub async fn insert_coupon_template(
        &mut self,
        workspace: &WorkspaceId,
        row: &CouponTemplateRow,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO coupon_templates ({TEMPLATE_COLUMNS}, workspace_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        ))
        .bind(row.id.as_str())
        .bind(row.name.as_str())
        .bind(row.definition.as_str())
        .bind(row.status.as_str())
        .bind(row.claim_starts_at.map(Timestamp::millis))
        .bind(row.claim_ends_at.map(Timestamp::millis))
        .bind(row.total_quantity)
        .bind(row.issued)
        .bind(row.per_member_claim_limit)
        .bind(row.per_member_use_limit)
        .bind(row.budget_fen)
        .bind(row.booked_fen)
        .bind(row.max_discount_fen)
        .bind(row.created_at.millis())
        .bind(row.updated_at.millis())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("coupon_template"))?;
        Ok(())
    }

    /// Pauses or resumes a template; false when there is no such template.
    pub async fn set_coupon_template_status(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        status: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE coupon_templates SET status = $1, updated_at = $2 WHERE workspace_id = $3 AND id = $4",
        )
        .bind(status)
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts one more coupon issued if the template is active, not sold out and its
    /// budget can still pay for one; false (nothing changed) otherwise.
    pub async fn issue_coupon(
        &mut self,
        workspace: &WorkspaceId,
        template: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE coupon_templates SET issued = issued + 1, updated_at = $1
             WHERE workspace_id = $2 AND id = $3 AND status = 'active'
               AND (total_quantity IS NULL OR issued < total_quantity)
               AND (budget_fen IS NULL OR budget_fen - booked_fen >= max_discount_fen)",
        )
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(template)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts one more claim (`column` = `claimed`) or use (`used`) for a member, unless
    /// that would pass `limit`; false (nothing changed) otherwise.
    async fn count_for_member(
        &mut self,
        workspace: &WorkspaceId,
        template: &str,
        member: &str,
        column: &'static str,
        limit: Option<i64>,
    ) -> Result<bool> {
        let Some(limit) = limit else {
            return Ok(true);
        };
        // The upsert takes the row lock before its WHERE is checked, on both engines, so
        // concurrent claims see each other's increments.
        let row = sqlx::query(&format!(
            "INSERT INTO coupon_member_counts (workspace_id, template_id, member_id, {column})
             VALUES ($1, $2, $3, 1)
             ON CONFLICT (workspace_id, template_id, member_id)
             DO UPDATE SET {column} = coupon_member_counts.{column} + 1
             WHERE coupon_member_counts.{column} < $4
             RETURNING {column}"
        ))
        .bind(workspace.as_str())
        .bind(template)
        .bind(member)
        .bind(limit)
        .fetch_optional(self.conn())
        .await?;
        Ok(row.is_some())
    }

    pub async fn count_coupon_claim(
        &mut self,
        workspace: &WorkspaceId,
        template: &str,
        member: &str,
        limit: Option<i64>,
    ) -> Result<bool> {
        self.count_for_member(workspace, template, member, "claimed", limit)
            .await
    }

    pub async fn count_coupon_use(
        &mut self,
        workspace: &WorkspaceId,
        template: &str,
        member: &str,
        limit: Option<i64>,
    ) -> Result<bool> {
        self.count_for_member(workspace, template, member, "used", limit)
            .await
    }

    /// Takes back one counted claim (the coupon could not be issued after all).
    pub async fn uncount_coupon_claim(
        &mut self,
        workspace: &WorkspaceId,
        template: &str,
        member: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE coupon_member_counts SET claimed = claimed - 1
             WHERE workspace_id = $1 AND template_id = $2 AND member_id = $3 AND claimed > 0",
        )
        .bind(workspace.as_str())
        .bind(template)
        .bind(member)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Takes back one counted use (a lock released, a coupon returned).
    pub async fn uncount_coupon_use(
        &mut self,
        workspace: &WorkspaceId,
        template: &str,
        member: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE coupon_member_counts SET used = used - 1
             WHERE workspace_id = $1 AND template_id = $2 AND member_id = $3 AND used > 0",
        )
        .bind(workspace.as_str())
        .bind(template)
        .bind(member)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Books `fen` of discount against the template's budget if it fits; false otherwise.
    pub async fn book_coupon_budget(
        &mut self,
        workspace: &WorkspaceId,
        template: &str,
        fen: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE coupon_templates SET booked_fen = booked_fen + $1
             WHERE workspace_id = $2 AND id = $3 AND (budget_fen IS NULL OR booked_fen + $1 <= budget_fen)",
        )
        .bind(fen)
        .bind(workspace.as_str())
        .bind(template)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn unbook_coupon_budget(
        &mut self,
        workspace: &WorkspaceId,
        template: &str,
        fen: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE coupon_templates SET booked_fen = booked_fen - $1 WHERE workspace_id = $2 AND id = $3",
        )
        .bind(fen)
        .bind(workspace.as_str())
        .bind(template)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn insert_coupon(&mut self, workspace: &WorkspaceId, row: &CouponRow) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO coupons ({COUPON_COLUMNS}, workspace_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        ))
        .bind(row.id.as_str())
        .bind(row.template_id.as_str())
        .bind(row.member_id.as_str())
        .bind(row.status.as_str())
        .bind(row.source.as_str())
        .bind(row.claimed_at.millis())
        .bind(row.valid_from.millis())
        .bind(row.valid_until.millis())
        .bind(row.order_id.as_deref())
        .bind(row.locked_until.map(Timestamp::millis))
        .bind(row.discount_fen)
        .bind(row.used_at.map(Timestamp::millis))
        .bind(row.returned_at.map(Timestamp::millis))
        .bind(row.ended_at.map(Timestamp::millis))
        .bind(row.granted_by_order.as_deref())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("coupon"))?;
        Ok(())
    }

    /// Locks an available, currently valid coupon of `member` for an order; false when
    /// it is not available (someone else got there first, or it is used, expired…).
    pub async fn lock_coupon(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        member: &str,
        lock: &CouponLock<'_>,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE coupons SET status = 'locked', order_id = $1, locked_until = $2, discount_fen = $3
             WHERE workspace_id = $4 AND id = $5 AND member_id = $6 AND status = 'available'
               AND valid_from <= $7 AND valid_until > $7",
        )
        .bind(lock.order)
        .bind(lock.until.millis())
        .bind(lock.discount_fen)
        .bind(workspace.as_str())
        .bind(id)
        .bind(member)
        .bind(now.millis())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves coupons of `order` from `from` to `to` (a conditional update, so each moves
    /// once) and returns the rows as they were.
    async fn move_order_coupons(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
        only: Option<&str>,
        from: &str,
        set: &str,
        now: Timestamp,
    ) -> Result<Vec<CouponRow>> {
        let rows = sqlx::query(&format!(
            "UPDATE coupons SET {set}
             WHERE workspace_id = $2 AND order_id = $3 AND status = '{from}' AND (CAST($4 AS TEXT) IS NULL OR id = $4)
             RETURNING {COUPON_COLUMNS}"
        ))
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(order)
        .bind(only)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(coupon).collect()
    }

    /// Releases the coupons an order locked (cancelled or timed out), or only `only`.
    pub async fn release_coupon_locks(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
        only: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<CouponRow>> {
        self.move_order_coupons(
            workspace,
            order,
            only,
            "locked",
            &format!("{COMES_BACK}, order_id = NULL, locked_until = NULL"),
            now,
        )
        .await
    }

    /// Marks the coupons an order locked as used (the order was paid).
    pub async fn use_order_coupons(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
        now: Timestamp,
    ) -> Result<Vec<CouponRow>> {
        self.move_order_coupons(
            workspace,
            order,
            None,
            "locked",
            "status = 'used', used_at = $1, locked_until = NULL",
            now,
        )
        .await
    }

    /// Returns an order's used coupons (a full refund under the `return` policy).
    pub async fn return_order_coupons(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
        only: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<CouponRow>> {
        self.move_order_coupons(
            workspace,
            order,
            only,
            "used",
            &format!("{COMES_BACK}, returned_at = $1, order_id = NULL, used_at = NULL"),
            now,
        )
        .await
    }

    /// An order's coupons with their templates' definitions.
    pub async fn order_coupons_with_rules(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
    ) -> Result<Vec<(CouponRow, String)>> {
        let columns = COUPON_COLUMNS
            .split(", ")
            .map(|c| format!("c.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {columns}, t.definition FROM coupons c
             JOIN coupon_templates t ON t.workspace_id = c.workspace_id AND t.id = c.template_id
             WHERE c.workspace_id = $1 AND c.order_id = $2 ORDER BY c.id"
        ))
        .bind(workspace.as_str())
        .bind(order)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| Ok((coupon(r)?, text(r, "definition")?)))
            .collect()
    }

    /// Marks available coupons past their use window as expired; returns how many.
    pub async fn expire_coupons(&mut self, now: Timestamp, limit: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE coupons SET status = 'expired', ended_at = $1
             WHERE status = 'available' AND valid_until <= $1
               AND id IN (SELECT id FROM coupons WHERE status = 'available' AND valid_until <= $1 LIMIT $2)",
        )
        .bind(now.millis())
        .bind(limit)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Revokes an available coupon; false if it is not available.
    pub async fn revoke_coupon(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE coupons SET status = 'revoked', ended_at = $1
             WHERE workspace_id = $2 AND id = $3 AND status = 'available'",
        )
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes the coupons `order` granted that are still available (a full refund);
    /// returns how many. Used or locked ones are left: what was spent stays spent.
    pub async fn revoke_coupons_granted_by(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
        now: Timestamp,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE coupons SET status = 'revoked', ended_at = $1
             WHERE workspace_id = $2 AND granted_by_order = $3 AND status = 'available'",
        )
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(order)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }
}
