//! The report writer: keeps every node's last report in the store within
//! [`FLUSH_DELAY`] of its arrival, off the ingest path.
//!
//! The aggregator hands each report to a [`ReportSink`]: a map of at most one
//! pending write per node (a bounded queue that coalesces: only the last report
//! of a node matters) and a wake-up. It never waits for the database. The
//! writer task takes the whole map after [`FLUSH_DELAY`], writes it in one
//! transaction, and on failure puts back what no newer report replaced, marks
//! the store down, and retries with a capped backoff — the collector keeps
//! answering meanwhile. So a kill -9 loses at most the reports of the last
//! flush delay plus one write; memory stays one report per node, whatever the
//! database does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omswatch_common::snapshot::NodeObservation;
use tokio::sync::{Notify, watch};

use super::Store;
use super::reports::NodeWrite;

/// How long reports gather before one write: batches without losing more than this.
pub const FLUSH_DELAY: Duration = Duration::from_millis(200);
/// Longest wait between retries while the store fails.
const RETRY_CAP: Duration = Duration::from_secs(30);

/// The aggregator's side: hands writes to the writer task without waiting.
#[derive(Clone, Default)]
pub struct ReportSink {
    pending: Arc<Mutex<HashMap<String, NodeWrite>>>,
    wake: Arc<Notify>,
}

impl ReportSink {
    /// Keeps `observation` as its node's latest (replacing a pending older one).
    pub fn save(&self, observation: &NodeObservation) {
        // Shares the report (an `Arc`): no copy of it waits here.
        self.put(
            &observation.report.node,
            NodeWrite::Save(Box::new(observation.clone())),
        );
    }

    /// Removes `node` from the store.
    pub fn forget(&self, node: &str) {
        self.put(node, NodeWrite::Forget);
    }

    fn put(&self, node: &str, write: NodeWrite) {
        if let Ok(mut pending) = self.pending.lock() {
            match pending.get_mut(node) {
                Some(older) => *older = write,
                None => {
                    pending.insert(node.to_string(), write);
                }
            }
        }
        self.wake.notify_one();
    }

    fn take(&self) -> HashMap<String, NodeWrite> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// Puts back writes that failed, unless a newer one arrived meanwhile.
    fn restore(&self, failed: HashMap<String, NodeWrite>) {
        if let Ok(mut pending) = self.pending.lock() {
            for (node, write) in failed {
                pending.entry(node).or_insert(write);
            }
        }
    }

    /// Number of nodes waiting to be written.
    pub fn backlog(&self) -> usize {
        self.pending.lock().map_or(0, |p| p.len())
    }
}

/// Runs the writer until `stop` turns true, then writes what is pending once more.
pub async fn run(store: Store, sink: ReportSink, mut stop: watch::Receiver<bool>) {
    let health = store.health();
    let mut retry = FLUSH_DELAY;
    loop {
        let stopping = tokio::select! {
            () = sink.wake.notified() => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        if !stopping {
            // Let a burst of reports gather; a stop cuts the wait short.
            let _ = tokio::time::timeout(FLUSH_DELAY, stop.wait_for(|s| *s)).await;
        }
        let batch = sink.take();
        if !batch.is_empty() {
            let writes: Vec<(String, NodeWrite)> =
                batch.iter().map(|(n, w)| (n.clone(), w.clone())).collect();
            match store.write_nodes(&writes).await {
                Ok(()) => {
                    health.ok();
                    retry = FLUSH_DELAY;
                }
                Err(e) => {
                    health.failed("node reports", &e);
                    sink.restore(batch);
                    if !*stop.borrow() {
                        let _ = tokio::time::timeout(retry, stop.wait_for(|s| *s)).await;
                        retry = (retry * 2).min(RETRY_CAP);
                        sink.wake.notify_one();
                    }
                }
            }
        }
        if stopping || *stop.borrow() {
            if sink.backlog() > 0 {
                tracing::warn!(
                    nodes = sink.backlog(),
                    "stopping with node reports not written to the store"
                );
            }
            return;
        }
    }
}
