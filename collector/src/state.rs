//! The aggregator: one task owns the latest reports, configs and MetaDB rows.
//! gRPC handlers and the poller talk to it over a channel, so no lock is shared
//! and every snapshot is consistent.

use std::collections::BTreeMap;
use std::sync::Arc;

use omswatch_common::proto::v1::NodeReport;
use omswatch_common::snapshot::{NodeObservation, RegionInput, Scope, Snapshot, Thresholds};
use tokio::sync::{mpsc, oneshot};

use crate::store::refresh::Refresh;
use crate::store::writer::ReportSink;

/// The aggregator has stopped (the collector is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the collector's state task has stopped")]
pub struct StateGone;

/// What forgetting a node did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forgotten {
    /// Removed; it was last heard from this many seconds ago.
    Removed {
        /// Seconds since its last report.
        silent_s: i64,
    },
    /// No node of that name.
    Unknown,
    /// Still reporting: it would be back at its next report.
    Live {
        /// Seconds since its last report.
        age_s: i64,
    },
}

enum Command {
    Report(Arc<NodeReport>),
    Forget(String, oneshot::Sender<Forgotten>),
    Regions(Vec<RegionInput>),
    Snapshot(oneshot::Sender<Snapshot>),
}

/// A cheap, cloneable handle to the aggregator task.
#[derive(Clone)]
pub struct StateHandle {
    tx: mpsc::Sender<Command>,
}

impl StateHandle {
    /// Stores a node's latest report, stamped with the collector's clock.
    pub async fn report(&self, report: NodeReport) -> Result<(), StateGone> {
        self.tx
            .send(Command::Report(Arc::new(report)))
            .await
            .map_err(|_| StateGone)
    }

    /// Replaces the regions (configs and MetaDB rows) after a poll.
    pub async fn set_regions(&self, regions: Vec<RegionInput>) -> Result<(), StateGone> {
        self.tx
            .send(Command::Regions(regions))
            .await
            .map_err(|_| StateGone)
    }

    /// Forgets node `name` unless it still reports (see [`Forgotten`]).
    pub async fn forget(&self, name: String) -> Result<Forgotten, StateGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Forget(name, tx))
            .await
            .map_err(|_| StateGone)?;
        rx.await.map_err(|_| StateGone)
    }

    /// Everything known now, for the diagnosis.
    pub async fn snapshot(&self) -> Result<Snapshot, StateGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Snapshot(tx))
            .await
            .map_err(|_| StateGone)?;
        rx.await.map_err(|_| StateGone)
    }
}

/// Starts the aggregator with `restored` nodes (from the store); every report that
/// changed (or is due for a refresh, see [`Refresh`]) and every forgotten node is also
/// handed to `sink` (the store's writer, which never makes the aggregator wait). It ends
/// when every handle is dropped.
pub fn spawn(
    thresholds: Thresholds,
    restored: Vec<NodeObservation>,
    sink: Option<ReportSink>,
) -> (StateHandle, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Command>(256);
    let task = tokio::spawn(async move {
        let mut nodes: BTreeMap<String, NodeObservation> = restored
            .into_iter()
            .map(|n| (n.report.node.clone(), n))
            .collect();
        let mut regions: Vec<RegionInput> = Vec::new();
        // A restored node has no record here: its first report after a restart is written.
        let mut refresh = Refresh::default();
        while let Some(command) = rx.recv().await {
            match command {
                Command::Report(report) => {
                    let observation = NodeObservation {
                        report,
                        received_at_unix_ms: omswatch_common::telemetry::now_unix_ms(),
                    };
                    let previous = nodes.get(&observation.report.node);
                    if let Some(sink) = &sink
                        && refresh.due(&observation, previous)
                    {
                        sink.save(&observation);
                    }
                    // The node's name is allocated once, when it first reports.
                    match nodes.get_mut(&observation.report.node) {
                        Some(known) => *known = observation,
                        None => {
                            nodes.insert(observation.report.node.clone(), observation);
                        }
                    }
                }
                Command::Regions(new) => regions = new,
                Command::Forget(name, reply) => {
                    let outcome = forget(&mut nodes, &name, thresholds.silent_intervals);
                    if let (Some(sink), Forgotten::Removed { .. }) = (&sink, &outcome) {
                        sink.forget(&name);
                        refresh.forget(&name);
                    }
                    let _ = reply.send(outcome);
                }
                Command::Snapshot(reply) => {
                    let snapshot = Snapshot {
                        now_unix_ms: omswatch_common::telemetry::now_unix_ms(),
                        nodes: nodes.values().cloned().collect(),
                        regions: regions.clone(),
                        thresholds,
                        scope: Scope::Cluster,
                    };
                    let _ = reply.send(snapshot); // the asker may have gone; nothing to do.
                }
            }
        }
    });
    (StateHandle { tx }, task)
}

/// Removes `name` unless it reported within `silent_intervals` of its interval
/// (the same liveness the diagnosis uses).
fn forget(
    nodes: &mut BTreeMap<String, NodeObservation>,
    name: &str,
    silent_intervals: u32,
) -> Forgotten {
    let Some(node) = nodes.get(name) else {
        return Forgotten::Unknown;
    };
    let age_ms = omswatch_common::telemetry::now_unix_ms().saturating_sub(node.received_at_unix_ms);
    let interval_ms = i64::from(node.report.interval_ms).max(1000);
    if age_ms <= interval_ms.saturating_mul(i64::from(silent_intervals.max(1))) {
        return Forgotten::Live {
            age_s: age_ms / 1000,
        };
    }
    nodes.remove(name);
    Forgotten::Removed {
        silent_s: age_ms / 1000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, received_at_unix_ms: i64) -> NodeObservation {
        NodeObservation {
            report: NodeReport {
                node: name.into(),
                interval_ms: 1000,
                ..Default::default()
            }
            .into(),
            received_at_unix_ms,
        }
    }

    #[test]
    fn only_silent_nodes_are_forgotten() {
        let now = omswatch_common::telemetry::now_unix_ms();
        let mut nodes: BTreeMap<String, NodeObservation> =
            [node("live", now), node("gone", now - 60_000)]
                .into_iter()
                .map(|n| (n.report.node.clone(), n))
                .collect();
        assert!(matches!(
            forget(&mut nodes, "live", 3),
            Forgotten::Live { .. }
        ));
        assert!(matches!(
            forget(&mut nodes, "gone", 3),
            Forgotten::Removed { silent_s: 59..=61 }
        ));
        assert_eq!(forget(&mut nodes, "gone", 3), Forgotten::Unknown);
        assert_eq!(nodes.keys().collect::<Vec<_>>(), ["live"]);
    }
}
