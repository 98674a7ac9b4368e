//! Segments compiled to SQL. Every condition becomes a two-valued expression over the
//! `members m` row (never NULL), so `NOT` means what it says; behaviour counts become
//! `m.id [NOT] IN (SELECT member_id … GROUP BY member_id HAVING COUNT(*) …)` over the
//! time-window indexes, which scans only the window's events rather than one subquery per
//! member. `Condition::matches` in the domain crate is the reference this must agree with
//! (property-tested in the conformance suite).

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::segments::{Cmp, Condition, ProfileField, RfmDimension, TraitTest, NEVER_DAYS};
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::connect::Backend;
use crate::error::{Result, StoreError};
use crate::rows::{opt_int, opt_ts, text, ts};
use crate::sql::param;
use crate::{into_page, page_limit, Page, Store, Tx};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Text(String),
}

/// Builds SQL text and its arguments in order (SQLite's anonymous `?` bind by position).
struct Sql {
    backend: Backend,
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    fn arg(&mut self, arg: Arg) {
        self.args.push(arg);
        let p = param(self.backend, self.args.len());
        self.text.push_str(&p);
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }
}

/// `WHERE` text selecting the live members of `workspace` that match `condition` at `now`.
fn compile(
    backend: Backend,
    workspace: &WorkspaceId,
    condition: &Condition,
    now: Timestamp,
) -> Sql {
    let mut sql = Sql {
        backend,
        text: String::new(),
        args: Vec::new(),
    };
    sql.push("m.workspace_id = ");
    sql.arg(Arg::Text(workspace.to_string()));
    sql.push(" AND m.merged_into IS NULL AND m.erased_at IS NULL AND ");
    emit(&mut sql, workspace, condition, now);
    sql
}

fn emit(sql: &mut Sql, ws: &WorkspaceId, condition: &Condition, now: Timestamp) {
    match condition {
        Condition::All(children) | Condition::Any(children) if children.is_empty() => {
            sql.push(if matches!(condition, Condition::All(_)) {
                "(1 = 1)"
            } else {
                "(1 = 0)"
            });
        }
        Condition::All(children) | Condition::Any(children) => {
            let joiner = if matches!(condition, Condition::All(_)) {
                " AND "
            } else {
                " OR "
            };
            sql.push("(");
            for (i, child) in children.iter().enumerate() {
                if i > 0 {
                    sql.push(joiner);
                }
                emit(sql, ws, child, now);
            }
            sql.push(")");
        }
        Condition::Not(child) => {
            sql.push("(NOT ");
            emit(sql, ws, child, now);
            sql.push(")");
        }
        Condition::Events {
            event_type,
            within_days,
            cmp,
            count,
        } => {
            let since = now.millis() - i64::from(*within_days) * DAY_MS;
            counted(sql, *cmp, *count, |sql, having| {
                sql.push("SELECT member_id FROM events WHERE workspace_id = ");
                sql.arg(Arg::Text(ws.to_string()));
                sql.push(" AND type = ");
                sql.arg(Arg::Text(event_type.as_str().to_owned()));
                sql.push(" AND occurred_at >= ");
                sql.arg(Arg::Int(since));
                // SQLite would otherwise walk the member index in order to skip a sort,
                // reading every event of the workspace instead of the window's; `+` stops
                // it from using an index for the grouping.
                sql.push(match sql.backend {
                    Backend::Sqlite => " GROUP BY +member_id HAVING COUNT(*) ",
                    Backend::Postgres => " GROUP BY member_id HAVING COUNT(*) ",
                });
                sql.push(having.0);
                sql.push(" ");
                sql.arg(Arg::Int(having.1));
            });
        }
        Condition::Orders {
            within_days,
            cmp,
            count,
        } => {
            counted(sql, *cmp, *count, |sql, having| {
                sql.push("SELECT member_id FROM orders WHERE workspace_id = ");
                sql.arg(Arg::Text(ws.to_string()));
                if let Some(days) = within_days {
                    sql.push(" AND paid_at >= ");
                    sql.arg(Arg::Int(now.millis() - i64::from(*days) * DAY_MS));
                }
                sql.push(" GROUP BY member_id HAVING COUNT(*) ");
                sql.push(having.0);
                sql.push(" ");
                sql.arg(Arg::Int(having.1));
            });
        }
        Condition::Profile { field, cmp, value } => {
            sql.push("(");
            match field {
                ProfileField::OrderCount => sql.push("m.order_count"),
                ProfileField::GmvFen => sql.push("m.gmv_fen"),
                ProfileField::RefundFen => sql.push("m.refund_fen"),
                ProfileField::EventCount => sql.push("m.event_count"),
                ProfileField::DaysSinceLastOrder => days_since(sql, "m.last_order_at", now),
                ProfileField::DaysSinceLastSeen => days_since(sql, "m.last_seen_at", now),
                ProfileField::DaysSinceFirstSeen => days_since(sql, "m.first_seen_at", now),
            }
            sql.push(" ");
            sql.push(cmp.sql());
            sql.push(" ");
            sql.arg(Arg::Int(*value));
            sql.push(")");
        }
        Condition::Rfm {
            dimension,
            cmp,
            value,
        } => {
            sql.push(match dimension {
                RfmDimension::Recency => "(COALESCE(m.rfm_recency, 0) ",
                RfmDimension::Frequency => "(COALESCE(m.rfm_frequency, 0) ",
                RfmDimension::Monetary => "(COALESCE(m.rfm_monetary, 0) ",
            });
            sql.push(cmp.sql());
            sql.push(" ");
            sql.arg(Arg::Int(*value));
            sql.push(")");
        }
        Condition::Lifecycle(stages) => {
            if stages.is_empty() {
                sql.push("(1 = 0)");
                return;
            }
            lifecycle_stage(sql, now);
            sql.push(" IN (");
            for (i, stage) in stages.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.arg(Arg::Text(stage.as_str().to_owned()));
            }
            sql.push(")");
        }
        Condition::Consent(channel) => {
            sql.push("(m.id IN (SELECT member_id FROM member_consents WHERE workspace_id = ");
            sql.arg(Arg::Text(ws.to_string()));
            sql.push(" AND channel = ");
            sql.arg(Arg::Text(channel.as_str().to_owned()));
            sql.push(" AND granted = 1))");
        }
        Condition::Tag(tag) => {
            sql.push("(m.id IN (SELECT member_id FROM member_tags WHERE workspace_id = ");
            sql.arg(Arg::Text(ws.to_string()));
            sql.push(" AND tag_id = ");
            sql.arg(Arg::Text(tag.clone()));
            sql.push("))");
        }
        Condition::Trait { name, test } => {
            let value = |sql: &mut Sql| match sql.backend {
                Backend::Sqlite => {
                    sql.push("CAST(json_extract(m.traits, ");
                    sql.arg(Arg::Text(format!("$.{name}")));
                    sql.push(") AS TEXT)");
                }
                Backend::Postgres => {
                    sql.push("(CAST(m.traits AS jsonb) ->> ");
                    sql.arg(Arg::Text(name.clone()));
                    sql.push(")");
                }
            };
            sql.push("(");
            match test {
                TraitTest::Exists => {
                    value(sql);
                    sql.push(" IS NOT NULL");
                }
                TraitTest::Equals(v) => {
                    value(sql);
                    sql.push(" IS NOT NULL AND ");
                    value(sql);
                    sql.push(" = ");
                    sql.arg(Arg::Text(v.clone()));
                }
                TraitTest::NotEquals(v) => {
                    value(sql);
                    sql.push(" IS NULL OR ");
                    value(sql);
                    sql.push(" <> ");
                    sql.arg(Arg::Text(v.clone()));
                }
                TraitTest::OneOf(vs) if vs.is_empty() => sql.push("1 = 0"),
                TraitTest::OneOf(vs) => {
                    value(sql);
                    sql.push(" IS NOT NULL AND ");
                    value(sql);
                    sql.push(" IN (");
                    for (i, v) in vs.iter().enumerate() {
                        if i > 0 {
                            sql.push(", ");
                        }
                        sql.arg(Arg::Text(v.clone()));
                    }
                    sql.push(")");
                }
            }
            sql.push(")");
        }
    }
}

/// A count comparison as set membership: "count ≥ k" is `IN (… HAVING COUNT(*) >= k)`, and
/// every other comparison is that or its complement (members with no rows count 0).
fn counted(sql: &mut Sql, cmp: Cmp, count: i64, subquery: impl Fn(&mut Sql, (&str, i64))) {
    // (members whose count satisfies `having` are IN; `negate` flips to NOT IN)
    let (negate, having): (bool, Option<(&str, i64)>) = match cmp {
        Cmp::Gte if count <= 0 => (false, None),
        Cmp::Gte => (false, Some((">=", count))),
        Cmp::Gt if count < 0 => (false, None),
        Cmp::Gt => (false, Some((">=", count + 1))),
        Cmp::Lt if count <= 0 => (true, None),
        Cmp::Lt => (true, Some((">=", count))),
        Cmp::Lte if count < 0 => (true, None),
        Cmp::Lte => (true, Some((">=", count + 1))),
        Cmp::Eq if count < 0 => (true, None),
        Cmp::Eq if count == 0 => (true, Some((">=", 1))),
        Cmp::Eq => (false, Some(("=", count))),
        Cmp::Ne if count < 0 => (false, None),
        Cmp::Ne if count == 0 => (false, Some((">=", 1))),
        Cmp::Ne => (true, Some(("=", count))),
    };
    match having {
        // Always true (negate = false) or always false (negate = true).
        None => sql.push(if negate { "(1 = 0)" } else { "(1 = 1)" }),
        Some(having) => {
            sql.push(if negate {
                "(m.id NOT IN ("
            } else {
                "(m.id IN ("
            });
            subquery(sql, having);
            sql.push("))");
        }
    }
}

fn days_since(sql: &mut Sql, column: &str, now: Timestamp) {
    sql.push("COALESCE((");
    sql.arg(Arg::Int(now.millis()));
    sql.push(&format!(" - {column}) / {DAY_MS}, {NEVER_DAYS})"));
}

/// The lifecycle stage as SQL, the same rules as `LifecycleStage::of_profile`.
fn lifecycle_stage(sql: &mut Sql, now: Timestamp) {
    let since = "(CASE WHEN m.first_seen_at IS NOT NULL AND m.first_seen_at < m.created_at THEN m.first_seen_at ELSE m.created_at END)";
    let activity = format!(
        "(CASE WHEN m.last_seen_at IS NULL AND m.last_order_at IS NULL THEN {since} \
          WHEN m.last_seen_at IS NULL THEN m.last_order_at WHEN m.last_order_at IS NULL THEN m.last_seen_at \
          WHEN m.last_seen_at > m.last_order_at THEN m.last_seen_at ELSE m.last_order_at END)"
    );
    let interaction = format!("COALESCE(m.last_interaction_at, {since})");
    sql.push("(CASE WHEN ");
    sql.arg(Arg::Int(now.millis()));
    sql.push(&format!(
        " - {activity} >= {} THEN 'dormant' WHEN ",
        90 * DAY_MS
    ));
    sql.arg(Arg::Int(now.millis()));
    sql.push(&format!(
        " - {interaction} >= {} THEN 'churn_risk' WHEN ",
        30 * DAY_MS
    ));
    sql.arg(Arg::Int(now.millis()));
    sql.push(&format!(" - {since} < {} THEN 'new' WHEN ", 7 * DAY_MS));
    sql.arg(Arg::Int(now.millis()));
    sql.push(&format!(
        " - {since} < {} THEN 'growing' ELSE 'mature' END)",
        90 * DAY_MS
    ));
}

fn bind<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Int(v) => query.bind(*v),
            Arg::Text(v) => query.bind(v.as_str()),
        };
    }
    query
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRow {
    pub id: String,
    pub name: String,
    /// The condition as the API received it (JSON text).
    pub definition: String,
    pub created_at: Timestamp,
    pub refreshed_at: Option<Timestamp>,
    pub member_count: Option<i64>,
}

fn segment(row: &AnyRow) -> Result<SegmentRow> {
    Ok(SegmentRow {
        id: text(row, "id")?,
        name: text(row, "name")?,
        definition: text(row, "definition")?,
        created_at: ts(row, "created_at")?,
        refreshed_at: opt_ts(row, "refreshed_at")?,
        member_count: opt_int(row, "member_count")?,
    })
}

const SEGMENT_COLUMNS: &str = "id, name, definition, created_at, refreshed_at, member_count";

impl Store {
    /// How many live members match right now.
    pub async fn segment_count(
        &self,
        workspace: &WorkspaceId,
        condition: &Condition,
        now: Timestamp,
    ) -> Result<i64> {
        let where_ = compile(self.backend(), workspace, condition, now);
        let sql = format!("SELECT COUNT(*) FROM members m WHERE {}", where_.text);
        Ok(bind(sqlx::query(&sql), &where_.args)
            .fetch_one(self.reader())
            .await
            .map(|row| {
                use sqlx::Row;
                row.try_get::<i64, _>(0)
            })??)
    }

    /// How many members match and the first `sample` of them by id, in one pass: the
    /// window count is computed over every match before the limit applies (a separate
    /// count and sample query cost half as much again).
    pub async fn segment_preview(
        &self,
        workspace: &WorkspaceId,
        condition: &Condition,
        now: Timestamp,
        sample: u32,
    ) -> Result<(i64, Vec<String>)> {
        let where_ = compile(self.backend(), workspace, condition, now);
        let sql = format!(
            "SELECT m.id, COUNT(*) OVER () AS total FROM members m WHERE {} ORDER BY m.id LIMIT {}",
            where_.text,
            sample.clamp(1, 1000)
        );
        let rows = bind(sqlx::query(&sql), &where_.args)
            .fetch_all(self.reader())
            .await?;
        let total = match rows.first() {
            Some(row) => crate::rows::int(row, "total")?,
            None => 0,
        };
        let ids = rows
            .iter()
            .map(|row| text(row, "id"))
            .collect::<Result<Vec<_>>>()?;
        Ok((total, ids))
    }

    /// Matching member ids in id order (for previews and tests).
    pub async fn segment_member_ids(
        &self,
        workspace: &WorkspaceId,
        condition: &Condition,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<String>> {
        let where_ = compile(self.backend(), workspace, condition, now);
        let sql = format!(
            "SELECT m.id FROM members m WHERE {} ORDER BY m.id LIMIT {}",
            where_.text,
            limit.min(100_000)
        );
        bind(sqlx::query(&sql), &where_.args)
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|row| text(row, "id"))
            .collect()
    }

    pub async fn segment(&self, workspace: &WorkspaceId, id: &str) -> Result<SegmentRow> {
        let row = sqlx::query(&format!(
            "SELECT {SEGMENT_COLUMNS} FROM segments WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        segment(&row)
    }

    pub async fn segments(
        &self,
        workspace: &WorkspaceId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<SegmentRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {SEGMENT_COLUMNS} FROM segments WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(workspace.as_str())
        .bind(after.unwrap_or(""))
        .bind(page_limit(limit))
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(segment)
        .collect::<Result<Vec<_>>>()?;
        Ok(into_page(rows, limit, |s| s.id.clone()))
    }

    /// Segments a member is in (as last materialised).
    pub async fn member_segments(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Vec<SegmentRow>> {
        sqlx::query(&format!(
            "SELECT {} FROM segments s JOIN segment_members sm ON sm.segment_id = s.id
             WHERE sm.workspace_id = $1 AND sm.member_id = $2 ORDER BY s.id",
            SEGMENT_COLUMNS
                .split(", ")
                .map(|c| format!("s.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(workspace.as_str())
        .bind(member)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(segment)
        .collect()
    }

    /// A page of a segment's materialised members with their non-PII identities
    /// (`kind:value` joined by spaces), for audience exports.
    pub async fn segment_export_page(
        &self,
        workspace: &WorkspaceId,
        segment: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<(String, String)>> {
        let members: Vec<String> = sqlx::query_scalar(
            "SELECT member_id FROM segment_members WHERE segment_id = $1 AND workspace_id = $2 AND member_id > $3 ORDER BY member_id LIMIT $4",
        )
        .bind(segment)
        .bind(workspace.as_str())
        .bind(after.unwrap_or(""))
        .bind(page_limit(limit))
        .fetch_all(self.reader())
        .await?;
        let mut rows = Vec::with_capacity(members.len());
        for member in members {
            let identities = self.member_identities(workspace, &member).await?;
            let plain: Vec<String> = identities
                .iter()
                .filter(|i| !i.kind.is_pii())
                .map(|i| format!("{}:{}", i.kind.as_str(), i.display))
                .collect();
            rows.push((member, plain.join(" ")));
        }
        Ok(into_page(rows, limit, |(id, _)| id.clone()))
    }
}

impl Tx {
    pub async fn insert_segment(
        &mut self,
        workspace: &WorkspaceId,
        row: &SegmentRow,
    ) -> Result<()> {
        sqlx::query("INSERT INTO segments (id, workspace_id, name, definition, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&row.id)
            .bind(workspace.as_str())
            .bind(&row.name)
            .bind(&row.definition)
            .bind(row.created_at.millis())
            .execute(self.conn())
            .await
            .map_err(StoreError::unique("segment_name"))?;
        Ok(())
    }

    /// Replaces the segment's materialised members with those matching now; returns how many.
    pub async fn materialize_segment(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        condition: &Condition,
        now: Timestamp,
    ) -> Result<i64> {
        sqlx::query("DELETE FROM segment_members WHERE segment_id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        let backend = self.backend();
        let mut head = Sql {
            backend,
            text: String::new(),
            args: Vec::new(),
        };
        head.push("INSERT INTO segment_members (workspace_id, segment_id, member_id) SELECT ");
        head.arg(Arg::Text(workspace.to_string()));
        head.push(", ");
        head.arg(Arg::Text(id.to_owned()));
        head.push(", m.id FROM members m WHERE ");
        let where_ = compile(backend, workspace, condition, now);
        // Renumber the WHERE's placeholders after the head's (PostgreSQL numbers them).
        let mut all = head;
        let offset = all.args.len();
        let text = match backend {
            Backend::Sqlite => where_.text.clone(),
            Backend::Postgres => renumber(&where_.text, offset),
        };
        all.push(&text);
        all.args.extend(where_.args.iter().cloned());
        let inserted = bind(sqlx::query(&all.text), &all.args)
            .execute(self.conn())
            .await?
            .rows_affected() as i64;
        sqlx::query("UPDATE segments SET member_count = $1, refreshed_at = $2 WHERE id = $3 AND workspace_id = $4")
            .bind(inserted)
            .bind(now.millis())
            .bind(id)
            .bind(workspace.as_str())
            .execute(self.conn())
            .await?;
        Ok(inserted)
    }
}

impl Tx {
    /// Replaces the members a rule tag gives (`source = 'rule'`); members tagged by hand
    /// keep their tag either way. Returns how many carry it by rule now.
    pub async fn materialize_rule_tag(
        &mut self,
        workspace: &WorkspaceId,
        tag: &str,
        condition: &Condition,
        now: Timestamp,
    ) -> Result<i64> {
        sqlx::query(
            "DELETE FROM member_tags WHERE workspace_id = $1 AND tag_id = $2 AND source = 'rule'",
        )
        .bind(workspace.as_str())
        .bind(tag)
        .execute(self.conn())
        .await?;
        let backend = self.backend();
        let mut all = Sql {
            backend,
            text: String::new(),
            args: Vec::new(),
        };
        all.push("INSERT INTO member_tags (workspace_id, member_id, tag_id, source, at) SELECT ");
        all.arg(Arg::Text(workspace.to_string()));
        all.push(", m.id, ");
        all.arg(Arg::Text(tag.to_owned()));
        all.push(", 'rule', ");
        all.arg(Arg::Int(now.millis()));
        all.push(" FROM members m WHERE ");
        let where_ = compile(backend, workspace, condition, now);
        let offset = all.args.len();
        let text = match backend {
            Backend::Sqlite => where_.text.clone(),
            Backend::Postgres => renumber(&where_.text, offset),
        };
        all.push(&text);
        // SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT; this one has it.
        all.push(" ON CONFLICT (workspace_id, member_id, tag_id) DO NOTHING");
        all.args.extend(where_.args.iter().cloned());
        let inserted = bind(sqlx::query(&all.text), &all.args)
            .execute(self.conn())
            .await?
            .rows_affected() as i64;
        sqlx::query("UPDATE tags SET refreshed_at = $1 WHERE id = $2")
            .bind(now.millis())
            .bind(tag)
            .execute(self.conn())
            .await?;
        Ok(inserted)
    }
}

/// Shifts `$n` placeholders by `offset`.
fn renumber(text: &str, offset: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            out.push_str(&format!(
                "${}",
                digits.parse::<usize>().unwrap_or(0) + offset
            ));
        } else {
            out.push(c);
        }
    }
    out
}
