//! The webhook outbox: one row per event and receiver, written in the event's own
//! transaction (`Store::insert_event`), read and marked by the webhook sender
//! ([`crate::notify::webhook`]). A row is `pending` until a 2xx marks it `delivered` or a
//! refusal for good marks it `failed` (with its last error); either way it stays, visible,
//! until retention prunes its event. Rows are read oldest event first per receiver, so a
//! receiver sees the timeline in order.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::events::{COLUMNS, Event, event_of};
use super::{Result, Store, required_text, text};

/// A row's delivery state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// To send (never tried, or retrying).
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Refused for good (a 4xx other than 408 and 429); kept with its last error.
    Failed,
}

impl OutboxState {
    /// The column's value.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Delivered => "delivered",
            OutboxState::Failed => "failed",
        }
    }
}

/// One pending delivery: the event and how far its delivery got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// The event to send (its id is the idempotency id).
    pub event: Event,
    /// The receiver (SHA-256 of its URL).
    pub target: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not before this (the sending collector's clock, Unix ms).
    pub next_attempt_unix_ms: i64,
    /// The last attempt's error, if any.
    pub last_error: Option<String>,
}

/// Counts of the outbox's rows by state, over every receiver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Rows to send.
    pub pending: u64,
    /// Rows refused for good, kept with their error.
    pub failed: u64,
}

/// Longest error text kept in a row.
const MAX_ERROR_CHARS: usize = 1024;

impl Store {
    /// The oldest `limit` pending rows of `target`, oldest event first (event ids sort by time).
    pub async fn outbox_pending(&self, target: &str, limit: u32) -> Result<Vec<OutboxItem>> {
        let columns: String = COLUMNS
            .split(", ")
            .map(|c| format!("e.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT o.target, o.attempts, o.next_attempt_unix_ms, o.last_error, {columns} \
             FROM webhook_outbox o JOIN events e ON e.id = o.event_id \
             WHERE o.target = ? AND o.state = 'pending' ORDER BY o.event_id LIMIT ?"
        );
        self.timed(async {
            let q = |e| self.query_error(e);
            let rows = sqlx::query(&sql)
                .bind(target.to_string())
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await
                .map_err(q)?;
            rows.iter()
                .map(item_of)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(q)
        })
        .await
    }

    /// Marks `item` delivered at `at` (after a 2xx).
    pub async fn outbox_delivered(&self, item: &OutboxItem, at: i64) -> Result<()> {
        self.outbox_done(item, OutboxState::Delivered, None, at)
            .await
    }

    /// Marks `item` refused for good at `at`, keeping `error`.
    pub async fn outbox_failed(&self, item: &OutboxItem, error: &str, at: i64) -> Result<()> {
        self.outbox_done(item, OutboxState::Failed, Some(error), at)
            .await
    }

    async fn outbox_done(
        &self,
        item: &OutboxItem,
        state: OutboxState,
        error: Option<&str>,
        at: i64,
    ) -> Result<()> {
        self.timed(async {
            sqlx::query(
                "UPDATE webhook_outbox SET state = ?, attempts = ?, last_error = ?, \
                 done_at_unix_ms = ? WHERE event_id = ? AND target = ?",
            )
            .bind(state.as_str())
            .bind(i64::from(item.attempts.saturating_add(1)))
            .bind(error.map(clip))
            .bind(at)
            .bind(item.event.id.clone())
            .bind(item.target.clone())
            .execute(self.pool())
            .await
            .map(drop)
            .map_err(|e| self.query_error(e))
        })
        .await
    }

    /// Records a failed attempt of `item` that will be retried at `next_attempt_unix_ms`.
    pub async fn outbox_retry(
        &self,
        item: &OutboxItem,
        error: &str,
        next_attempt_unix_ms: i64,
    ) -> Result<()> {
        self.timed(async {
            sqlx::query(
                "UPDATE webhook_outbox SET attempts = ?, next_attempt_unix_ms = ?, last_error = ? \
                 WHERE event_id = ? AND target = ? AND state = 'pending'",
            )
            .bind(i64::from(item.attempts.saturating_add(1)))
            .bind(next_attempt_unix_ms)
            .bind(clip(error))
            .bind(item.event.id.clone())
            .bind(item.target.clone())
            .execute(self.pool())
            .await
            .map(drop)
            .map_err(|e| self.query_error(e))
        })
        .await
    }

    /// How many rows are pending and failed, over every receiver.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts> {
        self.timed(async {
            let q = |e| self.query_error(e);
            let rows = sqlx::query(
                "SELECT state, COUNT(*) AS n FROM webhook_outbox \
                 WHERE state IN ('pending', 'failed') GROUP BY state",
            )
            .fetch_all(self.pool())
            .await
            .map_err(q)?;
            let mut counts = OutboxCounts::default();
            for row in &rows {
                let n: i64 = row.try_get("n").map_err(q)?;
                let n = u64::try_from(n).unwrap_or(0);
                match required_text(row, "state").map_err(q)?.as_str() {
                    "pending" => counts.pending = n,
                    _ => counts.failed = n,
                }
            }
            Ok(counts)
        })
        .await
    }

    /// The receivers (targets) that have pending rows.
    pub async fn outbox_pending_targets(&self) -> Result<Vec<String>> {
        self.timed(async {
            let q = |e| self.query_error(e);
            let rows =
                sqlx::query("SELECT DISTINCT target FROM webhook_outbox WHERE state = 'pending'")
                    .fetch_all(self.pool())
                    .await
                    .map_err(q)?;
            rows.iter()
                .map(|r| required_text(r, "target"))
                .collect::<std::result::Result<_, _>>()
                .map_err(q)
        })
        .await
    }

    /// Every row of event `event_id` as (target, state, attempts, last error), for tests
    /// and support.
    pub async fn outbox_rows(
        &self,
        event_id: &str,
    ) -> Result<Vec<(String, String, u32, Option<String>)>> {
        self.timed(async {
            let q = |e| self.query_error(e);
            let rows = sqlx::query(
                "SELECT target, state, attempts, last_error FROM webhook_outbox \
                 WHERE event_id = ? ORDER BY target",
            )
            .bind(event_id.to_string())
            .fetch_all(self.pool())
            .await
            .map_err(q)?;
            let mut out = Vec::new();
            for row in &rows {
                let attempts: i64 = row.try_get("attempts").map_err(q)?;
                out.push((
                    required_text(row, "target").map_err(q)?,
                    required_text(row, "state").map_err(q)?,
                    u32::try_from(attempts).unwrap_or(u32::MAX),
                    text(row, "last_error").map_err(q)?,
                ));
            }
            Ok(out)
        })
        .await
    }
}

fn item_of(row: &AnyRow) -> std::result::Result<OutboxItem, sqlx::Error> {
    let attempts: i64 = row.try_get("attempts")?;
    Ok(OutboxItem {
        event: event_of(row)?,
        target: required_text(row, "target")?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_unix_ms: row.try_get("next_attempt_unix_ms")?,
        last_error: text(row, "last_error")?,
    })
}

/// `error` cut to [`MAX_ERROR_CHARS`] characters.
fn clip(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}
