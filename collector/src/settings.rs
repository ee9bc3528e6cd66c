//! The collector's settings: defaults < `--config` file < environment < flags,
//! merged in one place ([`Settings::merge`]) and checked in one place
//! ([`Settings::validate`], in `settings/checks.rs`).

mod checks;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use omswatch_metadb::{MetaDbTls, MetaDbTlsMode, UnknownTlsMode};

/// Default for [`Settings::max_message_bytes`]: 1 MiB, ten times a large node's report.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Everything the collector needs to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// gRPC listen address for agents and operators.
    pub listen: SocketAddr,
    /// OMS config.yaml files, one per region.
    pub oms_configs: Vec<PathBuf>,
    /// How often config.yaml and the MetaDB are read and the cluster diagnosed.
    #[serde(with = "humantime_serde_compat")]
    pub tick: Duration,
    /// A supervisor heartbeat older than this is stale.
    #[serde(with = "humantime_serde_compat")]
    pub heartbeat_stale: Duration,
    /// Time limit of one MetaDB connect or query.
    #[serde(with = "humantime_serde_compat")]
    pub metadb_timeout: Duration,
    /// Largest tolerated difference between a node's clock and the MetaDB's.
    #[serde(with = "humantime_serde_compat")]
    pub clock_skew: Duration,
    /// Largest tolerated 5-minute load average per CPU.
    pub load_per_cpu: f64,
    /// Smallest tolerated available memory, percent of total.
    pub memory_available_min_pct: f64,
    /// Largest tolerated use of a filesystem holding an OMS path, percent.
    pub disk_used_max_pct: f64,
    /// The collector's server certificate (PEM), minted by `omswatch certs`.
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// CA certificate (PEM) that node and operator certificates must chain to.
    pub client_ca: Option<PathBuf>,
    /// Operator bearer tokens, one per line (blank and `#` lines ignored); re-read when it changes.
    pub token_file: Option<PathBuf>,
    /// Where every node's latest report is kept across restarts; none = memory only.
    pub state_file: Option<PathBuf>,
    /// Serve plain-text gRPC without authentication (loopback only, see `insecure_allow_remote`).
    pub insecure: bool,
    /// Let `insecure` listen on a non-loopback address: anyone who can connect may report and query.
    pub insecure_allow_remote: bool,
    /// Largest gRPC message accepted from a peer, bytes.
    pub max_message_bytes: usize,
    /// Reports per second one agent stream may send, sustained.
    pub max_reports_per_second: f64,
    /// Reports one agent stream may send at once above that rate (a burst of changes).
    pub report_burst: u32,
    /// TLS towards the MetaDB.
    pub metadb_tls: MetaDbTls,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 9470)),
            oms_configs: Vec::new(),
            tick: Duration::from_secs(5),
            heartbeat_stale: Duration::from_secs(60),
            metadb_timeout: Duration::from_secs(5),
            clock_skew: Duration::from_secs(10),
            load_per_cpu: 2.0,
            memory_available_min_pct: 10.0,
            disk_used_max_pct: 90.0,
            tls_cert: None,
            tls_key: None,
            client_ca: None,
            token_file: None,
            state_file: None,
            insecure: false,
            insecure_allow_remote: false,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_reports_per_second: 5.0,
            report_burst: 10,
            metadb_tls: MetaDbTls::default(),
        }
    }
}

/// Values given on the command line or in the environment; `None`/`false` = not given.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--oms-config` (replaces the file's list when non-empty).
    pub oms_configs: Vec<PathBuf>,
    /// `--tick`.
    pub tick: Option<Duration>,
    /// `--heartbeat-stale`.
    pub heartbeat_stale: Option<Duration>,
    /// `--metadb-timeout`.
    pub metadb_timeout: Option<Duration>,
    /// `--clock-skew`.
    pub clock_skew: Option<Duration>,
    /// `--load-per-cpu`.
    pub load_per_cpu: Option<f64>,
    /// `--memory-available-min-pct`.
    pub memory_available_min_pct: Option<f64>,
    /// `--disk-used-max-pct`.
    pub disk_used_max_pct: Option<f64>,
    /// `--tls-cert`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`.
    pub tls_key: Option<PathBuf>,
    /// `--client-ca`.
    pub client_ca: Option<PathBuf>,
    /// `--token-file`.
    pub token_file: Option<PathBuf>,
    /// `--state-file`.
    pub state_file: Option<PathBuf>,
    /// `--insecure` (a flag can only switch it on; the file can too).
    pub insecure: bool,
    /// `--insecure-allow-remote`.
    pub insecure_allow_remote: bool,
    /// `--max-message-bytes`.
    pub max_message_bytes: Option<usize>,
    /// `--max-reports-per-second`.
    pub max_reports_per_second: Option<f64>,
    /// `--report-burst`.
    pub report_burst: Option<u32>,
    /// `--metadb-tls-mode`.
    pub metadb_tls_mode: Option<MetaDbTlsMode>,
    /// `--metadb-tls-ca`.
    pub metadb_tls_ca: Option<PathBuf>,
}

/// Why settings could not be formed.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The `--config` file could not be read.
    #[error("cannot read collector config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The `--config` file is not valid.
    #[error(
        "collector config {path}: {message} (run `omswatch-collector --print-defaults` for a valid example)"
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is out of range or settings contradict each other.
    #[error("{0}")]
    Invalid(String),
}

impl Settings {
    /// Reads a `--config` file (YAML, same keys as [`Settings`]).
    pub fn from_file(path: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_yaml::from_str(&text).map_err(|e| SettingsError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The one merge: `base` (defaults or file) overridden by `over` (env/flags).
    pub fn merge(base: Settings, over: Overrides) -> Result<Settings, SettingsError> {
        let merged = Settings {
            listen: over.listen.unwrap_or(base.listen),
            oms_configs: if over.oms_configs.is_empty() {
                base.oms_configs
            } else {
                over.oms_configs
            },
            tick: over.tick.unwrap_or(base.tick),
            heartbeat_stale: over.heartbeat_stale.unwrap_or(base.heartbeat_stale),
            metadb_timeout: over.metadb_timeout.unwrap_or(base.metadb_timeout),
            clock_skew: over.clock_skew.unwrap_or(base.clock_skew),
            load_per_cpu: over.load_per_cpu.unwrap_or(base.load_per_cpu),
            memory_available_min_pct: over
                .memory_available_min_pct
                .unwrap_or(base.memory_available_min_pct),
            disk_used_max_pct: over.disk_used_max_pct.unwrap_or(base.disk_used_max_pct),
            tls_cert: over.tls_cert.or(base.tls_cert),
            tls_key: over.tls_key.or(base.tls_key),
            client_ca: over.client_ca.or(base.client_ca),
            token_file: over.token_file.or(base.token_file),
            state_file: over.state_file.or(base.state_file),
            insecure: over.insecure || base.insecure,
            insecure_allow_remote: over.insecure_allow_remote || base.insecure_allow_remote,
            max_message_bytes: over.max_message_bytes.unwrap_or(base.max_message_bytes),
            max_reports_per_second: over
                .max_reports_per_second
                .unwrap_or(base.max_reports_per_second),
            report_burst: over.report_burst.unwrap_or(base.report_burst),
            metadb_tls: MetaDbTls {
                mode: over.metadb_tls_mode.unwrap_or(base.metadb_tls.mode),
                ca: over.metadb_tls_ca.or(base.metadb_tls.ca),
            },
        };
        merged.validate()?;
        Ok(merged)
    }

    /// The diagnosis thresholds these settings define.
    pub fn thresholds(&self) -> omswatch_common::snapshot::Thresholds {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        omswatch_common::snapshot::Thresholds {
            heartbeat_stale_s: secs(self.heartbeat_stale),
            clock_skew_s: secs(self.clock_skew),
            load_per_cpu: self.load_per_cpu,
            memory_available_min_pct: self.memory_available_min_pct,
            disk_used_max_pct: self.disk_used_max_pct,
            ..Default::default()
        }
    }

    /// The defaults as a YAML document, for `--print-defaults` and deploy/collector.yaml:
    /// the built-in defaults plus the paths a deployment uses (mutual TLS on, files as
    /// `omswatch certs collector --dir /etc/omswatch/pki --name omswatch` writes them).
    pub fn defaults_yaml() -> String {
        let pki = Path::new("/etc/omswatch/pki");
        let defaults = Settings {
            oms_configs: vec![PathBuf::from("/home/admin/conf/config.yaml")],
            tls_cert: Some(pki.join("collector-omswatch.pem")),
            tls_key: Some(pki.join("collector-omswatch-key.pem")),
            client_ca: Some(pki.join("ca.pem")),
            state_file: Some(PathBuf::from("/var/lib/omswatch/state.pb")),
            ..Settings::default()
        };
        serde_yaml::to_string(&defaults).unwrap_or_default()
    }
}

/// Durations as humantime strings ("5s", "1m 30s") in YAML.
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
