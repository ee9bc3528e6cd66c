//! An OMS deployment before any agent exists, for `omswatch check`: a real
//! mariadbd seeded as the MetaDB of two regions, and each region's config.yaml
//! as the installer writes it. It carries one mistake of each kind `check`
//! must find from files and MetaDB alone:
//!
//! | region | cm_nodes | host row | heartbeat | finding |
//! |---|---|---|---|---|
//! | hz | 10.0.0.11 | ONLINE | fresh | — |
//! | hz | 10.0.0.12 | OFFLINE | fresh | HOST_NOT_ONLINE |
//! | sh | 10.0.1.21 | ONLINE | 300 s old | HEARTBEAT_STALE |
//! | sh | 10.0.1.22 | ONLINE | none | HEARTBEAT_MISSING |
//! | — | 10.0.9.99 | ONLINE | none | HOST_ROW_UNKNOWN |
//!
//! and sh's `cm_url` points at 127.0.0.1 in a region of two servers
//! (CM_URL_INVALID, placed at its line of sh's config.yaml). The IPs are only
//! text in files and rows: nothing ever connects to them.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use tempfile::TempDir;
use tokio::process::Command;

use crate::cluster::{CM_DB, META_PASSWORD, META_USER, heartbeat_db};
use crate::host_lock::{HostLock, owned_temp_dir, sweep_temp_dirs};
use crate::{MariaDb, bin_path};

/// Prefix of the deployments' temp dirs.
pub const DIR_PREFIX: &str = "omswatch-deployment-";
/// Region hz's servers (cm_nodes).
pub const HZ: [&str; 2] = ["10.0.0.11", "10.0.0.12"];
/// Region sh's servers (cm_nodes).
pub const SH: [&str; 2] = ["10.0.1.21", "10.0.1.22"];
/// A host row no region lists.
pub const UNKNOWN: &str = "10.0.9.99";

/// The seeded MetaDB and the two config.yaml files.
pub struct Deployment {
    /// The MetaDB.
    pub db: MariaDb,
    /// Region hz's then sh's config.yaml.
    pub configs: [PathBuf; 2],
    /// Holds the config files; removed on drop.
    pub dir: TempDir,
    /// Marks `dir` as in use; released after it.
    _dir_lock: HostLock,
}

/// What one `omswatch check` run printed, its exit code and how long it took.
#[derive(Debug)]
pub struct CheckRun {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Wall time of the whole process.
    pub elapsed: Duration,
}

impl Deployment {
    /// Starts the MetaDB, seeds it and writes both config.yaml files.
    pub async fn start() -> anyhow::Result<Deployment> {
        crate::require_root()?;
        sweep_temp_dirs(DIR_PREFIX);
        let (dir, dir_lock) = owned_temp_dir(DIR_PREFIX)?;
        // Readable by anyone (like a config.yaml copied out of a container), for `check_as_nobody`.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        let db = MariaDb::start().await?;
        seed(&db).await?;
        let configs = [
            write(&dir, "hz", &region_config(&db, "hz", 0, true, &HZ, HZ[0]))?,
            write(
                &dir,
                "sh",
                &region_config(&db, "sh", 1, false, &SH, "127.0.0.1"),
            )?,
        ];
        Ok(Deployment {
            db,
            configs,
            dir,
            _dir_lock: dir_lock,
        })
    }

    /// Runs `omswatch check --oms-config <hz> --oms-config <sh>` with `extra` flags.
    pub async fn check(&self, extra: &[&str]) -> anyhow::Result<CheckRun> {
        self.run_check(Command::new(bin_path("omswatch")?), extra)
            .await
    }

    /// [`Deployment::check`] as user and group `nobody` (65534), without any
    /// supplementary group: `check` needs no privilege.
    pub async fn check_as_nobody(&self, extra: &[&str]) -> anyhow::Result<CheckRun> {
        let setpriv = crate::require_program("setpriv", "util-linux")?;
        let mut command = Command::new(setpriv);
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin_path("omswatch")?)
            .current_dir("/");
        self.run_check(command, extra).await
    }

    async fn run_check(&self, mut command: Command, extra: &[&str]) -> anyhow::Result<CheckRun> {
        command.arg("check");
        for config in &self.configs {
            command.arg("--oms-config").arg(config);
        }
        let started = Instant::now();
        let out = command
            .args(extra)
            .kill_on_drop(true)
            .output()
            .await
            .context("running omswatch check")?;
        Ok(CheckRun {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
            elapsed: started.elapsed(),
        })
    }

    /// The 1-based line of `key` in region `r`'s config.yaml.
    pub fn line_of(&self, r: usize, key: &str) -> anyhow::Result<usize> {
        let text = std::fs::read_to_string(&self.configs[r])?;
        text.lines()
            .position(|l| l.starts_with(&format!("{key}:")))
            .map(|i| i + 1)
            .with_context(|| format!("no {key} in {}", self.configs[r].display()))
    }
}

async fn seed(db: &MariaDb) -> anyhow::Result<()> {
    db.create_user(META_USER, META_PASSWORD).await?;
    db.create_cm_db(CM_DB).await?;
    for r in 0..2 {
        db.create_heartbeat_db(&heartbeat_db(r)).await?;
    }
    let hosts = [
        (HZ[0], "ONLINE"),
        (HZ[1], "OFFLINE"),
        (SH[0], "ONLINE"),
        (SH[1], "ONLINE"),
        (UNKNOWN, "ONLINE"),
    ];
    for (ip, status) in hosts {
        db.insert_host(CM_DB, ip, status).await?;
    }
    for ip in HZ {
        db.upsert_heartbeat(&heartbeat_db(0), ip, 0).await?;
    }
    db.upsert_heartbeat(&heartbeat_db(1), SH[0], 300).await?;
    Ok(())
}

/// A region's config.yaml as the OMS installer writes it.
fn region_config(
    db: &MariaDb,
    region: &str,
    location: usize,
    default: bool,
    ips: &[&str],
    cm_host: &str,
) -> String {
    let list: String = ips.iter().map(|ip| format!("  - {ip}\n")).collect();
    format!(
        "# OMS config.yaml of region {region} (omswatch check test)\n\
         oms_meta_host: 127.0.0.1\noms_meta_port: {}\noms_meta_user: {META_USER}\n\
         oms_meta_password: \"{META_PASSWORD}\"\ndrc_rm_db: oms_rm\ndrc_cm_db: {CM_DB}\n\
         drc_cm_heartbeat_db: {}\ncm_url: http://{cm_host}:8088\ncm_location: {location}\n\
         cm_region: {region}\ncm_is_default: {default}\ncm_nodes:\n{list}tsdb_enabled: false\n",
        db.port(),
        heartbeat_db(location),
    )
}

fn write(dir: &TempDir, region: &str, text: &str) -> anyhow::Result<PathBuf> {
    let path = dir.path().join(format!("config-{region}.yaml"));
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
