//! How the cluster's own processes are started: the collector on the host, and an agent inside
//! each node. Both are [`TrackedChild`]ren started through `setpriv --pdeathsig KILL`, so that
//! they die with their test however it ends, and are reaped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tempfile::TempDir;
use tokio::process::Command;

use super::pki::Pki;
use super::spec::ClusterSpec;
use crate::process::dying_with_parent;
use crate::{NodeNet, TestNet, TrackedChild, bin_path};

/// The Debian package that ships `libfaketime.so.1`.
const FAKETIME_PACKAGE: &str = "faketime";
/// Where libfaketime lives: `/usr/lib/<multiarch>/faketime/` on Debian, else one of these.
const FAKETIME_DIRS: [&str; 3] = [
    "/usr/lib/faketime",
    "/usr/lib64/faketime",
    "/usr/local/lib/faketime",
];

/// The collector's arguments for this cluster (kept to restart it the same way).
pub(super) fn collector_args(
    configs: &[PathBuf],
    net: &TestNet,
    (port, http_port): (u16, u16),
    spec: &ClusterSpec,
    pki: Option<&Pki>,
) -> Vec<String> {
    let mut args = vec![
        "--listen".to_string(),
        format!("{}:{port}", net.bridge_ip()),
        "--http-listen".to_string(),
        format!("{}:{http_port}", net.bridge_ip()),
    ];
    for config in configs {
        args.extend(["--oms-config".to_string(), config.display().to_string()]);
    }
    args.extend([
        "--tick".into(),
        millis(spec.tick),
        "--metadb-timeout".into(),
        "2s".into(),
    ]);
    args.extend(spec.collector_args.iter().cloned());
    match pki {
        Some(pki) => args.extend(pki.collector_args()),
        None => args.extend(["--insecure".into(), "--insecure-allow-remote".into()]),
    }
    args
}

/// Starts the collector; its log is appended to, so a restart keeps the first run's lines.
pub(super) fn launch_collector(dir: &TempDir, args: &[String]) -> anyhow::Result<TrackedChild> {
    launch_collector_logging(dir, args, "collector.log")
}

/// Starts a collector logging to `log_name` in `dir` (appended to).
pub(super) fn launch_collector_logging(
    dir: &TempDir,
    args: &[String],
    log_name: &str,
) -> anyhow::Result<TrackedChild> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join(log_name))?;
    let mut command = dying_with_parent(Command::new, &bin_path("omswatch-collector")?)?;
    command
        .args(args)
        .env(
            "RUST_LOG",
            "info,omswatch_collector=debug,omswatch_common=debug",
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    TrackedChild::spawn(&mut command).context("spawning omswatch-collector")
}

/// The command that runs `omswatch-agent` inside `node`, dying with the test; the caller adds
/// the agent's arguments.
///
/// With `clock_offset` (e.g. `+90s`), libfaketime is preloaded into the agent, which shifts its
/// wall clock only (a node whose NTP drifted). Not through the `faketime` wrapper: that one forks
/// the program and waits for it, so killing the wrapper (all `kill_on_drop` reaches) left the
/// agent running, reparented to pid 1, long after its test (issue 13).
pub(super) fn agent_command(node: &NodeNet, clock_offset: Option<&str>) -> anyhow::Result<Command> {
    let agent = bin_path("omswatch-agent")?;
    let mut command = dying_with_parent(|setpriv| node.command(setpriv), &agent)?;
    if let Some(offset) = clock_offset {
        command
            .env("LD_PRELOAD", libfaketime()?)
            .env("FAKETIME", offset)
            .env("DONT_FAKE_MONOTONIC", "1");
    }
    Ok(command)
}

/// The path of `libfaketime.so.1`, or an error saying which package installs it.
fn libfaketime() -> anyhow::Result<PathBuf> {
    let multiarch = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("faketime"));
    multiarch
        .chain(FAKETIME_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join("libfaketime.so.1"))
        .find(|lib| lib.is_file())
        .with_context(|| {
            format!(
                "libfaketime.so.1 not found in /usr/lib/*/faketime or {FAKETIME_DIRS:?}: install \
                 it with `apt-get install -y {FAKETIME_PACKAGE}` (scripts/test.sh installs everything)"
            )
        })
}

/// `d` as the agent and collector flags spell durations (`500ms`).
pub(super) fn millis(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}
