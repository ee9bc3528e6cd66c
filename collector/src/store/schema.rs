//! The store's tables, as sqlx migrations embedded in the binary (no files to
//! ship, no `sqlx` macros to build). Migrations are only ever added; each runs
//! once per store, recorded in `_sqlx_migrations`.

use std::borrow::Cow;

use futures::future::BoxFuture;
use sqlx::AnyPool;
use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};

/// (version, description, SQL), oldest first.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "store: reports, timeline, active findings, node states, webhook outbox, leases",
        include_str!("migrations/0001_store.sql"),
    ),
    (
        2,
        "notify: outbox delivery state, leases expiring by the database's clock",
        include_str!("migrations/0002_notify.sql"),
    ),
    (
        3,
        "remediation events: actor, program, result, duration, reason, request id",
        include_str!("migrations/0003_remediation.sql"),
    ),
    (
        4,
        "pair: a dedupe key on timeline events, so a late collector does not echo a change",
        include_str!("migrations/0004_pair.sql"),
    ),
];

/// The embedded migrations, as sqlx reads them.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The MySQL named lock the collectors of a pair take around their migrations.
const MIGRATION_LOCK: &str = "omswatch_store_migrations";
/// How long a collector waits for the other of a pair to finish migrating (seconds).
const MIGRATION_LOCK_WAIT_S: i64 = 120;

/// Creates the tables of a new store, or upgrades an older one. On MySQL, under a named
/// lock: two collectors of a pair started together on an empty store would otherwise run
/// the same migration at once (sqlx's own lock, `GET_LOCK(name, -1)`, did not keep them
/// apart on MariaDB: sqlx ignores its result), and the loser would find it "partially
/// applied" and refuse to start (seen in tests/tests/pair.rs).
pub(super) async fn migrate(pool: &AnyPool) -> Result<(), MigrateError> {
    let migrator = Migrator::new(Embedded).await?;
    let mut conn = pool.acquire().await?;
    if !conn.backend_name().eq_ignore_ascii_case("mysql") {
        // SQLite: one collector per file (its flock); give the connection back first.
        drop(conn);
        return migrator.run(pool).await;
    }
    let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
        .bind(MIGRATION_LOCK)
        .bind(MIGRATION_LOCK_WAIT_S)
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| {
            // A database without named locks: migrate unlocked, as before.
            tracing::debug!(error = %e, "no named lock for the migrations");
            Some(1)
        });
    if got != Some(1) {
        tracing::warn!(
            "another collector has been migrating this store for {MIGRATION_LOCK_WAIT_S}s; \
             migrating anyway"
        );
    }
    // On the pool, not on `conn`: a migrator borrowing a connection makes a future that
    // tokio::spawn rejects (not Send for every lifetime). The named lock is the session's of
    // `conn`, held meanwhile; the pool has connections to spare at start.
    let migrated = migrator.run(pool).await;
    let _ = sqlx::query("SELECT RELEASE_LOCK(?)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await;
    migrated
}
