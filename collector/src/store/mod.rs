//! The store: the one place the collector keeps what must survive a restart —
//! every node's last report ([`reports`], written by the [`writer`] task off
//! the ingest path) and the timeline ([`events`], computed each tick by
//! [`timeline`], pruned by [`prune`]), with the webhook [`outbox`] written in each
//! event's transaction and the [`lease`] that decides which collector of a pair sends.
//!
//! One set of queries and migrations serves both back-ends through sqlx's `Any`
//! driver: an embedded SQLite file (the default; WAL; one collector per file,
//! see [`lock`]) and a MySQL-protocol database (MySQL, MariaDB, OceanBase) that
//! a pair of collectors may share. The SQL is kept portable: `?` placeholders,
//! `REPLACE INTO`, keys made by the collector, no `LIMIT` on `DELETE`.

pub mod error;
pub mod events;
pub mod health;
pub mod lease;
pub mod location;
pub mod lock;
pub mod outbox;
pub mod prune;
pub mod refresh;
pub mod reports;
pub mod startup;
pub mod timeline;
pub mod writer;

mod open;
mod schema;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

pub use error::{Result, StoreError};
pub use health::StoreHealth;
pub use location::StoreLocation;

/// How long one store operation may take before it counts as failed.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// Connections (a few: SQLite serialises writers anyway).
    pool: AnyPool,
    /// Where, for messages (never a password).
    location: StoreLocation,
    /// Whether writes succeed.
    health: Arc<StoreHealth>,
    /// This collector's name in the events it records.
    collector: String,
    /// Makes event ids unique across the collectors of a pair.
    ids: EventIds,
    /// The SHA-256 of each webhook receiver's URL: every event gets one outbox row per target.
    webhook_targets: OnceLock<Vec<String>>,
    /// The SQLite file's lock, held while the store is open.
    _lock: Option<lock::SqliteLock>,
}

impl Store {
    /// Opens (creating and migrating) the store at `location`, as collector
    /// `collector`; `password` is for a MySQL store. Every failure says what to do.
    pub async fn open(
        location: StoreLocation,
        password: Option<&omswatch_common::secret::Secret>,
        collector: &str,
    ) -> Result<Store> {
        let (pool, lock) = open::connect(&location, password).await?;
        Ok(Store {
            inner: Arc::new(Inner {
                pool,
                health: Arc::new(StoreHealth::new(location.to_string())),
                location,
                collector: collector.to_string(),
                ids: EventIds::new(),
                webhook_targets: OnceLock::new(),
                _lock: lock,
            }),
        })
    }

    /// Where the store is.
    pub fn location(&self) -> &StoreLocation {
        &self.inner.location
    }

    /// The shared health flag.
    pub fn health(&self) -> Arc<StoreHealth> {
        Arc::clone(&self.inner.health)
    }

    /// This collector's name in events.
    pub fn collector(&self) -> &str {
        &self.inner.collector
    }

    /// Names the webhook receivers (by [`crate::notify::receivers::Receiver::target`]) every
    /// event recorded from now on is queued for. Set once, right after opening; later calls
    /// are ignored (and say so).
    pub fn set_webhook_targets(&self, targets: Vec<String>) {
        if self.inner.webhook_targets.set(targets).is_err() {
            tracing::warn!("the webhook receivers were already set; keeping the first");
        }
    }

    /// The webhook targets events are queued for (none unless set).
    pub fn webhook_targets(&self) -> &[String] {
        self.inner.webhook_targets.get().map_or(&[], Vec::as_slice)
    }

    /// Whether the store is an SQLite file (one collector: its lock proves it).
    pub fn is_sqlite(&self) -> bool {
        self.inner.location.sqlite_path().is_some()
    }

    /// The database's clock now, in Unix milliseconds, as an SQL expression of this
    /// back-end. `CURRENT_TIMESTAMP` is standard but its type is not (SQLite gives text to
    /// the second, MySQL a DATETIME in the session's time zone), so each back-end gets its
    /// own: SQLite's `julianday('now')` (milliseconds), MySQL's `UTC_TIMESTAMP(6)` (no time
    /// zone, no daylight saving jump; MariaDB and OceanBase have it too).
    pub(crate) fn db_now_ms_sql(&self) -> &'static str {
        if self.is_sqlite() {
            "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
        } else {
            "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)"
        }
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    /// A new event id (see [`EventIds`]).
    pub(crate) fn new_event_id(&self, at_unix_ms: i64) -> String {
        self.inner.ids.next(at_unix_ms)
    }

    /// `error` as a [`StoreError::Query`] of this store.
    pub(crate) fn query_error(&self, source: sqlx::Error) -> StoreError {
        StoreError::Query {
            location: self.inner.location.to_string(),
            source,
        }
    }

    /// Runs `operation` within [`OPERATION_TIMEOUT`].
    pub(crate) async fn timed<T>(
        &self,
        operation: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        tokio::time::timeout(OPERATION_TIMEOUT, operation)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Timeout {
                    location: self.inner.location.to_string(),
                    seconds: OPERATION_TIMEOUT.as_secs(),
                })
            })
    }

    /// Closes the connections (after the last write).
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}

/// Event ids: the time (hex, so ids sort by time), this process's random
/// instance number and a counter. Unique without coordination between the
/// collectors of a pair; also the idempotency id of notifications.
struct EventIds {
    instance: u32,
    counter: AtomicU32,
}

impl EventIds {
    fn new() -> Self {
        Self {
            instance: rand::random(),
            counter: AtomicU32::new(0),
        }
    }

    fn next(&self, at_unix_ms: i64) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{at_unix_ms:012x}-{:08x}-{n:08x}", self.instance)
    }
}

/// A text column as a string: MySQL hands `MEDIUMTEXT` to the `Any` driver as
/// bytes, SQLite as text.
pub(crate) fn text(row: &AnyRow, column: &str) -> std::result::Result<Option<String>, sqlx::Error> {
    match row.try_get::<Option<String>, _>(column) {
        Ok(value) => Ok(value),
        Err(_) => row
            .try_get::<Option<Vec<u8>>, _>(column)?
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|e| sqlx::Error::ColumnDecode {
                    index: column.to_string(),
                    source: Box::new(e),
                })
            })
            .transpose(),
    }
}

/// A text column that must be present.
pub(crate) fn required_text(
    row: &AnyRow,
    column: &str,
) -> std::result::Result<String, sqlx::Error> {
    text(row, column)?.ok_or_else(|| sqlx::Error::ColumnNotFound(column.to_string()))
}
