//! Small process helpers shared by the harness pieces: running a command and checking it,
//! killing and reaping children from `Drop` (which cannot await), and reading log tails.
//!
//! Reaping matters here: the VM's pid 1 does not reliably reap orphans, so anything left to it may
//! stay a zombie. Every process the harness starts is therefore waited for by its own parent.
//!
//! Long-running servers are started through `setpriv --pdeathsig KILL`, so that they die with
//! the test even when the test process itself is killed (e.g. by a nextest timeout) and no
//! `Drop` runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use crate::require_program;

/// How long `Drop` waits for a killed child before giving up on it.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `command` to completion; fails with its stderr/stdout unless it exits 0. Returns stdout.
pub(crate) async fn run_checked(command: &mut Command) -> anyhow::Result<String> {
    let output = command
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("spawning {command:?}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            stdout.trim()
        );
    }
    Ok(stdout)
}

/// A command running `program` through `setpriv --pdeathsig KILL --`: the kernel SIGKILLs it when
/// the spawning thread dies. `runner` builds the command around `setpriv` (e.g. `Command::new` or
/// [`crate::NodeNet::command`]); the caller appends `program`'s arguments.
pub(crate) fn dying_with_parent(
    runner: impl FnOnce(PathBuf) -> Command,
    program: &Path,
) -> anyhow::Result<Command> {
    let setpriv = require_program("setpriv", "util-linux")?;
    let mut command = runner(setpriv);
    command.args(["--pdeathsig", "KILL", "--"]).arg(program);
    Ok(command)
}

/// Sends `signal` (a `kill -s` name such as `TERM`) to `pid`; errors are ignored (it may be gone).
pub(crate) fn signal(pid: u32, signal: &str) {
    let _ = std::process::Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status();
}

/// Waits, blocking, until `child` exits or `timeout` passes; true when it was reaped.
pub(crate) fn wait_blocking(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// SIGKILLs `child` and reaps it, blocking briefly; for `Drop` implementations.
pub(crate) fn kill_and_reap(child: &mut Child) {
    let _ = child.start_kill();
    wait_blocking(child, REAP_TIMEOUT);
}

/// SIGKILLs every process whose environment holds `tag` (a `KEY=value` entry), except `spare`,
/// repeating a few times in case one of them spawned more.
pub(crate) fn kill_tagged(tag: &str, spare: Option<u32>) {
    for _ in 0..5 {
        let mut pids = tagged_pids(tag);
        pids.retain(|pid| Some(*pid) != spare);
        if pids.is_empty() {
            return;
        }
        let _ = std::process::Command::new("kill")
            .arg("-KILL")
            .args(pids.iter().map(u32::to_string))
            .stderr(std::process::Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGKILLs orphans (parent pid 1) whose environment sets `var`: programs of a supervisord that
/// died with a killed test process.
pub(crate) fn kill_orphans_with_var(var: &str) {
    let prefix = format!("{var}=");
    let orphans: Vec<u32> = pids_whose_environ(|entry| entry.starts_with(prefix.as_bytes()))
        .into_iter()
        .filter(|pid| parent_pid(*pid) == Some(1))
        .collect();
    if !orphans.is_empty() {
        let _ = std::process::Command::new("kill")
            .arg("-KILL")
            .args(orphans.iter().map(u32::to_string))
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// The pids of live processes whose initial environment contains the entry `tag`.
pub(crate) fn tagged_pids(tag: &str) -> Vec<u32> {
    pids_whose_environ(|entry| entry == tag.as_bytes())
}

/// The pids of processes with an environment entry (`KEY=value` bytes) matching `wanted`.
fn pids_whose_environ(wanted: impl Fn(&[u8]) -> bool) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.split(|&b| b == 0).any(&wanted))
        })
        .collect()
}

/// The parent pid of `pid`, from `/proc/<pid>/stat` (the field after the `(comm)`'s state).
fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The last `lines` lines of a text file, or a note saying why it could not be read.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("<cannot read {}: {error}>", path.display()),
    }
}
