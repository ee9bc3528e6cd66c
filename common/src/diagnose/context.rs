//! The snapshot indexed once for every rule: which nodes are live, their
//! normalised IPs, their region, and which nodes stand behind an IP.

use crate::ip;
use crate::oms_config::RegionConfig;
use crate::proto::v1::{NodeConfig, NodeReport};
use crate::snapshot::{MetaDbView, Snapshot};

/// One node as the rules see it.
pub(super) struct NodeCtx<'a> {
    pub name: &'a str,
    pub report: &'a NodeReport,
    pub age_ms: i64,
    /// When the collector received the report (collector clock, Unix milliseconds).
    pub received_at_ms: i64,
    pub interval_ms: i64,
    pub live: bool,
    /// Normalised OMS_HOST_IP; `None` when unset or blank.
    pub oms_ip: Option<String>,
    /// Normalised `hostname -i` addresses.
    pub hostname_ips: Vec<String>,
    /// Index into `Context::regions` of the node's region, when known.
    pub region: Option<usize>,
}

/// One region with a valid config.
pub(super) struct RegionCtx<'a> {
    pub config: &'a RegionConfig,
    pub metadb: Option<&'a MetaDbView>,
    /// The collector's copy of the file, summarised as agents summarise theirs.
    pub summary: Option<&'a NodeConfig>,
    /// The cm_nodes IPs this region is checked for: each once, and none that an
    /// earlier region lists (CM_NODES_DUPLICATE reports those, once).
    pub owned_ips: Vec<&'a str>,
}

/// The indexed snapshot.
pub(super) struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub nodes: Vec<NodeCtx<'a>>,
    pub regions: Vec<RegionCtx<'a>>,
}

/// Reports are expected at least this often even if an agent claims a shorter interval.
const MIN_INTERVAL_MS: i64 = 1_000;

impl<'a> Context<'a> {
    pub fn new(snapshot: &'a Snapshot) -> Self {
        let mut seen: Vec<&'a str> = Vec::new();
        let regions: Vec<RegionCtx<'a>> = snapshot
            .regions
            .iter()
            .filter_map(|r| {
                let config = r.config.as_ref().ok()?;
                let mut owned_ips = Vec::new();
                for ip in &config.cm_nodes {
                    if !seen.contains(&ip.as_str()) {
                        seen.push(ip);
                        owned_ips.push(ip.as_str());
                    }
                }
                Some(RegionCtx {
                    config,
                    metadb: r.metadb.as_ref(),
                    summary: r.summary.as_ref(),
                    owned_ips,
                })
            })
            .collect();
        let silent_after = i64::from(snapshot.thresholds.silent_intervals.max(1));
        let nodes = snapshot
            .nodes
            .iter()
            .map(|obs| {
                let report = &obs.report;
                let identity = report.identity.clone().unwrap_or_default();
                let oms_ip = identity
                    .oms_host_ip
                    .as_deref()
                    .map(ip::normalize)
                    .filter(|s| !s.is_empty());
                let interval_ms = i64::from(report.interval_ms).max(MIN_INTERVAL_MS);
                let age_ms = snapshot
                    .now_unix_ms
                    .saturating_sub(obs.received_at_unix_ms)
                    .max(0);
                NodeCtx {
                    name: &report.node,
                    report,
                    age_ms,
                    received_at_ms: obs.received_at_unix_ms,
                    interval_ms,
                    live: age_ms <= silent_after.saturating_mul(interval_ms),
                    region: region_of(&regions, &report.region, oms_ip.as_deref()),
                    hostname_ips: identity
                        .hostname_ips
                        .iter()
                        .map(|s| ip::normalize(s))
                        .collect(),
                    oms_ip,
                }
            })
            .collect();
        Self {
            snapshot,
            nodes,
            regions,
        }
    }

    /// Live nodes only: a silent node's last report is history, not evidence.
    pub fn live(&self) -> impl Iterator<Item = &NodeCtx<'a>> {
        self.nodes.iter().filter(|n| n.live)
    }

    /// Whether `ip` (normalised) is in any valid region's cm_nodes.
    pub fn in_any_cm_nodes(&self, ip: &str) -> bool {
        self.regions
            .iter()
            .any(|r| r.config.cm_nodes.iter().any(|n| n == ip))
    }

    /// Names of live nodes whose OMS_HOST_IP is `ip`; failing that, whose `hostname -i` is.
    pub fn nodes_at(&self, ip: &str) -> Vec<String> {
        if ip.is_empty() {
            return Vec::new();
        }
        let claiming: Vec<String> = self
            .live()
            .filter(|n| n.oms_ip.as_deref() == Some(ip))
            .map(|n| n.name.to_string())
            .collect();
        if !claiming.is_empty() {
            return claiming;
        }
        self.live()
            .filter(|n| n.hostname_ips.iter().any(|h| h == ip))
            .map(|n| n.name.to_string())
            .collect()
    }
}

/// A node's region: the one it names, else the one whose cm_nodes holds its IP,
/// else the only one.
fn region_of(regions: &[RegionCtx<'_>], named: &str, oms_ip: Option<&str>) -> Option<usize> {
    if !named.is_empty()
        && let Some(i) = regions.iter().position(|r| r.config.cm_region == named)
    {
        return Some(i);
    }
    if let Some(ip) = oms_ip
        && let Some(i) = regions
            .iter()
            .position(|r| r.config.cm_nodes.iter().any(|n| n == ip))
    {
        return Some(i);
    }
    (regions.len() == 1).then_some(0)
}
