//! Members and the OneID identity graph.
//!
//! Concurrency protocol (PostgreSQL; SQLite's single writer serialises everything anyway):
//! a transaction that writes for a member first locks the member's row — `FOR UPDATE` to
//! merge, `FOR SHARE` to attach events or orders — and then checks it is still live. A merge
//! marks the merged member with `merged_into`, so anyone who resolved an identity to it
//! before the merge committed sees the mark once they hold the lock and follows it to the
//! survivor. Identities are unique per workspace by primary key, so two transactions
//! creating the same identity cannot both succeed.

use std::collections::{HashMap, HashSet};

use quanzi_domain::ids::{new_id_body, WorkspaceId};
use quanzi_domain::members::{ConsentChannel, IdentityKind, LookupKey, RfmInput, RfmScore};
use quanzi_domain::time::Timestamp;

use crate::connect::Backend;
use crate::error::{Result, StoreError};
use crate::inline_reads::sqlite;
use crate::member_key::member_key;
use crate::pg_arrays::{int_array, text_array};
use crate::rows::{int, opt_int, opt_text, opt_ts, text, ts, Columns};
use crate::sql::{bulk_insert, bulk_update, param, placeholders, CHUNK};
use crate::{Store, Tx};

/// A member's profile as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub created_at: Timestamp,
    pub merged_into: Option<String>,
    /// JSON object text.
    pub traits: String,
    pub acquisition_channel: Option<String>,
    pub first_seen_at: Option<Timestamp>,
    pub last_seen_at: Option<Timestamp>,
    pub last_interaction_at: Option<Timestamp>,
    pub event_count: i64,
    pub order_count: i64,
    pub gmv_fen: i64,
    pub refund_fen: i64,
    pub first_order_at: Option<Timestamp>,
    pub last_order_at: Option<Timestamp>,
    /// Set by the RFM job once the member has ordered.
    pub rfm: Option<(RfmScore, Timestamp)>,
    /// When the member's personal information was erased on request.
    pub erased_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    pub channel: ConsentChannel,
    pub granted: bool,
    pub source: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRow {
    pub kind: IdentityKind,
    /// Masked for PII (`138****1234`), the id itself otherwise.
    pub display: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRow {
    pub id: String,
    pub survivor_id: String,
    pub merged_id: String,
    /// The identity kinds the linking call named.
    pub via: String,
    pub at: Timestamp,
}

/// (kind, lookup key) → the identity's stored form.
pub type IdentityRef = (IdentityKind, LookupKey);

/// An identity to attach: its lookup key and how it is shown.
#[derive(Debug, Clone)]
pub struct NewIdentity {
    pub kind: IdentityKind,
    pub lookup: LookupKey,
    pub display: String,
}

/// What a batch of events adds to one member's profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileDelta {
    pub first_seen_at: Option<Timestamp>,
    pub last_seen_at: Option<Timestamp>,
    pub last_interaction_at: Option<Timestamp>,
    pub events: i64,
    /// The channel of the earliest event, kept only if the member has none yet.
    pub channel: Option<String>,
}

const MEMBER_COLUMNS: &str = "id, workspace_id, created_at, merged_into, traits, acquisition_channel, first_seen_at, \
     last_seen_at, last_interaction_at, event_count, order_count, gmv_fen, refund_fen, first_order_at, last_order_at, \
     rfm_recency, rfm_frequency, rfm_monetary, rfm_at, erased_at";

fn member(row: &impl Columns) -> Result<MemberRow> {
    Ok(MemberRow {
        id: text(row, "id")?,
        workspace_id: WorkspaceId::from_trusted(text(row, "workspace_id")?),
        created_at: ts(row, "created_at")?,
        merged_into: opt_text(row, "merged_into")?,
        traits: text(row, "traits")?,
        acquisition_channel: opt_text(row, "acquisition_channel")?,
        first_seen_at: opt_ts(row, "first_seen_at")?,
        last_seen_at: opt_ts(row, "last_seen_at")?,
        last_interaction_at: opt_ts(row, "last_interaction_at")?,
        event_count: int(row, "event_count")?,
        order_count: int(row, "order_count")?,
        gmv_fen: int(row, "gmv_fen")?,
        refund_fen: int(row, "refund_fen")?,
        first_order_at: opt_ts(row, "first_order_at")?,
        last_order_at: opt_ts(row, "last_order_at")?,
        rfm: match (
            opt_int(row, "rfm_recency")?,
            opt_int(row, "rfm_frequency")?,
            opt_int(row, "rfm_monetary")?,
            opt_ts(row, "rfm_at")?,
        ) {
            (Some(r), Some(f), Some(m), Some(at)) => Some((
                RfmScore {
                    recency: r as u8,
                    frequency: f as u8,
                    monetary: m as u8,
                },
                at,
            )),
            _ => None,
        },
        erased_at: opt_ts(row, "erased_at")?,
    })
}

/// Rounds of reading and locking the live members before following on under locks.
const LOCK_ROUNDS: usize = 4;

impl Tx {
    /// Which member each of these identities belongs to (absent ones are left out).
    pub async fn find_identities(
        &mut self,
        workspace: &WorkspaceId,
        refs: &[IdentityRef],
    ) -> Result<HashMap<IdentityRef, String>> {
        let mut found = HashMap::new();
        for chunk in refs.chunks(CHUNK) {
            let values = placeholders(self.backend(), chunk.len(), 2, 0);
            let workspace_param = param(self.backend(), chunk.len() * 2 + 1);
            let sql = match self.backend() {
                // One primary-key probe per identity, whatever the statistics say: as a
                // plain join PostgreSQL hashed the values and scanned every identity of
                // the workspace per chunk (12 ms per 500 at 50,000 identities, growing
                // with the workspace; 3 ms this way), having estimated the workspace
                // small. `LIMIT 1` (the key is unique) keeps it from flattening the
                // lateral subquery back into that join.
                Backend::Postgres => format!(
                    "SELECT i.kind, i.lookup_key, i.member_id FROM (VALUES {values}) AS v
                     CROSS JOIN LATERAL (SELECT kind, lookup_key, member_id FROM member_identities
                        WHERE workspace_id = {workspace_param} AND kind = v.column1 AND lookup_key = v.column2 LIMIT 1) AS i"
                ),
                // SQLite probes the primary key per value row by itself (and has no LATERAL).
                Backend::Sqlite => format!(
                    "SELECT i.kind, i.lookup_key, i.member_id FROM member_identities i
                     JOIN (VALUES {values}) AS v ON i.kind = v.column1 AND i.lookup_key = v.column2
                     WHERE i.workspace_id = {workspace_param}"
                ),
            };
            let mut query = sqlx::query(&sql);
            for (kind, lookup) in chunk {
                query = query.bind(kind.as_str()).bind(lookup.as_str());
            }
            for row in query
                .bind(workspace.as_str())
                .fetch_all(self.conn())
                .await?
            {
                let kind = IdentityKind::parse(&text(&row, "kind")?)?;
                found.insert(
                    (kind, LookupKey::from_stored(text(&row, "lookup_key")?)),
                    text(&row, "member_id")?,
                );
            }
        }
        Ok(found)
    }

    /// Maps each id to the live member it now is (itself, or the survivor at the end of
    /// its merge chain) and locks those live members (`FOR UPDATE` when `exclusive`, else
    /// `FOR SHARE`, on PostgreSQL), so that none is merged until this transaction ends.
    ///
    /// The merged members on the way are not locked: a merged member never comes back,
    /// and the end of its chain only moves when that end is merged, which needs the lock
    /// held here. Locking the named member first and its survivor second would take
    /// locks newest to oldest while a merge takes them in id order (survivor first) —
    /// the deadlock between a write for a merged id and the merge of its survivor.
    pub async fn lock_live_members(
        &mut self,
        workspace: &WorkspaceId,
        ids: &[String],
        exclusive: bool,
    ) -> Result<HashMap<String, String>> {
        let lock = match (self.backend(), exclusive) {
            (Backend::Sqlite, _) => "",
            (Backend::Postgres, true) => "FOR UPDATE",
            (Backend::Postgres, false) => "FOR SHARE",
        };
        self.follow_to_live_members(workspace, ids, lock).await
    }

    /// As [`Tx::lock_live_members`], without locking: what the members are as this
    /// transaction sees them.
    pub async fn live_members(
        &mut self,
        workspace: &WorkspaceId,
        ids: &[String],
    ) -> Result<HashMap<String, String>> {
        self.follow_to_live_members(workspace, ids, "").await
    }

    async fn follow_to_live_members(
        &mut self,
        workspace: &WorkspaceId,
        ids: &[String],
        lock: &str,
    ) -> Result<HashMap<String, String>> {
        let mut live = self.live_ends(workspace, ids).await?;
        if lock.is_empty() {
            return Ok(live);
        }
        // Lock the ends in id order. Should one have been merged since it was read, its
        // survivor (an older member, earlier in id order) cannot be locked after it
        // without breaking that order: the locks are dropped (a savepoint) and the ends
        // read again. After a few rounds the chain is followed on, locking as it goes.
        let backend = self.backend();
        let mut round = 1;
        loop {
            let mut ends: Vec<String> = live.values().cloned().collect();
            ends.sort_unstable();
            ends.dedup();
            if round == LOCK_ROUNDS {
                let locked = follow_merges(self.conn(), backend, workspace, &ends, lock).await?;
                for end in live.values_mut() {
                    let now_live = locked.get(end.as_str()).ok_or(StoreError::NotFound)?;
                    end.clone_from(now_live);
                }
                return Ok(live);
            }
            self.savepoint("SAVEPOINT lock_live_members").await?;
            // The ends alone: following on from a moved one here would wait for its
            // survivor while holding it.
            let links = read_links(self.conn(), backend, workspace, &ends, lock).await?;
            if ends.iter().all(|end| matches!(links.get(end), Some(None))) {
                self.savepoint("RELEASE SAVEPOINT lock_live_members")
                    .await?;
                return Ok(live);
            }
            self.savepoint("ROLLBACK TO SAVEPOINT lock_live_members")
                .await?;
            live = self.live_ends(workspace, ids).await?;
            round += 1;
        }
    }

    /// Every id's live member as this transaction reads it, without locking; NotFound
    /// when an id is unknown.
    async fn live_ends(
        &mut self,
        workspace: &WorkspaceId,
        ids: &[String],
    ) -> Result<HashMap<String, String>> {
        let backend = self.backend();
        let live = follow_merges(self.conn(), backend, workspace, ids, "").await?;
        if ids.iter().any(|id| !live.contains_key(id)) {
            return Err(StoreError::NotFound);
        }
        Ok(live)
    }

    async fn savepoint(&mut self, statement: &'static str) -> Result<()> {
        sqlx::query(statement).execute(self.conn()).await?;
        Ok(())
    }

    pub async fn insert_member(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        traits: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO members (id, workspace_id, created_at, updated_at, traits, event_count, order_count, gmv_fen, refund_fen)
             VALUES ($1, $2, $3, $3, $4, 0, 0, 0, 0)",
        )
        .bind(id)
        .bind(workspace.as_str())
        .bind(now.millis())
        .bind(traits)
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("member"))?;
        Ok(())
    }

    /// Attaches identities to `member`; returns those that were already taken (by anyone,
    /// including concurrently) and so were not attached.
    pub async fn attach_identities(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
        identities: &[NewIdentity],
        now: Timestamp,
    ) -> Result<Vec<IdentityRef>> {
        let mut taken = Vec::new();
        for identity in identities {
            let inserted = sqlx::query(
                "INSERT INTO member_identities (workspace_id, kind, lookup_key, member_id, display, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, kind, lookup_key) DO NOTHING",
            )
            .bind(workspace.as_str())
            .bind(identity.kind.as_str())
            .bind(identity.lookup.as_str())
            .bind(member)
            .bind(&identity.display)
            .bind(now.millis())
            .execute(self.conn())
            .await?
            .rows_affected();
            if inserted == 0 {
                taken.push((identity.kind, identity.lookup.clone()));
            }
        }
        Ok(taken)
    }

    /// Creates members for identities nobody has yet, one member per identity, in bulk.
    /// Returns identity → member for those created here; identities another transaction
    /// created meanwhile are left out (look them up again).
    pub async fn create_members_for(
        &mut self,
        workspace: &WorkspaceId,
        identities: &[NewIdentity],
        now: Timestamp,
    ) -> Result<HashMap<IdentityRef, String>> {
        // On PostgreSQL in one order, so that concurrent writers creating the same
        // identities wait for each other rather than deadlock. (SQLite has one writer, and
        // inserting in key order measured slower there.)
        let mut sorted;
        let identities = if self.backend() == Backend::Postgres {
            sorted = identities.to_vec();
            sorted.sort_by(|a, b| (a.kind.as_str(), &a.lookup).cmp(&(b.kind.as_str(), &b.lookup)));
            &sorted
        } else {
            identities
        };
        let mut created = HashMap::new();
        for chunk in identities.chunks(CHUNK) {
            let ids: Vec<String> = chunk
                .iter()
                .map(|_| format!("mem_{}", new_id_body(now)))
                .collect();
            let mut members = Vec::with_capacity(chunk.len());
            for (identity, member) in self.insert_identities(workspace, chunk, ids, now).await? {
                members.push(member.clone());
                created.insert(identity, member);
            }
            for members in members.chunks(CHUNK) {
                let sql = format!(
                    "{} INTO members (id, workspace_id, created_at, updated_at, traits, event_count, order_count, gmv_fen, refund_fen)
                     SELECT v.column1, v.column2, v.column3, v.column3, '{{}}', 0, 0, 0, 0 FROM (VALUES {}) AS v",
                    bulk_insert(self.backend()),
                    placeholders(self.backend(), members.len(), 3, 0)
                );
                let mut query = sqlx::query(&sql);
                for id in members {
                    query = query.bind(id).bind(workspace.as_str()).bind(now.millis());
                }
                query.execute(self.conn()).await?;
            }
        }
        Ok(created)
    }

    /// Inserts the identities nobody holds yet, each for the member id beside it; returns
    /// those inserted (the others were inserted meanwhile by a concurrent transaction).
    async fn insert_identities(
        &mut self,
        workspace: &WorkspaceId,
        identities: &[NewIdentity],
        members: Vec<String>,
        now: Timestamp,
    ) -> Result<Vec<(IdentityRef, String)>> {
        let backend = self.backend();
        let sql = format!(
            "{} INTO member_identities (workspace_id, kind, lookup_key, member_id, display, created_at)
             VALUES {} ON CONFLICT (workspace_id, kind, lookup_key) DO NOTHING{}",
            bulk_insert(backend),
            placeholders(backend, identities.len(), 6, 0),
            match backend {
                Backend::Postgres => " RETURNING kind, lookup_key, member_id",
                Backend::Sqlite => "",
            }
        );
        let mut query = sqlx::query(&sql);
        for (identity, id) in identities.iter().zip(&members) {
            query = query
                .bind(workspace.as_str())
                .bind(identity.kind.as_str())
                .bind(identity.lookup.as_str())
                .bind(id)
                .bind(&identity.display)
                .bind(now.millis());
        }
        let rows = if backend == Backend::Sqlite {
            let before = self.sqlite_rowid_mark("member_identities").await?;
            let inserted = query.execute(self.conn()).await?.rows_affected() as usize;
            if inserted == identities.len() {
                return Ok(identities
                    .iter()
                    .map(|i| (i.kind, i.lookup.clone()))
                    .zip(members)
                    .collect());
            }
            sqlx::query(
                "SELECT kind, lookup_key, member_id FROM member_identities WHERE rowid > $1",
            )
            .bind(before)
            .fetch_all(self.conn())
            .await?
        } else {
            query.fetch_all(self.conn()).await?
        };
        rows.iter()
            .map(|row| {
                let kind = IdentityKind::parse(&text(row, "kind")?)?;
                let lookup = LookupKey::from_stored(text(row, "lookup_key")?);
                Ok(((kind, lookup), text(row, "member_id")?))
            })
            .collect()
    }

    /// Merges `merged` into `survivor` (both locked and live): identities, events, orders
    /// and refunds, coupons and flash reservations (`merge_promotions`) move; counters add up; the merged member keeps a pointer and the merge is
    /// recorded (and emitted as `member.merged`).
    pub async fn merge_members(
        &mut self,
        workspace: &WorkspaceId,
        survivor: &str,
        merged: &str,
        via: &str,
        now: Timestamp,
    ) -> Result<()> {
        // Consents follow the survivor; per channel the most recent decision stands.
        sqlx::query(
            "INSERT INTO member_consents (workspace_id, member_id, channel, granted, source, at)
             SELECT workspace_id, $1, channel, granted, source, at FROM member_consents
             WHERE workspace_id = $2 AND member_id = $3
             ON CONFLICT (workspace_id, member_id, channel) DO UPDATE
             SET granted = excluded.granted, source = excluded.source, at = excluded.at
             WHERE excluded.at > member_consents.at",
        )
        .bind(survivor)
        .bind(workspace.as_str())
        .bind(merged)
        .execute(self.conn())
        .await?;
        sqlx::query("DELETE FROM member_consents WHERE workspace_id = $1 AND member_id = $2")
            .bind(workspace.as_str())
            .bind(merged)
            .execute(self.conn())
            .await?;
        self.move_member_tags(workspace, merged, Some(survivor))
            .await?;
        // Experiment exposures follow the survivor where it has none of its own; where
        // both were exposed, the survivor's stands (it is the variant the survivor is
        // assigned from now on) and the other is dropped, so no member counts twice.
        sqlx::query(
            "UPDATE experiment_exposures SET member_id = $1
             WHERE workspace_id = $2 AND member_id = $3
               AND experiment_id NOT IN (SELECT experiment_id FROM experiment_exposures
                                         WHERE workspace_id = $2 AND member_id = $1)",
        )
        .bind(survivor)
        .bind(workspace.as_str())
        .bind(merged)
        .execute(self.conn())
        .await?;
        sqlx::query("DELETE FROM experiment_exposures WHERE workspace_id = $1 AND member_id = $2")
            .bind(workspace.as_str())
            .bind(merged)
            .execute(self.conn())
            .await?;
        for table in ["member_identities", "orders"] {
            let sql = format!(
                "UPDATE {table} SET member_id = $1 WHERE workspace_id = $2 AND member_id = $3"
            );
            sqlx::query(&sql)
                .bind(survivor)
                .bind(workspace.as_str())
                .bind(merged)
                .execute(self.conn())
                .await?;
        }
        sqlx::query(
            "UPDATE events SET member_id = $1, member_key = $2
             WHERE member_key = $3 AND member_id = $4 AND workspace_id = $5",
        )
        .bind(survivor)
        .bind(member_key(survivor))
        .bind(member_key(merged))
        .bind(merged)
        .bind(workspace.as_str())
        .execute(self.conn())
        .await?;
        self.merge_promotions(workspace, survivor, merged).await?;
        let row = sqlx::query(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1"
        ))
        .bind(merged)
        .fetch_one(self.conn())
        .await?;
        let gone = member(&row)?;
        sqlx::query(
            "UPDATE members SET
                event_count = event_count + $1, order_count = order_count + $2,
                gmv_fen = gmv_fen + $3, refund_fen = refund_fen + $4,
                first_seen_at = CASE WHEN first_seen_at IS NULL OR ($5 IS NOT NULL AND $5 < first_seen_at) THEN $5 ELSE first_seen_at END,
                last_seen_at = CASE WHEN last_seen_at IS NULL OR ($6 IS NOT NULL AND $6 > last_seen_at) THEN $6 ELSE last_seen_at END,
                last_interaction_at = CASE WHEN last_interaction_at IS NULL OR ($7 IS NOT NULL AND $7 > last_interaction_at) THEN $7 ELSE last_interaction_at END,
                first_order_at = CASE WHEN first_order_at IS NULL OR ($8 IS NOT NULL AND $8 < first_order_at) THEN $8 ELSE first_order_at END,
                last_order_at = CASE WHEN last_order_at IS NULL OR ($9 IS NOT NULL AND $9 > last_order_at) THEN $9 ELSE last_order_at END,
                acquisition_channel = COALESCE(acquisition_channel, $10),
                updated_at = $11
             WHERE id = $12",
        )
        .bind(gone.event_count)
        .bind(gone.order_count)
        .bind(gone.gmv_fen)
        .bind(gone.refund_fen)
        .bind(gone.first_seen_at.map(Timestamp::millis))
        .bind(gone.last_seen_at.map(Timestamp::millis))
        .bind(gone.last_interaction_at.map(Timestamp::millis))
        .bind(gone.first_order_at.map(Timestamp::millis))
        .bind(gone.last_order_at.map(Timestamp::millis))
        .bind(gone.acquisition_channel.clone())
        .bind(now.millis())
        .bind(survivor)
        .execute(self.conn())
        .await?;
        sqlx::query(
            "UPDATE members SET merged_into = $1, merged_at = $2, updated_at = $2, event_count = 0, order_count = 0,
                    gmv_fen = 0, refund_fen = 0 WHERE id = $3",
        )
        .bind(survivor)
        .bind(now.millis())
        .bind(merged)
        .execute(self.conn())
        .await?;
        // Members merged into the merged one earlier now point straight at the survivor,
        // keeping chains short. Not those another transaction has locked on PostgreSQL:
        // one following a chain locks the merged member before the live one this merge
        // holds, and waiting for it would close a cycle. They keep pointing at the merged
        // member, one step more for readers, who all follow chains to their end.
        let repoint = match self.backend() {
            Backend::Sqlite => {
                "UPDATE members SET merged_into = $1 WHERE workspace_id = $2 AND merged_into = $3"
            }
            Backend::Postgres => {
                "UPDATE members SET merged_into = $1 WHERE id IN
                     (SELECT id FROM members WHERE workspace_id = $2 AND merged_into = $3
                      FOR UPDATE SKIP LOCKED)"
            }
        };
        sqlx::query(repoint)
            .bind(survivor)
            .bind(workspace.as_str())
            .bind(merged)
            .execute(self.conn())
            .await?;
        sqlx::query("INSERT INTO member_merges (id, workspace_id, survivor_id, merged_id, via, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(format!("mrg_{}", new_id_body(now)))
            .bind(workspace.as_str())
            .bind(survivor)
            .bind(merged)
            .bind(via)
            .bind(now.millis())
            .execute(self.conn())
            .await?;
        self.emit(
            workspace,
            "member.merged",
            survivor,
            &format!("{{\"survivor_id\":\"{survivor}\",\"merged_id\":\"{merged}\"}}"),
            now,
        )
        .await
    }

    pub async fn set_traits(&mut self, member: &str, traits: &str, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE members SET traits = $1, updated_at = $2 WHERE id = $3")
            .bind(traits)
            .bind(now.millis())
            .bind(member)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn member_for_update(&mut self, id: &str) -> Result<MemberRow> {
        let row = sqlx::query(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.conn())
        .await?
        .ok_or(StoreError::NotFound)?;
        member(&row)
    }

    /// Adds a batch's worth of activity to each member's profile (SQLite: one
    /// `UPDATE … FROM (VALUES …)` per chunk; PostgreSQL: one over arrays); returns how many
    /// of the members were live (neither merged nor erased). A caller that relied on
    /// remembered members checks that against what it sent and rolls back on a shortfall.
    pub async fn apply_profile_deltas(
        &mut self,
        deltas: &[(String, ProfileDelta)],
        now: Timestamp,
    ) -> Result<u64> {
        if self.backend() == Backend::Postgres {
            return self.apply_profile_deltas_unnest(deltas, now).await;
        }
        let mut live = 0;
        for chunk in deltas.chunks(CHUNK) {
            // Only live members are updated, and the count of updated rows says how many
            // were (SQLite goes by primary key whatever the extra condition).
            let sql = format!(
                "{} members SET {}
                 FROM (SELECT column1 AS id, column2 AS first_seen_at, column3 AS last_seen_at,
                              column4 AS last_interaction_at, column5 AS events, column6 AS channel
                       FROM (VALUES {})) AS v
                 WHERE members.id = v.id AND members.merged_into IS NULL AND members.erased_at IS NULL",
                bulk_update(Backend::Sqlite),
                profile_set("?"),
                placeholders(Backend::Sqlite, chunk.len(), 6, 0)
            );
            let mut query = sqlx::query(&sql).bind(now.millis());
            for (id, delta) in chunk {
                query = query
                    .bind(id)
                    .bind(delta.first_seen_at.map(Timestamp::millis))
                    .bind(delta.last_seen_at.map(Timestamp::millis))
                    .bind(delta.last_interaction_at.map(Timestamp::millis))
                    .bind(delta.events)
                    .bind(delta.channel.clone());
            }
            live += query.execute(self.conn()).await?.rows_affected();
        }
        Ok(live)
    }

    /// PostgreSQL: every delta in one statement over one array per column (see
    /// `pg_arrays`). Unprepared, so it is planned for the arrays it gets: a plan cached on
    /// an empty members table would scan the whole table once it has grown. Every named
    /// member is updated and the live ones counted after: in the join, PostgreSQL guessed
    /// from `IS NULL` without statistics that almost no member qualifies and scanned the
    /// whole table per row (2 s per statement). A shortfall rolls the update back anyway.
    ///
    /// The update runs as key probes in the order of the (sorted) arrays, hash and merge
    /// joins switched off for it alone: concurrent writers then lock member rows in one
    /// order. Left to itself, PostgreSQL hashed the whole members table for a group that
    /// named a few percent of it, locked rows in the table's physical order, and two
    /// writers deadlocked (it was slower too: 33 ms against 23 ms for 2,000 of 50,000).
    async fn apply_profile_deltas_unnest(
        &mut self,
        deltas: &[(String, ProfileDelta)],
        now: Timestamp,
    ) -> Result<u64> {
        if deltas.is_empty() {
            return Ok(0);
        }
        let millis = |pick: fn(&ProfileDelta) -> Option<Timestamp>| {
            int_array(deltas.iter().map(|(_, d)| pick(d).map(Timestamp::millis)))
        };
        let before = sqlx::query(
            "SELECT current_setting('enable_hashjoin') AS hash, current_setting('enable_mergejoin') AS merge,
                    set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)",
        )
        .fetch_one(self.conn())
        .await?;
        let sql = format!(
            "WITH updated AS (
                UPDATE members SET {}
                FROM UNNEST(CAST($2 AS text[]), CAST($3 AS bigint[]), CAST($4 AS bigint[]), CAST($5 AS bigint[]),
                            CAST($6 AS bigint[]), CAST($7 AS text[]))
                     AS v(id, first_seen_at, last_seen_at, last_interaction_at, events, channel)
                WHERE members.id = v.id
                RETURNING members.merged_into, members.erased_at)
             SELECT CAST(COUNT(*) AS BIGINT) AS live FROM updated WHERE merged_into IS NULL AND erased_at IS NULL",
            profile_set("$1")
        );
        let row = sqlx::query(&sql)
            .persistent(false)
            .bind(now.millis())
            .bind(text_array(deltas.iter().map(|(id, _)| Some(id.as_str()))))
            .bind(millis(|d| d.first_seen_at))
            .bind(millis(|d| d.last_seen_at))
            .bind(millis(|d| d.last_interaction_at))
            .bind(int_array(deltas.iter().map(|(_, d)| Some(d.events))))
            .bind(text_array(deltas.iter().map(|(_, d)| d.channel.as_deref())))
            .fetch_one(self.conn())
            .await?;
        sqlx::query("SELECT set_config('enable_hashjoin', $1, true), set_config('enable_mergejoin', $2, true)")
            .bind(text(&before, "hash")?)
            .bind(text(&before, "merge")?)
            .execute(self.conn())
            .await?;
        Ok(int(&row, "live")?.max(0) as u64)
    }

    /// What RFM is computed from: every live member of the workspace who has ordered.
    pub async fn rfm_inputs(
        &mut self,
        workspace: &WorkspaceId,
        now: Timestamp,
    ) -> Result<Vec<RfmInput>> {
        sqlx::query(
            "SELECT id, last_order_at, order_count, gmv_fen - refund_fen AS monetary FROM members
             WHERE workspace_id = $1 AND merged_into IS NULL AND order_count > 0 ORDER BY id",
        )
        .bind(workspace.as_str())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| {
            let last = opt_ts(row, "last_order_at")?.unwrap_or(now);
            Ok(RfmInput {
                member_id: text(row, "id")?,
                days_since_last_order: now.since(last).as_secs() as i64 / 86_400,
                orders: int(row, "order_count")?,
                monetary_fen: int(row, "monetary")?,
            })
        })
        .collect()
    }

    /// Stores RFM scores computed at `at`; members who no longer qualify lose theirs.
    pub async fn set_rfm(
        &mut self,
        workspace: &WorkspaceId,
        scores: &[(String, RfmScore)],
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE members SET rfm_recency = NULL, rfm_frequency = NULL, rfm_monetary = NULL, rfm_at = NULL
             WHERE workspace_id = $1 AND rfm_at IS NOT NULL AND (order_count = 0 OR merged_into IS NOT NULL)",
        )
        .bind(workspace.as_str())
        .execute(self.conn())
        .await?;
        for chunk in scores.chunks(CHUNK) {
            let sql = format!(
                "UPDATE members SET rfm_recency = v.column2, rfm_frequency = v.column3, rfm_monetary = v.column4, rfm_at = v.column5
                 FROM (VALUES {}) AS v WHERE members.id = v.column1",
                placeholders(self.backend(), chunk.len(), 5, 0)
            );
            let mut query = sqlx::query(&sql);
            for (id, score) in chunk {
                query = query
                    .bind(id)
                    .bind(i64::from(score.recency))
                    .bind(i64::from(score.frequency))
                    .bind(i64::from(score.monetary))
                    .bind(at.millis());
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Records a consent decision (the latest per channel is kept; the outbox keeps the
    /// history as `member.consent_changed`).
    pub async fn set_consent(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
        consent: &ConsentRow,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO member_consents (workspace_id, member_id, channel, granted, source, at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (workspace_id, member_id, channel) DO UPDATE
             SET granted = excluded.granted, source = excluded.source, at = excluded.at",
        )
        .bind(workspace.as_str())
        .bind(member)
        .bind(consent.channel.as_str())
        .bind(i64::from(consent.granted))
        .bind(&consent.source)
        .bind(consent.at.millis())
        .execute(self.conn())
        .await?;
        let payload = format!(
            "{{\"member_id\":\"{member}\",\"channel\":\"{}\",\"granted\":{},\"source\":{},\"at\":{}}}",
            consent.channel.as_str(),
            consent.granted,
            json_string(&consent.source),
            consent.at.millis()
        );
        self.emit(
            workspace,
            "member.consent_changed",
            member,
            &payload,
            consent.at,
        )
        .await
    }

    /// Erases a member's personal information (PIPL): identities, traits, consents, tags,
    /// event properties and segment memberships go; the member id stays as an anonymous key so
    /// aggregates (orders, counts) still add up.
    pub async fn erase_member(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
        now: Timestamp,
    ) -> Result<()> {
        for sql in [
            "DELETE FROM member_identities WHERE workspace_id = $1 AND member_id = $2",
            "DELETE FROM member_consents WHERE workspace_id = $1 AND member_id = $2",
            "DELETE FROM segment_members WHERE workspace_id = $1 AND member_id = $2",
            "DELETE FROM member_tags WHERE workspace_id = $1 AND member_id = $2",
        ] {
            sqlx::query(sql)
                .bind(workspace.as_str())
                .bind(member)
                .execute(self.conn())
                .await?;
        }
        sqlx::query(
            "UPDATE events SET properties = '{}'
             WHERE member_key = $1 AND member_id = $2 AND workspace_id = $3",
        )
        .bind(member_key(member))
        .bind(member)
        .bind(workspace.as_str())
        .execute(self.conn())
        .await?;
        sqlx::query("UPDATE members SET traits = '{}', erased_at = $1, updated_at = $1 WHERE workspace_id = $2 AND id = $3")
            .bind(now.millis())
            .bind(workspace.as_str())
            .bind(member)
            .execute(self.conn())
            .await?;
        self.emit(
            workspace,
            "member.erased",
            member,
            &format!("{{\"member_id\":\"{member}\"}}"),
            now,
        )
        .await
    }

    /// Writes a fact to the outbox in this transaction.
    pub async fn emit(
        &mut self,
        workspace: &WorkspaceId,
        topic: &str,
        subject: &str,
        payload: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query("INSERT INTO domain_events (id, workspace_id, topic, subject_id, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(format!("dev_{}", new_id_body(now)))
            .bind(workspace.as_str())
            .bind(topic)
            .bind(subject)
            .bind(payload)
            .bind(now.millis())
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl Store {
    /// Each live member's traits (JSON text), for rules that read one trait of many members.
    pub async fn member_traits(
        &self,
        workspace: &WorkspaceId,
        ids: &[String],
    ) -> Result<HashMap<String, String>> {
        let mut conn = self.reader().acquire().await?;
        let rows = crate::sql::select_in(
            &mut conn,
            self.backend(),
            "SELECT id, traits FROM members WHERE workspace_id = {ws} AND merged_into IS NULL AND id IN {keys}",
            workspace,
            ids,
            |row| Ok((text(row, "id")?, text(row, "traits")?)),
        )
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// The live member behind each of these ids (a merged member's survivor, at the end
    /// of its chain); unknown ids are left out.
    pub async fn live_member_ids(
        &self,
        workspace: &WorkspaceId,
        ids: &[String],
    ) -> Result<HashMap<String, String>> {
        let mut conn = self.reader().acquire().await?;
        follow_merges(&mut conn, self.backend(), workspace, ids, "").await
    }
}

/// Each of `ids` (sorted) found in the workspace, with the member it was merged into,
/// read (and locked with `lock`, in id order) in one statement per chunk.
async fn read_links(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    workspace: &WorkspaceId,
    ids: &[String],
    lock: &str,
) -> Result<HashMap<String, Option<String>>> {
    let mut links = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        // By primary key alone, checking the workspace on the rows: with a workspace
        // condition PostgreSQL may scan the whole workspace through its index.
        let sql =
            format!(
            "SELECT id, workspace_id, merged_into FROM members WHERE id IN ({}) ORDER BY id {lock}",
            (0..chunk.len()).map(|i| param(backend, i + 1)).collect::<Vec<_>>().join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            if text(&row, "workspace_id")? == workspace.as_str() {
                links.insert(text(&row, "id")?, opt_text(&row, "merged_into")?);
            }
        }
    }
    Ok(links)
}

/// Follows merges from `ids` to the live members, reading (and locking with `lock`) one
/// link of every chain per round: each id found maps to the live member it now is
/// (itself, or the survivor at the end of its chain); unknown ids are left out.
async fn follow_merges(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    workspace: &WorkspaceId,
    ids: &[String],
    lock: &str,
) -> Result<HashMap<String, String>> {
    let mut sorted: Vec<String> = ids.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut next_of: HashMap<String, Option<String>> = HashMap::new();
    // Ids asked for already, found or not (a chain leading out of the workspace ends).
    let mut asked: HashSet<String> = HashSet::new();
    let mut pending = sorted;
    while !pending.is_empty() {
        next_of.extend(read_links(conn, backend, workspace, &pending, lock).await?);
        asked.extend(pending);
        let mut follow: Vec<String> = next_of
            .values()
            .flatten()
            .filter(|id| !asked.contains(*id))
            .cloned()
            .collect();
        follow.sort();
        follow.dedup();
        pending = follow;
    }
    let mut live = HashMap::new();
    'ids: for id in ids {
        let mut current = id.clone();
        for _ in 0..64 {
            match next_of.get(&current) {
                None => continue 'ids,
                Some(None) => break,
                Some(Some(next)) => current = next.clone(),
            }
        }
        live.insert(id.clone(), current);
    }
    Ok(live)
}

/// The profile update's `SET` clause, over a joined `v(id, first_seen_at, last_seen_at,
/// last_interaction_at, events, channel)` and `now` as the placeholder given.
fn profile_set(now: &str) -> String {
    format!(
        "first_seen_at = CASE WHEN members.first_seen_at IS NULL OR v.first_seen_at < members.first_seen_at THEN v.first_seen_at ELSE members.first_seen_at END,
         last_seen_at = CASE WHEN members.last_seen_at IS NULL OR v.last_seen_at > members.last_seen_at THEN v.last_seen_at ELSE members.last_seen_at END,
         last_interaction_at = CASE WHEN v.last_interaction_at IS NULL THEN members.last_interaction_at
             WHEN members.last_interaction_at IS NULL OR v.last_interaction_at > members.last_interaction_at THEN v.last_interaction_at
             ELSE members.last_interaction_at END,
         event_count = members.event_count + v.events,
         acquisition_channel = COALESCE(members.acquisition_channel, v.channel),
         updated_at = {now}"
    )
}

impl Store {
    /// The member, following merges to the survivor.
    pub async fn member(&self, workspace: &WorkspaceId, id: &str) -> Result<MemberRow> {
        if let Some(inline) = self.inline_reads() {
            // Most API calls about a member start here: on SQLite it skips the connection
            // thread.
            return inline.read(|conn| {
                let sql = format!(
                    "SELECT {MEMBER_COLUMNS} FROM members WHERE workspace_id = ?1 AND id = ?2"
                );
                let mut statement = conn.prepare_cached(&sql).map_err(sqlite)?;
                let mut current = id.to_owned();
                for _ in 0..64 {
                    let mut rows = statement
                        .query([workspace.as_str(), current.as_str()])
                        .map_err(sqlite)?;
                    let row = rows.next().map_err(sqlite)?.ok_or(StoreError::NotFound)?;
                    let found = member(row)?;
                    match found.merged_into {
                        Some(next) => current = next,
                        None => return Ok(found),
                    }
                }
                Err(StoreError::Corrupt(format!(
                    "merge chain from {id} does not end"
                )))
            });
        }
        let mut current = id.to_owned();
        for _ in 0..64 {
            let row = sqlx::query(&format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE workspace_id = $1 AND id = $2"
            ))
            .bind(workspace.as_str())
            .bind(&current)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
            let found = member(&row)?;
            match found.merged_into {
                Some(next) => current = next,
                None => return Ok(found),
            }
        }
        Err(StoreError::Corrupt(format!(
            "merge chain from {id} does not end"
        )))
    }

    pub async fn member_by_identity(
        &self,
        workspace: &WorkspaceId,
        kind: IdentityKind,
        lookup: &LookupKey,
    ) -> Result<MemberRow> {
        let member_id: Option<String> = sqlx::query_scalar(
            "SELECT member_id FROM member_identities WHERE workspace_id = $1 AND kind = $2 AND lookup_key = $3",
        )
        .bind(workspace.as_str())
        .bind(kind.as_str())
        .bind(lookup.as_str())
        .fetch_optional(self.reader())
        .await?;
        self.member(workspace, &member_id.ok_or(StoreError::NotFound)?)
            .await
    }

    pub async fn member_identities(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Vec<IdentityRow>> {
        sqlx::query("SELECT kind, display, created_at FROM member_identities WHERE workspace_id = $1 AND member_id = $2 ORDER BY created_at, kind")
            .bind(workspace.as_str())
            .bind(member)
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|row| {
                Ok(IdentityRow {
                    kind: IdentityKind::parse(&text(row, "kind")?)?,
                    display: text(row, "display")?,
                    created_at: ts(row, "created_at")?,
                })
            })
            .collect()
    }

    /// Merges into `member`, newest first.
    pub async fn member_merges(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Vec<MergeRow>> {
        sqlx::query(
            "SELECT id, survivor_id, merged_id, via, at FROM member_merges WHERE workspace_id = $1 AND survivor_id = $2 ORDER BY id DESC",
        )
        .bind(workspace.as_str())
        .bind(member)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| {
            Ok(MergeRow {
                id: text(row, "id")?,
                survivor_id: text(row, "survivor_id")?,
                merged_id: text(row, "merged_id")?,
                via: text(row, "via")?,
                at: ts(row, "at")?,
            })
        })
        .collect()
    }

    pub async fn member_consents(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Vec<ConsentRow>> {
        sqlx::query("SELECT channel, granted, source, at FROM member_consents WHERE workspace_id = $1 AND member_id = $2 ORDER BY channel")
            .bind(workspace.as_str())
            .bind(member)
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|row| {
                Ok(ConsentRow {
                    channel: ConsentChannel::parse(&text(row, "channel")?)?,
                    granted: int(row, "granted")? != 0,
                    source: text(row, "source")?,
                    at: ts(row, "at")?,
                })
            })
            .collect()
    }

    /// Members holding an identity whose lookup key is one of `keys` (any kind), live ones.
    pub async fn members_by_lookup_keys(
        &self,
        workspace: &WorkspaceId,
        keys: &[String],
    ) -> Result<Vec<MemberRow>> {
        let mut ids: Vec<String> = Vec::new();
        for key in keys {
            let found: Vec<String> = sqlx::query_scalar(
                "SELECT member_id FROM member_identities WHERE workspace_id = $1 AND lookup_key = $2 ORDER BY member_id LIMIT 50",
            )
            .bind(workspace.as_str())
            .bind(key)
            .fetch_all(self.reader())
            .await?;
            ids.extend(found);
        }
        ids.sort();
        ids.dedup();
        let mut out = Vec::new();
        for id in ids {
            let member = self.member(workspace, &id).await?;
            if !out.iter().any(|m: &MemberRow| m.id == member.id) {
                out.push(member);
            }
        }
        Ok(out)
    }

    /// Live members in id order (newest last), a page at a time.
    pub async fn members_page(
        &self,
        workspace: &WorkspaceId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<crate::Page<MemberRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE workspace_id = $1 AND merged_into IS NULL AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(workspace.as_str())
        .bind(after.unwrap_or(""))
        .bind(crate::page_limit(limit))
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(member)
        .collect::<Result<Vec<_>>>()?;
        Ok(crate::into_page(rows, limit, |m| m.id.clone()))
    }

    /// Live members of a workspace, for tests and exports.
    pub async fn live_member_count(&self, workspace: &WorkspaceId) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM members WHERE workspace_id = $1 AND merged_into IS NULL",
        )
        .bind(workspace.as_str())
        .fetch_one(self.reader())
        .await?)
    }
}

/// A JSON string literal (for outbox payloads written without serde).
pub(crate) fn json_string(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    out.push('"');
    for c in raw.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
