//! A real Prometheus (Debian's `prometheus`) for end-to-end tests: on loopback, on a free
//! port, with its own temp dir and TSDB, scraping the collector's `/metrics` over TLS with a
//! bearer token (`authorization: credentials_file`, as deploy/README.md shows) and evaluating
//! the shipped alert rules. Short scrape and evaluation intervals, and the rules' `for:`
//! shortened in the copy it loads, so an alert fires in seconds, not minutes. A
//! [`TrackedChild`]: killed and reaped on drop.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::process::Command;

use crate::host_lock::{HostLock, owned_temp_dir, sweep_temp_dirs};
use crate::process::dying_with_parent;
use crate::{TrackedChild, curl, free_port, require_program};

/// Prefix of the Prometheus instances' temp dirs.
pub const DIR_PREFIX: &str = "omswatch-prometheus-";
/// How often Prometheus scrapes and evaluates the rules in tests.
const INTERVAL: &str = "1s";

/// What to scrape: the collector's HTTP listener and the credentials to present.
#[derive(Debug, Clone)]
pub struct ScrapeTarget {
    /// `host:port` of the collector's HTTP listener.
    pub address: String,
    /// The CA that signed the collector's certificate.
    pub ca: PathBuf,
    /// An operator bearer token.
    pub token: String,
}

/// A running Prometheus.
pub struct Prometheus {
    /// Its own HTTP API, e.g. `http://127.0.0.1:PORT`.
    pub url: String,
    /// The process; dropped first.
    child: TrackedChild,
    /// Config, rules, TSDB and log.
    dir: TempDir,
    _dir_lock: HostLock,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` as job `omswatch` and evaluating `rules` (a copy
    /// with every `for:` shortened to one interval); ready when its `/-/ready` says so.
    pub async fn start(target: &ScrapeTarget, rules: &Path) -> anyhow::Result<Prometheus> {
        let program = require_program("prometheus", "prometheus")?;
        sweep_temp_dirs(DIR_PREFIX);
        let (dir, dir_lock) = owned_temp_dir(DIR_PREFIX)?;
        let rules_copy = dir.path().join("omswatch-rules.yml");
        let text = std::fs::read_to_string(rules)
            .with_context(|| format!("reading {}", rules.display()))?;
        std::fs::write(&rules_copy, shorten_for(&text))?;
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, format!("{}\n", target.token))?;
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_text(target, &rules_copy, &token_file))?;
        let port = free_port()?;
        let log = std::fs::File::create(dir.path().join("prometheus.log"))?;
        let mut command = dying_with_parent(Command::new, &program)?;
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = TrackedChild::spawn(&mut command).context("spawning prometheus")?;
        let prometheus = Prometheus {
            url: format!("http://127.0.0.1:{port}"),
            child,
            dir,
            _dir_lock: dir_lock,
        };
        prometheus.wait_ready().await?;
        Ok(prometheus)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            if curl::get(&format!("{}/-/ready", self.url), &[]).await?.code == 200 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("prometheus not ready after 30 s; its log:\n{}", self.log())
    }

    /// GETs `path` of its HTTP API (e.g. `/api/v1/alerts`) as JSON.
    pub async fn api(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let answer = curl::get(&format!("{}{path}", self.url), &[]).await?;
        serde_json::from_str(&answer.body)
            .with_context(|| format!("{path} answered {}: {}", answer.code, answer.body))
    }

    /// Every live process of it.
    pub fn pids(&self) -> Vec<u32> {
        self.child.pids()
    }

    /// Its log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }
}

/// The rules with every `for: <duration>` set to one evaluation interval.
fn shorten_for(rules: &str) -> String {
    rules
        .lines()
        .map(|line| match line.split_once("for:") {
            Some((indent, _)) if indent.trim().is_empty() => format!("{indent}for: {INTERVAL}"),
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn config_text(target: &ScrapeTarget, rules: &Path, token_file: &Path) -> String {
    format!(
        "global:\n  scrape_interval: {INTERVAL}\n  scrape_timeout: {INTERVAL}\n  evaluation_interval: {INTERVAL}\n\
         rule_files:\n  - {rules}\n\
         scrape_configs:\n  - job_name: omswatch\n    scheme: https\n    authorization:\n      credentials_file: {token}\n\
         \x20   tls_config:\n      ca_file: {ca}\n    static_configs:\n      - targets: ['{address}']\n",
        rules = rules.display(),
        token = token_file.display(),
        ca = target.ca.display(),
        address = target.address,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_for_is_shortened_and_nothing_else() {
        let rules = "      - alert: A\n        expr: up == 0\n        for: 2m\n        labels:\n          for_x: y\n";
        let short = shorten_for(rules);
        assert!(short.contains("        for: 1s\n"), "{short}");
        assert!(
            short.contains("for_x: y") && !short.contains("2m"),
            "{short}"
        );
    }
}
