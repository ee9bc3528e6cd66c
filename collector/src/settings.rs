//! The collector's settings: defaults < `--config` file < environment < flags,
//! merged in one place ([`Settings::merge`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

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
        }
    }
}

/// Values given on the command line or in the environment; `None` = not given.
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
    /// A value is out of range.
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
        };
        merged.validate()?;
        Ok(merged)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        if self.tick < Duration::from_millis(100) {
            return Err(SettingsError::Invalid(format!(
                "tick {:?} is below 100ms",
                self.tick
            )));
        }
        if self.heartbeat_stale < Duration::from_secs(1) {
            return Err(SettingsError::Invalid(
                "heartbeat_stale must be at least 1s".into(),
            ));
        }
        let pct = [
            ("memory_available_min_pct", self.memory_available_min_pct),
            ("disk_used_max_pct", self.disk_used_max_pct),
        ];
        for (key, value) in pct {
            if !(0.0..=100.0).contains(&value) {
                return Err(SettingsError::Invalid(format!(
                    "{key} must be a percentage 0-100, not {value}"
                )));
            }
        }
        if !(self.load_per_cpu > 0.0 && self.load_per_cpu.is_finite()) {
            return Err(SettingsError::Invalid(format!(
                "load_per_cpu must be above 0, not {}",
                self.load_per_cpu
            )));
        }
        if self.oms_configs.is_empty() {
            return Err(SettingsError::Invalid(
                "no OMS config.yaml given: pass --oms-config /path/to/config.yaml (once per region) or set oms_configs in --config".into(),
            ));
        }
        Ok(())
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

    /// The defaults as a YAML document, for `--print-defaults` and deploy/collector.yaml.
    pub fn defaults_yaml() -> String {
        let defaults = Settings {
            oms_configs: vec![PathBuf::from("/home/admin/conf/config.yaml")],
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
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let file: Settings =
            serde_yaml::from_str("tick: 2s\nheartbeat_stale: 90s\noms_configs: [/a.yaml]\n")
                .expect("yaml");
        let over = Overrides {
            tick: Some(Duration::from_secs(1)),
            ..Default::default()
        };
        let s = Settings::merge(file, over).expect("valid");
        assert_eq!(s.tick, Duration::from_secs(1));
        assert_eq!(s.heartbeat_stale, Duration::from_secs(90));
        assert_eq!(s.listen, Settings::default().listen);
        assert_eq!(s.oms_configs, vec![PathBuf::from("/a.yaml")]);
    }

    #[test]
    fn unknown_keys_and_missing_configs_are_errors() {
        assert!(serde_yaml::from_str::<Settings>("tcik: 2s\n").is_err());
        assert!(Settings::merge(Settings::default(), Overrides::default()).is_err());
    }

    #[test]
    fn deploy_example_matches_the_defaults() {
        let example = include_str!("../../deploy/collector.yaml");
        let parsed: Settings = serde_yaml::from_str(example).expect("deploy/collector.yaml parses");
        let defaults: Settings =
            serde_yaml::from_str(&Settings::defaults_yaml()).expect("defaults parse");
        assert_eq!(
            parsed, defaults,
            "deploy/collector.yaml drifted from Settings::default()"
        );
    }
}
