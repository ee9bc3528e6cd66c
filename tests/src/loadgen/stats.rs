//! What the load generator measures of a server process (from /proc) and of the acks.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;

pub use crate::standalone::cpu_time;

/// Counts shared by every simulated agent.
#[derive(Debug, Default)]
pub struct Tally {
    /// Reports sent.
    pub sent: AtomicU64,
    /// Reports acknowledged.
    pub acked: AtomicU64,
    /// Streams that could not connect or broke.
    pub failed: AtomicU64,
    /// Ack latencies since the last [`Tally::take_latencies`], microseconds.
    latencies: Mutex<Vec<u32>>,
}

impl Tally {
    /// Records one ack that took `latency` after its report was handed to the stream.
    pub fn acked(&self, latency: Duration) {
        self.acked.fetch_add(1, Ordering::Relaxed);
        let micros = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        if let Ok(mut l) = self.latencies.lock() {
            l.push(micros);
        }
    }

    /// The latencies recorded since the last call, which starts a new window.
    pub fn take_latencies(&self) -> Vec<u32> {
        self.latencies
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }

    /// (sent, acked, failed) so far.
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.acked.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// p50, p99 and max of `latencies` (microseconds), as durations; zeros when empty.
pub fn percentiles(mut latencies: Vec<u32>) -> [Duration; 3] {
    if latencies.is_empty() {
        return [Duration::ZERO; 3];
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() - 1) as f64 * q).round() as usize;
        Duration::from_micros(u64::from(latencies[i]))
    };
    [at(0.5), at(0.99), at(1.0)]
}

/// The resident memory of process `pid`, KiB (VmRSS).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/PID/status")
}
