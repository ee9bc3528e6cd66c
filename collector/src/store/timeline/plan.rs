//! What a tick changes: the observation of one tick (findings and node states)
//! against what the store holds as active, as a list of transitions. Pure, so
//! the rules are unit-tested without a database.

use std::collections::{BTreeMap, HashMap, HashSet};

use omswatch_common::diagnose::Diagnosis;
use omswatch_common::findings::Finding;
use omswatch_common::snapshot::Snapshot;

/// The timeline's identity of a finding: the diagnosis's own stable id (code and
/// subject, never ages or messages; see docs/FINDINGS.md), so the timeline, the
/// status, the metrics and the notifications name a problem alike. A finding
/// built without one (unit tests of rules) falls back to its code, nodes and the
/// evidence that names its subject.
pub fn finding_identity(f: &Finding) -> String {
    if !f.id.is_empty() {
        return f.id.clone();
    }
    let subject: Vec<String> = ["ip", "program", "file", "key", "target", "path", "db"]
        .iter()
        .filter_map(|k| f.evidence.get(*k).map(|v| format!("{k}={v}")))
        .collect();
    format!("{} [{}] {}", f.code, f.nodes.join(","), subject.join(" "))
        .trim_end()
        .to_string()
}

/// One finding as the timeline records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRecord {
    /// [`finding_identity`].
    pub id: String,
    /// Code.
    pub code: String,
    /// Severity.
    pub severity: String,
    /// Nodes concerned.
    pub nodes: Vec<String>,
    /// Message.
    pub message: String,
    /// Evidence.
    pub evidence: BTreeMap<String, String>,
}

impl FindingRecord {
    /// The record of `f`.
    pub fn of(f: &Finding) -> Self {
        Self {
            id: finding_identity(f),
            code: f.code.as_str().to_string(),
            severity: f.severity().as_str().to_string(),
            nodes: f.nodes.clone(),
            message: f.message.clone(),
            evidence: f.evidence.clone(),
        }
    }
}

/// A finding active in the store, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveFinding {
    /// The finding as raised.
    pub record: FindingRecord,
    /// When it was raised (by whichever collector raised it).
    pub raised_at_unix_ms: i64,
}

/// One node as one tick saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// Name.
    pub name: String,
    /// ONLINE, DEGRADED or DOWN.
    pub state: String,
    /// Region label, empty when unknown.
    pub region: String,
    /// When its last report arrived (collector clock, Unix ms).
    pub received_at_unix_ms: i64,
    /// Its agent's interval.
    pub interval_ms: u32,
}

/// What one tick saw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observation {
    /// The tick's time (collector clock, Unix ms).
    pub at_unix_ms: i64,
    /// Every finding.
    pub findings: Vec<FindingRecord>,
    /// Every node.
    pub nodes: Vec<NodeRecord>,
}

impl Observation {
    /// The observation of a diagnosed snapshot.
    pub fn of(snapshot: &Snapshot, diagnosis: &Diagnosis) -> Self {
        let reports: HashMap<&str, (i64, u32)> = snapshot
            .nodes
            .iter()
            .map(|n| {
                (
                    n.report.node.as_str(),
                    (n.received_at_unix_ms, n.report.interval_ms),
                )
            })
            .collect();
        Self {
            at_unix_ms: snapshot.now_unix_ms,
            findings: diagnosis.findings.iter().map(FindingRecord::of).collect(),
            nodes: diagnosis
                .nodes
                .iter()
                .map(|v| {
                    let (received_at_unix_ms, interval_ms) =
                        reports.get(v.name.as_str()).copied().unwrap_or_default();
                    NodeRecord {
                        name: v.name.clone(),
                        state: v.state.as_str().to_string(),
                        region: v.region.clone(),
                        received_at_unix_ms,
                        interval_ms,
                    }
                })
                .collect(),
        }
    }
}

/// One change to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// A finding went away.
    Clear(ActiveFinding),
    /// A finding appeared.
    Raise(FindingRecord),
    /// A node's state changed (or the node appeared: `from` None).
    NodeState {
        /// The node.
        node: String,
        /// Its state before, as this collector knows it.
        from: Option<String>,
        /// Its state now.
        to: String,
        /// Its region.
        region: String,
    },
    /// A node is no longer known (forgotten): its recorded state is dropped, no event.
    NodeGone(String),
}

/// The transitions from (`active`, `states`) to `now`: clears first, then
/// raises, then node states, so a cause is listed before its effect.
pub fn plan(
    active: &HashMap<String, ActiveFinding>,
    states: &HashMap<String, String>,
    now: &Observation,
) -> Vec<Transition> {
    let current: HashMap<&str, &FindingRecord> =
        now.findings.iter().map(|f| (f.id.as_str(), f)).collect();
    let mut out: Vec<Transition> = Vec::new();
    let mut cleared: Vec<&ActiveFinding> = active
        .iter()
        .filter(|(id, _)| !current.contains_key(id.as_str()))
        .map(|(_, a)| a)
        .collect();
    cleared.sort_by(|a, b| a.record.id.cmp(&b.record.id));
    out.extend(cleared.into_iter().cloned().map(Transition::Clear));
    // Sets, not scans: at 10,000 nodes a scan per finding or per node is quadratic.
    let mut raised: Vec<&FindingRecord> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for f in &now.findings {
        if !active.contains_key(&f.id) && seen.insert(f.id.as_str()) {
            raised.push(f);
        }
    }
    out.extend(raised.into_iter().cloned().map(Transition::Raise));
    for node in &now.nodes {
        let from = states.get(&node.name);
        if from != Some(&node.state) {
            out.push(Transition::NodeState {
                node: node.name.clone(),
                from: from.cloned(),
                to: node.state.clone(),
                region: node.region.clone(),
            });
        }
    }
    let present: HashSet<&str> = now.nodes.iter().map(|v| v.name.as_str()).collect();
    let mut gone: Vec<&String> = states
        .keys()
        .filter(|n| !present.contains(n.as_str()))
        .collect();
    gone.sort();
    out.extend(gone.into_iter().cloned().map(Transition::NodeGone));
    out
}

#[cfg(test)]
mod tests;
