//! A throwaway MariaDB server standing in for the OMS MetaDB, plus helpers that seed the OMS
//! tables the collector cross-checks (`<drc_cm_db>.host`, `<drc_cm_heartbeat_db>.heart_beat`).
//!
//! Each [`MariaDb`] owns a temp directory (datadir, socket, pid file, `err.log`) and a `mariadbd`
//! child on its own 127.0.0.1 port, always with `--no-defaults` so the machine's `/etc/mysql`
//! and any production server on 3306 are never involved. `mariadb-install-db` runs once per
//! machine and MariaDB version into a template datadir (see [`template_datadir`]) that each
//! instance copies, which takes the start from about a second to a fraction of it.
//!
//! The real OMS DDL is not public: the tables here carry the columns OMS.md names plus a few
//! extra ones, so that readers prove they tolerate columns and tables they do not know.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlSslMode};
use tempfile::TempDir;
use tokio::process::Command;

use crate::host_lock::{HostLock, owned_temp_dir, sweep_temp_dirs};
use crate::process::{dying_with_parent, run_checked, tail};
use crate::{TrackedChild, free_port, require_program, require_root};

/// How long a started server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Instance dirs (the template's name must not start with this).
pub const INSTANCE_DIR_PREFIX: &str = "omswatch-mariadb-instance-";
/// How long a query through [`MariaDb::pool`] keeps retrying to connect (e.g. while stopped).
const POOL_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// Bumped whenever the install options change, so an old template is not reused.
const TEMPLATE_FORMAT: &str = "v1";
/// InnoDB redo log size, identical at install and run time (the 96M default makes copies slow).
const REDO_LOG_SIZE: &str = "--innodb-log-file-size=4M";
/// Attempts at finding a port nobody else grabbed between `free_port` and `mariadbd`'s bind.
const PORT_ATTEMPTS: usize = 3;

/// A running throwaway `mariadbd`; dropping it kills the server and deletes its directory.
#[derive(Debug)]
pub struct MariaDb {
    /// Holds `data/`, `sock`, `mariadbd.pid` and `err.log`; removed on drop.
    dir: TempDir,
    /// The TCP port on 127.0.0.1, kept across [`MariaDb::restart`].
    port: u16,
    /// The server process; `None` after [`MariaDb::stop`].
    server: Option<TrackedChild>,
    /// Root connections to the server, replaced on restart.
    pool: MySqlPool,
    /// Marks `dir` as in use (see [`crate::host_lock::owned_temp_dir`]); released after it.
    _dir_lock: HostLock,
}

impl MariaDb {
    /// Starts a fresh server (copied from the template datadir) and waits until it accepts root.
    pub async fn start() -> anyhow::Result<MariaDb> {
        let mariadbd = require_program("mariadbd", "mariadb-server")?;
        let template = template_datadir(&mariadbd).await?;
        sweep_temp_dirs(INSTANCE_DIR_PREFIX);
        let (dir, dir_lock) = owned_temp_dir(INSTANCE_DIR_PREFIX)?;
        copy_dir(&template, &dir.path().join("data"))?;
        for attempt in 1..=PORT_ATTEMPTS {
            let port = free_port()?;
            match spawn_server(&mariadbd, dir.path(), port).await {
                Ok((server, pool)) => {
                    return Ok(MariaDb {
                        dir,
                        port,
                        server: Some(server),
                        pool,
                        _dir_lock: dir_lock,
                    });
                }
                Err(error) if attempt < PORT_ATTEMPTS && port_was_taken(dir.path()) => {
                    let _ = error; // another process took the port first: try a new one
                }
                Err(error) => return Err(error),
            }
        }
        bail!("no free port for mariadbd after {PORT_ATTEMPTS} attempts")
    }

    /// The server's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mysql://root@127.0.0.1:<port>` (root has no password).
    pub fn root_url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    /// The server's unix socket.
    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    /// The server's error log, worth printing when a test fails.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("err.log")
    }

    /// The server's pid, while it runs.
    pub fn pids(&self) -> Vec<u32> {
        self.server
            .as_ref()
            .map(TrackedChild::pids)
            .unwrap_or_default()
    }

    /// A pool of root connections; while the server is stopped its queries fail after 2 s.
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// Runs one or more `;`-separated statements as root; returns the rows affected.
    pub async fn exec(&self, sql: &str) -> anyhow::Result<u64> {
        let result = sqlx::raw_sql(sql)
            .execute(&self.pool)
            .await
            .with_context(|| format!("executing {sql}"))?;
        Ok(result.rows_affected())
    }

    /// Creates `user`@`%` with `password` and grants it everything.
    pub async fn create_user(&self, user: &str, password: &str) -> anyhow::Result<()> {
        let user = sql_string(user);
        let password = sql_string(password);
        self.exec(&format!(
            "CREATE USER {user}@'%' IDENTIFIED BY {password}; \
             GRANT ALL PRIVILEGES ON *.* TO {user}@'%'"
        ))
        .await?;
        Ok(())
    }

    /// Creates database `db` and user `user`@`%` (password `password`) with every right on
    /// it and none elsewhere: what a collector's `--store mysql://user@.../db` needs.
    pub async fn create_store_db(
        &self,
        db: &str,
        user: &str,
        password: &str,
    ) -> anyhow::Result<()> {
        let db = identifier(db)?;
        let user = sql_string(user);
        let password = sql_string(password);
        self.exec(&format!(
            "CREATE DATABASE {db}; CREATE USER {user}@'%' IDENTIFIED BY {password}; \
             GRANT ALL PRIVILEGES ON {db}.* TO {user}@'%'"
        ))
        .await?;
        Ok(())
    }

    /// Kills the server with SIGKILL (a MetaDB outage); the datadir stays for [`MariaDb::restart`].
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut server) = self.server.take() {
            server.kill();
        }
        Ok(())
    }

    /// Starts the server again on the same port and datadir (after crash recovery).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        let mariadbd = require_program("mariadbd", "mariadb-server")?;
        let (server, pool) = spawn_server(&mariadbd, self.dir.path(), self.port).await?;
        self.server = Some(server);
        self.pool = pool;
        Ok(())
    }

    /// `CREATE DATABASE db` with `host` (OMS columns `ip`, `host_status`, `resource_group_id`
    /// plus extras) and `resource_group` holding region `0` as id 1.
    pub async fn create_cm_db(&self, db: &str) -> anyhow::Result<()> {
        let db = identifier(db)?;
        self.exec(&format!(
            "CREATE DATABASE {db};
             CREATE TABLE {db}.host (id bigint auto_increment primary key,
                 ip varchar(64) not null, host_status varchar(32), resource_group_id bigint,
                 gmt_create datetime default now(), host_name varchar(128) default '',
                 extra_info text);
             CREATE TABLE {db}.resource_group (id bigint primary key, name varchar(64) not null,
                 gmt_create datetime default now());
             INSERT INTO {db}.resource_group (id, name) VALUES (1, '0')"
        ))
        .await?;
        Ok(())
    }

    /// `CREATE DATABASE db` with `heart_beat` (OMS columns plus extras) and the extra
    /// `heatbeat_sequence` table (sic, as in OMS).
    pub async fn create_heartbeat_db(&self, db: &str) -> anyhow::Result<()> {
        let db = identifier(db)?;
        self.exec(&format!(
            "CREATE DATABASE {db};
             CREATE TABLE {db}.heart_beat (id bigint auto_increment primary key,
                 task_name varchar(64), task_type varchar(64), host_ip varchar(64),
                 gmt_created datetime, gmt_modified datetime, seq bigint default 0,
                 extra_info text);
             CREATE TABLE {db}.heatbeat_sequence (id bigint auto_increment primary key,
                 name varchar(64), value bigint)"
        ))
        .await?;
        Ok(())
    }

    /// Adds a `host` row for `ip` with `host_status` = `status` in resource group 1.
    pub async fn insert_host(&self, db: &str, ip: &str, status: &str) -> anyhow::Result<()> {
        let db = identifier(db)?;
        sqlx::query(&format!(
            "INSERT INTO {db}.host (ip, host_status, resource_group_id) VALUES (?, ?, 1)"
        ))
        .bind(ip)
        .bind(status)
        .execute(&self.pool)
        .await
        .with_context(|| format!("inserting host {ip} into {db}"))?;
        Ok(())
    }

    /// Makes `ip`'s `supervisor` heartbeat `age_secs` old by the server's clock (inserting the
    /// row if missing, else updating `gmt_modified` only).
    pub async fn upsert_heartbeat(&self, db: &str, ip: &str, age_secs: i64) -> anyhow::Result<()> {
        let db = identifier(db)?;
        let mut tx = self.pool.begin().await.context("beginning a transaction")?;
        let existing: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {db}.heart_beat WHERE task_name = 'supervisor' AND host_ip = ?"
        ))
        .bind(ip)
        .fetch_one(&mut *tx)
        .await
        .with_context(|| format!("looking up the heartbeat of {ip} in {db}"))?;
        let statement = if existing > 0 {
            format!(
                "UPDATE {db}.heart_beat SET gmt_modified = NOW() - INTERVAL ? SECOND
                 WHERE task_name = 'supervisor' AND host_ip = ?"
            )
        } else {
            format!(
                "INSERT INTO {db}.heart_beat (gmt_modified, host_ip, task_name, task_type,
                     gmt_created)
                 VALUES (NOW() - INTERVAL ? SECOND, ?, 'supervisor', 'supervisor', NOW())"
            )
        };
        sqlx::query(&statement)
            .bind(age_secs)
            .bind(ip)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("writing the heartbeat of {ip} in {db}"))?;
        tx.commit().await.context("committing the heartbeat")?;
        Ok(())
    }

    /// Deletes `ip`'s `host` rows; returns how many there were.
    pub async fn delete_host(&self, db: &str, ip: &str) -> anyhow::Result<u64> {
        self.delete_where(db, "host", "ip", ip).await
    }

    /// Deletes `ip`'s `heart_beat` rows; returns how many there were.
    pub async fn delete_heartbeat(&self, db: &str, ip: &str) -> anyhow::Result<u64> {
        self.delete_where(db, "heart_beat", "host_ip", ip).await
    }

    /// `DELETE FROM db.table WHERE column = value`.
    async fn delete_where(
        &self,
        db: &str,
        table: &str,
        column: &str,
        value: &str,
    ) -> anyhow::Result<u64> {
        let db = identifier(db)?;
        let result = sqlx::query(&format!("DELETE FROM {db}.{table} WHERE {column} = ?"))
            .bind(value)
            .execute(&self.pool)
            .await
            .with_context(|| format!("deleting {value} from {db}.{table}"))?;
        Ok(result.rows_affected())
    }
}

impl Drop for MariaDb {
    /// Kills the server before its directory goes (fields drop in declaration order).
    fn drop(&mut self) {
        if let Some(server) = self.server.as_mut() {
            server.kill();
        }
    }
}

/// The template datadir for this machine's `mariadbd`, built on first use.
///
/// It lives at `$TMPDIR/omswatch-mariadb-template-<version>-<format>`; a [`HostLock`] lets one
/// process build it while the others wait, and it appears by an atomic rename of a staging dir,
/// so its presence means it is complete.
pub async fn template_datadir(mariadbd: &Path) -> anyhow::Result<PathBuf> {
    let version = server_version(mariadbd).await?;
    let name = format!("omswatch-mariadb-template-{version}-{TEMPLATE_FORMAT}");
    let template = std::env::temp_dir().join(&name);
    if template.is_dir() {
        return Ok(template);
    }
    let _lock = HostLock::acquire(&name, Duration::from_secs(120)).await?;
    if template.is_dir() {
        return Ok(template); // built by the process we waited for
    }
    let install_db = require_program("mariadb-install-db", "mariadb-server")?;
    let staging = std::env::temp_dir().join(format!("{name}.staging"));
    let _ = std::fs::remove_dir_all(&staging); // a dead builder's leftovers
    let mut install = Command::new(&install_db);
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", staging.display()))
        .args([
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            REDO_LOG_SIZE,
        ]);
    if require_root().is_ok() {
        install.arg("--user=root");
    }
    run_checked(&mut install).await?;
    std::fs::rename(&staging, &template)
        .with_context(|| format!("renaming {} to {}", staging.display(), template.display()))?;
    Ok(template)
}

/// The server version (`10.11.19-MariaDB-0_deb12u1`) made safe for a file name.
async fn server_version(mariadbd: &Path) -> anyhow::Result<String> {
    let output = run_checked(Command::new(mariadbd).arg("--version")).await?;
    let version = output
        .split_whitespace()
        .skip_while(|word| *word != "Ver")
        .nth(1)
        .with_context(|| format!("no version in `mariadbd --version` output {output:?}"))?;
    Ok(version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect())
}

/// Spawns `mariadbd` on `dir/data` and `port`, then waits until root can connect.
async fn spawn_server(
    mariadbd: &Path,
    dir: &Path,
    port: u16,
) -> anyhow::Result<(TrackedChild, MySqlPool)> {
    let log = dir.join("err.log");
    let mut server = TrackedChild::spawn(
        dying_with_parent(Command::new, mariadbd)?
            .args(server_args(dir, port))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )?;
    let options = MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("root")
        .ssl_mode(MySqlSslMode::Disabled);
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = server.try_wait().context("polling mariadbd")? {
            bail!(
                "mariadbd exited ({status}) while starting; {} ends with:\n{}",
                log.display(),
                tail(&log, 20)
            );
        }
        let connected = MySqlPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(POOL_ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await;
        if let Ok(pool) = connected {
            return Ok((server, pool));
        }
        if Instant::now() >= deadline {
            server.kill();
            bail!(
                "mariadbd did not accept connections on port {port} within {START_TIMEOUT:?}; \
                 {} ends with:\n{}",
                log.display(),
                tail(&log, 20)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `mariadbd` command line: no config files, everything under `dir`, small and fast.
fn server_args(dir: &Path, port: u16) -> Vec<OsString> {
    let path_arg =
        |flag: &str, name: &str| OsString::from(format!("--{flag}={}", dir.join(name).display()));
    let mut args = vec![
        OsString::from("--no-defaults"),
        path_arg("datadir", "data"),
        path_arg("socket", "sock"),
        path_arg("pid-file", "mariadbd.pid"),
        path_arg("log-error", "err.log"),
        path_arg("tmpdir", ""),
        OsString::from(format!("--port={port}")),
    ];
    args.extend(
        [
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=16M",
            REDO_LOG_SIZE,
            "--innodb-flush-log-at-trx-commit=2",
            "--performance-schema=OFF",
            "--max-connections=200",
        ]
        .map(OsString::from),
    );
    if require_root().is_ok() {
        args.push(OsString::from("--user=root"));
    }
    args
}

/// Whether the last start failed because the port was in use.
fn port_was_taken(dir: &Path) -> bool {
    tail(&dir.join("err.log"), 20).contains("Address already in use")
}

/// Copies the directory tree `from` to the new directory `to`, keeping permissions.
fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).with_context(|| {
                format!("copying {} to {}", entry.path().display(), target.display())
            })?;
        }
    }
    Ok(())
}

/// `name` backquoted, if it is a plain identifier (database names cannot be bound).
fn identifier(name: &str) -> anyhow::Result<String> {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        bail!("{name:?} is not a plain identifier ([A-Za-z0-9_]{{1,64}})");
    }
    Ok(format!("`{name}`"))
}

/// `value` as a single-quoted SQL string literal.
fn sql_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}
