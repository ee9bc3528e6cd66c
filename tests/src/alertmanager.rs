//! A real Alertmanager (Debian's `prometheus-alertmanager`) for end-to-end tests: on loopback,
//! on a free port, with its own temp dir for its config and `--storage.path`, no cluster
//! gossip (`--cluster.listen-address=`), routing every alert to one webhook receiver (the
//! test's own, see [`crate::webhook_receiver`]) with short group waits, so a notification
//! arrives within seconds. A [`TrackedChild`]: killed and reaped on drop.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::process::Command;

use crate::host_lock::{HostLock, owned_temp_dir, sweep_temp_dirs};
use crate::process::dying_with_parent;
use crate::{TrackedChild, curl, free_port, require_program};

/// Prefix of the Alertmanager instances' temp dirs.
pub const DIR_PREFIX: &str = "omswatch-alertmanager-";
/// The Debian package and its binary.
const PACKAGE: &str = "prometheus-alertmanager";

/// A running Alertmanager.
pub struct Alertmanager {
    /// Its base URL, e.g. `http://127.0.0.1:PORT` (what the collector's `--alertmanager` takes).
    pub url: String,
    /// The process; dropped first.
    child: TrackedChild,
    /// Config, storage and log.
    dir: TempDir,
    _dir_lock: HostLock,
}

impl Alertmanager {
    /// Starts an Alertmanager that notifies `webhook_url` (firing and resolved) of every
    /// alert, grouped by alert name and node; ready when its `/-/ready` says so.
    pub async fn start(webhook_url: &str) -> anyhow::Result<Alertmanager> {
        let program = require_program(PACKAGE, PACKAGE)?;
        sweep_temp_dirs(DIR_PREFIX);
        let (dir, dir_lock) = owned_temp_dir(DIR_PREFIX)?;
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(&config, config_text(webhook_url))?;
        let port = free_port()?;
        let log = std::fs::File::create(dir.path().join("alertmanager.log"))?;
        let mut command = dying_with_parent(Command::new, &program)?;
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .arg("--log.level=info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child =
            TrackedChild::spawn(&mut command).context("spawning prometheus-alertmanager")?;
        let alertmanager = Alertmanager {
            url: format!("http://127.0.0.1:{port}"),
            child,
            dir,
            _dir_lock: dir_lock,
        };
        alertmanager.wait_ready().await?;
        Ok(alertmanager)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            if curl::get(&format!("{}/-/ready", self.url), &[]).await?.code == 200 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!(
            "alertmanager not ready after 30 s; its log:\n{}",
            self.log()
        )
    }

    /// Its alerts (`GET /api/v2/alerts`: active ones, resolved ones excluded).
    pub async fn alerts(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        let answer = curl::get(&format!("{}/api/v2/alerts", self.url), &[]).await?;
        let doc: serde_json::Value = serde_json::from_str(&answer.body)
            .with_context(|| format!("/api/v2/alerts answered {}: {}", answer.code, answer.body))?;
        Ok(doc.as_array().cloned().unwrap_or_default())
    }

    /// Every live process of it.
    pub fn pids(&self) -> Vec<u32> {
        self.child.pids()
    }

    /// Its log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }
}

fn config_text(webhook_url: &str) -> String {
    format!(
        "route:\n  receiver: test\n  group_by: [alertname, node]\n  group_wait: 1s\n  \
         group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: test\n    webhook_configs:\n      - url: '{webhook_url}'\n        \
         send_resolved: true\n"
    )
}
