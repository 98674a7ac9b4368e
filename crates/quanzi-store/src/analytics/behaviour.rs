//! Members' behaviour as rows for funnels and retention: events of some types (or all),
//! and paid orders as the `order` step, each with an optional touchpoint column to break
//! results down by.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;

use super::touches::TOUCH_COLUMNS;
use crate::error::Result;
use crate::rows::{int, opt_text, text};
use crate::sql::{in_list, keep_prepared, param};
use crate::Store;

/// (member id, time in ms, event type or `order`, breakdown value).
pub type BehaviourRow = (String, i64, String, Option<String>);

/// The pseudo event type paid orders appear as.
pub const ORDER_STEP: &str = "order";

impl Store {
    /// Events in `[from, to)` of `types` (all types when `None`), plus paid orders as
    /// `order` rows when `types` is `None` or names `order`. `breakdown` is one of the
    /// touchpoint columns.
    pub async fn behaviour(
        &self,
        workspace: &WorkspaceId,
        from: Timestamp,
        to: Timestamp,
        types: Option<&[String]>,
        breakdown: Option<&str>,
    ) -> Result<Vec<BehaviourRow>> {
        let backend = self.backend();
        let column = match breakdown {
            Some(c) => TOUCH_COLUMNS
                .into_iter()
                .find(|known| *known == c)
                .unwrap_or_else(|| panic!("`{c}` is not a touchpoint column")),
            None => "NULL",
        };
        let event_types: Option<Vec<&String>> =
            types.map(|t| t.iter().filter(|t| t.as_str() != ORDER_STEP).collect());
        let mut rows = Vec::new();
        if event_types.as_ref().is_none_or(|t| !t.is_empty()) {
            let filter = match &event_types {
                Some(t) => format!(" AND type IN {}", in_list(backend, t.len(), 3)),
                None => String::new(),
            };
            let sql = format!(
                "SELECT member_id, occurred_at AS at, type AS kind, {column} AS breakdown FROM events
                 WHERE workspace_id = {} AND occurred_at >= {} AND occurred_at < {}{filter}",
                param(backend, 1),
                param(backend, 2),
                param(backend, 3),
            );
            let mut query = sqlx::query(&sql)
                .persistent(keep_prepared(backend))
                .bind(workspace.as_str())
                .bind(from.millis())
                .bind(to.millis());
            for t in event_types.iter().flatten() {
                query = query.bind(t.as_str());
            }
            rows.extend(query.fetch_all(self.reader()).await?);
        }
        if types.is_none_or(|t| t.iter().any(|t| t == ORDER_STEP)) {
            let sql = format!(
                "SELECT member_id, paid_at AS at, 'order' AS kind, {column} AS breakdown FROM orders
                 WHERE workspace_id = {} AND paid_at >= {} AND paid_at < {}",
                param(backend, 1),
                param(backend, 2),
                param(backend, 3),
            );
            rows.extend(
                sqlx::query(&sql)
                    .bind(workspace.as_str())
                    .bind(from.millis())
                    .bind(to.millis())
                    .fetch_all(self.reader())
                    .await?,
            );
        }
        rows.iter()
            .map(|row| {
                Ok((
                    text(row, "member_id")?,
                    int(row, "at")?,
                    text(row, "kind")?,
                    opt_text(row, "breakdown")?,
                ))
            })
            .collect()
    }
}
