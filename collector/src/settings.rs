//! The collector's settings: defaults < `--config` file < environment < flags,
//! merged in one place ([`Settings::merge`]) and checked in one place
//! ([`Settings::validate`], in `settings/checks.rs`).

mod checks;
mod http_listen;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use http_listen::{BadHttpListen, DEFAULT_HTTP_LISTEN, HttpListen};
pub use omswatch_metadb::{MetaDbTls, MetaDbTlsMode, UnknownTlsMode};

/// Default for [`Settings::retention`]: 30 days of timeline.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Default for [`Settings::max_message_bytes`]: 1 MiB, ten times a large node's report.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Default for [`Settings::max_connections`]: far above any OMS cluster's agents and operators,
/// far below deploy's `LimitNOFILE` (65536).
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default for [`Settings::max_connections_per_peer`]: an agent needs one connection, an
/// operator's command one; a bastion host running many at once fits too.
pub const DEFAULT_MAX_CONNECTIONS_PER_PEER: usize = 64;

/// Everything the collector needs to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// gRPC listen address for agents and operators.
    pub listen: SocketAddr,
    /// HTTP listener (metrics, status API, health), or off.
    pub http_listen: HttpListen,
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
    /// Deprecated (kept as an alias): a state file from before the store; its nodes
    /// are imported into the store once, then it is neither read nor written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_file: Option<PathBuf>,
    /// Where reports and the timeline are kept: `sqlite:///path/file.db`, a path, or
    /// `mysql://USER@HOST:PORT/DB`; none = the default SQLite file
    /// (`/var/lib/omswatch/omswatch.db` as root, else under `$XDG_STATE_HOME/omswatch/`).
    pub store: Option<String>,
    /// File holding the password of a `mysql://` store (never in the URL).
    pub store_password_file: Option<PathBuf>,
    /// The password of a `mysql://` store from `OMSWATCH_STORE_PASSWORD`; never in a
    /// file of settings or on the command line.
    #[serde(skip)]
    pub store_password: Option<omswatch_common::secret::Secret>,
    /// How long timeline events are kept.
    #[serde(with = "humantime_serde_compat")]
    pub retention: Duration,
    /// Serve plain-text gRPC without authentication (loopback only, see `insecure_allow_remote`).
    pub insecure: bool,
    /// Let `insecure` listen on a non-loopback address: anyone who can connect may report and query.
    pub insecure_allow_remote: bool,
    /// Let operators restart supervisord programs through the agents (`omswatch restart`,
    /// `POST /api/v1/restart`); each agent must allow it too (its own `--allow-restart`).
    pub allow_restart: bool,
    /// Largest gRPC message accepted from a peer, bytes.
    pub max_message_bytes: usize,
    /// Reports per second one agent stream may send, sustained.
    pub max_reports_per_second: f64,
    /// Reports one agent stream may send at once above that rate (a burst of changes).
    pub report_burst: u32,
    /// A connection that has made no authorised call (an agent's stream, an operator's query)
    /// this long after it was accepted is closed; health checks do not count.
    #[serde(with = "humantime_serde_compat")]
    pub idle_grace: Duration,
    /// Connections open at once (TLS handshakes included); more are closed at once.
    pub max_connections: usize,
    /// Connections open at once from one IP address; more are closed at once.
    pub max_connections_per_peer: usize,
    /// TLS towards the MetaDB.
    pub metadb_tls: MetaDbTls,
    /// The `cluster` label of the alerts pushed to Alertmanager; none = the first region's
    /// cm_region (or `omswatch` without one).
    pub cluster_name: Option<String>,
    /// Alertmanagers to push every active finding to (their base URL, or the full
    /// `.../api/v2/alerts`).
    pub alertmanagers: Vec<String>,
    /// CA certificate (PEM) of the Alertmanagers' HTTPS certificates; none = the system's roots.
    pub alertmanager_ca: Option<PathBuf>,
    /// File whose first line is a bearer token sent to the Alertmanagers.
    pub alertmanager_token_file: Option<PathBuf>,
    /// Webhook URLs to POST every timeline event to (at least once; may hold a token: never
    /// logged).
    pub webhooks: Vec<String>,
    /// CA certificate (PEM) of the webhook receivers' HTTPS certificates; none = the system's roots.
    pub webhook_ca: Option<PathBuf>,
    /// File whose first line is the secret webhook requests are signed with (HMAC-SHA256).
    pub webhook_secret_file: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 9470)),
            http_listen: HttpListen::default(),
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
            store: None,
            store_password_file: None,
            store_password: None,
            retention: DEFAULT_RETENTION,
            insecure: false,
            insecure_allow_remote: false,
            allow_restart: false,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_reports_per_second: 5.0,
            report_burst: 10,
            idle_grace: Duration::from_secs(10),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_peer: DEFAULT_MAX_CONNECTIONS_PER_PEER,
            metadb_tls: MetaDbTls::default(),
            cluster_name: None,
            alertmanagers: Vec::new(),
            alertmanager_ca: None,
            alertmanager_token_file: None,
            webhooks: Vec::new(),
            webhook_ca: None,
            webhook_secret_file: None,
        }
    }
}

/// Values given on the command line or in the environment; `None`/`false` = not given.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--http-listen`.
    pub http_listen: Option<HttpListen>,
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
    /// `--state-file` (deprecated).
    pub state_file: Option<PathBuf>,
    /// `--store`.
    pub store: Option<String>,
    /// `--store-password-file`.
    pub store_password_file: Option<PathBuf>,
    /// `OMSWATCH_STORE_PASSWORD`.
    pub store_password: Option<omswatch_common::secret::Secret>,
    /// `--retention`.
    pub retention: Option<Duration>,
    /// `--insecure` (a flag can only switch it on; the file can too).
    pub insecure: bool,
    /// `--insecure-allow-remote`.
    pub insecure_allow_remote: bool,
    /// `--allow-restart` (a flag can only switch it on; the file can too).
    pub allow_restart: bool,
    /// `--max-message-bytes`.
    pub max_message_bytes: Option<usize>,
    /// `--max-reports-per-second`.
    pub max_reports_per_second: Option<f64>,
    /// `--report-burst`.
    pub report_burst: Option<u32>,
    /// `--idle-grace`.
    pub idle_grace: Option<Duration>,
    /// `--max-connections`.
    pub max_connections: Option<usize>,
    /// `--max-connections-per-peer`.
    pub max_connections_per_peer: Option<usize>,
    /// `--metadb-tls-mode`.
    pub metadb_tls_mode: Option<MetaDbTlsMode>,
    /// `--metadb-tls-ca`.
    pub metadb_tls_ca: Option<PathBuf>,
    /// `--cluster-name`.
    pub cluster_name: Option<String>,
    /// `--alertmanager` (replaces the file's list when non-empty).
    pub alertmanagers: Vec<String>,
    /// `--alertmanager-ca`.
    pub alertmanager_ca: Option<PathBuf>,
    /// `--alertmanager-token-file`.
    pub alertmanager_token_file: Option<PathBuf>,
    /// `--webhook` (replaces the file's list when non-empty).
    pub webhooks: Vec<String>,
    /// `--webhook-ca`.
    pub webhook_ca: Option<PathBuf>,
    /// `--webhook-secret-file`.
    pub webhook_secret_file: Option<PathBuf>,
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
            http_listen: over.http_listen.unwrap_or(base.http_listen),
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
            store: over.store.or(base.store),
            store_password_file: over.store_password_file.or(base.store_password_file),
            store_password: over.store_password.or(base.store_password),
            retention: over.retention.unwrap_or(base.retention),
            insecure: over.insecure || base.insecure,
            insecure_allow_remote: over.insecure_allow_remote || base.insecure_allow_remote,
            allow_restart: over.allow_restart || base.allow_restart,
            max_message_bytes: over.max_message_bytes.unwrap_or(base.max_message_bytes),
            max_reports_per_second: over
                .max_reports_per_second
                .unwrap_or(base.max_reports_per_second),
            report_burst: over.report_burst.unwrap_or(base.report_burst),
            idle_grace: over.idle_grace.unwrap_or(base.idle_grace),
            max_connections: over.max_connections.unwrap_or(base.max_connections),
            max_connections_per_peer: over
                .max_connections_per_peer
                .unwrap_or(base.max_connections_per_peer),
            metadb_tls: MetaDbTls {
                mode: over.metadb_tls_mode.unwrap_or(base.metadb_tls.mode),
                ca: over.metadb_tls_ca.or(base.metadb_tls.ca),
            },
            cluster_name: over.cluster_name.or(base.cluster_name),
            alertmanagers: replace_unless_empty(over.alertmanagers, base.alertmanagers),
            alertmanager_ca: over.alertmanager_ca.or(base.alertmanager_ca),
            alertmanager_token_file: over
                .alertmanager_token_file
                .or(base.alertmanager_token_file),
            webhooks: replace_unless_empty(over.webhooks, base.webhooks),
            webhook_ca: over.webhook_ca.or(base.webhook_ca),
            webhook_secret_file: over.webhook_secret_file.or(base.webhook_secret_file),
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

    /// What the listener lets in and for how long.
    pub fn connection_limits(&self) -> crate::listener::ConnectionLimits {
        crate::listener::ConnectionLimits {
            idle_grace: self.idle_grace,
            max_connections: self.max_connections,
            max_connections_per_peer: self.max_connections_per_peer,
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
            store: Some(format!(
                "sqlite://{}",
                crate::store::location::SYSTEM_DEFAULT
            )),
            ..Settings::default()
        };
        serde_yaml::to_string(&defaults).unwrap_or_default()
    }
}

/// A list given on the command line replaces the file's; none given keeps it.
fn replace_unless_empty<T>(over: Vec<T>, base: Vec<T>) -> Vec<T> {
    if over.is_empty() { base } else { over }
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
