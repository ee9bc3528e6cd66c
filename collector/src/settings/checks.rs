//! The rules settings must satisfy before the collector starts. Each error says
//! what to change, because the operator reading it is mid-deployment.

use std::time::Duration;

use super::{Settings, SettingsError};

/// Smallest accepted `max_message_bytes`: below this even a one-program report fails.
const MIN_MESSAGE_BYTES: usize = 16 * 1024;
/// Largest accepted `max_message_bytes`: the aggregator keeps every node's last report.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

impl Settings {
    /// Checks ranges and the security rules (TLS unless `--insecure`, and
    /// `--insecure` only on loopback unless forced). [`Settings::merge`] calls it;
    /// `server::run` calls it again for settings built by hand.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.validate_thresholds()?;
        self.validate_limits()?;
        self.validate_transport()?;
        self.metadb_tls
            .validate()
            .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        if self.oms_configs.is_empty() {
            return invalid(
                "no OMS config.yaml given: pass --oms-config /path/to/config.yaml (once per region) or set oms_configs in --config",
            );
        }
        Ok(())
    }

    fn validate_thresholds(&self) -> Result<(), SettingsError> {
        if self.tick < Duration::from_millis(100) {
            return invalid(format!("tick {:?} is below 100ms", self.tick));
        }
        if self.heartbeat_stale < Duration::from_secs(1) {
            return invalid("heartbeat_stale must be at least 1s");
        }
        let pct = [
            ("memory_available_min_pct", self.memory_available_min_pct),
            ("disk_used_max_pct", self.disk_used_max_pct),
        ];
        for (key, value) in pct {
            if !(0.0..=100.0).contains(&value) {
                return invalid(format!("{key} must be a percentage 0-100, not {value}"));
            }
        }
        if !(self.load_per_cpu > 0.0 && self.load_per_cpu.is_finite()) {
            return invalid(format!(
                "load_per_cpu must be above 0, not {}",
                self.load_per_cpu
            ));
        }
        Ok(())
    }

    fn validate_limits(&self) -> Result<(), SettingsError> {
        if !(MIN_MESSAGE_BYTES..=MAX_MESSAGE_BYTES).contains(&self.max_message_bytes) {
            return invalid(format!(
                "max_message_bytes must be {MIN_MESSAGE_BYTES}-{MAX_MESSAGE_BYTES}, not {} (default {})",
                self.max_message_bytes,
                super::DEFAULT_MAX_MESSAGE_BYTES
            ));
        }
        let rate = self.max_reports_per_second;
        if !(rate > 0.0 && rate.is_finite()) {
            return invalid(format!(
                "max_reports_per_second must be above 0, not {rate} (an agent sends one report per interval plus one per change)"
            ));
        }
        if self.report_burst == 0 {
            return invalid("report_burst must be at least 1");
        }
        Ok(())
    }

    /// TLS is the default; plain text needs `--insecure`, and off loopback also
    /// `--insecure-allow-remote`, so a copied command line cannot expose a cluster by accident.
    fn validate_transport(&self) -> Result<(), SettingsError> {
        if self.insecure {
            if !self.listen.ip().is_loopback() && !self.insecure_allow_remote {
                return invalid(format!(
                    "--insecure serves plain text without authentication, and --listen {} is not a loopback address: \
                     anyone on the network could report as any node and read the cluster's topology. \
                     Listen on 127.0.0.1 (--listen 127.0.0.1:{}), or use mutual TLS (--tls-cert, --tls-key, --client-ca), \
                     or add --insecure-allow-remote if that is really what you want",
                    self.listen,
                    self.listen.port()
                ));
            }
            return Ok(());
        }
        let missing: Vec<&str> = [
            ("--tls-cert FILE", self.tls_cert.is_none()),
            ("--tls-key FILE", self.tls_key.is_none()),
            ("--client-ca FILE", self.client_ca.is_none()),
        ]
        .into_iter()
        .filter_map(|(flag, absent)| absent.then_some(flag))
        .collect();
        if !missing.is_empty() {
            return invalid(format!(
                "the collector serves mutual TLS and needs {} (keys tls_cert, tls_key, client_ca in --config). \
                 Mint them with `omswatch certs ca --dir DIR --name NAME`, then \
                 `omswatch certs collector --dir DIR --name NAME --ip <address agents dial>`, \
                 or pass --insecure to serve plain text on loopback for a trial",
                missing.join(", ")
            ));
        }
        Ok(())
    }
}

fn invalid<T>(message: impl Into<String>) -> Result<T, SettingsError> {
    Err(SettingsError::Invalid(message.into()))
}
