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

/// Binds the ten touchpoint columns in the order `touchpoints` reads them.
pub(crate) fn bind_touchpoints<'q>(
    query: AnyQuery<'q>,
    t: &'q quanzi_domain::members::Touchpoints,
) -> AnyQuery<'q> {
    query
        .bind(t.channel.as_deref())
        .bind(t.utm_source.as_deref())
        .bind(t.utm_medium.as_deref())
        .bind(t.utm_campaign.as_deref())
        .bind(t.utm_content.as_deref())
        .bind(t.utm_term.as_deref())
        .bind(t.link_code.as_deref())
        .bind(t.kol_id.as_deref())
        .bind(t.campaign_id.as_deref())
        .bind(t.content_id.as_deref())
}
