//! The metric families, one function each, built into a fresh registry per scrape.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use omswatch_common::diagnose::{Diagnosis, NodeState};
use omswatch_common::findings::Severity;
use omswatch_common::snapshot::Snapshot;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::CollectorStats;

/// A gauge of seconds (fractional).
type Seconds = Gauge<f64, AtomicU64>;

/// Every node state, so a node has one series per state (1 for its own, 0 for the others).
const STATES: [NodeState; 3] = [NodeState::Online, NodeState::Degraded, NodeState::Down];
/// Every severity, so `omswatch_findings` has a series for each even at 0.
const SEVERITIES: [Severity; 3] = [Severity::Critical, Severity::Warning, Severity::Info];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeStateLabels {
    node: String,
    region: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabels {
    node: String,
    program: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    code: String,
    severity: String,
    node: String,
    root: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingInfoLabels {
    id: String,
    code: String,
    node: String,
    summary: String,
    remedy: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabels {
    severity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HeartbeatLabels {
    node: String,
    ip: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeLabels {
    node: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegionLabels {
    region: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: String,
}

/// A registry holding every omswatch family for this snapshot, its diagnosis and the
/// collector's counters. Linear in nodes, programs and findings.
pub fn build(snapshot: &Snapshot, diagnosis: &Diagnosis, stats: &CollectorStats) -> Registry {
    let mut registry = Registry::default();
    nodes(&mut registry, diagnosis);
    findings(&mut registry, diagnosis);
    ages(&mut registry, snapshot, diagnosis);
    metadb(&mut registry, snapshot);
    collector(&mut registry, stats);
    super::service::register(&mut registry, stats);
    registry
}

fn nodes(registry: &mut Registry, diagnosis: &Diagnosis) {
    let state = Family::<NodeStateLabels, Gauge>::default();
    let up = Family::<ComponentLabels, Gauge>::default();
    for node in &diagnosis.nodes {
        for s in STATES {
            let labels = NodeStateLabels {
                node: node.name.clone(),
                region: node.region.clone(),
                state: s.as_str().to_string(),
            };
            state.get_or_create(&labels).set(i64::from(node.state == s));
        }
        for (program, program_state) in &node.components {
            let labels = ComponentLabels {
                node: node.name.clone(),
                program: program.clone(),
            };
            up.get_or_create(&labels)
                .set(i64::from(program_state == "RUNNING"));
        }
    }
    registry.register(
        "omswatch_node_state",
        "The node's state, one series per state: 1 for the state it is in (ONLINE, DEGRADED, DOWN), 0 for the others",
        state,
    );
    registry.register(
        "omswatch_component_up",
        "1 when the supervisord program is RUNNING on the node, else 0",
        up,
    );
}

/// `omswatch_finding_active`, `omswatch_finding_info` and `omswatch_findings`. Two findings
/// of one code on one node (two stopped programs) share a series: it says "active".
fn findings(registry: &mut Registry, diagnosis: &Diagnosis) {
    let active = Family::<FindingLabels, Gauge>::default();
    let info = Family::<FindingInfoLabels, Gauge>::default();
    let mut counts: BTreeMap<&str, i64> = SEVERITIES.iter().map(|s| (s.as_str(), 0)).collect();
    for f in &diagnosis.findings {
        *counts.entry(f.severity().as_str()).or_default() += 1;
        let remedy = f.remedy();
        let named: Vec<&str> = if f.nodes.is_empty() {
            vec![""]
        } else {
            f.nodes.iter().map(String::as_str).collect()
        };
        for node in named {
            let labels = FindingLabels {
                code: f.code.as_str().to_string(),
                severity: f.severity().as_str().to_string(),
                node: node.to_string(),
                root: f.caused_by.is_none().to_string(),
            };
            active.get_or_create(&labels).set(1);
            let labels = FindingInfoLabels {
                id: f.id.clone(),
                code: f.code.as_str().to_string(),
                node: node.to_string(),
                summary: f.code.entry().meaning.to_string(),
                remedy: remedy.clone(),
            };
            info.get_or_create(&labels).set(1);
        }
    }
    let by_severity = Family::<SeverityLabels, Gauge>::default();
    for (severity, n) in counts {
        let labels = SeverityLabels {
            severity: severity.to_string(),
        };
        by_severity.get_or_create(&labels).set(n);
    }
    registry.register(
        "omswatch_finding_active",
        "1 per active finding and node it names (node=\"\" when it names none); root=\"true\" for a root cause, \"false\" for a symptom folded under one",
        active,
    );
    registry.register(
        "omswatch_finding_info",
        "1 per active finding and node it names, carrying its stable id, the code's one-line summary and the fix (for alert annotations; the full message is in GET /api/v1/status under the same id)",
        info,
    );
    registry.register(
        "omswatch_findings",
        "Active findings by severity (symptoms included)",
        by_severity,
    );
}

fn ages(registry: &mut Registry, snapshot: &Snapshot, diagnosis: &Diagnosis) {
    let heartbeat = Family::<HeartbeatLabels, Seconds>::default();
    for node in &diagnosis.nodes {
        if let (Some(ip), Some(age)) = (&node.oms_host_ip, node.heartbeat_age_s) {
            let labels = HeartbeatLabels {
                node: node.name.clone(),
                ip: ip.clone(),
            };
            heartbeat.get_or_create(&labels).set(age as f64);
        }
    }
    let report = Family::<NodeLabels, Seconds>::default();
    for node in &snapshot.nodes {
        let age_ms = snapshot
            .now_unix_ms
            .saturating_sub(node.received_at_unix_ms)
            .max(0);
        let labels = NodeLabels {
            node: node.report.node.clone(),
        };
        report.get_or_create(&labels).set(age_ms as f64 / 1000.0);
    }
    registry.register(
        "omswatch_heartbeat_age_seconds",
        "Age of the supervisor heartbeat of the node's OMS_HOST_IP in the MetaDB, by the MetaDB's clock",
        heartbeat,
    );
    registry.register(
        "omswatch_report_age_seconds",
        "Seconds since the collector received the node's last report",
        report,
    );
}

/// 1 per region whose MetaDB was read at the last tick, 0 when that read failed; absent
/// before the first read or while its config.yaml is invalid (CONFIG_INVALID says why).
fn metadb(registry: &mut Registry, snapshot: &Snapshot) {
    let up = Family::<RegionLabels, Gauge>::default();
    for region in &snapshot.regions {
        let (Ok(config), Some(view)) = (&region.config, &region.metadb) else {
            continue;
        };
        let read = view.hosts.is_ok() && view.heartbeats.is_ok();
        up.get_or_create(&RegionLabels {
            region: config.label(),
        })
        .set(i64::from(read));
    }
    registry.register(
        "omswatch_metadb_up",
        "1 when the region's MetaDB answered the last read of its host and heart_beat tables, 0 when it failed",
        up,
    );
}

fn collector(registry: &mut Registry, stats: &CollectorStats) {
    let received = Counter::<u64>::default();
    received.inc_by(stats.reports_received);
    let refused = Family::<ReasonLabels, Counter>::default();
    for (reason, n) in &stats.reports_refused {
        let labels = ReasonLabels {
            reason: reason.as_str().to_string(),
        };
        refused.get_or_create(&labels).inc_by(*n);
    }
    let connected = Gauge::<i64>::default();
    connected.set(i64::try_from(stats.agents_connected).unwrap_or(i64::MAX));
    let build = Family::<VersionLabels, Gauge>::default();
    build
        .get_or_create(&VersionLabels {
            version: crate::VERSION.to_string(),
        })
        .set(1);
    registry.register(
        "omswatch_reports_received",
        "Agent reports accepted by the collector since it started",
        received,
    );
    registry.register(
        "omswatch_reports_refused",
        "Agent reports or report streams refused since the collector started, by reason (credentials, wrong_node, rate, limits, too_large, malformed)",
        refused,
    );
    registry.register(
        "omswatch_agents_connected",
        "Agent report streams open now",
        connected,
    );
    registry.register(
        "omswatch_build_info",
        "Always 1; the collector's version in the label",
        build,
    );
}
