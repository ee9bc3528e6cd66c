//! What is pushed to Alertmanager, decided without I/O: one alert per active finding and
//! node it names (like `omswatch_finding_active`), and the book that remembers what fired so
//! a cleared finding is sent once more as resolved, as Prometheus does. Clock values are
//! arguments, so every rule is a unit test.

use std::collections::{BTreeMap, HashMap};

use omswatch_common::diagnose::Diagnosis;
use omswatch_common::findings::Finding;
use omswatch_common::snapshot::Snapshot;
use omswatch_common::views::history_json::rfc3339;
use serde::Serialize;

/// The cluster label without `--cluster-name` and without a region's cm_region.
pub const DEFAULT_CLUSTER: &str = "omswatch";
/// Resolved alerts are re-sent this long (as Prometheus keeps them 15 minutes), so an
/// Alertmanager that was down when a finding cleared still learns it.
pub const RESOLVED_KEEP_MS: i64 = 15 * 60 * 1000;
/// Most alerts pushed at once; beyond that the least severe are left out, with a warning.
pub const MAX_ALERTS: usize = 10_000;

/// One alert's identity: its labels.
pub type Labels = BTreeMap<String, String>;

/// One alert as the diagnosis gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// `alertname` (the code), `severity`, `node`, `region`, `cluster`, `id`, `root`.
    pub labels: Labels,
    /// `summary` (the message) and `remedy` (the fix).
    pub annotations: BTreeMap<String, String>,
    /// Since when (the timeline's raise time, else the first push that saw it).
    pub starts_at_unix_ms: i64,
}

/// An alert in Alertmanager's API v2 shape (`postableAlert`).
#[derive(Debug, Serialize)]
pub struct Postable<'a> {
    labels: &'a Labels,
    annotations: &'a BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt")]
    ends_at: String,
}

/// The cluster label: `--cluster-name`, else the first region's cm_region, else
/// [`DEFAULT_CLUSTER`].
pub fn cluster_of(setting: Option<&str>, snapshot: &Snapshot) -> String {
    if let Some(name) = setting {
        return name.to_string();
    }
    snapshot
        .regions
        .iter()
        .filter_map(|r| r.config.as_ref().ok())
        .map(|c| c.cm_region.clone())
        .find(|r| !r.is_empty())
        .unwrap_or_else(|| DEFAULT_CLUSTER.to_string())
}

/// The alerts of `diagnosis`: one per finding and node it names (one without a `node` label
/// for a finding naming none), most severe first, at most [`MAX_ALERTS`]. `since` gives a
/// finding's raise time when the timeline has it; `now` otherwise.
pub fn alerts_of(
    diagnosis: &Diagnosis,
    cluster: &str,
    since: &dyn Fn(&Finding) -> Option<i64>,
    now: i64,
) -> Vec<Alert> {
    let regions: HashMap<&str, &str> = diagnosis
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.region.as_str()))
        .collect();
    let mut out = Vec::new();
    for f in &diagnosis.findings {
        let nodes: Vec<Option<&str>> = if f.nodes.is_empty() {
            vec![None]
        } else {
            f.nodes.iter().map(|n| Some(n.as_str())).collect()
        };
        let annotations = BTreeMap::from([
            ("summary".to_string(), f.message.clone()),
            ("remedy".to_string(), f.remedy()),
        ]);
        for node in nodes {
            let mut labels = Labels::from([
                ("alertname".to_string(), f.code.as_str().to_string()),
                ("severity".to_string(), f.severity().as_str().to_string()),
                ("cluster".to_string(), cluster.to_string()),
                ("id".to_string(), f.id.clone()),
                ("root".to_string(), f.caused_by.is_none().to_string()),
            ]);
            if let Some(node) = node {
                labels.insert("node".into(), node.to_string());
            }
            let region = node
                .and_then(|n| regions.get(n).copied())
                .or_else(|| f.evidence.get("region").map(String::as_str))
                .filter(|r| !r.is_empty());
            if let Some(region) = region {
                labels.insert("region".into(), region.to_string());
            }
            out.push(Alert {
                labels,
                annotations: annotations.clone(),
                starts_at_unix_ms: since(f).unwrap_or(now),
            });
        }
    }
    out.truncate(MAX_ALERTS);
    out
}

/// What fired and what resolved recently: what each push sends.
#[derive(Debug, Default)]
pub struct Book {
    firing: BTreeMap<Labels, Alert>,
    /// Resolved alerts and when they resolved.
    resolved: BTreeMap<Labels, (Alert, i64)>,
    /// Alerts of events (restarts) and when each ends: firing until then, resolved after.
    events: BTreeMap<Labels, (Alert, i64)>,
}

impl Book {
    /// Takes the alerts firing `now`; true when one started or resolved (push at once).
    pub fn update(&mut self, current: Vec<Alert>, now: i64) -> bool {
        let mut changed = false;
        let mut next = BTreeMap::new();
        for mut alert in current {
            match self.firing.remove(&alert.labels) {
                // Keep the first start seen, whatever a later tick computes.
                Some(old) => alert.starts_at_unix_ms = old.starts_at_unix_ms,
                None => {
                    changed = true;
                    self.resolved.remove(&alert.labels);
                }
            }
            next.insert(alert.labels.clone(), alert);
        }
        for (labels, alert) in std::mem::replace(&mut self.firing, next) {
            changed = true;
            self.resolved.insert(labels, (alert, now));
        }
        changed
    }

    /// Takes the alert of an event (a restart, [`super::remediation`]) that fires until
    /// `ends_at`; an alert with the same labels (the same request) is updated, keeping its
    /// start. Always a change: push at once.
    pub fn event(&mut self, mut alert: Alert, ends_at: i64) {
        if let Some((old, _)) = self.events.remove(&alert.labels) {
            alert.starts_at_unix_ms = old.starts_at_unix_ms;
        }
        self.events.insert(alert.labels.clone(), (alert, ends_at));
    }

    /// Alerts firing now.
    pub fn firing(&self) -> usize {
        self.firing.len()
    }

    /// Whether there is anything to send.
    pub fn is_empty(&self) -> bool {
        self.firing.is_empty() && self.resolved.is_empty() && self.events.is_empty()
    }

    /// Forgets resolved alerts older than [`RESOLVED_KEEP_MS`].
    pub fn prune(&mut self, now: i64) {
        self.resolved
            .retain(|_, (_, at)| now.saturating_sub(*at) < RESOLVED_KEEP_MS);
        self.events
            .retain(|_, (_, ends)| now.saturating_sub(*ends) < RESOLVED_KEEP_MS);
    }

    /// What a push sends `now`: firing alerts ending `ends_in_ms` from now (they resolve by
    /// themselves if the collector stops pushing), resolved ones ending when they resolved,
    /// events' alerts ending when they end.
    pub fn postable(&self, now: i64, ends_in_ms: i64) -> Vec<Postable<'_>> {
        let firing = self.firing.values().map(|a| (a, now + ends_in_ms));
        let resolved = self.resolved.values().map(|(a, at)| (a, *at));
        let events = self.events.values().map(|(a, ends)| (a, *ends));
        firing
            .chain(resolved)
            .chain(events)
            .map(|(alert, ends)| Postable {
                labels: &alert.labels,
                annotations: &alert.annotations,
                starts_at: rfc3339(alert.starts_at_unix_ms),
                ends_at: rfc3339(ends.max(alert.starts_at_unix_ms)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
