//! What a test asks for: nodes, regions and how each node is (mis)deployed.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use crate::{ProgramSpec, oms_programs};

/// The stand-in for OMS's nginx: a real HTTP server answering `/oms/health`.
pub fn nginx_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/oms_nginx.py")
}

/// OMS's programs where `nginx` serves `/oms/health` on 8089 (healthy or not).
pub fn oms_programs_serving_health(healthy: bool) -> Vec<ProgramSpec> {
    let mut programs = oms_programs();
    for p in programs.iter_mut().filter(|p| p.name == "nginx") {
        let flag = if healthy { "" } else { " --unhealthy" };
        p.command = format!("python3 {} 8089{flag}", nginx_script().display());
    }
    programs
}

/// A change to a generated config.yaml. `{ipN}` in any text is replaced by node N's IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigEdit {
    /// Set top-level `key` to `value` (added at the end when absent).
    Set(String, String),
    /// Remove top-level `key`.
    Remove(String),
    /// Replace text (must be present).
    Replace(String, String),
}

impl ConfigEdit {
    /// `key: value`.
    pub fn set(key: &str, value: &str) -> ConfigEdit {
        ConfigEdit::Set(key.into(), value.into())
    }

    /// Drop `key`.
    pub fn remove(key: &str) -> ConfigEdit {
        ConfigEdit::Remove(key.into())
    }

    /// Replace `old` by `new`.
    pub fn replace(old: &str, new: &str) -> ConfigEdit {
        ConfigEdit::Replace(old.into(), new.into())
    }
}

/// Which OMS_HOST_IP a node's container is "started" with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OmsHostIp {
    /// Its own address (the correct deployment).
    Own,
    /// Another node's address, by index (the classic copied `docker run` line).
    OfNode(usize),
    /// Not set at all.
    Unset,
}

/// One node of the cluster to build.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Node name (also its host name).
    pub name: String,
    /// Region index (0-based) whose cm_nodes lists it and whose config.yaml it mounts.
    pub region: usize,
    /// OMS_HOST_IP given to the agent.
    pub oms_host_ip: OmsHostIp,
    /// supervisord programs.
    pub programs: Vec<ProgramSpec>,
    /// Listed in its region's cm_nodes.
    pub in_cm_nodes: bool,
    /// host table row status for its IP; `None` = no row.
    pub host_status: Option<String>,
    /// Supervisor heartbeat age in seconds; `None` = no row.
    pub heartbeat_age_s: Option<i64>,
    /// Make its host name resolve to this address instead of its own (`hostname -i` differs).
    pub hosts_ip: Option<Ipv4Addr>,
    /// Start an agent for it.
    pub agent: bool,
    /// Whether a docker_init.log exists in its log directory.
    pub docker_init_ran: bool,
    /// Run its agent under libfaketime with this offset (e.g. "+60s"): a skewed clock.
    pub clock_offset: Option<String>,
    /// Edits of its own copy of config.yaml (applied after the region's edits).
    pub config_edits: Vec<ConfigEdit>,
    /// Extra arguments of its agent (e.g. `--allow-restart`), after the harness's own.
    pub agent_args: Vec<String>,
}

impl NodeSpec {
    /// A healthy node named `oms-node-<i>` (1-based) in region 0.
    pub fn healthy(i: usize) -> NodeSpec {
        NodeSpec {
            name: format!("oms-node-{i}"),
            region: 0,
            oms_host_ip: OmsHostIp::Own,
            programs: oms_programs_serving_health(true),
            in_cm_nodes: true,
            host_status: Some("ONLINE".into()),
            heartbeat_age_s: Some(0),
            hosts_ip: None,
            agent: true,
            docker_init_ran: true,
            clock_offset: None,
            config_edits: Vec::new(),
            agent_args: Vec::new(),
        }
    }
}

/// Where the collector keeps its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// An SQLite file in the cluster's directory (the collector's default kind).
    Sqlite,
    /// A database on the cluster's MariaDB, with the password in a file.
    MariaDb,
}

/// The cluster to build.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Nodes, in order.
    pub nodes: Vec<NodeSpec>,
    /// Number of regions (one config.yaml and heartbeat database each).
    pub regions: usize,
    /// Agents' reporting interval.
    pub interval: Duration,
    /// Collector tick.
    pub tick: Duration,
    /// Extra cm_nodes entries of region 0 beyond the nodes' own IPs (host part within the test /24).
    pub extra_cm_nodes: Vec<u8>,
    /// Replace region 0's generated config.yaml by this text (`{port}` is the MetaDB port).
    pub config_text: Option<String>,
    /// Edits of a region's config.yaml: (region index, edit).
    pub region_edits: Vec<(usize, ConfigEdit)>,
    /// Mutual TLS between every party (the default, as in production); `false`
    /// runs plain text with `--insecure --insecure-allow-remote`.
    pub tls: bool,
    /// Extra collector flags. By default resource thresholds are neutral
    /// (`--load-per-cpu 1000 --memory-available-min-pct 0 --disk-used-max-pct 100`),
    /// because this machine's real load and disks must not decide unrelated tests.
    pub collector_args: Vec<String>,
    /// The collector's store.
    pub store: StoreKind,
    /// A second collector on the same store (it must be [`StoreKind::MariaDb`]), with the
    /// same flags on other ports; agents report to both (see [`super::Peer`]).
    pub pair: bool,
}

/// Collector flags that keep this machine's real load, memory and disk out of tests.
pub fn neutral_resource_thresholds() -> Vec<String> {
    [
        "--load-per-cpu",
        "1000",
        "--memory-available-min-pct",
        "0",
        "--disk-used-max-pct",
        "100",
    ]
    .map(String::from)
    .to_vec()
}

impl ClusterSpec {
    /// `n` healthy nodes in one region, 1 s intervals.
    pub fn healthy(n: usize) -> ClusterSpec {
        ClusterSpec {
            nodes: (1..=n).map(NodeSpec::healthy).collect(),
            regions: 1,
            interval: Duration::from_secs(1),
            tick: Duration::from_millis(500),
            extra_cm_nodes: Vec::new(),
            config_text: None,
            region_edits: Vec::new(),
            tls: true,
            collector_args: neutral_resource_thresholds(),
            store: StoreKind::Sqlite,
            pair: false,
        }
    }

    /// The demo's cluster (`scripts/demo.sh`, and the Servers page's browser test): three
    /// nodes, node 2 started with node 1's OMS_HOST_IP (so, as on a real OMS, its own IP has
    /// no heartbeat row), 2 s report intervals. The demo then stops oms_console on node 3.
    pub fn demo() -> ClusterSpec {
        let mut spec = ClusterSpec::healthy(3);
        spec.interval = Duration::from_secs(2);
        spec.nodes[1].oms_host_ip = OmsHostIp::OfNode(0);
        spec.nodes[1].heartbeat_age_s = None;
        spec
    }
}
