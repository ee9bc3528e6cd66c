//! Retention: events older than `--retention` are deleted in the background,
//! hourly, in small batches (select the ids, delete those: `DELETE ... LIMIT`
//! is not portable), so a large prune never holds the writers up for long.
//! Active findings, node states and reports are current facts, never pruned.

use std::time::Duration;

use sqlx::Row;

use super::{Result, Store, required_text};

/// How often the pruner runs.
pub const EVERY: Duration = Duration::from_secs(3600);
/// Events deleted per statement.
const BATCH: usize = 500;
/// Pause between batches, leaving the database to the writers.
const PAUSE: Duration = Duration::from_millis(50);

impl Store {
    /// Deletes the events before `cutoff_unix_ms` (and their webhook outbox
    /// rows); returns how many events were deleted.
    pub async fn prune(&self, cutoff_unix_ms: i64) -> Result<u64> {
        let mut deleted = 0;
        loop {
            let ids = self.old_event_ids(cutoff_unix_ms).await?;
            if ids.is_empty() {
                return Ok(deleted);
            }
            deleted += self.delete_events(&ids).await?;
            if ids.len() < BATCH {
                return Ok(deleted);
            }
            tokio::time::sleep(PAUSE).await;
        }
    }

    async fn old_event_ids(&self, cutoff_unix_ms: i64) -> Result<Vec<String>> {
        self.timed(async {
            let q = |e| self.query_error(e);
            let rows = sqlx::query(
                "SELECT id FROM events WHERE at_unix_ms < ? ORDER BY at_unix_ms LIMIT ?",
            )
            .bind(cutoff_unix_ms)
            .bind(BATCH as i64)
            .fetch_all(self.pool())
            .await
            .map_err(q)?;
            rows.iter()
                .map(|r| required_text(r, "id"))
                .collect::<std::result::Result<_, _>>()
                .map_err(q)
        })
        .await
    }

    async fn delete_events(&self, ids: &[String]) -> Result<u64> {
        let marks = vec!["?"; ids.len()].join(", ");
        let outbox = format!("DELETE FROM webhook_outbox WHERE event_id IN ({marks})");
        let events = format!("DELETE FROM events WHERE id IN ({marks})");
        self.timed(async {
            let q = |e| self.query_error(e);
            let mut tx = self.pool().begin().await.map_err(q)?;
            let mut deleted = 0;
            for sql in [&outbox, &events] {
                let mut query = sqlx::query(sql);
                for id in ids {
                    query = query.bind(id.clone());
                }
                deleted = query.execute(&mut *tx).await.map_err(q)?.rows_affected();
            }
            tx.commit().await.map_err(q)?;
            Ok(deleted)
        })
        .await
    }

    /// Number of events stored (for tests and benches).
    pub async fn event_count(&self) -> Result<i64> {
        self.timed(async {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM events")
                .fetch_one(self.pool())
                .await
                .map_err(|e| self.query_error(e))?;
            row.try_get("n").map_err(|e| self.query_error(e))
        })
        .await
    }
}

/// Prunes every [`EVERY`] (first a minute after start) until the task is aborted.
pub async fn run(store: Store, retention: Duration) {
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let mut ticker = tokio::time::interval(EVERY);
    loop {
        ticker.tick().await;
        let cutoff = omswatch_common::telemetry::now_unix_ms().saturating_sub(retention_ms);
        match store.prune(cutoff).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(store = %store.location(), events = n, retention = %humantime::format_duration(retention), "pruned old events")
            }
            Err(e) => store.health().failed("the retention prune", &e),
        }
    }
}
