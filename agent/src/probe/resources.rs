//! Host resources: CPUs, load, memory and the disks of the OMS paths.
//!
//! When a project fails with `no enough host resource for XXX`, or an Online server struggles,
//! the runbook's first step is to look at resource usage. The agent reports it every interval;
//! these numbers move constantly, so they never count as a change worth an early report.
//!
//! Everything is read from a /proc root and paths given as arguments ([`ResourceSources`]), so
//! tests feed their own files. Reading never fails as a whole: what could not be read is named in
//! `Resources.error` (or a disk's own `error`) and the rest is still reported.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use omswatch_common::proto::v1::{DiskUsage, Resources};
use tokio::task::JoinHandle;

/// The OMS paths whose filesystems are measured by default: logs, the DRC store and run dirs.
pub const DEFAULT_DISK_PATHS: [&str; 3] = ["/home/admin/logs", "/home/ds/store", "/home/ds/run"];

/// Longest a probe may take. Reading /proc is instant; `statvfs` on a hung network
/// filesystem is not, and must not hold up the report.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Where the resources probe reads from.
#[derive(Debug, Clone)]
pub struct ResourceSources {
    /// The proc filesystem (`/proc`): `loadavg`, `meminfo` and `cpuinfo` are read under it.
    pub proc_root: PathBuf,
    /// Paths whose filesystems' size and free space are reported, in this order.
    pub disk_paths: Vec<PathBuf>,
}

impl Default for ResourceSources {
    /// `/proc` and [`DEFAULT_DISK_PATHS`].
    fn default() -> Self {
        Self {
            proc_root: PathBuf::from("/proc"),
            disk_paths: DEFAULT_DISK_PATHS.iter().map(PathBuf::from).collect(),
        }
    }
}

/// Why part of the resources could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A /proc file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// A /proc file does not look as the kernel writes it.
    #[error("cannot parse {}: {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the offending text.
        reason: String,
    },
}

/// How long a count of CPUs is used before counting again: CPUs come and go only by hotplug, and
/// the kernel builds `/proc/cpuinfo` afresh, for every CPU, at every read.
const CPUS_RECOUNT: Duration = Duration::from_secs(60);

/// Probes the resources of [`ResourceSources`]: /proc on the calling thread (the kernel answers
/// at once), the disks' `statvfs` on a blocking thread within 5 s.
#[derive(Debug)]
pub struct ResourceProbe {
    /// Where to read.
    sources: ResourceSources,
    /// The last count of CPUs and when it was made.
    cpus: Mutex<Option<(Instant, u32)>>,
    /// A measurement of the disks still running when its time was up (a hung filesystem), and
    /// when it started. Its result is taken when it ends; until then no other thread is started
    /// beside it, so a hung mount holds one thread, not one per probe.
    pending: Mutex<Option<(Instant, JoinHandle<Vec<DiskUsage>>)>>,
}

impl ResourceProbe {
    /// A probe of `sources`.
    pub fn new(sources: ResourceSources) -> ResourceProbe {
        ResourceProbe {
            sources,
            cpus: Mutex::new(None),
            pending: Mutex::new(None),
        }
    }

    /// Where it reads.
    pub fn sources(&self) -> &ResourceSources {
        &self.sources
    }

    /// Reads the resources now. Never fails: what could not be read is in `error`.
    pub async fn probe(&self) -> Resources {
        let mut resources = read_proc(&self.sources.proc_root, self.cpus());
        match self.disks().await {
            Ok(disks) => resources.disks = disks,
            Err(error) if resources.error.is_empty() => resources.error = error,
            Err(error) => resources.error = format!("{}; {error}", resources.error),
        }
        resources.clock_unix_ms = omswatch_common::telemetry::now_unix_ms();
        resources
    }

    /// The number of CPUs, counted again after [`CPUS_RECOUNT`].
    fn cpus(&self) -> u32 {
        let Ok(mut last) = self.cpus.lock() else {
            return cpus(&self.sources.proc_root);
        };
        match *last {
            Some((at, count)) if at.elapsed() < CPUS_RECOUNT => count,
            _ => {
                let count = cpus(&self.sources.proc_root);
                *last = Some((Instant::now(), count));
                count
            }
        }
    }

    /// Size and free space of each disk path, or why they are not known.
    async fn disks(&self) -> Result<Vec<DiskUsage>, String> {
        if self.sources.disk_paths.is_empty() {
            return Ok(Vec::new());
        }
        let pending = self.pending.lock().ok().and_then(|mut p| p.take());
        let (started, mut handle) = match pending {
            Some((started, handle)) if handle.is_finished() => (started, handle),
            Some((started, handle)) => {
                let error = self.hung(started);
                if let Ok(mut slot) = self.pending.lock() {
                    *slot = Some((started, handle));
                }
                return Err(error);
            }
            None => {
                let paths = self.sources.disk_paths.clone();
                let measure = move || paths.iter().map(|p| disk_usage(p)).collect();
                (Instant::now(), tokio::task::spawn_blocking(measure))
            }
        };
        match tokio::time::timeout(TIMEOUT, &mut handle).await {
            Ok(Ok(disks)) => Ok(disks),
            Ok(Err(join_error)) => Err(format!("measuring the disks failed: {join_error}")),
            Err(_) => {
                let error = self.hung(started);
                if let Ok(mut slot) = self.pending.lock() {
                    *slot = Some((started, handle));
                }
                Err(error)
            }
        }
    }

    /// Why the disks are not known while a measurement started at `started` hangs.
    fn hung(&self, started: Instant) -> String {
        format!(
            "statvfs of the disk paths has not returned after {}s (a hung filesystem among {}?)",
            started.elapsed().as_secs(),
            paths_text(&self.sources.disk_paths)
        )
    }
}

/// Reads the resources now, blocking (`statvfs` may wait on a slow filesystem).
pub fn read(sources: &ResourceSources) -> Resources {
    let mut resources = read_proc(&sources.proc_root, cpus(&sources.proc_root));
    resources.disks = sources.disk_paths.iter().map(|p| disk_usage(p)).collect();
    resources.clock_unix_ms = omswatch_common::telemetry::now_unix_ms();
    resources
}

/// Load and memory from `proc_root`, with `cpus`; what could not be read is in `error`.
fn read_proc(proc_root: &Path, cpus: u32) -> Resources {
    let mut errors: Vec<String> = Vec::new();
    let mut resources = Resources {
        cpus,
        ..Resources::default()
    };
    match parse_file(&proc_root.join("loadavg"), parse_loadavg) {
        Ok([load1, load5, load15]) => {
            (resources.load1, resources.load5, resources.load15) = (load1, load5, load15);
        }
        Err(e) => errors.push(e.to_string()),
    }
    match parse_file(&proc_root.join("meminfo"), parse_meminfo) {
        Ok((total, available)) => {
            resources.mem_total_bytes = total;
            resources.mem_available_bytes = available;
        }
        Err(e) => errors.push(e.to_string()),
    }
    resources.error = errors.join("; ");
    resources
}

/// Reads `path` and parses it with `parse`.
fn parse_file<T>(path: &Path, parse: fn(&str) -> Result<T, String>) -> Result<T, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text).map_err(|reason| Error::Parse {
        path: path.to_owned(),
        reason,
    })
}

/// The 1, 5 and 15 minute load averages: the first three fields of `/proc/loadavg`
/// (`0.52 0.58 0.59 1/1234 5678`).
fn parse_loadavg(text: &str) -> Result<[f64; 3], String> {
    let mut fields = text.split_whitespace();
    let mut loads = [0.0; 3];
    for (slot, name) in loads.iter_mut().zip(["1", "5", "15"]) {
        let field = fields
            .next()
            .ok_or_else(|| format!("no {name}-minute load in {:?}", excerpt(text)))?;
        *slot = field
            .parse::<f64>()
            .ok()
            .filter(|load| load.is_finite() && *load >= 0.0)
            .ok_or_else(|| format!("{name}-minute load {:?} is not a load", excerpt(field)))?;
    }
    Ok(loads)
}

/// `MemTotal` and `MemAvailable` of `/proc/meminfo`, in bytes (the file says kB, meaning KiB).
fn parse_meminfo(text: &str) -> Result<(u64, u64), String> {
    let mut total = None;
    let mut available = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let slot = match key.trim() {
            "MemTotal" => &mut total,
            "MemAvailable" => &mut available,
            _ => continue,
        };
        *slot = Some(
            meminfo_bytes(value)
                .ok_or_else(|| format!("{} is not an amount: {:?}", key.trim(), excerpt(line)))?,
        );
    }
    match (total, available) {
        (Some(total), Some(available)) => Ok((total, available)),
        (None, _) => Err("no MemTotal line".into()),
        (_, None) => Err("no MemAvailable line (kernel older than 3.14?)".into()),
    }
}

/// `16333780 kB` as bytes; a bare number is taken as bytes.
fn meminfo_bytes(value: &str) -> Option<u64> {
    let mut parts = value.split_whitespace();
    let number: u64 = parts.next()?.parse().ok()?;
    let bytes = match parts.next() {
        None => number,
        Some(unit) if unit.eq_ignore_ascii_case("kB") => number.checked_mul(1024)?,
        Some(_) => return None,
    };
    parts.next().is_none().then_some(bytes)
}

/// CPUs online: `processor` entries of `cpuinfo`, else what the agent may run on.
fn cpus(proc_root: &Path) -> u32 {
    let counted = std::fs::read_to_string(proc_root.join("cpuinfo"))
        .map(|text| count_processors(&text))
        .unwrap_or(0);
    if counted > 0 {
        return counted;
    }
    std::thread::available_parallelism().map_or(0, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
}

/// The number of `processor : N` lines in `/proc/cpuinfo` text.
fn count_processors(cpuinfo: &str) -> u32 {
    let count = cpuinfo
        .lines()
        .filter(|line| {
            line.split_once(':')
                .is_some_and(|(key, _)| key.trim() == "processor")
        })
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Size and free space of the filesystem holding `path`; a missing path is an error in the
/// entry, not a failure of the probe.
fn disk_usage(path: &Path) -> DiskUsage {
    let mut usage = DiskUsage {
        path: path.display().to_string(),
        ..DiskUsage::default()
    };
    match path.try_exists() {
        Ok(false) => usage.error = "does not exist".into(),
        Err(e) => usage.error = format!("cannot tell whether it exists: {e}"),
        Ok(true) => match rustix::fs::statvfs(path) {
            Ok(stat) => {
                // f_frsize is the unit of the block counts; some filesystems leave it 0.
                let unit = if stat.f_frsize > 0 {
                    stat.f_frsize
                } else {
                    stat.f_bsize
                };
                usage.total_bytes = stat.f_blocks.saturating_mul(unit);
                usage.available_bytes = stat.f_bavail.saturating_mul(unit);
            }
            Err(errno) => {
                usage.error = format!("statvfs failed: {}", std::io::Error::from(errno));
            }
        },
    }
    usage
}

/// `text` trimmed and cut to 60 characters, for error messages.
fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Paths as one comma-separated string.
fn paths_text(paths: &[PathBuf]) -> String {
    let texts: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    texts.join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
