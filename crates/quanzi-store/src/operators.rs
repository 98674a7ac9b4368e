use quanzi_domain::auth::Role;
use quanzi_domain::ids::{OperatorId, WorkspaceId};
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::rows::{opt_ts, text, ts};
use crate::{into_page, page_limit, Page, Store, Tx};

#[derive(Debug, Clone)]
pub struct NewOperator {
    pub id: OperatorId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: Timestamp,
}

/// An operator account; `password_hash` is a PHC string (argon2id).
#[derive(Debug, Clone)]
pub struct OperatorRow {
    pub id: OperatorId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

/// An operator as a member of one workspace.
#[derive(Debug, Clone)]
pub struct MembershipRow {
    pub workspace_id: WorkspaceId,
    pub operator: OperatorRow,
    pub role: Role,
    pub joined_at: Timestamp,
}

const OPERATOR_COLUMNS: &str =
    "o.id, o.email, o.name, o.password_hash, o.created_at, o.disabled_at";

fn operator(row: &AnyRow) -> Result<OperatorRow> {
    Ok(OperatorRow {
        id: OperatorId::from_trusted(text(row, "id")?),
        email: text(row, "email")?,
        name: text(row, "name")?,
        password_hash: text(row, "password_hash")?,
        created_at: ts(row, "created_at")?,
        disabled_at: opt_ts(row, "disabled_at")?,
    })
}

fn membership(row: &AnyRow) -> Result<MembershipRow> {
    Ok(MembershipRow {
        workspace_id: WorkspaceId::from_trusted(text(row, "workspace_id")?),
        operator: operator(row)?,
        role: Role::parse(&text(row, "role")?)?,
        joined_at: ts(row, "joined_at")?,
    })
}

impl Tx {
    pub async fn insert_operator(&mut self, new: &NewOperator) -> Result<()> {
        sqlx::query(
            "INSERT INTO operators (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(new.id.as_str())
        .bind(&new.email)
        .bind(&new.name)
        .bind(&new.password_hash)
        .bind(new.created_at.millis())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("operator_email"))?;
        Ok(())
    }

    pub async fn insert_membership(
        &mut self,
        workspace: &WorkspaceId,
        operator: &OperatorId,
        role: Role,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO memberships (workspace_id, operator_id, role, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(workspace.as_str())
        .bind(operator.as_str())
        .bind(role.as_str())
        .bind(at.millis())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("membership"))?;
        Ok(())
    }
}

impl Store {
    pub async fn operator_by_email(&self, email: &str) -> Result<OperatorRow> {
        let sql = format!("SELECT {OPERATOR_COLUMNS} FROM operators o WHERE o.email = $1");
        let row = sqlx::query(&sql)
            .bind(email)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        operator(&row)
    }

    /// The operator's membership in `workspace`; `NotFound` if they are not a member.
    pub async fn membership(
        &self,
        workspace: &WorkspaceId,
        operator: &OperatorId,
    ) -> Result<MembershipRow> {
        let sql = format!(
            "SELECT m.workspace_id, m.role, m.created_at AS joined_at, {OPERATOR_COLUMNS}
             FROM memberships m JOIN operators o ON o.id = m.operator_id
             WHERE m.workspace_id = $1 AND m.operator_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(workspace.as_str())
            .bind(operator.as_str())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        membership(&row)
    }

    pub async fn memberships(
        &self,
        workspace: &WorkspaceId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<MembershipRow>> {
        let sql = format!(
            "SELECT m.workspace_id, m.role, m.created_at AS joined_at, {OPERATOR_COLUMNS}
             FROM memberships m JOIN operators o ON o.id = m.operator_id
             WHERE m.workspace_id = $1 AND o.id > $2 ORDER BY o.id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(workspace.as_str())
            .bind(after.unwrap_or(""))
            .bind(page_limit(limit))
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(membership)
            .collect::<Result<Vec<_>>>()?;
        Ok(into_page(rows, limit, |m| m.operator.id.to_string()))
    }

    /// The workspaces an operator belongs to with their names, oldest membership first
    /// (the console's workspace switch, on every page: one query).
    pub async fn operator_workspace_names(
        &self,
        operator: &OperatorId,
    ) -> Result<Vec<(WorkspaceId, String)>> {
        sqlx::query(
            "SELECT m.workspace_id, w.name FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
             WHERE m.operator_id = $1 ORDER BY m.created_at, m.workspace_id",
        )
        .bind(operator.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| {
            Ok((
                WorkspaceId::from_trusted(text(row, "workspace_id")?),
                text(row, "name")?,
            ))
        })
        .collect()
    }

    /// The workspaces an operator belongs to, oldest membership first.
    pub async fn operator_workspaces(
        &self,
        operator: &OperatorId,
    ) -> Result<Vec<(WorkspaceId, Role)>> {
        sqlx::query("SELECT workspace_id, role FROM memberships WHERE operator_id = $1 ORDER BY created_at, workspace_id")
            .bind(operator.as_str())
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|row| {
                Ok((
                    WorkspaceId::from_trusted(text(row, "workspace_id")?),
                    Role::parse(&text(row, "role")?)?,
                ))
            })
            .collect()
    }
}
