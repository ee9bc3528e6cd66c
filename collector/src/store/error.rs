//! Why the store could not be opened or used. Start-up errors name the store,
//! the cause and the fix, because the operator reading them is mid-deployment.

use std::path::PathBuf;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The `--store` value is not a store location.
    #[error(
        "--store {text}: {reason}. Examples: --store sqlite:///var/lib/omswatch/omswatch.db, \
         --store mysql://omswatch@db.example:3306/omswatch"
    )]
    Location {
        /// The value given, any password redacted.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No `--store` and no home directory to put the default in.
    #[error(
        "no --store given and neither XDG_STATE_HOME nor HOME is set (an absolute path) to put the \
         default SQLite store in: pass --store /path/omswatch.db"
    )]
    NoDefault,
    /// The store password could not be read or was given twice.
    #[error("store password: {0}")]
    Password(String),
    /// The SQLite file's directory could not be created or is not writable.
    #[error(
        "store {}: cannot create its directory {}: {error}. Create it writable by the collector's \
         user, or pass --store with a writable path", file.display(), dir.display()
    )]
    Directory {
        /// The SQLite file.
        file: PathBuf,
        /// Its directory.
        dir: PathBuf,
        /// The OS error (in the message, so not a `source`).
        error: std::io::Error,
    },
    /// Another collector holds the SQLite file.
    #[error(
        "store {}: in use by another omswatch-collector{holder} (lock {} is held). \
         Stop that collector first, or give this one its own --store; two collectors that should \
         share one store need --store mysql://... (a MySQL, MariaDB or OceanBase database)",
        file.display(), lock.display()
    )]
    Locked {
        /// The SQLite file.
        file: PathBuf,
        /// Its lock file.
        lock: PathBuf,
        /// ` (pid N)` when the lock file names the holder.
        holder: String,
    },
    /// The lock file could not be opened.
    #[error(
        "store {}: cannot open its lock file {}: {error}. Make the directory writable by the \
         collector's user, or pass --store with a writable path", file.display(), lock.display()
    )]
    LockFile {
        /// The SQLite file.
        file: PathBuf,
        /// Its lock file.
        lock: PathBuf,
        /// The OS error (in the message, so not a `source`).
        error: std::io::Error,
    },
    /// Connecting, migrating or a first query failed at start-up.
    #[error("store {location}: {cause}. {fix}")]
    Open {
        /// The store (no password).
        location: String,
        /// The database's or driver's answer.
        cause: String,
        /// What to do about it.
        fix: String,
    },
    /// A query failed while running.
    #[error("store {location}: {source}")]
    Query {
        /// The store (no password).
        location: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A stored row could not be decoded.
    #[error("store {location}: a stored {what} cannot be decoded ({reason})")]
    Corrupt {
        /// The store.
        location: String,
        /// What row.
        what: String,
        /// Why.
        reason: String,
    },
    /// The store did not answer in time.
    #[error("store {location}: no answer within {seconds}s")]
    Timeout {
        /// The store.
        location: String,
        /// The limit.
        seconds: u64,
    },
}

/// `Result` with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Whether `error` says a unique key already holds the row (another collector
/// of a pair wrote it first).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}
