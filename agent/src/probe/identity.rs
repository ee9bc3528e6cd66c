//! Who this node thinks it is: runbook step 3 (`hostname -i` vs OMS_HOST_IP).
//!
//! Sources are arguments ([`IdentitySources`]) so tests point them at their own
//! files and environments instead of mutating the process's.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use omswatch_common::proto::v1::Identity;

/// The variable OMS containers are started with (`docker run -e OMS_HOST_IP=...`).
pub const OMS_HOST_IP: &str = "OMS_HOST_IP";

/// Read access to environment variables.
pub trait Environment: Send + Sync {
    /// The value of `name`, if set and valid UTF-8.
    fn var(&self, name: &str) -> Option<String>;
}

/// The agent process's own environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A fixed map, for tests.
impl Environment for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Where the identity probe reads from.
#[derive(Clone)]
pub struct IdentitySources {
    /// The agent's environment; OMS_HOST_IP is looked up here first.
    pub env: Arc<dyn Environment>,
    /// The container's PID 1 environment (NUL-separated), read when the agent's lacks
    /// OMS_HOST_IP: the agent may be started by supervisord without it.
    pub pid1_environ: PathBuf,
    /// The UTS host name (`/proc/sys/kernel/hostname`).
    pub hostname_file: PathBuf,
}

impl Default for IdentitySources {
    fn default() -> Self {
        Self {
            env: Arc::new(ProcessEnv),
            pid1_environ: PathBuf::from("/proc/1/environ"),
            hostname_file: PathBuf::from("/proc/sys/kernel/hostname"),
        }
    }
}

/// Probes the node's identity. Never fails: what cannot be learned is reported as such.
pub async fn probe(sources: &IdentitySources) -> Identity {
    let (oms_host_ip, oms_host_ip_source) = oms_host_ip(sources);
    let mut identity = Identity {
        oms_host_ip,
        oms_host_ip_source,
        interface_ips: interface_ips(),
        ..Default::default()
    };
    match std::fs::read_to_string(&sources.hostname_file) {
        Ok(name) => {
            identity.hostname = name.trim().to_string();
            match resolve(&identity.hostname).await {
                Ok(ips) => identity.hostname_ips = ips,
                Err(e) => identity.hostname_error = e,
            }
        }
        Err(e) => {
            identity.hostname_error =
                format!("cannot read {}: {e}", sources.hostname_file.display())
        }
    }
    identity
}

/// OMS_HOST_IP and where it came from; `None` when set nowhere.
fn oms_host_ip(sources: &IdentitySources) -> (Option<String>, String) {
    if let Some(value) = sources.env.var(OMS_HOST_IP) {
        return (Some(value), "env".into());
    }
    let from_pid1 = std::fs::read(&sources.pid1_environ)
        .ok()
        .and_then(|bytes| environ_var(&bytes, OMS_HOST_IP));
    match from_pid1 {
        Some(value) => (Some(value), sources.pid1_environ.display().to_string()),
        None => (None, String::new()),
    }
}

/// The value of `name` in a NUL-separated `KEY=VALUE` block (`/proc/N/environ`).
pub fn environ_var(environ: &[u8], name: &str) -> Option<String> {
    environ.split(|b| *b == 0).find_map(|entry| {
        let entry = std::str::from_utf8(entry).ok()?;
        let (key, value) = entry.split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}

/// What `hostname -i` prints: the host name resolved by the system resolver
/// (getaddrinfo: /etc/hosts, then DNS), de-duplicated in resolver order.
async fn resolve(hostname: &str) -> Result<Vec<String>, String> {
    if hostname.is_empty() {
        return Err("the host name is empty".into());
    }
    let addrs = tokio::net::lookup_host((hostname, 0))
        .await
        .map_err(|e| format!("`{hostname}` does not resolve: {e}"))?;
    let mut ips: Vec<String> = Vec::new();
    for addr in addrs {
        let ip = addr.ip().to_string();
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    Ok(ips)
}

/// Non-loopback addresses of the node's interfaces.
fn interface_ips() -> Vec<String> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    let mut ips: Vec<IpAddr> = interfaces
        .iter()
        .map(|i| i.ip())
        .filter(|ip| !ip.is_loopback())
        .collect();
    ips.sort();
    ips.dedup();
    ips.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(
        env: &[(&str, &str)],
        dir: &tempfile::TempDir,
        pid1: &[u8],
        host: &str,
    ) -> IdentitySources {
        let pid1_environ = dir.path().join("environ");
        let hostname_file = dir.path().join("hostname");
        std::fs::write(&pid1_environ, pid1).expect("write environ");
        std::fs::write(&hostname_file, host).expect("write hostname");
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        IdentitySources {
            env: Arc::new(env),
            pid1_environ,
            hostname_file,
        }
    }

    #[test]
    fn environ_parsing_finds_exact_keys_only() {
        let block = b"PATH=/bin\0OMS_HOST_IP_OLD=1.1.1.1\0OMS_HOST_IP=10.0.0.7\0\xff\xfe=\0";
        assert_eq!(
            environ_var(block, "OMS_HOST_IP").as_deref(),
            Some("10.0.0.7")
        );
        assert_eq!(environ_var(b"", "OMS_HOST_IP"), None);
        assert_eq!(environ_var(b"OMS_HOST_IP", "OMS_HOST_IP"), None);
    }

    #[tokio::test]
    async fn own_env_wins_then_pid1_then_unset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = sources(
            &[("OMS_HOST_IP", "10.0.0.1")],
            &dir,
            b"OMS_HOST_IP=10.0.0.2\0",
            "localhost\n",
        );
        let id = probe(&s).await;
        assert_eq!(
            (id.oms_host_ip.as_deref(), id.oms_host_ip_source.as_str()),
            (Some("10.0.0.1"), "env")
        );
        assert_eq!(id.hostname, "localhost");
        assert!(
            id.hostname_ips
                .iter()
                .any(|ip| ip == "127.0.0.1" || ip == "::1"),
            "{:?}",
            id.hostname_ips
        );

        let s = sources(&[], &dir, b"OMS_HOST_IP=10.0.0.2\0", "localhost");
        assert_eq!(probe(&s).await.oms_host_ip.as_deref(), Some("10.0.0.2"));

        let s = sources(&[], &dir, b"HOME=/root\0", "localhost");
        assert_eq!(probe(&s).await.oms_host_ip, None);
    }

    #[tokio::test]
    async fn unresolvable_hostname_is_reported_not_fatal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = sources(&[], &dir, b"", "no-such-host.omswatch.invalid");
        let id = probe(&s).await;
        assert!(id.hostname_ips.is_empty());
        assert!(
            id.hostname_error.contains("does not resolve"),
            "{}",
            id.hostname_error
        );
    }
}
