//! A real `omswatch-collector` process on loopback with real mutual TLS, without the rest of the
//! cluster: for tests of the collector's own behaviour (health, hostile input) that need neither
//! a MetaDB nor agents. Its config.yaml is whatever the test writes; it is killed on drop.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::process::Command;

use crate::cluster::Pki;
use crate::tracked::TrackedChild;
use crate::{bin_path, free_port, process};

/// A collector process and its files.
pub struct Standalone {
    /// The process.
    pub child: TrackedChild,
    /// Its certificates (collector for 127.0.0.1, an operator, a token).
    pub pki: Pki,
    /// Its address.
    pub addr: String,
    /// The config.yaml it reads (may not exist).
    pub config: PathBuf,
    /// Holds the PKI, config.yaml and the log.
    pub dir: TempDir,
}

impl Standalone {
    /// Starts the collector on a free loopback port, reading `dir/config.yaml`, with `extra`
    /// arguments; returns once it accepts connections.
    pub async fn start(extra: &[&str]) -> anyhow::Result<Standalone> {
        let dir = tempfile::Builder::new()
            .prefix("omswatch-standalone-")
            .tempdir()?;
        let pki = Pki::create(&dir.path().join("pki"), [127, 0, 0, 1].into(), &[])?;
        let config = dir.path().join("config.yaml");
        let port = free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("collector.log"))?;
        let mut command = Command::new(bin_path("omswatch-collector")?);
        command
            .args(["--listen", &addr, "--tick", "1s", "--http-listen", "off"])
            // Its own store: never the machine's default /var/lib/omswatch.
            .arg("--store")
            .arg(dir.path().join("omswatch.db"))
            .arg("--oms-config")
            .arg(&config)
            .args(pki.collector_args())
            .args(extra)
            .env("RUST_LOG", "info,omswatch_collector=debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = TrackedChild::spawn(&mut command).context("spawning omswatch-collector")?;
        let collector = Standalone {
            child,
            pki,
            addr,
            config,
            dir,
        };
        collector.wait_listening().await?;
        Ok(collector)
    }

    async fn wait_listening(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if tokio::net::TcpStream::connect(&self.addr).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "the collector never listened on {}:\n{}",
            self.addr,
            self.log()
        );
    }

    /// The collector's process id.
    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the collector has exited")
    }

    /// `https://` URL for clients.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Path of a file in the PKI directory.
    pub fn pki_path(&self, file: &str) -> PathBuf {
        self.pki.dir.join(file)
    }

    /// Runs `omswatch status --format json` as the operator; returns the document (Null when
    /// the output is not JSON), the exit code and how long the command took.
    pub async fn status(&self) -> anyhow::Result<(serde_json::Value, i32, Duration)> {
        let started = Instant::now();
        let out = Command::new(bin_path("omswatch")?)
            .args(["status", "--format", "json", "--timeout", "10s"])
            .args(["--collector", &self.url()])
            .args(self.pki.client_args(&self.pki.operator))
            .output()
            .await?;
        let took = started.elapsed();
        let doc = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        Ok((doc, out.status.code().unwrap_or(-1), took))
    }

    /// The collector's log so far.
    pub fn log(&self) -> String {
        process::tail(&self.dir.path().join("collector.log"), 60)
    }

    /// The collector's memory: (VmHWM, VmRSS) in KiB, from /proc.
    pub fn memory_kib(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .with_context(|| format!("no {name} in /proc/PID/status"))
        };
        Ok((field("VmHWM:")?, field("VmRSS:")?))
    }
}

/// The number of open file descriptors of process `pid`.
pub fn open_fds(pid: u32) -> anyhow::Result<usize> {
    Ok(std::fs::read_dir(Path::new(&format!("/proc/{pid}/fd")))?.count())
}

/// CPU time (user + system) of process `pid` so far, from /proc/PID/stat.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .context("malformed /proc/PID/stat")?
        .1
        .split_whitespace()
        .collect();
    // After the comm: state is field 0, utime 11, stime 12 (clock ticks; 100 per second on Linux).
    let ticks: u64 = fields
        .get(11..13)
        .context("short /proc/PID/stat")?
        .iter()
        .map(|f| f.parse::<u64>().unwrap_or(0))
        .sum();
    Ok(Duration::from_millis(ticks * 10))
}
