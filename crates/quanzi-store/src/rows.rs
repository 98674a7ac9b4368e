//! Reading columns out of rows with errors that say which column failed.

use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::Result;

pub(crate) fn text(row: &AnyRow, col: &str) -> Result<String> {
    Ok(row.try_get::<String, _>(col)?)
}

pub(crate) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

pub(crate) fn int(row: &AnyRow, col: &str) -> Result<i64> {
    Ok(row.try_get::<i64, _>(col)?)
}

pub(crate) fn opt_int(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

pub(crate) fn ts(row: &AnyRow, col: &str) -> Result<Timestamp> {
    int(row, col).map(Timestamp::from_millis)
}

pub(crate) fn opt_ts(row: &AnyRow, col: &str) -> Result<Option<Timestamp>> {
    Ok(opt_int(row, col)?.map(Timestamp::from_millis))
}
