//! Building portable multi-row statements: placeholders for either engine and chunking.

use crate::connect::Backend;

/// Placeholder number `n` (1-based). SQLite gets anonymous `?`: it resolves a named or
/// numbered parameter by walking a list, which made binding 8,500 parameters quadratic and
/// took half the ingest time. Statements built with this must therefore bind in the
/// textual order of their placeholders.
pub(crate) fn param(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => "?".to_owned(),
        Backend::Postgres => format!("${n}"),
    }
}

/// `($1, $2), ($3, $4), …` (or `(?, ?), …`) for `rows` tuples of `width` parameters
/// numbered after `offset`.
pub(crate) fn placeholders(backend: Backend, rows: usize, width: usize, offset: usize) -> String {
    use std::fmt::Write;
    // Written into one buffer: statements of thousands of parameters are built per batch.
    let mut sql = String::with_capacity(rows * (width * 4 + 4));
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    let _ = write!(sql, "${}", offset + r * width + c + 1);
                }
            }
        }
        sql.push(')');
    }
    sql
}

/// `INSERT` for a multi-row statement inside a larger transaction; `INSERT OR FAIL` on
/// SQLite. A multi-row statement that may stop half-way on a constraint makes SQLite keep
/// a statement journal: a copy of every page the statement touches, taken before it
/// changes it, so the statement alone can be undone. `OR FAIL` keeps the rows before the
/// failure instead, and SQLite needs no journal — a fifth of a bulk insert's time. Safe
/// here because no caller carries on with a transaction after a store error: the error
/// ends the whole transaction, undoing the statement with everything else.
pub(crate) fn bulk_insert(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "INSERT OR FAIL",
        Backend::Postgres => "INSERT",
    }
}

/// `UPDATE` for a multi-row statement, as [`bulk_insert`].
pub(crate) fn bulk_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "UPDATE OR FAIL",
        Backend::Postgres => "UPDATE",
    }
}

/// Rows per multi-row statement: well under SQLite's 32,766 and PostgreSQL's 65,535
/// parameters for the widest statement here.
pub(crate) const CHUNK: usize = 500;

/// `(p, p, …)` with `n` placeholders numbered after `offset`, for `IN` lists.
///
/// Statements with such a list are run unprepared on PostgreSQL ([`keep_prepared`]): it would
/// otherwise cache a generic plan for them, chosen once (often while a table was still
/// empty), and an `IN (…500 ids)` then became a sequential scan comparing every row with
/// every id. Unprepared statements are planned for their actual values each time.
pub(crate) fn in_list(backend: Backend, n: usize, offset: usize) -> String {
    let items: Vec<String> = (0..n).map(|i| param(backend, offset + i + 1)).collect();
    format!("({})", items.join(", "))
}

/// Whether a statement with an `IN` list may be kept prepared: on SQLite yes (no plan
/// cache to go stale), on PostgreSQL no (see [`in_list`]).
pub(crate) fn keep_prepared(backend: Backend) -> bool {
    backend == Backend::Sqlite
}

/// Runs `template` once per chunk of `keys` and maps every row: `{ws}` in the template
/// becomes the workspace's placeholder and `{keys}` the chunk's `IN` list. The one way
/// this crate looks many rows up by key.
pub(crate) async fn select_in<T>(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    template: &str,
    workspace: &quanzi_domain::ids::WorkspaceId,
    keys: &[String],
    mut row: impl FnMut(&sqlx::any::AnyRow) -> crate::error::Result<T>,
) -> crate::error::Result<Vec<T>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        let sql = template
            .replace("{ws}", &param(backend, 1))
            .replace("{keys}", &in_list(backend, chunk.len(), 1));
        let mut query = sqlx::query(&sql)
            .persistent(keep_prepared(backend))
            .bind(workspace.as_str());
        for key in chunk {
            query = query.bind(key.as_str());
        }
        for r in query.fetch_all(&mut *conn).await? {
            out.push(row(&r)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_rows_after_the_offset() {
        assert_eq!(
            placeholders(Backend::Postgres, 2, 3, 1),
            "($2, $3, $4), ($5, $6, $7)"
        );
        assert_eq!(placeholders(Backend::Sqlite, 2, 2, 0), "(?, ?), (?, ?)");
        assert_eq!(placeholders(Backend::Sqlite, 1, 1, 0), "(?)");
        assert_eq!(placeholders(Backend::Postgres, 0, 3, 0), "");
    }
}
