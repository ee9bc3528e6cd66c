//! `omswatch-agent --once` run by hand inside a node, as an operator would in its
//! container: the node's supervisord, its own config.yaml and log directory.

use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;

use super::launch::agent_command;
use super::{Cluster, files};

/// What one `--once` run printed and its exit code.
#[derive(Debug)]
pub struct OnceRun {
    /// Standard output: the answer.
    pub stdout: String,
    /// Standard error: the logs.
    pub stderr: String,
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
}

impl Cluster {
    /// Runs `omswatch-agent --once` in node `i` with `OMS_HOST_IP` = `oms_host_ip`
    /// (unset when `None`) and the `extra` flags.
    pub async fn agent_once(
        &self,
        i: usize,
        oms_host_ip: Option<&str>,
        extra: &[&str],
    ) -> anyhow::Result<OnceRun> {
        let node = self.net.node(i)?;
        let logs = files::write_log_dir(self.dir.path(), &node.hostname, true)?;
        let mut command = agent_command(node, None)?;
        command
            .args(["--once", "--node", &node.hostname])
            .arg("--supervisor-conf")
            .arg(self.supervisors[i].conf_path())
            .args(["--pid1-environ", "/dev/null"])
            .arg("--oms-config")
            .arg(&self.node_configs[i])
            .arg("--docker-init-log-dir")
            .arg(&logs)
            .arg("--disk-path")
            .arg(&logs)
            .args(extra)
            .env_remove("OMS_HOST_IP")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(ip) = oms_host_ip {
            command.env("OMS_HOST_IP", ip);
        }
        let out = tokio::time::timeout(Duration::from_secs(30), command.output())
            .await
            .context("omswatch-agent --once did not answer within 30s")?
            .context("running omswatch-agent --once")?;
        Ok(OnceRun {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        })
    }
}
