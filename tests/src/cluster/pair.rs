//! The second collector of a pair ([`super::ClusterSpec::pair`]): the first one's flags on
//! other ports, the same MariaDB store, its own log (`collector-peer.log`). Agents report to
//! both; tests kill and start either, and run the CLI against any list of them.

use std::time::Duration;

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::process::Command;

use super::Cluster;
use super::launch::{launch_collector, launch_collector_logging};
use super::remediation::CliRun;
use crate::{TestNet, TrackedChild, bin_path, free_port};

/// The second collector of a pair.
pub struct Peer {
    /// Its process.
    pub collector: TrackedChild,
    /// Its arguments, to start it again the same way.
    pub args: Vec<String>,
    /// Its gRPC URL.
    pub url: String,
    /// Its HTTP listener (`/metrics`), no trailing slash.
    pub http_url: String,
}

/// The log of the pair's second collector.
const PEER_LOG: &str = "collector-peer.log";

impl Peer {
    /// Starts a collector with `first`'s arguments on fresh ports.
    pub(super) fn launch(
        dir: &TempDir,
        first: &[String],
        net: &TestNet,
        scheme: &str,
    ) -> anyhow::Result<Peer> {
        let (port, http_port) = (free_port()?, free_port()?);
        let mut args = first.to_vec();
        for (flag, port) in [("--listen", port), ("--http-listen", http_port)] {
            let at = args
                .iter()
                .position(|a| a == flag)
                .with_context(|| format!("the collector's arguments lack {flag}"))?;
            args[at + 1] = format!("{}:{port}", net.bridge_ip());
        }
        if !args.iter().any(|a| a.starts_with("mysql://")) {
            bail!("a pair of collectors shares a MySQL store: set spec.store = StoreKind::MariaDb");
        }
        Ok(Peer {
            collector: launch_collector_logging(dir, &args, PEER_LOG)?,
            args,
            url: format!("{scheme}://{}:{port}", net.bridge_ip()),
            http_url: format!("{scheme}://{}:{http_port}", net.bridge_ip()),
        })
    }
}

impl Cluster {
    /// The pair's second collector; an error when the cluster has none.
    pub fn peer(&self) -> anyhow::Result<&Peer> {
        self.peer
            .as_ref()
            .context("the cluster has no second collector (spec.pair)")
    }

    /// SIGKILLs the first collector, leaving it down (see [`Cluster::start_collector`]).
    pub fn kill_collector(&mut self) {
        self.collector.kill();
    }

    /// Starts the first collector again with its arguments, on the same store.
    pub fn start_collector(&mut self) -> anyhow::Result<()> {
        self.collector.kill();
        self.collector = launch_collector(&self.dir, &self.collector_args)?;
        Ok(())
    }

    /// SIGKILLs the second collector, leaving it down.
    pub fn kill_peer(&mut self) -> anyhow::Result<()> {
        self.peer
            .as_mut()
            .context("no second collector")?
            .collector
            .kill();
        Ok(())
    }

    /// Starts the second collector again with its arguments.
    pub fn start_peer(&mut self) -> anyhow::Result<()> {
        let peer = self.peer.as_mut().context("no second collector")?;
        peer.collector.kill();
        peer.collector = launch_collector_logging(&self.dir, &peer.args, PEER_LOG)?;
        Ok(())
    }

    /// Runs `omswatch args --collector collectors` as the operator (120 s at most).
    pub async fn omswatch_at(&self, collectors: &str, args: &[&str]) -> anyhow::Result<CliRun> {
        let operator = self.pki.as_ref().map(|p| p.operator.clone());
        let run = Command::new(bin_path("omswatch")?)
            .args(args)
            .args(["--collector", collectors])
            .args(self.client_tls_args(operator.as_ref()))
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(120), run)
            .await
            .context("omswatch did not finish in 120 s")??;
        Ok(CliRun {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        })
    }

    /// `omswatch status --format json` of `collectors`, when it answered as JSON.
    pub async fn status_at(&self, collectors: &str) -> anyhow::Result<(serde_json::Value, CliRun)> {
        let run = self
            .omswatch_at(collectors, &["status", "--format", "json"])
            .await?;
        let doc = serde_json::from_str(&run.stdout)
            .with_context(|| format!("status is not JSON: {run:?}"))?;
        Ok((doc, run))
    }

    /// `omswatch history --format json --limit 5000` of `collectors`: the events, and the run.
    pub async fn history_at(
        &self,
        collectors: &str,
    ) -> anyhow::Result<(Vec<serde_json::Value>, CliRun)> {
        let run = self
            .omswatch_at(
                collectors,
                &["history", "--format", "json", "--limit", "5000"],
            )
            .await?;
        if run.code != 0 {
            bail!("omswatch history exited {}: {run:?}", run.code);
        }
        let doc: serde_json::Value = serde_json::from_str(&run.stdout)
            .with_context(|| format!("history is not JSON: {run:?}"))?;
        Ok((doc["events"].as_array().cloned().unwrap_or_default(), run))
    }

    /// Polls `collectors` until `done` holds of the status and the history (`timeout` at most).
    pub async fn wait_at(
        &self,
        collectors: &str,
        what: &str,
        timeout: Duration,
        done: impl Fn(&serde_json::Value, &[serde_json::Value]) -> bool,
    ) -> anyhow::Result<(serde_json::Value, Vec<serde_json::Value>)> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = String::from("(no answer)");
        while tokio::time::Instant::now() < deadline {
            match (
                self.status_at(collectors).await,
                self.history_at(collectors).await,
            ) {
                (Ok((status, _)), Ok((events, _))) if done(&status, &events) => {
                    return Ok((status, events));
                }
                (status, events) => last = format!("{status:?}\n{events:?}"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        bail!(
            "timed out after {timeout:?} waiting at {collectors} for {what}; last:\n{last}\nlogs:\n{}",
            self.logs()
        )
    }

    /// Waits until the second collector (if any) shows `expected` nodes.
    pub(super) async fn wait_peer_nodes(&self, expected: usize) -> anyhow::Result<()> {
        let Some(peer) = &self.peer else {
            return Ok(());
        };
        self.wait_at(
            &peer.url,
            "every agent reported",
            Duration::from_secs(60),
            |s, _| s["nodes"].as_array().is_some_and(|n| n.len() == expected),
        )
        .await
        .map(|_| ())
    }
}
