//! Behaviour events: inserted in multi-row statements, deduplicated by the workspace's
//! `(workspace_id, event_id)` primary key.

use std::sync::LazyLock;

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::members::Touchpoints;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::connect::Backend;
use crate::error::Result;
use crate::member_key::member_key;
use crate::pg_arrays::{int_array, text_array};
use crate::rows::{bind_touchpoints, text, touchpoints, ts, AnyQuery};
use crate::sql::{bulk_insert, placeholders, CHUNK};
use crate::{Store, Tx};

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: String,
    pub member_id: String,
    pub event_type: String,
    pub occurred_at: Timestamp,
    pub properties: String,
    pub touchpoints: Touchpoints,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub event_id: String,
    pub member_id: String,
    pub event_type: String,
    pub occurred_at: Timestamp,
    pub received_at: Timestamp,
    pub properties: String,
    pub touchpoints: Touchpoints,
}

const COLUMNS: &str = "workspace_id, event_id, member_id, type, occurred_at, received_at, properties, channel, \
     utm_source, utm_medium, utm_campaign, utm_content, utm_term, link_code, kol_id, campaign_id, content_id";
/// What an insert writes: the columns read back, and the member's key (see `member_key`).
const INSERT_WIDTH: usize = 18;
static INSERT_COLUMNS: LazyLock<String> = LazyLock::new(|| format!("{COLUMNS}, member_key"));

/// SQLite's insert of `rows` events, skipping event ids already stored.
fn sqlite_insert(rows: usize) -> String {
    format!(
        "{} INTO events ({}) VALUES {} ON CONFLICT (workspace_id, event_id) DO NOTHING",
        bulk_insert(Backend::Sqlite),
        *INSERT_COLUMNS,
        placeholders(Backend::Sqlite, rows, INSERT_WIDTH, 0)
    )
}

/// The one for a full chunk, the usual case, built once.
static SQLITE_FULL_INSERT: LazyLock<String> = LazyLock::new(|| sqlite_insert(CHUNK));

/// PostgreSQL's event insert: one array per column, `$1` the workspace and `$2` the time
/// received (see `pg_arrays`).
static UNNEST_INSERT: LazyLock<String> = LazyLock::new(|| {
    let touchpoints = Touchpoints::FIELDS;
    let arrays: Vec<String> = (0..touchpoints.len())
        .map(|i| format!("CAST(${} AS text[])", i + 9))
        .collect();
    format!(
        "INSERT INTO events ({COLUMNS}, member_key)
         SELECT $1, v.event_id, v.member_id, v.type, v.occurred_at, $2, v.properties, {}, v.member_key
         FROM UNNEST(CAST($3 AS text[]), CAST($4 AS text[]), CAST($5 AS text[]), CAST($6 AS bigint[]),
                     CAST($7 AS text[]), CAST($8 AS bigint[]), {})
              AS v(event_id, member_id, type, occurred_at, properties, member_key, {})
         ON CONFLICT (workspace_id, event_id) DO NOTHING RETURNING event_id",
        touchpoints.map(|c| format!("v.{c}")).join(", "),
        arrays.join(", "),
        touchpoints.join(", "),
    )
});

fn event(row: &AnyRow) -> Result<EventRow> {
    Ok(EventRow {
        event_id: text(row, "event_id")?,
        member_id: text(row, "member_id")?,
        event_type: text(row, "type")?,
        occurred_at: ts(row, "occurred_at")?,
        received_at: ts(row, "received_at")?,
        properties: text(row, "properties")?,
        touchpoints: touchpoints(row)?,
    })
}

/// Binds one event's 18 columns in `INSERT_COLUMNS` order.
pub(crate) fn bind_event<'q>(
    query: AnyQuery<'q>,
    workspace: &'q str,
    e: &'q NewEvent,
    received_at: Timestamp,
) -> AnyQuery<'q> {
    let query = query
        .bind(workspace)
        .bind(&e.event_id)
        .bind(&e.member_id)
        .bind(&e.event_type)
        .bind(e.occurred_at.millis())
        .bind(received_at.millis())
        .bind(&e.properties);
    bind_touchpoints(query, &e.touchpoints).bind(member_key(&e.member_id))
}

impl Tx {
    /// Inserts events that are new; returns the event ids that were inserted (the others
    /// were already stored).
    pub async fn insert_events(
        &mut self,
        workspace: &WorkspaceId,
        events: &[NewEvent],
        now: Timestamp,
    ) -> Result<Vec<String>> {
        if self.backend() == Backend::Postgres {
            return self.insert_events_unnest(workspace, events, now).await;
        }
        let before = self.sqlite_rowid_mark("events").await?;
        let mut count = 0;
        for chunk in events.chunks(CHUNK) {
            let sql = if chunk.len() == CHUNK {
                SQLITE_FULL_INSERT.as_str()
            } else {
                &sqlite_insert(chunk.len())
            };
            let mut query = sqlx::query(sql);
            for e in chunk {
                query = bind_event(query, workspace.as_str(), e, now);
            }
            count += query.execute(self.conn()).await?.rows_affected() as usize;
        }
        if count == events.len() {
            return Ok(events.iter().map(|e| e.event_id.clone()).collect());
        }
        Ok(
            sqlx::query_scalar("SELECT event_id FROM events WHERE rowid > $1")
                .bind(before)
                .fetch_all(self.conn())
                .await?,
        )
    }

    /// PostgreSQL: every event in one prepared statement over one array per column (see
    /// `pg_arrays`).
    async fn insert_events_unnest(
        &mut self,
        workspace: &WorkspaceId,
        events: &[NewEvent],
        now: Timestamp,
    ) -> Result<Vec<String>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // By event id, so that concurrent writers inserting the same ids (a batch sent
        // again while the first is in flight) wait for each other rather than deadlock.
        let mut sorted: Vec<&NewEvent> = events.iter().collect();
        sorted.sort_by(|a, b| a.event_id.cmp(&b.event_id));
        let events = sorted;
        let mut query = sqlx::query(&UNNEST_INSERT)
            .bind(workspace.as_str())
            .bind(now.millis())
            .bind(text_array(events.iter().map(|e| Some(e.event_id.as_str()))))
            .bind(text_array(
                events.iter().map(|e| Some(e.member_id.as_str())),
            ))
            .bind(text_array(
                events.iter().map(|e| Some(e.event_type.as_str())),
            ))
            .bind(int_array(
                events.iter().map(|e| Some(e.occurred_at.millis())),
            ))
            .bind(text_array(
                events.iter().map(|e| Some(e.properties.as_str())),
            ))
            .bind(int_array(
                events.iter().map(|e| Some(member_key(&e.member_id))),
            ));
        let touchpoints: Vec<[Option<&str>; 10]> =
            events.iter().map(|e| e.touchpoints.values()).collect();
        for i in 0..Touchpoints::FIELDS.len() {
            query = query.bind(text_array(touchpoints.iter().map(|t| t[i])));
        }
        query
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| text(row, "event_id"))
            .collect()
    }
}

impl Store {
    /// A member's events, newest first, before `before` (an occurred-at in millis).
    pub async fn member_events(
        &self,
        workspace: &WorkspaceId,
        member: &str,
        before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<EventRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM events
             WHERE member_key = $1 AND member_id = $2 AND workspace_id = $3 AND occurred_at < $4
             ORDER BY occurred_at DESC, event_id DESC LIMIT $5"
        );
        sqlx::query(&sql)
            .bind(member_key(member))
            .bind(member)
            .bind(workspace.as_str())
            .bind(before.map(Timestamp::millis).unwrap_or(i64::MAX))
            .bind(i64::from(limit.clamp(1, 500)))
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(event)
            .collect()
    }

    /// How many of these event ids are stored (for durability checks and tests).
    pub async fn count_events(&self, workspace: &WorkspaceId) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE workspace_id = $1")
                .bind(workspace.as_str())
                .fetch_one(self.reader())
                .await?,
        )
    }

    /// The stored event ids of a workspace.
    pub async fn event_ids(&self, workspace: &WorkspaceId) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT event_id FROM events WHERE workspace_id = $1")
                .bind(workspace.as_str())
                .fetch_all(self.reader())
                .await?,
        )
    }
}
