//! Per-bucket totals of the facts every dashboard and alert rule reads. Buckets are
//! `(at + offset) / width` in milliseconds, so a day bucket is a local calendar day of a
//! fixed-offset time zone.

use std::collections::BTreeMap;

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;

use crate::error::Result;
use crate::rows::int;
use crate::Store;

/// Totals of one bucket; buckets without any fact are absent from a read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BucketTotals {
    /// Bucket number: `(start + offset) / width`.
    pub bucket: i64,
    pub orders: i64,
    pub gmv_fen: i64,
    pub buyers: i64,
    pub refund_fen: i64,
    /// Distinct members with an event or an order.
    pub active_members: i64,
    /// Distinct members with a `share` event.
    pub sharers: i64,
    pub new_members: i64,
}

/// Copies one aggregate row's figures into its bucket's totals.
type ReadInto = fn(&mut BucketTotals, &sqlx::any::AnyRow) -> Result<()>;

impl Store {
    /// Totals per bucket for `[from, to)`.
    pub async fn bucket_totals(
        &self,
        workspace: &WorkspaceId,
        from: Timestamp,
        to: Timestamp,
        width_ms: i64,
        offset_ms: i64,
    ) -> Result<Vec<BucketTotals>> {
        let mut buckets: BTreeMap<i64, BucketTotals> = BTreeMap::new();
        let queries: [(&str, ReadInto); 4] = [
            (
                "SELECT (paid_at + $4) / $5 AS bucket, CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM(paid_fen) AS BIGINT) AS fen,
                        CAST(COUNT(DISTINCT member_id) AS BIGINT) AS buyers
                 FROM orders WHERE workspace_id = $1 AND paid_at >= $2 AND paid_at < $3
                 GROUP BY 1",
                |t, row| {
                    t.orders = int(row, "n")?;
                    t.gmv_fen = int(row, "fen")?;
                    t.buyers = int(row, "buyers")?;
                    Ok(())
                },
            ),
            (
                "SELECT (refunded_at + $4) / $5 AS bucket, CAST(SUM(amount_fen) AS BIGINT) AS fen
                 FROM refunds WHERE workspace_id = $1 AND refunded_at >= $2 AND refunded_at < $3
                 GROUP BY 1",
                |t, row| {
                    t.refund_fen = int(row, "fen")?;
                    Ok(())
                },
            ),
            // Active members are those with an event or an order: a buyer who came
            // straight from a link without a tracked page view is still active.
            (
                "SELECT bucket, CAST(COUNT(DISTINCT member_id) AS BIGINT) AS active,
                        CAST(COUNT(DISTINCT CASE WHEN shared = 1 THEN member_id END) AS BIGINT) AS sharers
                 FROM (SELECT (occurred_at + $4) / $5 AS bucket, member_id,
                              CASE WHEN type = 'share' THEN 1 ELSE 0 END AS shared
                       FROM events WHERE workspace_id = $1 AND occurred_at >= $2 AND occurred_at < $3
                       UNION ALL
                       SELECT (paid_at + $4) / $5, member_id, 0
                       FROM orders WHERE workspace_id = $1 AND paid_at >= $2 AND paid_at < $3) facts
                 GROUP BY bucket",
                |t, row| {
                    t.active_members = int(row, "active")?;
                    t.sharers = int(row, "sharers")?;
                    Ok(())
                },
            ),
            (
                "SELECT (created_at + $4) / $5 AS bucket, CAST(COUNT(*) AS BIGINT) AS n
                 FROM members WHERE workspace_id = $1 AND merged_into IS NULL
                   AND created_at >= $2 AND created_at < $3
                 GROUP BY 1",
                |t, row| {
                    t.new_members = int(row, "n")?;
                    Ok(())
                },
            ),
        ];
        for (sql, apply) in queries {
            let rows = sqlx::query(sql)
                .bind(workspace.as_str())
                .bind(from.millis())
                .bind(to.millis())
                .bind(offset_ms)
                .bind(width_ms)
                .fetch_all(self.reader())
                .await?;
            for row in &rows {
                let bucket = int(row, "bucket")?;
                let totals = buckets.entry(bucket).or_insert(BucketTotals {
                    bucket,
                    ..BucketTotals::default()
                });
                apply(totals, row)?;
            }
        }
        Ok(buckets.into_values().collect())
    }
}
