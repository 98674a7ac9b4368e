//! The raw ceiling for benchmarks: the same event rows inserted straight into a bare table
//! with the same columns, in transactions of the same size, with none of quanzi's work
//! (no identity resolution, no deduplication answer, no profile updates).

use quanzi_domain::time::Timestamp;

use crate::error::Result;
use crate::events::NewEvent;
use crate::sql::{bulk_insert, placeholders, CHUNK};
use crate::Store;

impl Store {
    /// Creates the scratch table `bench_raw_events` (dropping an old one); `indexed` adds
    /// the two secondary indexes the events table has (by member, by type and time), so
    /// the ceiling is that of the same b-tree work without quanzi.
    pub async fn bench_raw_prepare(&self, indexed: bool) -> Result<()> {
        sqlx::query("DROP TABLE IF EXISTS bench_raw_events")
            .execute(self.writer())
            .await?;
        sqlx::query(
            "CREATE TABLE bench_raw_events (workspace_id TEXT NOT NULL, event_id TEXT NOT NULL, member_id TEXT NOT NULL,
                type TEXT NOT NULL, occurred_at BIGINT NOT NULL, received_at BIGINT NOT NULL, properties TEXT NOT NULL,
                channel TEXT, utm_source TEXT, utm_medium TEXT, utm_campaign TEXT, utm_content TEXT, utm_term TEXT,
                link_code TEXT, kol_id TEXT, campaign_id TEXT, content_id TEXT, member_key BIGINT NOT NULL,
                PRIMARY KEY (workspace_id, event_id))",
        )
        .execute(self.writer())
        .await?;
        if indexed {
            for index in [
                "CREATE INDEX bench_raw_events_member ON bench_raw_events (member_key, occurred_at)",
                "CREATE INDEX bench_raw_events_type ON bench_raw_events (workspace_id, type, occurred_at, member_id)",
            ] {
                sqlx::query(index).execute(self.writer()).await?;
            }
        }
        Ok(())
    }

    pub async fn bench_raw_cleanup(&self) -> Result<()> {
        sqlx::query("DROP TABLE IF EXISTS bench_raw_events")
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Inserts one batch in one transaction; returns the rows written.
    pub async fn bench_raw_insert(&self, batch: &[NewEvent], now: Timestamp) -> Result<usize> {
        let mut written = 0;
        {
            let mut tx = self.begin().await?;
            let backend = tx.backend();
            for chunk in batch.chunks(CHUNK) {
                let sql = format!(
                    "{} INTO bench_raw_events VALUES {}",
                    bulk_insert(backend),
                    placeholders(backend, chunk.len(), 18, 0)
                );
                let mut query = sqlx::query(&sql);
                for e in chunk {
                    query = crate::events::bind_event(query, "ws_bench", e, now);
                }
                written += query.execute(tx.conn()).await?.rows_affected() as usize;
            }
            tx.commit().await?;
        }
        Ok(written)
    }
}

/// Synthetic data for the segment benchmark, loaded with multi-row inserts.
impl Store {
    /// `count` members with profiles spread over the last 180 days; ids `mem_b{i:09}`.
    pub async fn bench_load_members(
        &self,
        workspace: &quanzi_domain::ids::WorkspaceId,
        count: usize,
        now: Timestamp,
    ) -> Result<()> {
        const DAY: i64 = 86_400_000;
        let mut i = 0;
        while i < count {
            let mut tx = self.begin().await?;
            let backend = tx.backend();
            for _ in 0..20 {
                if i >= count {
                    break;
                }
                let n = (count - i).min(CHUNK);
                let sql = format!(
                    "INSERT INTO members (id, workspace_id, created_at, updated_at, traits, event_count, order_count, gmv_fen, refund_fen,
                        first_seen_at, last_seen_at, last_interaction_at, last_order_at)
                     SELECT v.column1, v.column2, v.column3, v.column3, v.column4, v.column5, v.column6, v.column7, 0, v.column3, v.column8, v.column8, v.column9
                     FROM (VALUES {}) AS v",
                    placeholders(backend, n, 9, 0)
                );
                let mut query = sqlx::query(&sql);
                for k in i..i + n {
                    let h = (k as i64).wrapping_mul(2_654_435_761) & 0x7fff_ffff;
                    let created = now.millis() - (h % 180) * DAY;
                    let orders = h % 4;
                    query = query
                        .bind(format!("mem_b{k:09}"))
                        .bind(workspace.as_str())
                        .bind(created)
                        .bind(format!(
                            "{{\"city\":\"{}\"}}",
                            ["杭州", "上海", "北京", "成都"][(h % 4) as usize]
                        ))
                        .bind(10_i64)
                        .bind(orders)
                        .bind(orders * 9_900)
                        .bind(now.millis() - (h % 100) * DAY)
                        .bind((orders > 0).then(|| now.millis() - (h % 120) * DAY));
                }
                query.execute(tx.conn()).await?;
                i += n;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// `count` events over the last 90 days for members `mem_b0…mem_b{members-1}`.
    pub async fn bench_load_events(
        &self,
        workspace: &quanzi_domain::ids::WorkspaceId,
        members: usize,
        count: usize,
        now: Timestamp,
    ) -> Result<()> {
        const TYPES: [&str; 6] = [
            "page_view",
            "exposure",
            "click",
            "share",
            "content_view",
            "add_to_cart",
        ];
        let mut i = 0;
        while i < count {
            let mut tx = self.begin().await?;
            let backend = tx.backend();
            for _ in 0..20 {
                if i >= count {
                    break;
                }
                let n = (count - i).min(CHUNK);
                let sql = format!(
                    "INSERT INTO events (workspace_id, event_id, member_id, type, occurred_at, received_at, properties, member_key)
                     SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column5, '{{}}', v.column6 FROM (VALUES {}) AS v",
                    placeholders(backend, n, 6, 0)
                );
                let mut query = sqlx::query(&sql);
                for k in i..i + n {
                    let h = (k as i64).wrapping_mul(0x9E37_79B9) & 0x7fff_ffff;
                    let member = format!("mem_b{:09}", h as usize % members);
                    let key = crate::member_key::member_key(&member);
                    query = query
                        .bind(workspace.as_str())
                        .bind(format!("e{k}"))
                        .bind(member)
                        .bind(TYPES[(h / 7) as usize % TYPES.len()])
                        .bind(now.millis() - (h % (90 * 86_400)) * 1000)
                        .bind(key);
                }
                query.execute(tx.conn()).await?;
                i += n;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// What autovacuum would have done by the time anyone queries a loaded workspace:
    /// planner statistics, and on PostgreSQL the visibility map index-only scans need.
    pub async fn bench_analyze(&self) -> Result<()> {
        let sql = match self.backend() {
            crate::Backend::Sqlite => "ANALYZE",
            crate::Backend::Postgres => "VACUUM ANALYZE",
        };
        sqlx::query(sql).execute(self.writer()).await?;
        Ok(())
    }
}
