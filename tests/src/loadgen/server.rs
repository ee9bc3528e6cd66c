//! The servers the simulated agents talk to, each its own process: a real
//! `omswatch-collector` (plain text on loopback, its own SQLite store, caps raised for one
//! peer with thousands of streams) or the bare server ([`super::bare`], this harness's
//! `omswatch-loadgen --serve-bare`).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::process::Command;

use crate::tracked::TrackedChild;

/// Starts `omswatch-collector` on a free loopback port, its store and log in `dir`; returns
/// once it accepts connections, with its address.
pub async fn collector(dir: &Path) -> anyhow::Result<(TrackedChild, String)> {
    let addr = format!("127.0.0.1:{}", crate::free_port()?);
    let mut command = Command::new(crate::bins::bin_path("omswatch-collector")?);
    command
        .args(["--insecure", "--listen", &addr, "--http-listen", "off"])
        .arg("--store")
        .arg(dir.join("omswatch.db"))
        .arg("--oms-config")
        .arg(dir.join("config.yaml"))
        // Every simulated agent comes from 127.0.0.1.
        .args([
            "--max-connections",
            "30000",
            "--max-connections-per-peer",
            "30000",
        ])
        // Saturation sends as fast as acks come back.
        .args([
            "--max-reports-per-second",
            "1000000",
            "--report-burst",
            "1000000",
        ])
        .args(["--idle-grace", "120s"])
        // As deploy/omswatch-collector.service runs it (ignored without mimalloc).
        .env("MIMALLOC_ARENA_EAGER_COMMIT", "0")
        .env("RUST_LOG", "warn");
    spawn(command, dir, addr).await
}

/// Starts `program --serve-bare ADDR` (the load generator itself) on a free loopback port.
pub async fn bare(program: &Path, dir: &Path) -> anyhow::Result<(TrackedChild, String)> {
    let addr = format!("127.0.0.1:{}", crate::free_port()?);
    let mut command = Command::new(program);
    command.args(["--serve-bare", &addr]);
    spawn(command, dir, addr).await
}

async fn spawn(
    mut command: Command,
    dir: &Path,
    addr: String,
) -> anyhow::Result<(TrackedChild, String)> {
    let log = std::fs::File::create(dir.join("server.log"))?;
    command
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let child = TrackedChild::spawn(&mut command)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return Ok((child, addr));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!(
        "nothing listens on {addr} after 20 s:\n{}",
        crate::process::tail(&dir.join("server.log"), 30)
    )
}

/// Raises this process's open-files limit to its hard limit (thousands of streams need as
/// many descriptors); returns the limit now in force.
pub fn raise_open_files_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}
