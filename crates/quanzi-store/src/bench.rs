//! The raw ceiling for benchmarks: the same event rows inserted straight into a bare table
//! with the same columns, in transactions of the same size, with none of quanzi's work
//! (no identity resolution, no deduplication answer, no profile updates).

use quanzi_domain::time::Timestamp;

use crate::error::Result;
use crate::events::NewEvent;
use crate::members::{placeholders, CHUNK};
use crate::Store;

impl Store {
    /// Creates the scratch table `bench_raw_events` (dropping an old one).
    pub async fn bench_raw_prepare(&self) -> Result<()> {
        sqlx::query("DROP TABLE IF EXISTS bench_raw_events")
            .execute(self.writer())
            .await?;
        sqlx::query(
            "CREATE TABLE bench_raw_events (workspace_id TEXT NOT NULL, event_id TEXT NOT NULL, member_id TEXT NOT NULL,
                type TEXT NOT NULL, occurred_at BIGINT NOT NULL, received_at BIGINT NOT NULL, properties TEXT NOT NULL,
                channel TEXT, utm_source TEXT, utm_medium TEXT, utm_campaign TEXT, utm_content TEXT, utm_term TEXT,
                link_code TEXT, kol_id TEXT, campaign_id TEXT, content_id TEXT, PRIMARY KEY (workspace_id, event_id))",
        )
        .execute(self.writer())
        .await?;
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
                    "INSERT INTO bench_raw_events VALUES {}",
                    placeholders(backend, chunk.len(), 17, 0)
                );
                let mut query = sqlx::query(&sql);
                for e in chunk {
                    let t = &e.touchpoints;
                    query = query
                        .bind("ws_bench")
                        .bind(&e.event_id)
                        .bind(&e.member_id)
                        .bind(&e.event_type)
                        .bind(e.occurred_at.millis())
                        .bind(now.millis())
                        .bind(&e.properties)
                        .bind(t.channel.as_deref())
                        .bind(t.utm_source.as_deref())
                        .bind(t.utm_medium.as_deref())
                        .bind(t.utm_campaign.as_deref())
                        .bind(t.utm_content.as_deref())
                        .bind(t.utm_term.as_deref())
                        .bind(t.link_code.as_deref())
                        .bind(t.kol_id.as_deref())
                        .bind(t.campaign_id.as_deref())
                        .bind(t.content_id.as_deref());
                }
                written += query.execute(tx.conn()).await?.rows_affected() as usize;
            }
            tx.commit().await?;
        }
        Ok(written)
    }
}
