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

/// Creates the tables of a new store, or upgrades an older one.
pub(super) async fn migrate(pool: &AnyPool) -> Result<(), MigrateError> {
    let migrator = Migrator::new(Embedded).await?;
    migrator.run(pool).await
}
