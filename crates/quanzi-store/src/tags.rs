//! Interest tag groups, tags and which members carry them.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::rows::{opt_text, opt_ts, text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagGroupRow {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    pub id: String,
    pub group_id: String,
    pub name: String,
    /// A segment condition (JSON text) for rule-driven tags.
    pub rule: Option<String>,
    pub created_at: Timestamp,
    pub refreshed_at: Option<Timestamp>,
}

/// A tag on a member: how it got there and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberTagRow {
    pub tag: TagRow,
    /// `manual` or `rule`.
    pub source: String,
    pub at: Timestamp,
}

fn tag(row: &AnyRow) -> Result<TagRow> {
    Ok(TagRow {
        id: text(row, "id")?,
        group_id: text(row, "group_id")?,
        name: text(row, "name")?,
        rule: opt_text(row, "rule")?,
        created_at: ts(row, "created_at")?,
        refreshed_at: opt_ts(row, "refreshed_at")?,
    })
}

impl Tx {
    pub async fn insert_tag_group(
        &mut self,
        workspace: &WorkspaceId,
        row: &TagGroupRow,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO tag_groups (id, workspace_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&row.id)
        .bind(workspace.as_str())
        .bind(&row.name)
        .bind(row.created_at.millis())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("tag_group"))?;
        Ok(())
    }

    pub async fn insert_tag(&mut self, workspace: &WorkspaceId, row: &TagRow) -> Result<()> {
        sqlx::query("INSERT INTO tags (id, workspace_id, group_id, name, rule, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&row.id)
            .bind(workspace.as_str())
            .bind(&row.group_id)
            .bind(&row.name)
            .bind(row.rule.as_deref())
            .bind(row.created_at.millis())
            .execute(self.conn())
            .await
            .map_err(StoreError::unique("tag"))?;
        Ok(())
    }

    /// Tags a member by hand (a rule tag becomes manual, so rules no longer remove it).
    pub async fn tag_member(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
        tag: &str,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO member_tags (workspace_id, member_id, tag_id, source, at) VALUES ($1, $2, $3, 'manual', $4)
             ON CONFLICT (workspace_id, member_id, tag_id) DO UPDATE SET source = 'manual', at = excluded.at",
        )
        .bind(workspace.as_str())
        .bind(member)
        .bind(tag)
        .bind(at.millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn untag_member(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
        tag: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM member_tags WHERE workspace_id = $1 AND member_id = $2 AND tag_id = $3",
        )
        .bind(workspace.as_str())
        .bind(member)
        .bind(tag)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Moves a merged member's tags to the survivor (keeping the survivor's where both
    /// carry one) and, on erasure, forgets them: interests are personal information.
    pub(crate) async fn move_member_tags(
        &mut self,
        workspace: &WorkspaceId,
        from: &str,
        to: Option<&str>,
    ) -> Result<()> {
        if let Some(to) = to {
            sqlx::query(
                "INSERT INTO member_tags (workspace_id, member_id, tag_id, source, at)
                 SELECT workspace_id, $1, tag_id, source, at FROM member_tags WHERE workspace_id = $2 AND member_id = $3
                 ON CONFLICT (workspace_id, member_id, tag_id) DO NOTHING",
            )
            .bind(to)
            .bind(workspace.as_str())
            .bind(from)
            .execute(self.conn())
            .await?;
        }
        sqlx::query("DELETE FROM member_tags WHERE workspace_id = $1 AND member_id = $2")
            .bind(workspace.as_str())
            .bind(from)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl Store {
    pub async fn tag_groups(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<Vec<(TagGroupRow, Vec<TagRow>)>> {
        let groups: Vec<TagGroupRow> = sqlx::query(
            "SELECT id, name, created_at FROM tag_groups WHERE workspace_id = $1 ORDER BY id",
        )
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| {
            Ok(TagGroupRow {
                id: text(row, "id")?,
                name: text(row, "name")?,
                created_at: ts(row, "created_at")?,
            })
        })
        .collect::<Result<_>>()?;
        let tags: Vec<TagRow> = sqlx::query(
            "SELECT id, group_id, name, rule, created_at, refreshed_at FROM tags WHERE workspace_id = $1 ORDER BY id",
        )
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(tag)
        .collect::<Result<_>>()?;
        Ok(groups
            .into_iter()
            .map(|g| {
                let mine = tags
                    .iter()
                    .filter(|t| t.group_id == g.id)
                    .cloned()
                    .collect();
                (g, mine)
            })
            .collect())
    }

    pub async fn tag_group_exists(&self, workspace: &WorkspaceId, id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tag_groups WHERE workspace_id = $1 AND id = $2",
        )
        .bind(workspace.as_str())
        .bind(id)
        .fetch_one(self.reader())
        .await?;
        Ok(n > 0)
    }

    pub async fn tag(&self, workspace: &WorkspaceId, id: &str) -> Result<TagRow> {
        let row = sqlx::query("SELECT id, group_id, name, rule, created_at, refreshed_at FROM tags WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.as_str())
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        tag(&row)
    }

    /// Rule-driven tags of a workspace.
    pub async fn rule_tags(&self, workspace: &WorkspaceId) -> Result<Vec<TagRow>> {
        sqlx::query("SELECT id, group_id, name, rule, created_at, refreshed_at FROM tags WHERE workspace_id = $1 AND rule IS NOT NULL ORDER BY id")
            .bind(workspace.as_str())
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(tag)
            .collect()
    }

    pub async fn member_tags(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Vec<MemberTagRow>> {
        sqlx::query(
            "SELECT t.id, t.group_id, t.name, t.rule, t.created_at, t.refreshed_at, mt.source, mt.at
             FROM member_tags mt JOIN tags t ON t.id = mt.tag_id
             WHERE mt.workspace_id = $1 AND mt.member_id = $2 ORDER BY t.id",
        )
        .bind(workspace.as_str())
        .bind(member)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| Ok(MemberTagRow { tag: tag(row)?, source: text(row, "source")?, at: ts(row, "at")? }))
        .collect()
    }
}
