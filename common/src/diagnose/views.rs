//! Node rows of the status: what each node looks like, its state derived from the
//! findings that name it, so table, JSON and findings never disagree.

use super::context::{Context, NodeCtx};
use super::metadb::is_online;
use crate::findings::{Finding, NodeImpact};
use std::collections::HashMap;

/// A node's overall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeState {
    /// Nothing wrong.
    Online,
    /// Serving, but misconfigured (a finding names it).
    Degraded,
    /// Not serving: silent, supervisord or a component down, host offline, heartbeat stale.
    Down,
}

impl NodeState {
    /// Wire name: ONLINE, DEGRADED, DOWN.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Online => "ONLINE",
            NodeState::Degraded => "DEGRADED",
            NodeState::Down => "DOWN",
        }
    }
}

/// One node's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    /// Node name.
    pub name: String,
    /// Region label (cm_region or config file), empty when unknown.
    pub region: String,
    /// Host name.
    pub hostname: String,
    /// OMS_HOST_IP, `None` when unset.
    pub oms_host_ip: Option<String>,
    /// `hostname -i` addresses.
    pub hostname_ips: Vec<String>,
    /// Derived state.
    pub state: NodeState,
    /// (program, state) pairs.
    pub components: Vec<(String, String)>,
    /// host_status of the host row for OMS_HOST_IP.
    pub host_status: Option<String>,
    /// Supervisor heartbeat age for OMS_HOST_IP (MetaDB clock).
    pub heartbeat_age_s: Option<i64>,
    /// Seconds since the last report.
    pub last_report_age_s: i64,
}

pub(super) fn node_views(ctx: &Context<'_>, findings: &[Finding]) -> Vec<NodeView> {
    let states = states(findings);
    let mut views: Vec<NodeView> = ctx.nodes.iter().map(|n| view(ctx, n, &states)).collect();
    views.sort_by(|a, b| a.name.cmp(&b.name));
    views
}

fn view(ctx: &Context<'_>, node: &NodeCtx<'_>, states: &HashMap<&str, NodeState>) -> NodeView {
    let identity = node.report.identity.clone().unwrap_or_default();
    let components = node
        .report
        .supervisor
        .iter()
        .flat_map(|s| s.programs.iter().map(|p| (p.name.clone(), p.state.clone())))
        .collect();
    let region = node
        .region
        .map(|i| ctx.regions[i].config.label())
        .unwrap_or_default();
    let (host_status, heartbeat_age_s) = match (&node.oms_ip, node.region) {
        (Some(ip), Some(i)) => metadb_facts(ctx, i, ip),
        _ => (None, None),
    };
    NodeView {
        name: node.name.to_string(),
        region,
        hostname: identity.hostname,
        oms_host_ip: identity.oms_host_ip.filter(|s| !s.trim().is_empty()),
        hostname_ips: identity.hostname_ips,
        state: states.get(node.name).copied().unwrap_or(NodeState::Online),
        components,
        host_status,
        heartbeat_age_s,
        last_report_age_s: node.age_ms / 1000,
    }
}

/// The host row status (online one preferred) and youngest heartbeat of `ip`.
fn metadb_facts(ctx: &Context<'_>, region: usize, ip: &str) -> (Option<String>, Option<i64>) {
    let region = &ctx.regions[region];
    let mine = region.hosts_of(ip);
    let best = mine
        .iter()
        .find(|r| is_online(r.host_status.as_deref()))
        .or(mine.first());
    let host_status = best.map(|r| r.host_status.clone().unwrap_or_else(|| "NULL".into()));
    let heartbeat = region.beats_of(ip).iter().filter_map(|r| r.age_s).min();
    (host_status, heartbeat)
}

/// Each named node's worst state over the findings naming it, in one pass.
fn states(findings: &[Finding]) -> HashMap<&str, NodeState> {
    let mut states: HashMap<&str, NodeState> = HashMap::new();
    for f in findings {
        let state = match f.code.entry().impact {
            NodeImpact::Down => NodeState::Down,
            NodeImpact::Degraded => NodeState::Degraded,
        };
        for name in &f.nodes {
            let entry = states.entry(name.as_str()).or_insert(state);
            *entry = (*entry).max(state);
        }
    }
    states
}
