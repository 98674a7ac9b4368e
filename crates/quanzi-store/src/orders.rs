//! Paid orders and their refunds. An order and the member's profile change together, and
//! each writes a fact to the outbox (`order.paid`, `order.refunded`) for the features that
//! reward or reverse.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::members::{OrderLine, RefundPlan, Touchpoints};
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::connect::Backend;
use crate::error::{Result, StoreError};
use crate::rows::{bind_touchpoints, int, opt_text, text, touchpoints, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    pub id: String,
    pub external_id: String,
    /// Digest of the submitted order: a resubmission must match it.
    pub fingerprint: String,
    pub member_id: String,
    pub paid_at: Timestamp,
    pub received_at: Timestamp,
    pub items_total_fen: i64,
    pub order_discount_fen: i64,
    pub shipping_fen: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub shipping_refunded: bool,
    /// `paid`, `partially_refunded` or `refunded`.
    pub status: String,
    /// JSON array of coupon codes used.
    pub coupons: String,
    pub touchpoints: Touchpoints,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItemRow {
    pub line: i64,
    pub sku: String,
    pub category: Option<String>,
    pub name: Option<String>,
    pub quantity: i64,
    pub unit_price_fen: i64,
    pub discount_fen: i64,
    pub net_fen: i64,
    pub refunded_quantity: i64,
    pub refunded_fen: i64,
}

impl OrderItemRow {
    pub fn as_line(&self) -> OrderLine {
        OrderLine {
            line: self.line,
            quantity: self.quantity,
            net_fen: self.net_fen,
            refunded_quantity: self.refunded_quantity,
            refunded_fen: self.refunded_fen,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRow {
    pub id: String,
    pub order_id: String,
    pub external_id: String,
    pub fingerprint: String,
    pub amount_fen: i64,
    pub shipping_fen: i64,
    /// JSON array of `{line, quantity, amount_fen}`.
    pub lines: String,
    pub reason: Option<String>,
    pub refunded_at: Timestamp,
}

const ORDER_COLUMNS: &str = "id, external_id, fingerprint, member_id, paid_at, received_at, items_total_fen, \
     order_discount_fen, shipping_fen, paid_fen, refunded_fen, shipping_refunded, status, coupons, channel, utm_source, \
     utm_medium, utm_campaign, utm_content, utm_term, link_code, kol_id, campaign_id, content_id";
const ITEM_COLUMNS: &str =
    "line, sku, category, name, quantity, unit_price_fen, discount_fen, net_fen, refunded_quantity, refunded_fen";
const REFUND_COLUMNS: &str =
    "id, order_id, external_id, fingerprint, amount_fen, shipping_fen, lines, reason, refunded_at";

fn order(row: &AnyRow) -> Result<OrderRow> {
    Ok(OrderRow {
        id: text(row, "id")?,
        external_id: text(row, "external_id")?,
        fingerprint: text(row, "fingerprint")?,
        member_id: text(row, "member_id")?,
        paid_at: ts(row, "paid_at")?,
        received_at: ts(row, "received_at")?,
        items_total_fen: int(row, "items_total_fen")?,
        order_discount_fen: int(row, "order_discount_fen")?,
        shipping_fen: int(row, "shipping_fen")?,
        paid_fen: int(row, "paid_fen")?,
        refunded_fen: int(row, "refunded_fen")?,
        shipping_refunded: int(row, "shipping_refunded")? != 0,
        status: text(row, "status")?,
        coupons: text(row, "coupons")?,
        touchpoints: touchpoints(row)?,
    })
}

fn item(row: &AnyRow) -> Result<OrderItemRow> {
    Ok(OrderItemRow {
        line: int(row, "line")?,
        sku: text(row, "sku")?,
        category: opt_text(row, "category")?,
        name: opt_text(row, "name")?,
        quantity: int(row, "quantity")?,
        unit_price_fen: int(row, "unit_price_fen")?,
        discount_fen: int(row, "discount_fen")?,
        net_fen: int(row, "net_fen")?,
        refunded_quantity: int(row, "refunded_quantity")?,
        refunded_fen: int(row, "refunded_fen")?,
    })
}

fn refund(row: &AnyRow) -> Result<RefundRow> {
    Ok(RefundRow {
        id: text(row, "id")?,
        order_id: text(row, "order_id")?,
        external_id: text(row, "external_id")?,
        fingerprint: text(row, "fingerprint")?,
        amount_fen: int(row, "amount_fen")?,
        shipping_fen: int(row, "shipping_fen")?,
        lines: text(row, "lines")?,
        reason: opt_text(row, "reason")?,
        refunded_at: ts(row, "refunded_at")?,
    })
}

impl Tx {
    pub async fn order_by_external_id(
        &mut self,
        workspace: &WorkspaceId,
        external_id: &str,
    ) -> Result<Option<OrderRow>> {
        sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE workspace_id = $1 AND external_id = $2"
        ))
        .bind(workspace.as_str())
        .bind(external_id)
        .fetch_optional(self.conn())
        .await?
        .map(|row| order(&row))
        .transpose()
    }

    /// Stores a paid order with its items, counts it in the member's profile and emits
    /// `order.paid`. A concurrent insert of the same external id fails with `Conflict`.
    pub async fn insert_order(
        &mut self,
        workspace: &WorkspaceId,
        row: &OrderRow,
        items: &[OrderItemRow],
    ) -> Result<()> {
        let t = &row.touchpoints;
        let sql = format!(
            "INSERT INTO orders (workspace_id, {ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
        );
        let insert = sqlx::query(&sql)
            .bind(workspace.as_str())
            .bind(&row.id)
            .bind(&row.external_id)
            .bind(&row.fingerprint)
            .bind(&row.member_id)
            .bind(row.paid_at.millis())
            .bind(row.received_at.millis())
            .bind(row.items_total_fen)
            .bind(row.order_discount_fen)
            .bind(row.shipping_fen)
            .bind(row.paid_fen)
            .bind(row.refunded_fen)
            .bind(i64::from(row.shipping_refunded))
            .bind(&row.status)
            .bind(&row.coupons);
        bind_touchpoints(insert, t)
            .execute(self.conn())
            .await
            .map_err(StoreError::unique("order"))?;
        for it in items {
            sqlx::query(&format!(
                "INSERT INTO order_items (order_id, workspace_id, {ITEM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ))
            .bind(&row.id)
            .bind(workspace.as_str())
            .bind(it.line)
            .bind(&it.sku)
            .bind(it.category.as_deref())
            .bind(it.name.as_deref())
            .bind(it.quantity)
            .bind(it.unit_price_fen)
            .bind(it.discount_fen)
            .bind(it.net_fen)
            .bind(it.refunded_quantity)
            .bind(it.refunded_fen)
            .execute(self.conn())
            .await?;
        }
        let paid = row.paid_at.millis();
        sqlx::query(
            "UPDATE members SET order_count = order_count + 1, gmv_fen = gmv_fen + $1,
                first_order_at = CASE WHEN first_order_at IS NULL OR $2 < first_order_at THEN $2 ELSE first_order_at END,
                last_order_at = CASE WHEN last_order_at IS NULL OR $2 > last_order_at THEN $2 ELSE last_order_at END,
                first_seen_at = CASE WHEN first_seen_at IS NULL OR $2 < first_seen_at THEN $2 ELSE first_seen_at END,
                last_seen_at = CASE WHEN last_seen_at IS NULL OR $2 > last_seen_at THEN $2 ELSE last_seen_at END,
                last_interaction_at = CASE WHEN last_interaction_at IS NULL OR $2 > last_interaction_at THEN $2 ELSE last_interaction_at END,
                acquisition_channel = COALESCE(acquisition_channel, $3),
                updated_at = $4
             WHERE id = $5",
        )
        .bind(row.paid_fen)
        .bind(paid)
        .bind(t.channel.as_deref())
        .bind(row.received_at.millis())
        .bind(&row.member_id)
        .execute(self.conn())
        .await?;
        let payload = format!(
            "{{\"order_id\":\"{}\",\"member_id\":\"{}\",\"paid_fen\":{},\"paid_at\":{}}}",
            row.id, row.member_id, row.paid_fen, paid
        );
        self.emit(workspace, "order.paid", &row.id, &payload, row.received_at)
            .await
    }

    /// The order and its lines, locked for a refund (`FOR UPDATE` on PostgreSQL).
    pub async fn lock_order(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<(OrderRow, Vec<OrderItemRow>)> {
        let lock = if self.backend() == Backend::Postgres {
            "FOR UPDATE"
        } else {
            ""
        };
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE workspace_id = $1 AND id = $2 {lock}"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.conn())
        .await?
        .ok_or(StoreError::NotFound)?;
        let items = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM order_items WHERE order_id = $1 ORDER BY line"
        ))
        .bind(id)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(item)
        .collect::<Result<Vec<_>>>()?;
        Ok((order(&row)?, items))
    }

    pub async fn refund_by_external_id(
        &mut self,
        workspace: &WorkspaceId,
        external_id: &str,
    ) -> Result<Option<RefundRow>> {
        sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE workspace_id = $1 AND external_id = $2"
        ))
        .bind(workspace.as_str())
        .bind(external_id)
        .fetch_optional(self.conn())
        .await?
        .map(|row| refund(&row))
        .transpose()
    }

    /// Records a refund planned against the locked order: lines, order totals and status,
    /// the member's refund total, and `order.refunded` in the outbox.
    pub async fn insert_refund(
        &mut self,
        workspace: &WorkspaceId,
        order: &OrderRow,
        plan: &RefundPlan,
        row: &RefundRow,
    ) -> Result<()> {
        for line in &plan.lines {
            sqlx::query(
                "UPDATE order_items SET refunded_quantity = refunded_quantity + $1, refunded_fen = refunded_fen + $2
                 WHERE order_id = $3 AND line = $4",
            )
            .bind(line.quantity)
            .bind(line.amount_fen)
            .bind(&order.id)
            .bind(line.line)
            .execute(self.conn())
            .await?;
        }
        let refunded = order.refunded_fen + plan.total_fen;
        let status = if refunded >= order.paid_fen {
            "refunded"
        } else {
            "partially_refunded"
        };
        sqlx::query(
            "UPDATE orders SET refunded_fen = $1, status = $2, shipping_refunded = CASE WHEN $3 > 0 THEN 1 ELSE shipping_refunded END
             WHERE id = $4",
        )
        .bind(refunded)
        .bind(status)
        .bind(plan.shipping_fen)
        .bind(&order.id)
        .execute(self.conn())
        .await?;
        sqlx::query(&format!(
            "INSERT INTO refunds (workspace_id, {REFUND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(workspace.as_str())
        .bind(&row.id)
        .bind(&row.order_id)
        .bind(&row.external_id)
        .bind(&row.fingerprint)
        .bind(row.amount_fen)
        .bind(row.shipping_fen)
        .bind(&row.lines)
        .bind(row.reason.as_deref())
        .bind(row.refunded_at.millis())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("refund"))?;
        sqlx::query(
            "UPDATE members SET refund_fen = refund_fen + $1, updated_at = $2 WHERE id = $3",
        )
        .bind(plan.total_fen)
        .bind(row.refunded_at.millis())
        .bind(&order.member_id)
        .execute(self.conn())
        .await?;
        let payload = format!(
            "{{\"order_id\":\"{}\",\"refund_id\":\"{}\",\"member_id\":\"{}\",\"amount_fen\":{},\"lines\":{}}}",
            order.id, row.id, order.member_id, plan.total_fen, row.lines
        );
        self.emit(
            workspace,
            "order.refunded",
            &order.id,
            &payload,
            row.refunded_at,
        )
        .await
    }
}

impl Store {
    pub async fn order(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<(OrderRow, Vec<OrderItemRow>, Vec<RefundRow>)> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        let items = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM order_items WHERE order_id = $1 ORDER BY line"
        ))
        .bind(id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(item)
        .collect::<Result<Vec<_>>>()?;
        let refunds = sqlx::query(&format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE workspace_id = $1 AND order_id = $2 ORDER BY id"))
            .bind(workspace.as_str())
            .bind(id)
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(refund)
            .collect::<Result<Vec<_>>>()?;
        Ok((order(&row)?, items, refunds))
    }

    /// A member's orders, newest first.
    pub async fn member_orders(
        &self,
        workspace: &WorkspaceId,
        member: &str,
        limit: u32,
    ) -> Result<Vec<OrderRow>> {
        sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE workspace_id = $1 AND member_id = $2 ORDER BY paid_at DESC, id DESC LIMIT $3"
        ))
        .bind(workspace.as_str())
        .bind(member)
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(order)
        .collect()
    }

    /// Outbox facts about `subject`, oldest first (for timelines and tests).
    pub async fn domain_events_for(
        &self,
        workspace: &WorkspaceId,
        subject: &str,
    ) -> Result<Vec<(String, String)>> {
        sqlx::query("SELECT topic, payload FROM domain_events WHERE workspace_id = $1 AND subject_id = $2 ORDER BY id")
            .bind(workspace.as_str())
            .bind(subject)
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|row| Ok((text(row, "topic")?, text(row, "payload")?)))
            .collect()
    }
}
