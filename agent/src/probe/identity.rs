//! Who this node thinks it is: runbook step 3 (`hostname -i` vs OMS_HOST_IP).
//!
//! Sources are arguments ([`IdentitySources`]) so tests point them at their own
//! files and environments instead of mutating the process's.
//!
//! The host name and OMS_HOST_IP are read at every probe. What the host name resolves to and the
//! interfaces' addresses cost a resolver call on a blocking thread and a netlink dump, and change
//! far more rarely: they are kept for [`REFRESH`], and looked up again at once when the host name
//! or the resolver's files (`/etc/hosts`, `/etc/resolv.conf`) change.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omswatch_common::proto::v1::Identity;

use super::stamp::Watched;

/// How long the host name's addresses and the interfaces' addresses are reused: a change made
/// through DNS or to an interface shows within this (a change to /etc/hosts at once).
pub const REFRESH: Duration = Duration::from_secs(10);

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
    /// The resolver's files: when one changes, the host name is resolved again at once.
    pub resolver_files: Vec<PathBuf>,
}

impl Default for IdentitySources {
    fn default() -> Self {
        Self {
            env: Arc::new(ProcessEnv),
            pid1_environ: PathBuf::from("/proc/1/environ"),
            hostname_file: PathBuf::from("/proc/sys/kernel/hostname"),
            resolver_files: ["/etc/hosts", "/etc/resolv.conf"]
                .map(PathBuf::from)
                .to_vec(),
        }
    }
}

/// The host name's addresses (or why there are none) and the interfaces' addresses.
type Addresses = (Result<Vec<String>, String>, Vec<String>);

/// What was looked up for a host name, and when.
struct Lookup {
    /// The host name resolved.
    hostname: String,
    /// When.
    at: Instant,
    /// The resolver's files as they were.
    watched: Watched,
    /// Its addresses, or why there are none.
    hostname_ips: Result<Vec<String>, String>,
    /// The interfaces' addresses.
    interface_ips: Vec<String>,
}

/// Probes the node's identity; see the module docs.
pub struct IdentityProbe {
    /// Where to look.
    sources: IdentitySources,
    /// The last lookup.
    last: Mutex<Option<Lookup>>,
}

impl IdentityProbe {
    /// A probe of `sources`.
    pub fn new(sources: IdentitySources) -> IdentityProbe {
        IdentityProbe {
            sources,
            last: Mutex::new(None),
        }
    }

    /// Where it looks.
    pub fn sources(&self) -> &IdentitySources {
        &self.sources
    }

    /// The node's identity. Never fails: what cannot be learned is reported as such.
    pub async fn probe(&self) -> Identity {
        let sources = &self.sources;
        let (oms_host_ip, oms_host_ip_source) = oms_host_ip(sources);
        let mut identity = Identity {
            oms_host_ip,
            oms_host_ip_source,
            ..Default::default()
        };
        let hostname = match std::fs::read_to_string(&sources.hostname_file) {
            Ok(name) => name.trim().to_string(),
            Err(e) => {
                identity.hostname_error =
                    format!("cannot read {}: {e}", sources.hostname_file.display());
                identity.interface_ips = interface_ips();
                return identity;
            }
        };
        let (hostname_ips, interface_ips) = match self.reused(&hostname) {
            Some(found) => found,
            None => self.look_up(&hostname).await,
        };
        identity.hostname = hostname;
        match hostname_ips {
            Ok(ips) => identity.hostname_ips = ips,
            Err(e) => identity.hostname_error = e,
        }
        identity.interface_ips = interface_ips;
        identity
    }

    /// The last lookup's results, if it was for `hostname`, recent, and the resolver's files are
    /// unchanged.
    fn reused(&self, hostname: &str) -> Option<Addresses> {
        let last = self.last.lock().ok()?;
        let lookup = last.as_ref()?;
        let fresh = lookup.hostname == hostname
            && lookup.at.elapsed() < REFRESH
            && lookup.watched.unchanged();
        fresh.then(|| (lookup.hostname_ips.clone(), lookup.interface_ips.clone()))
    }

    /// Resolves `hostname` and lists the interfaces' addresses, and keeps both.
    async fn look_up(&self, hostname: &str) -> Addresses {
        let watched = Watched::of(self.sources.resolver_files.iter().map(PathBuf::as_path));
        let hostname_ips = resolve(hostname).await;
        let interface_ips = interface_ips();
        if let Ok(mut last) = self.last.lock() {
            *last = Some(Lookup {
                hostname: hostname.to_owned(),
                at: Instant::now(),
                watched,
                hostname_ips: hostname_ips.clone(),
                interface_ips: interface_ips.clone(),
            });
        }
        (hostname_ips, interface_ips)
    }
}

/// Shows the sources, not the results kept.
impl std::fmt::Debug for IdentityProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProbe")
            .field("pid1_environ", &self.sources.pid1_environ)
            .field("hostname_file", &self.sources.hostname_file)
            .finish_non_exhaustive()
    }
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
            ..IdentitySources::default()
        }
    }

    async fn probe(sources: &IdentitySources) -> Identity {
        IdentityProbe::new(sources.clone()).probe().await
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
    async fn a_new_host_name_is_resolved_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = sources(&[], &dir, b"", "localhost");
        let probe = IdentityProbe::new(s.clone());
        assert!(!probe.probe().await.hostname_ips.is_empty());
        std::fs::write(&s.hostname_file, "no-such-host.omswatch.invalid").expect("write");
        let id = probe.probe().await;
        assert_eq!(id.hostname, "no-such-host.omswatch.invalid");
        assert!(
            id.hostname_ips.is_empty() && !id.hostname_error.is_empty(),
            "{id:?}"
        );
        std::fs::write(&s.hostname_file, "localhost").expect("write");
        let id = probe.probe().await;
        assert!(
            !id.hostname_ips.is_empty() && id.hostname_error.is_empty(),
            "{id:?}"
        );
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
