//! Small process helpers shared by the harness pieces: running a command and checking it,
//! killing and reaping children from `Drop` (which cannot await), and reading log tails.
//!
//! Reaping matters here: the VM's pid 1 does not reap orphans, so anything we leave to it stays a
//! zombie forever. Every process the harness starts is therefore waited for by its own parent.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

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

/// The pids of live processes whose initial environment contains the entry `tag`.
pub(crate) fn tagged_pids(tag: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.split(|&b| b == 0).any(|e| e == tag.as_bytes()))
        })
        .collect()
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
