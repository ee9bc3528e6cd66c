//! The restart rule: the timeline records nothing until the collector's view
//! is worth recording again.
//!
//! Right after a restart every node restored from the store looks silent (its
//! last report is as old as the outage) until its agent reconnects, which an
//! agent's reconnect backoff may delay by up to 30 s. Recording that view would
//! raise and clear NODE_SILENT (and DOWN → ONLINE) for every node: a storm of
//! false events. So recording starts at the first tick at which **every node
//! restored from the store has reported to this process again**, or at the
//! latest after [`AGENT_BACKOFF_CAP_MS`] plus `silent_intervals` × the longest
//! interval of those nodes (by then an agent that is alive has reported, so a
//! node still silent really is). The first recorded tick is compared with the
//! store's active set: what is still wrong stays raised (no event), what
//! cleared while the collector was down is cleared, what is new is raised.
//! With an empty store (a first start) recording starts at the first tick.

use std::collections::HashMap;

use omswatch_common::snapshot::NodeObservation;

use super::plan::Observation;

/// The agent's default `--backoff-cap`: the longest an alive agent waits
/// between reconnect attempts.
pub const AGENT_BACKOFF_CAP_MS: i64 = 30_000;

/// Whether the grace after start is over.
#[derive(Debug, Clone)]
pub struct Grace {
    /// When this process started (collector clock, Unix ms).
    started_at_unix_ms: i64,
    /// Nodes restored from the store that have not reported since.
    waiting: HashMap<String, ()>,
    /// When the grace ends at the latest.
    deadline_unix_ms: i64,
    /// Set once over; it never comes back.
    over: bool,
}

impl Grace {
    /// The grace of a collector started at `started_at_unix_ms` with `restored`
    /// nodes, calling a node silent after `silent_intervals` of its interval.
    pub fn new(
        started_at_unix_ms: i64,
        restored: &[NodeObservation],
        silent_intervals: u32,
    ) -> Self {
        let longest = restored
            .iter()
            .map(|n| i64::from(n.report.interval_ms).max(1000))
            .max()
            .unwrap_or(0);
        Self {
            started_at_unix_ms,
            waiting: restored
                .iter()
                .map(|n| (n.report.node.clone(), ()))
                .collect(),
            deadline_unix_ms: started_at_unix_ms
                + AGENT_BACKOFF_CAP_MS
                + longest.saturating_mul(i64::from(silent_intervals.max(1))),
            over: restored.is_empty(),
        }
    }

    /// Whether `now` may be recorded; logs once when recording starts.
    pub fn admits(&mut self, now: &Observation) -> bool {
        if self.over {
            return true;
        }
        // Indexed once: a scan per waiting node is quadratic after restoring 10,000 nodes.
        let received: HashMap<&str, i64> = now
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.received_at_unix_ms))
            .collect();
        self.waiting.retain(|name, ()| {
            received
                .get(name.as_str())
                .is_some_and(|&at| at < self.started_at_unix_ms)
        });
        if self.waiting.is_empty() || now.at_unix_ms >= self.deadline_unix_ms {
            self.over = true;
            let mut silent: Vec<&String> = self.waiting.keys().collect();
            silent.sort();
            tracing::info!(
                still_silent = ?silent,
                "recording the timeline from this tick (after the restart grace)"
            );
        }
        self.over
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::timeline::plan::NodeRecord;
    use omswatch_common::proto::v1::NodeReport;

    fn restored(name: &str) -> NodeObservation {
        NodeObservation {
            report: NodeReport {
                node: name.into(),
                interval_ms: 5000,
                ..Default::default()
            }
            .into(),
            received_at_unix_ms: 500,
        }
    }

    fn tick(at: i64, nodes: &[(&str, i64)]) -> Observation {
        Observation {
            at_unix_ms: at,
            nodes: nodes
                .iter()
                .map(|(name, received)| NodeRecord {
                    name: name.to_string(),
                    state: "ONLINE".into(),
                    region: String::new(),
                    received_at_unix_ms: *received,
                    interval_ms: 5000,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_first_start_records_at_once() {
        assert!(Grace::new(1000, &[], 3).admits(&tick(1000, &[])));
    }

    #[test]
    fn recording_waits_until_every_restored_node_reported_again() {
        let mut grace = Grace::new(1000, &[restored("a"), restored("b")], 3);
        assert!(!grace.admits(&tick(1000, &[("a", 500), ("b", 500)])));
        assert!(!grace.admits(&tick(2000, &[("a", 1500), ("b", 500)])));
        assert!(grace.admits(&tick(3000, &[("a", 1500), ("b", 2500)])));
        // Once over, always over (a node going silent later is a real event).
        assert!(grace.admits(&tick(4000, &[("a", 1500), ("b", 2500)])));
    }

    #[test]
    fn a_node_that_stays_silent_ends_the_grace_at_the_deadline() {
        let mut grace = Grace::new(1000, &[restored("a"), restored("dead")], 3);
        let deadline = 1000 + AGENT_BACKOFF_CAP_MS + 3 * 5000;
        assert!(!grace.admits(&tick(deadline - 1, &[("a", 1500), ("dead", 500)])));
        assert!(grace.admits(&tick(deadline, &[("a", 1500), ("dead", 500)])));
    }

    #[test]
    fn a_forgotten_node_is_not_waited_for() {
        let mut grace = Grace::new(1000, &[restored("a"), restored("gone")], 3);
        assert!(grace.admits(&tick(2000, &[("a", 1500)])));
    }
}
