//! Small process helpers shared by the harness pieces: running a command and checking it,
//! signalling, waiting from `Drop` (which cannot await), reading `/proc`, and reading log tails.
//!
//! Long-running processes are started through `setpriv --pdeathsig KILL` ([`dying_with_parent`])
//! and owned by a [`crate::TrackedChild`], which kills them with everything they started and
//! reaps them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rustix::process::{Pid, Signal, kill_process};
use tokio::process::{Child, Command};

use crate::require_program;

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
///
/// `program` must not fork a long-lived child of its own: the death signal reaches only the
/// process `setpriv` becomes, not its children (why the agent's clock is shifted by preloading
/// libfaketime rather than through the forking `faketime` wrapper).
pub(crate) fn dying_with_parent(
    runner: impl FnOnce(PathBuf) -> Command,
    program: &Path,
) -> anyhow::Result<Command> {
    let setpriv = require_program("setpriv", "util-linux")?;
    let mut command = runner(setpriv);
    command.args(["--pdeathsig", "KILL", "--"]).arg(program);
    Ok(command)
}

/// Sends `signal` to `pid`; errors are ignored (it may be gone already).
pub(crate) fn signal(pid: u32, signal: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, signal);
    }
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

/// Waits, blocking, until none of `pids` is alive (gone, or a zombie its parent has yet to
/// reap) or `timeout` passes; true when none is.
pub(crate) fn wait_dead(pids: &[u32], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if !pids.iter().any(|pid| is_alive(*pid)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether `pid` runs: present in `/proc` and not a zombie.
pub fn is_alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|fields| fields.first().is_some_and(|state| state != "Z"))
}

/// Whether `pid` is gone entirely: not even a zombie, so its parent reaped it.
pub fn is_gone(pid: u32) -> bool {
    !Path::new("/proc").join(pid.to_string()).exists()
}

/// One line of the process table, as far as the harness needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcessEntry {
    /// Process id.
    pub pid: u32,
    /// Process group id.
    pub pgid: u32,
    /// Its initial environment's `NUL`-separated `KEY=value` entries (empty for zombies).
    pub environ: Vec<u8>,
}

impl ProcessEntry {
    /// The value of environment variable `var`, if the process was started with it.
    pub fn env(&self, var: &str) -> Option<&str> {
        self.environ
            .split(|&b| b == 0)
            .find_map(|entry| entry.strip_prefix(var.as_bytes())?.strip_prefix(b"="))
            .and_then(|value| std::str::from_utf8(value).ok())
    }
}

/// Every live (non-zombie) process on the machine, from `/proc`.
pub(crate) fn live_processes() -> Vec<ProcessEntry> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let fields = stat_fields(pid)?;
            if fields.first().is_some_and(|state| state == "Z") {
                return None;
            }
            Some(ProcessEntry {
                pid,
                pgid: fields.get(2)?.parse().ok()?,
                environ: std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default(),
            })
        })
        .collect()
}

/// The start time of `pid` (clock ticks after boot, field 22 of `/proc/<pid>/stat`): with the pid,
/// it names a process uniquely, since pids are reused.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// The fields of `/proc/<pid>/stat` after `(comm)`, starting with the state (field 3).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        stat.rsplit_once(") ")?
            .1
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
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
