//! A workspace's loyalty settings (JSON validated by the application) and check-in days.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;

use crate::error::{Result, StoreError};
use crate::inline_reads::sqlite;
use crate::rows::{int, text};
use crate::{Store, Tx};

/// One check-in day of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinRow {
    pub day: String,
    pub makeup: bool,
    pub points: i64,
    pub transfer_id: String,
}

impl Store {
    pub async fn loyalty_settings(&self, workspace: &WorkspaceId) -> Result<Option<String>> {
        if let Some(inline) = self.inline_reads() {
            // Read for every group of ingested events (its earning rules): on SQLite it
            // skips the connection thread, a hand-off that cost the writer 1.5 ms a group.
            return inline.read(|conn| {
                let mut statement = conn
                    .prepare_cached("SELECT settings FROM loyalty_settings WHERE workspace_id = ?1")
                    .map_err(sqlite)?;
                let mut rows = statement.query([workspace.as_str()]).map_err(sqlite)?;
                match rows.next().map_err(sqlite)? {
                    Some(row) => Ok(Some(row.get(0).map_err(sqlite)?)),
                    None => Ok(None),
                }
            });
        }
        let row = sqlx::query("SELECT settings FROM loyalty_settings WHERE workspace_id = $1")
            .bind(workspace.as_str())
            .fetch_optional(self.reader())
            .await?;
        row.map(|r| text(&r, "settings")).transpose()
    }

    /// The member's check-in days from `since` (a `YYYY-MM-DD` day), oldest first.
    pub async fn checkins_since(
        &self,
        workspace: &WorkspaceId,
        member: &str,
        since: &str,
    ) -> Result<Vec<CheckinRow>> {
        checkins(self.reader(), workspace, member, since).await
    }
}

async fn checkins<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    workspace: &WorkspaceId,
    member: &str,
    since: &str,
) -> Result<Vec<CheckinRow>> {
    sqlx::query(
        "SELECT day, makeup, points, transfer_id FROM loyalty_checkins
         WHERE workspace_id = $1 AND member_id = $2 AND day >= $3 ORDER BY day",
    )
    .bind(workspace.as_str())
    .bind(member)
    .bind(since)
    .fetch_all(executor)
    .await?
    .iter()
    .map(|row| {
        Ok(CheckinRow {
            day: text(row, "day")?,
            makeup: int(row, "makeup")? != 0,
            points: int(row, "points")?,
            transfer_id: text(row, "transfer_id")?,
        })
    })
    .collect()
}

impl Tx {
    pub async fn put_loyalty_settings(
        &mut self,
        workspace: &WorkspaceId,
        settings: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO loyalty_settings (workspace_id, settings, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (workspace_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        )
        .bind(workspace.as_str())
        .bind(settings)
        .bind(now.millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The member's check-in days from `since`, read inside the transaction that will add
    /// one (the member's wallet lock is held, so the list cannot change meanwhile).
    pub async fn checkins_since(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
        since: &str,
    ) -> Result<Vec<CheckinRow>> {
        checkins(self.conn(), workspace, member, since).await
    }

    /// Records a check-in day; a second one for the same day is a conflict.
    pub async fn insert_checkin(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
        row: &CheckinRow,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO loyalty_checkins (workspace_id, member_id, day, makeup, points, transfer_id, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(workspace.as_str())
        .bind(member)
        .bind(row.day.as_str())
        .bind(i64::from(row.makeup))
        .bind(row.points)
        .bind(row.transfer_id.as_str())
        .bind(now.millis())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("checkin"))?;
        Ok(())
    }

    /// Locks the member's wallet (creating it), so check-ins of one member serialise.
    pub async fn lock_wallet(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
        now: Timestamp,
    ) -> Result<()> {
        let members = [member.to_owned()];
        if self.lock_accounts(workspace, &members).await?.is_empty() {
            self.ensure_wallets(workspace, &members, now).await?;
            self.lock_accounts(workspace, &members).await?;
        }
        Ok(())
    }
}
