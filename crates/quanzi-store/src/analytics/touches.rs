//! The raw inputs of attribution: members' touches on one touchpoint column and their
//! orders, in a time range.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;

use crate::error::Result;
use crate::rows::{int, opt_text, text};
use crate::Store;

/// The touchpoint columns a journey can be read from (events and orders both have them).
pub const TOUCH_COLUMNS: [&str; 6] = [
    "channel",
    "utm_source",
    "utm_campaign",
    "kol_id",
    "campaign_id",
    "content_id",
];

/// A member's touch: (member id, time in ms, the column's value).
pub type TouchRow = (String, i64, String);

/// A paid order: (member id, time in ms, paid minus refunded fen, the column's value).
pub type ConversionRow = (String, i64, i64, Option<String>);

impl Store {
    /// Events with a value in `column` (one of [`TOUCH_COLUMNS`]) in `[from, to)`.
    pub async fn touches(
        &self,
        workspace: &WorkspaceId,
        column: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<TouchRow>> {
        let column = checked(column);
        sqlx::query(&format!(
            "SELECT member_id, occurred_at, {column} AS touch FROM events
             WHERE workspace_id = $1 AND occurred_at >= $2 AND occurred_at < $3
               AND {column} IS NOT NULL"
        ))
        .bind(workspace.as_str())
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| {
            Ok((
                text(row, "member_id")?,
                int(row, "occurred_at")?,
                text(row, "touch")?,
            ))
        })
        .collect()
    }

    /// Orders paid in `[from, to)` with their net value and their own `column` value.
    pub async fn conversions(
        &self,
        workspace: &WorkspaceId,
        column: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ConversionRow>> {
        let column = checked(column);
        sqlx::query(&format!(
            "SELECT member_id, paid_at, paid_fen - refunded_fen AS net, {column} AS touch FROM orders
             WHERE workspace_id = $1 AND paid_at >= $2 AND paid_at < $3"
        ))
        .bind(workspace.as_str())
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| {
            Ok((
                text(row, "member_id")?,
                int(row, "paid_at")?,
                int(row, "net")?,
                opt_text(row, "touch")?,
            ))
        })
        .collect()
    }
}

/// The column, if it is one of [`TOUCH_COLUMNS`]; callers check first, so anything else
/// is a bug, not input.
fn checked(column: &str) -> &'static str {
    TOUCH_COLUMNS
        .into_iter()
        .find(|c| *c == column)
        .unwrap_or_else(|| panic!("`{column}` is not a touchpoint column"))
}
