//! Reading columns out of rows with errors that say which column failed.

use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::{Result, StoreError};

/// A row read by column name: a pooled (sqlx) row, or one read on the caller's thread
/// (`inline_reads`). The functions below take either.
pub(crate) trait Columns {
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
}

impl Columns for AnyRow {
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        Ok(self.try_get::<Option<String>, _>(col)?)
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        Ok(self.try_get::<Option<i64>, _>(col)?)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.get::<_, Option<String>>(col)
            .map_err(|err| StoreError::Corrupt(format!("column {col}: {err}")))
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        self.get::<_, Option<i64>>(col)
            .map_err(|err| StoreError::Corrupt(format!("column {col}: {err}")))
    }
}

fn present<T>(value: Option<T>, col: &str) -> Result<T> {
    value.ok_or_else(|| StoreError::Corrupt(format!("column {col} is NULL")))
}

pub(crate) fn text(row: &impl Columns, col: &str) -> Result<String> {
    present(row.opt_text(col)?, col)
}

pub(crate) fn opt_text(row: &impl Columns, col: &str) -> Result<Option<String>> {
    row.opt_text(col)
}

pub(crate) fn int(row: &impl Columns, col: &str) -> Result<i64> {
    present(row.opt_int(col)?, col)
}

pub(crate) fn opt_int(row: &impl Columns, col: &str) -> Result<Option<i64>> {
    row.opt_int(col)
}

pub(crate) fn ts(row: &impl Columns, col: &str) -> Result<Timestamp> {
    int(row, col).map(Timestamp::from_millis)
}

pub(crate) fn opt_ts(row: &impl Columns, col: &str) -> Result<Option<Timestamp>> {
    Ok(opt_int(row, col)?.map(Timestamp::from_millis))
}

/// The ten touchpoint columns (`channel`, `utm_*`, `link_code`, `kol_id`, `campaign_id`,
/// `content_id`), shared by events and orders.
pub(crate) fn touchpoints(row: &AnyRow) -> Result<quanzi_domain::members::Touchpoints> {
    Ok(quanzi_domain::members::Touchpoints {
        channel: opt_text(row, "channel")?,
        utm_source: opt_text(row, "utm_source")?,
        utm_medium: opt_text(row, "utm_medium")?,
        utm_campaign: opt_text(row, "utm_campaign")?,
        utm_content: opt_text(row, "utm_content")?,
        utm_term: opt_text(row, "utm_term")?,
        link_code: opt_text(row, "link_code")?,
        kol_id: opt_text(row, "kol_id")?,
        campaign_id: opt_text(row, "campaign_id")?,
        content_id: opt_text(row, "content_id")?,
    })
}

pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the ten touchpoint columns in the order of `Touchpoints::FIELDS`.
pub(crate) fn bind_touchpoints<'q>(
    query: AnyQuery<'q>,
    t: &'q quanzi_domain::members::Touchpoints,
) -> AnyQuery<'q> {
    t.values()
        .into_iter()
        .fold(query, |query, value| query.bind(value))
}
