//! Leases between the collectors of a pair sharing a MySQL store: a row per lease (e.g.
//! `webhooks`: who sends the webhook notifications) naming its holder, a generation that
//! grows at each change of holder, and when it expires by the DATABASE's clock. Taking and
//! renewing are one compare-and-set `UPDATE` (or the first `INSERT`), so of two collectors
//! asking at once exactly one holds it, and a holder that died (stopped renewing) is
//! replaced once its lease expired, whatever the collectors' own clocks say. The renewal
//! loop that uses this lives in [`crate::notify::lease`].

use sqlx::Row;

use super::error::is_unique_violation;
use super::{Result, Store, required_text};

/// Who holds a lease after an attempt to take or renew it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseState {
    /// Whether the asking collector holds it now.
    pub held: bool,
    /// The holder (the asking collector when `held`).
    pub holder: String,
    /// Grows at each change of holder.
    pub generation: i64,
}

impl Store {
    /// Takes or renews lease `name` for `holder`, valid `ttl_ms` from the database's now:
    /// granted when `holder` holds it already, when it has expired, or when it does not
    /// exist yet. `force` takes it whatever its state (an SQLite store, which its lock
    /// proves this collector alone uses).
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl_ms: i64,
        force: bool,
    ) -> Result<LeaseState> {
        let now = self.db_now_ms_sql();
        // The generation is assigned first: MySQL evaluates SET from left to right, each
        // seeing the values set before it; SQLite sees the old row throughout.
        let update = format!(
            "UPDATE leases SET \
             generation = CASE WHEN holder = ? THEN generation ELSE generation + 1 END, \
             holder = ?, renewed_at_unix_ms = {now}, expires_at_unix_ms = {now} + ? \
             WHERE name = ? AND (holder = ? OR expires_at_unix_ms < {now} OR ? = 1)"
        );
        let insert = format!(
            "INSERT INTO leases (name, holder, generation, renewed_at_unix_ms, expires_at_unix_ms) \
             VALUES (?, ?, 1, {now}, {now} + ?)"
        );
        self.timed(async {
            let q = |e| self.query_error(e);
            let updated = sqlx::query(&update)
                .bind(holder.to_string())
                .bind(holder.to_string())
                .bind(ttl_ms)
                .bind(name.to_string())
                .bind(holder.to_string())
                .bind(i64::from(force))
                .execute(self.pool())
                .await
                .map_err(q)?;
            if updated.rows_affected() == 0 {
                let inserted = sqlx::query(&insert)
                    .bind(name.to_string())
                    .bind(holder.to_string())
                    .bind(ttl_ms)
                    .execute(self.pool())
                    .await;
                match inserted {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => {} // another holds it
                    Err(e) => return Err(q(e)),
                }
            }
            let row = sqlx::query("SELECT holder, generation FROM leases WHERE name = ?")
                .bind(name.to_string())
                .fetch_one(self.pool())
                .await
                .map_err(q)?;
            let current = required_text(&row, "holder").map_err(q)?;
            Ok(LeaseState {
                held: current == holder,
                holder: current,
                generation: row.try_get("generation").map_err(q)?,
            })
        })
        .await
    }

    /// Gives lease `name` up if `holder` holds it (a clean stop), so the other collector
    /// of a pair takes it at its next renewal instead of after the expiry.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        self.timed(async {
            sqlx::query("UPDATE leases SET expires_at_unix_ms = 0 WHERE name = ? AND holder = ?")
                .bind(name.to_string())
                .bind(holder.to_string())
                .execute(self.pool())
                .await
                .map(drop)
                .map_err(|e| self.query_error(e))
        })
        .await
    }

    /// The database's clock now (Unix ms), for tests and logs.
    pub async fn db_now_unix_ms(&self) -> Result<i64> {
        let sql = format!("SELECT {} AS now_ms", self.db_now_ms_sql());
        self.timed(async {
            let q = |e| self.query_error(e);
            let row = sqlx::query(&sql).fetch_one(self.pool()).await.map_err(q)?;
            row.try_get("now_ms").map_err(q)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Store, StoreLocation};

    async fn sqlite(dir: &tempfile::TempDir, name: &str) -> Store {
        let location = StoreLocation::Sqlite(dir.path().join("omswatch.db"));
        Store::open(location, None, name).await.expect("open")
    }

    #[tokio::test]
    async fn the_database_clock_is_unix_milliseconds() {
        let dir = tempfile::tempdir().expect("dir");
        let store = sqlite(&dir, "a:1").await;
        let db = store.db_now_unix_ms().await.expect("now");
        let mine = omswatch_common::telemetry::now_unix_ms();
        assert!((db - mine).abs() < 5_000, "db {db} vs {mine}");
    }

    #[tokio::test]
    async fn a_lease_is_held_by_one_until_it_expires_or_is_released() {
        let dir = tempfile::tempdir().expect("dir");
        let store = sqlite(&dir, "a:1").await;
        let a = store.take_lease("w", "a", 60_000, false).await.expect("a");
        assert!(a.held && a.generation == 1, "{a:?}");
        let b = store.take_lease("w", "b", 60_000, false).await.expect("b");
        assert!(!b.held && b.holder == "a", "{b:?}");
        let renewed = store.take_lease("w", "a", 60_000, false).await.expect("a");
        assert_eq!(renewed.generation, 1, "a renewal keeps the generation");
        store.release_lease("w", "a").await.expect("release");
        let b = store.take_lease("w", "b", 60_000, false).await.expect("b");
        assert!(b.held && b.generation == 2, "{b:?}");
        // Expired: a TTL in the past.
        let b = store.take_lease("w", "b", -1, false).await.expect("b");
        assert!(b.held);
        let a = store.take_lease("w", "a", 60_000, false).await.expect("a");
        assert!(
            a.held && a.generation == 3,
            "an expired lease is taken over: {a:?}"
        );
        let c = store.take_lease("w", "c", 60_000, true).await.expect("c");
        assert!(c.held && c.generation == 4, "forced: {c:?}");
    }
}
