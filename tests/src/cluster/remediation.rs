//! What restart tests need of the cluster: the CLI run as someone other than the
//! operator (a node's certificate, a token) with its stderr, and the collector
//! restarted with other flags (e.g. without `--allow-restart`).

use std::time::Duration;

use anyhow::Context;
use tokio::process::Command;

use super::{Cluster, launch_collector};
use crate::bin_path;

/// What one `omswatch` run printed and how it exited.
#[derive(Debug, Clone)]
pub struct CliRun {
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// Its exit code (-1 when killed by a signal).
    pub code: i32,
}

impl Cluster {
    /// Runs `omswatch args` against this cluster's collector with `client` as the
    /// connection flags (e.g. [`Cluster::client_tls_args`] of a node's certificate, or
    /// `--ca` and `--token-file`); 120 s at most.
    pub async fn omswatch_with(&self, args: &[&str], client: &[String]) -> anyhow::Result<CliRun> {
        let run = Command::new(bin_path("omswatch")?)
            .args(args)
            .args(["--collector", &self.collector_url])
            .args(client)
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

    /// Runs `omswatch args` as the cluster's operator, with its stderr.
    pub async fn omswatch_run(&self, args: &[&str]) -> anyhow::Result<CliRun> {
        let operator = self.pki.as_ref().map(|p| p.operator.clone());
        let client = self.client_tls_args(operator.as_ref());
        self.omswatch_with(args, &client).await
    }

    /// Kills the collector (SIGKILL) and starts it again with its arguments changed by
    /// `change` (kept for later restarts), on the same store.
    pub async fn restart_collector_with(
        &mut self,
        change: impl FnOnce(&mut Vec<String>),
    ) -> anyhow::Result<()> {
        change(&mut self.collector_args);
        self.collector.kill();
        self.collector = launch_collector(&self.dir, &self.collector_args)?;
        Ok(())
    }
}
