//! Opening the store: the SQLite file (directory, lock, WAL) or the MySQL
//! login, a first connection whose failure is explained, then the pool and the
//! migrations.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use omswatch_common::secret::Secret;
use omswatch_common::telemetry::chain;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor};

use super::lock::SqliteLock;
use super::{StoreError, StoreLocation, schema};

/// Connections per collector: the writer, the timeline, queries, the pruner.
const POOL_SIZE: u32 = 4;
/// How long a connect may take (a firewalled MySQL host never answers).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The pool of a migrated store, and the SQLite lock when it is a file.
pub(super) async fn connect(
    location: &StoreLocation,
    password: Option<&Secret>,
) -> Result<(AnyPool, Option<SqliteLock>), StoreError> {
    sqlx::any::install_default_drivers();
    let (options, lock) = match location {
        StoreLocation::Sqlite(path) => (sqlite_options(path)?, Some(SqliteLock::acquire(path)?)),
        StoreLocation::MySql(url) => (mysql_options(url, password)?, None),
    };
    let fail = |cause: String, fix: String| StoreError::Open {
        location: location.to_string(),
        cause,
        fix,
    };
    let first = tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect_with(&options))
        .await
        .map_err(|_| {
            fail(
                format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
                fix_unreachable(),
            )
        })?
        .map_err(|e| fail(chain(&e), fix_for(location, &e)))?;
    if location.sqlite_path().is_some() {
        // WAL is a property of the file: set once, it stays; readers never block the writer.
        let mut first = first;
        first
            .execute("PRAGMA journal_mode = WAL")
            .await
            .map_err(|e| fail(chain(&e), fix_for(location, &e)))?;
        let _ = first.close().await;
    } else {
        let _ = first.close().await;
    }
    let pool = AnyPoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _| {
            Box::pin(async move {
                if conn.backend_name() == "SQLite" {
                    // Durable against a killed process (the WAL is in the page cache);
                    // only a power cut may lose the last transactions.
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|e| fail(chain(&e), fix_for(location, &e)))?;
    schema::migrate(&pool).await.map_err(|e| {
        fail(
            format!("cannot create or upgrade its tables: {}", chain(&e)),
            "The store must be empty or made by this or an older omswatch-collector; its user needs \
             CREATE, ALTER, INDEX, SELECT, INSERT, UPDATE and DELETE on the database"
                .into(),
        )
    })?;
    Ok((pool, lock))
}

/// The SQLite file prepared (directory 0700, file 0600, so the reports and
/// their WAL are readable by the collector's user only) and its options.
fn sqlite_options(path: &Path) -> Result<AnyConnectOptions, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|error| StoreError::Directory {
                file: path.to_path_buf(),
                dir: dir.to_path_buf(),
                error,
            })?;
    }
    // SQLite gives the -wal and -shm files the mode of the database file.
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path);
    if let Err(e) = created {
        return Err(StoreError::Open {
            location: StoreLocation::Sqlite(path.to_path_buf()).to_string(),
            cause: e.to_string(),
            fix: "Make the file (or its directory) writable by the collector's user, or pass --store \
                  with a writable path"
                .into(),
        });
    }
    let url = format!("sqlite://{}?mode=rwc", encode_path(path));
    AnyConnectOptions::from_str(&url).map_err(|e| StoreError::Open {
        location: StoreLocation::Sqlite(path.to_path_buf()).to_string(),
        cause: chain(&e),
        fix: "Pass --store with a plain file path".into(),
    })
}

/// The MySQL options: the URL given plus the password (never logged: the
/// options are only handed to sqlx).
fn mysql_options(
    url: &url::Url,
    password: Option<&Secret>,
) -> Result<AnyConnectOptions, StoreError> {
    let mut with_password = url.clone();
    if let Some(password) = password {
        with_password
            .set_password(Some(password.expose()))
            .map_err(|()| StoreError::Password("the URL cannot carry a password".into()))?;
    }
    AnyConnectOptions::from_url(&with_password).map_err(|e| StoreError::Open {
        location: url.to_string(),
        cause: chain(&e),
        fix: "Check the --store URL".into(),
    })
}

/// What to do about a failed connect, by what failed.
fn fix_for(location: &StoreLocation, error: &sqlx::Error) -> String {
    if let StoreLocation::Sqlite(path) = location {
        return format!(
            "Check that {} is an SQLite database (or absent) and writable by the collector's user, \
             or pass --store with another path",
            path.display()
        );
    }
    let code = match error {
        sqlx::Error::Database(db) => db.code().map(|c| c.to_string()),
        _ => None,
    };
    match code.as_deref() {
        Some("28000") => "Check the user in the URL and the password in --store-password-file \
                          (or OMSWATCH_STORE_PASSWORD)"
            .into(),
        Some("42000") => "Create the database and grant the user its rights, e.g. \
                          CREATE DATABASE omswatch; GRANT ALL ON omswatch.* TO 'omswatch'@'%'"
            .into(),
        _ if matches!(error, sqlx::Error::Tls(_)) => {
            "Check ssl-mode and ssl-ca in the --store URL against the database's TLS set-up".into()
        }
        _ if matches!(error, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut) => fix_unreachable(),
        _ => "Check the --store URL, the password and the database".into(),
    }
}

fn fix_unreachable() -> String {
    "Check the host and port in --store, that the database runs, and that this machine may reach it"
        .into()
}

/// `path` percent-encoded for an `sqlite://` URL (anything but letters,
/// digits and `/-._~`), which sqlx decodes again.
fn encode_path(path: &Path) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(byte) {
            out.push(char::from(*byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode_path;
    use std::path::Path;

    #[test]
    fn paths_are_encoded_for_the_url() {
        assert_eq!(encode_path(Path::new("/var/lib/a.db")), "/var/lib/a.db");
        assert_eq!(encode_path(Path::new("/t/a b?#.db")), "/t/a%20b%3F%23.db");
    }
}
