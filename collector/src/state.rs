//! The aggregator: one task owns the latest reports, configs and MetaDB rows.
//! gRPC handlers and the poller talk to it over a channel, so no lock is shared
//! and every snapshot is consistent.

use std::collections::BTreeMap;

use omswatch_common::proto::v1::NodeReport;
use omswatch_common::snapshot::{NodeObservation, RegionInput, Snapshot, Thresholds};
use tokio::sync::{mpsc, oneshot};

/// The aggregator has stopped (the collector is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the collector's state task has stopped")]
pub struct StateGone;

enum Command {
    Report(Box<NodeReport>),
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
            .send(Command::Report(Box::new(report)))
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

/// Starts the aggregator with `restored` nodes (from the state file); it ends when
/// every handle is dropped.
pub fn spawn(
    thresholds: Thresholds,
    restored: Vec<NodeObservation>,
) -> (StateHandle, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Command>(256);
    let task = tokio::spawn(async move {
        let mut nodes: BTreeMap<String, NodeObservation> = restored
            .into_iter()
            .map(|n| (n.report.node.clone(), n))
            .collect();
        let mut regions: Vec<RegionInput> = Vec::new();
        while let Some(command) = rx.recv().await {
            match command {
                Command::Report(report) => {
                    let observation = NodeObservation {
                        report: *report,
                        received_at_unix_ms: omswatch_common::telemetry::now_unix_ms(),
                    };
                    nodes.insert(observation.report.node.clone(), observation);
                }
                Command::Regions(new) => regions = new,
                Command::Snapshot(reply) => {
                    let snapshot = Snapshot {
                        now_unix_ms: omswatch_common::telemetry::now_unix_ms(),
                        nodes: nodes.values().cloned().collect(),
                        regions: regions.clone(),
                        thresholds,
                    };
                    let _ = reply.send(snapshot); // the asker may have gone; nothing to do.
                }
            }
        }
    });
    (StateHandle { tx }, task)
}
