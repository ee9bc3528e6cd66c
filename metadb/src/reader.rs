//! The MetaDB reader: a thin sqlx shell that turns each region's tables into
//! [`MetaDbView`] rows (the collector's poller every tick, `omswatch check` once). Three queries per region per tick, whatever the number of
//! nodes, plus one for its clock; ages are measured by the database's clock (`NOW()`), never ours.

use std::collections::HashMap;
use std::time::Duration;

use omswatch_common::oms_config::{MetaDbTarget, RegionConfig};

use crate::tls::{MetaDbTls, MetaDbTlsMode};
use omswatch_common::snapshot::{DbClock, HeartbeatRow, HostRow, MetaDbFailure, MetaDbView};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlRow, MySqlSslMode};
use sqlx::{ConnectOptions, Row};

/// One connection per MetaDB login, kept across ticks and replaced after a failure.
/// Not a pool: a pool retries a refused connect until its timeout and then reports
/// only "timed out", while the operator needs the database's own answer.
pub struct MetaDbReader {
    connections: HashMap<LoginKey, MySqlConnection>,
    timeout: Duration,
    tls: MetaDbTls,
}

/// A login: host, port, user and the password itself (a changed password is a new login).
type LoginKey = (String, u16, String, String);

impl MetaDbReader {
    /// A reader whose connects and queries each give up after `timeout`, and
    /// whose connections use `tls`.
    pub fn new(timeout: Duration, tls: MetaDbTls) -> Self {
        Self {
            connections: HashMap::new(),
            timeout,
            tls,
        }
    }

    /// Reads one region's host and heartbeat rows: two queries, whatever the number of nodes.
    pub async fn read(&mut self, region: &RegionConfig) -> MetaDbView {
        let host_target = target(&region.meta, region.drc_cm_db.as_str(), "host");
        let hb_target = target(
            &region.meta,
            region.drc_cm_heartbeat_db.as_str(),
            "heart_beat",
        );
        let host_sql = format!(
            "SELECT CAST(ip AS CHAR) AS ip, CAST(host_status AS CHAR) AS host_status FROM {}.`host`",
            region.drc_cm_db.quoted()
        );
        let hb_sql = format!(
            "SELECT CAST(host_ip AS CHAR) AS host_ip, CAST(task_type AS CHAR) AS task_type, \
             CAST(gmt_created AS CHAR) AS gmt_created, CAST(gmt_modified AS CHAR) AS gmt_modified, \
             TIMESTAMPDIFF(SECOND, gmt_modified, NOW()) AS age_s \
             FROM {}.`heart_beat` WHERE task_name = 'supervisor'",
            region.drc_cm_heartbeat_db.quoted()
        );
        // An unreachable MetaDB must cost one timeout per region and tick, not
        // three: once the connection is gone, the other tables share its failure.
        let hosts = self
            .query(&region.meta, &host_sql, &host_target)
            .await
            .map(|rows| rows.iter().map(host_row).collect());
        let heartbeats = match self.lost_connection(&region.meta, &hosts) {
            Some(reason) => Err(MetaDbFailure {
                target: hb_target,
                reason,
            }),
            None => self
                .query(&region.meta, &hb_sql, &hb_target)
                .await
                .map(|rows| rows.iter().map(heartbeat_row).collect()),
        };
        let clock = match self.lost_connection(&region.meta, &heartbeats) {
            Some(_) => None,
            None => self.clock(&region.meta).await,
        };
        MetaDbView {
            hosts,
            heartbeats,
            clock,
        }
    }

    /// Why the last query failed, when it also lost the connection (a database
    /// error such as a missing table keeps it, and the next query may succeed).
    fn lost_connection<T>(
        &self,
        meta: &MetaDbTarget,
        last: &Result<T, MetaDbFailure>,
    ) -> Option<String> {
        match last {
            Err(failure) if !self.connections.contains_key(&key_of(meta)) => {
                Some(failure.reason.clone())
            }
            _ => None,
        }
    }

    /// The MetaDB's `NOW()` against our clock (a third query per region per tick).
    async fn clock(&mut self, meta: &MetaDbTarget) -> Option<DbClock> {
        let sql = "SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED) AS now_ms";
        let rows = self.query(meta, sql, &format!("{meta} NOW()")).await.ok()?;
        let db_unix_ms = rows.first()?.try_get::<i64, _>("now_ms").ok()?;
        Some(DbClock {
            db_unix_ms,
            collector_unix_ms: omswatch_common::telemetry::now_unix_ms(),
        })
    }

    /// Closes connections no region uses any more (after a config.yaml edit).
    pub fn retain(&mut self, regions: &[&RegionConfig]) {
        self.connections
            .retain(|key, _| regions.iter().any(|r| key_of(&r.meta) == *key));
    }

    async fn query(
        &mut self,
        meta: &MetaDbTarget,
        sql: &str,
        target: &str,
    ) -> Result<Vec<MySqlRow>, MetaDbFailure> {
        let failure = |reason: String| MetaDbFailure {
            target: target.to_string(),
            reason,
        };
        let key = key_of(meta);
        let mut conn = match self.connections.remove(&key) {
            Some(conn) => conn,
            None => self.connect(meta).await.map_err(failure)?,
        };
        match tokio::time::timeout(self.timeout, sqlx::query(sql).fetch_all(&mut conn)).await {
            Ok(Ok(rows)) => {
                self.connections.insert(key, conn);
                Ok(rows)
            }
            Ok(Err(e)) => {
                tracing::warn!(target_table = %target, error = %e, "MetaDB read failed");
                if e.as_database_error().is_some() {
                    self.connections.insert(key, conn); // the connection itself is fine.
                }
                Err(failure(describe(&e)))
            }
            Err(_) => Err(failure(format!("no answer within {:?}", self.timeout))),
        }
    }

    async fn connect(&self, meta: &MetaDbTarget) -> Result<MySqlConnection, String> {
        let mut options = MySqlConnectOptions::new()
            .host(&meta.host)
            .port(meta.port)
            .username(&meta.user)
            .password(meta.password.expose())
            .ssl_mode(ssl_mode(self.tls.mode));
        // Without a CA, the verify modes check against the web PKI roots
        // (sqlx's tls-rustls-ring-webpki), which suits a managed MySQL service.
        if let Some(ca) = &self.tls.ca {
            options = options.ssl_ca(ca);
        }
        match tokio::time::timeout(self.timeout, options.connect()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(describe(&e)),
            Err(_) => Err(format!(
                "cannot connect: no answer from {}:{} within {:?}",
                meta.host, meta.port, self.timeout
            )),
        }
    }
}

/// The view of a region whose read did not finish (a caller's deadline): both
/// tables fail with `reason`, named as [`MetaDbReader::read`] names them.
pub fn unanswered(region: &RegionConfig, reason: &str) -> MetaDbView {
    let failure = |db: &str, table: &str| MetaDbFailure {
        target: target(&region.meta, db, table),
        reason: reason.to_string(),
    };
    MetaDbView {
        hosts: Err(failure(region.drc_cm_db.as_str(), "host")),
        heartbeats: Err(failure(region.drc_cm_heartbeat_db.as_str(), "heart_beat")),
        clock: None,
    }
}

/// The settings' words for the MySQL client's `--ssl-mode`.
fn ssl_mode(mode: MetaDbTlsMode) -> MySqlSslMode {
    match mode {
        MetaDbTlsMode::Disable => MySqlSslMode::Disabled,
        MetaDbTlsMode::Preferred => MySqlSslMode::Preferred,
        MetaDbTlsMode::Required => MySqlSslMode::Required,
        MetaDbTlsMode::VerifyCa => MySqlSslMode::VerifyCa,
        MetaDbTlsMode::VerifyIdentity => MySqlSslMode::VerifyIdentity,
    }
}

fn key_of(meta: &MetaDbTarget) -> LoginKey {
    (
        meta.host.clone(),
        meta.port,
        meta.user.clone(),
        meta.password.expose().to_string(),
    )
}

fn target(meta: &MetaDbTarget, db: &str, table: &str) -> String {
    format!("{meta}/{db}.{table}")
}

/// The database's own words, prefixed by what they mean for the runbook.
fn describe(e: &sqlx::Error) -> String {
    let code = e
        .as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.to_string());
    let what = match code.as_deref() {
        Some("28000") => "login refused (check oms_meta_user/oms_meta_password)",
        Some("42000") => "database missing or not permitted",
        Some("42S02") => "table missing (is the deployment complete?)",
        Some("42S22") => "column missing",
        _ => match e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => "cannot connect",
            sqlx::Error::Tls(_) => "TLS handshake failed",
            _ => "query failed",
        },
    };
    format!("{what}: {e}")
}

fn host_row(row: &MySqlRow) -> HostRow {
    HostRow {
        ip: row
            .try_get::<Option<String>, _>("ip")
            .ok()
            .flatten()
            .unwrap_or_default(),
        host_status: row.try_get("host_status").ok().flatten(),
    }
}

fn heartbeat_row(row: &MySqlRow) -> HeartbeatRow {
    HeartbeatRow {
        host_ip: row
            .try_get::<Option<String>, _>("host_ip")
            .ok()
            .flatten()
            .unwrap_or_default(),
        task_type: row.try_get("task_type").ok().flatten(),
        gmt_created: row.try_get("gmt_created").ok().flatten(),
        gmt_modified: row.try_get("gmt_modified").ok().flatten(),
        age_s: row.try_get("age_s").ok().flatten(),
    }
}
