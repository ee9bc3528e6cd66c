//! The snapshot indexed once for every rule: which nodes are live, their
//! normalised IPs, their region, which nodes stand behind an IP, and each
//! region's MetaDB rows by IP. Rules look things up here instead of scanning,
//! so a diagnosis stays linear in the cluster's size (see BENCHMARKS.md).

use std::collections::{HashMap, HashSet};

use crate::ip;
use crate::oms_config::RegionConfig;
use crate::proto::v1::{NodeConfig, NodeReport};
use crate::snapshot::{HeartbeatRow, HostRow, MetaDbView, Snapshot};

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
    /// Host rows by normalised IP; `None` when the table could not be read.
    pub hosts_by_ip: Option<HashMap<String, Vec<&'a HostRow>>>,
    /// Heartbeat rows by normalised host_ip; `None` when the table could not be read.
    pub beats_by_ip: Option<HashMap<String, Vec<&'a HeartbeatRow>>>,
}

impl<'a> RegionCtx<'a> {
    /// Host rows of `ip` (normalised); empty when none or unreadable.
    pub fn hosts_of(&self, ip: &str) -> &[&'a HostRow] {
        self.hosts_by_ip
            .as_ref()
            .and_then(|m| m.get(ip))
            .map_or(&[], Vec::as_slice)
    }

    /// Heartbeat rows of `ip` (normalised); empty when none or unreadable.
    pub fn beats_of(&self, ip: &str) -> &[&'a HeartbeatRow] {
        self.beats_by_ip
            .as_ref()
            .and_then(|m| m.get(ip))
            .map_or(&[], Vec::as_slice)
    }
}

/// The indexed snapshot.
pub(super) struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub nodes: Vec<NodeCtx<'a>>,
    pub regions: Vec<RegionCtx<'a>>,
    /// cm_nodes IP → indexes of the regions listing it.
    listing: HashMap<&'a str, Vec<usize>>,
    /// OMS_HOST_IP → indexes (into `nodes`) of live nodes reporting it.
    claiming: HashMap<String, Vec<usize>>,
    /// `hostname -i` address → indexes of live nodes resolving to it.
    resolving: HashMap<String, Vec<usize>>,
    /// Node name → index into `nodes` (live or not).
    by_name: HashMap<&'a str, usize>,
}

/// Reports are expected at least this often even if an agent claims a shorter interval.
const MIN_INTERVAL_MS: i64 = 1_000;

impl<'a> Context<'a> {
    pub fn new(snapshot: &'a Snapshot) -> Self {
        let regions = regions(snapshot);
        let mut listing: HashMap<&'a str, Vec<usize>> = HashMap::new();
        for (i, region) in regions.iter().enumerate() {
            for ip in &region.config.cm_nodes {
                let entry = listing.entry(ip.as_str()).or_default();
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
        let nodes: Vec<NodeCtx<'a>> = snapshot
            .nodes
            .iter()
            .map(|obs| node(snapshot, obs, &regions, &listing))
            .collect();
        let mut claiming: HashMap<String, Vec<usize>> = HashMap::new();
        let mut resolving: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, n) in nodes.iter().enumerate().filter(|(_, n)| n.live) {
            if let Some(ip) = &n.oms_ip {
                claiming.entry(ip.clone()).or_default().push(i);
            }
            for ip in &n.hostname_ips {
                resolving.entry(ip.clone()).or_default().push(i);
            }
        }
        let by_name = nodes.iter().enumerate().map(|(i, n)| (n.name, i)).collect();
        Self {
            snapshot,
            nodes,
            regions,
            listing,
            claiming,
            resolving,
            by_name,
        }
    }

    /// Live nodes only: a silent node's last report is history, not evidence.
    pub fn live(&self) -> impl Iterator<Item = &NodeCtx<'a>> {
        self.nodes.iter().filter(|n| n.live)
    }

    /// The node named `name`, live or not.
    pub fn node(&self, name: &str) -> Option<&NodeCtx<'a>> {
        self.by_name.get(name).map(|&i| &self.nodes[i])
    }

    /// Whether `ip` (normalised) is in any valid region's cm_nodes.
    pub fn in_any_cm_nodes(&self, ip: &str) -> bool {
        self.listing.contains_key(ip)
    }

    /// Indexes of the regions whose cm_nodes list `ip` (normalised).
    pub fn regions_listing(&self, ip: &str) -> &[usize] {
        self.listing.get(ip).map_or(&[], Vec::as_slice)
    }

    /// Live nodes whose OMS_HOST_IP is `ip` (normalised).
    pub fn claiming(&self, ip: &str) -> impl Iterator<Item = &NodeCtx<'a>> {
        self.claiming
            .get(ip)
            .into_iter()
            .flatten()
            .map(|&i| &self.nodes[i])
    }

    /// Names of live nodes whose OMS_HOST_IP is `ip`; failing that, whose `hostname -i` is.
    pub fn nodes_at(&self, ip: &str) -> Vec<String> {
        let names = |index: &HashMap<String, Vec<usize>>| -> Vec<String> {
            index
                .get(ip)
                .into_iter()
                .flatten()
                .map(|&i| self.nodes[i].name.to_string())
                .collect()
        };
        let claiming = names(&self.claiming);
        if claiming.is_empty() {
            names(&self.resolving)
        } else {
            claiming
        }
    }
}

fn regions(snapshot: &Snapshot) -> Vec<RegionCtx<'_>> {
    let mut seen: HashSet<&str> = HashSet::new();
    snapshot
        .regions
        .iter()
        .filter_map(|r| {
            let config = r.config.as_ref().ok()?;
            let owned_ips = config
                .cm_nodes
                .iter()
                .map(String::as_str)
                .filter(|ip| seen.insert(ip))
                .collect();
            let metadb = r.metadb.as_ref();
            Some(RegionCtx {
                config,
                metadb,
                summary: r.summary.as_ref(),
                owned_ips,
                hosts_by_ip: metadb
                    .and_then(|v| v.hosts.as_ref().ok())
                    .map(|rows| by_ip(rows, |r| &r.ip)),
                beats_by_ip: metadb
                    .and_then(|v| v.heartbeats.as_ref().ok())
                    .map(|rows| by_ip(rows, |r| &r.host_ip)),
            })
        })
        .collect()
}

/// Rows grouped by their normalised IP, in table order.
fn by_ip<T>(rows: &[T], ip_of: impl Fn(&T) -> &str) -> HashMap<String, Vec<&T>> {
    let mut map: HashMap<String, Vec<&T>> = HashMap::new();
    for row in rows {
        map.entry(ip::normalize(ip_of(row))).or_default().push(row);
    }
    map
}

fn node<'a>(
    snapshot: &'a Snapshot,
    obs: &'a crate::snapshot::NodeObservation,
    regions: &[RegionCtx<'a>],
    listing: &HashMap<&str, Vec<usize>>,
) -> NodeCtx<'a> {
    let report = &obs.report;
    let identity = report.identity.as_ref();
    let oms_ip = identity
        .and_then(|i| i.oms_host_ip.as_deref())
        .map(ip::normalize)
        .filter(|s| !s.is_empty());
    let silent_after = i64::from(snapshot.thresholds.silent_intervals.max(1));
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
        region: region_of(regions, listing, &report.region, oms_ip.as_deref()),
        hostname_ips: identity
            .map(|i| i.hostname_ips.iter().map(|s| ip::normalize(s)).collect())
            .unwrap_or_default(),
        oms_ip,
    }
}

/// A node's region: the one it names, else the first whose cm_nodes holds its IP,
/// else the only one.
fn region_of(
    regions: &[RegionCtx<'_>],
    listing: &HashMap<&str, Vec<usize>>,
    named: &str,
    oms_ip: Option<&str>,
) -> Option<usize> {
    if !named.is_empty()
        && let Some(i) = regions.iter().position(|r| r.config.cm_region == named)
    {
        return Some(i);
    }
    if let Some(first) = oms_ip
        .and_then(|ip| listing.get(ip))
        .and_then(|l| l.first())
    {
        return Some(*first);
    }
    (regions.len() == 1).then_some(0)
}
