//! The rules settings must satisfy before the collector starts. Each error says
//! what to change, because the operator reading it is mid-deployment.

use std::time::Duration;

use super::{Settings, SettingsError};

/// Smallest accepted `max_message_bytes`: below this even a one-program report fails.
const MIN_MESSAGE_BYTES: usize = 16 * 1024;
/// Largest accepted `max_message_bytes`: the aggregator keeps every node's last report.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// `idle_grace` bounds: a TLS handshake and a first call need a moment; an hour would let idle
/// peers pile up again.
const MIN_IDLE_GRACE: Duration = Duration::from_secs(1);
const MAX_IDLE_GRACE: Duration = Duration::from_secs(3600);

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
        self.validate_notify()?;
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
        if self.retention < Duration::from_secs(60) {
            return invalid(format!(
                "retention {} is below 1m: the timeline would be gone before anyone read it (default 30days)",
                humantime::format_duration(self.retention)
            ));
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
        self.validate_connections()
    }

    fn validate_connections(&self) -> Result<(), SettingsError> {
        if !(MIN_IDLE_GRACE..=MAX_IDLE_GRACE).contains(&self.idle_grace) {
            return invalid(format!(
                "idle_grace must be 1s-1h, not {} (default 10s)",
                humantime::format_duration(self.idle_grace)
            ));
        }
        if self.max_connections == 0 {
            return invalid(format!(
                "max_connections must be at least 1 (default {})",
                super::DEFAULT_MAX_CONNECTIONS
            ));
        }
        if !(1..=self.max_connections).contains(&self.max_connections_per_peer) {
            return invalid(format!(
                "max_connections_per_peer must be 1-{} (max_connections), not {} (default {})",
                self.max_connections,
                self.max_connections_per_peer,
                super::DEFAULT_MAX_CONNECTIONS_PER_PEER
            ));
        }
        Ok(())
    }

    /// TLS is the default; plain text needs `--insecure`, and off loopback also
    /// `--insecure-allow-remote`, so a copied command line cannot expose a cluster by accident.
    fn validate_transport(&self) -> Result<(), SettingsError> {
        self.validate_http()?;
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

impl Settings {
    /// The HTTP listener follows gRPC's rule: plain text (`--insecure`) only on loopback
    /// unless forced; it may not share gRPC's port.
    fn validate_http(&self) -> Result<(), SettingsError> {
        let Some(http) = self.http_listen.addr() else {
            return Ok(());
        };
        if http.port() != 0 && http.port() == self.listen.port() && overlap(http, self.listen) {
            return invalid(format!(
                "--http-listen {http} and --listen {} use the same port: give the HTTP listener its own (default {})",
                self.listen,
                super::DEFAULT_HTTP_LISTEN
            ));
        }
        if self.insecure && !http.ip().is_loopback() && !self.insecure_allow_remote {
            return invalid(format!(
                "--insecure serves /metrics and /api/v1/status in plain text without authentication, and \
                 --http-listen {http} is not a loopback address. Use 127.0.0.1:{} (or off), mutual TLS, \
                 or add --insecure-allow-remote if that is really what you want",
                http.port()
            ));
        }
        Ok(())
    }
}

impl Settings {
    /// Receivers' URLs are checked at start (never echoed: a webhook URL may hold a token);
    /// the cluster label must be a short printable name.
    fn validate_notify(&self) -> Result<(), SettingsError> {
        use crate::notify::receivers::{self, Kind};
        receivers::parse(Kind::Alertmanager, &self.alertmanagers)
            .map_err(SettingsError::Invalid)?;
        receivers::parse(Kind::Webhook, &self.webhooks).map_err(SettingsError::Invalid)?;
        if let Some(name) = &self.cluster_name
            && (name.is_empty() || name.len() > 128 || name.chars().any(char::is_control))
        {
            return invalid(
                "cluster_name must be 1-128 printable characters (it is the `cluster` label of                  every alert pushed to Alertmanager)",
            );
        }
        Ok(())
    }
}

/// Whether two listen addresses would collide (same IP, or either is a wildcard).
fn overlap(a: std::net::SocketAddr, b: std::net::SocketAddr) -> bool {
    a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified()
}

fn invalid<T>(message: impl Into<String>) -> Result<T, SettingsError> {
    Err(SettingsError::Invalid(message.into()))
}
