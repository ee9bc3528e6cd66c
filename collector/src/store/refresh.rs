//! Which reports are worth a write: the store keeps each node's last report so that a restarted
//! collector knows its nodes at once, and the next report (one interval later) replaces what it
//! restored anyway. So a report is written when it differs from the node's previous one in what
//! the diagnosis reads, and otherwise only every [`REFRESH_MS`], which keeps the stored time of
//! the last report at most that old. At 10,000 nodes reporting every 5 s this turns ~2,000 row
//! writes a second into a few dozen (BENCHMARKS.md, "10,000 agents").

use std::collections::HashMap;

use omswatch_common::proto::v1::{NodeReport, Program, SupervisorStatus};
use omswatch_common::snapshot::NodeObservation;

/// Longest time an unchanged node goes without a write: after a restart, a node's restored
/// last-report time is at most this old (the restart's grace keeps the timeline quiet until every
/// restored node has reported again).
pub const REFRESH_MS: i64 = 60_000;

/// The aggregator's record of when each node was last handed to the writer.
#[derive(Debug, Default)]
pub struct Refresh {
    saved_at: HashMap<String, i64>,
}

impl Refresh {
    /// Whether `new` should be written, given the node's `previous` report; records the write.
    pub fn due(&mut self, new: &NodeObservation, previous: Option<&NodeObservation>) -> bool {
        let node = new.report.node.as_str();
        let saved_at = self.saved_at.get(node).copied();
        let fresh = saved_at.is_some_and(|at| new.received_at_unix_ms - at < REFRESH_MS);
        if fresh && previous.is_some_and(|p| same_for_the_store(&p.report, &new.report)) {
            return false;
        }
        match self.saved_at.get_mut(node) {
            Some(at) => *at = new.received_at_unix_ms,
            None => {
                self.saved_at
                    .insert(node.to_string(), new.received_at_unix_ms);
            }
        }
        true
    }

    /// Forgets `node` (forgotten by an operator): its next report is written.
    pub fn forget(&mut self, node: &str) {
        self.saved_at.remove(node);
    }
}

/// Equal but for what changes at every report: sequence and send time, load, memory, disk
/// space and the clock (`resources`), programs' uptimes (`description`). Every other field is
/// named, so a field added to `NodeReport` must be classed here to compile.
fn same_for_the_store(a: &NodeReport, b: &NodeReport) -> bool {
    let NodeReport {
        node,
        agent_version,
        interval_ms,
        sent_at_unix_ms: _,
        seq: _,
        identity,
        supervisor,
        region,
        config,
        resources: _,
        health,
        restart,
        restart_policy,
    } = a;
    *node == b.node
        && *agent_version == b.agent_version
        && *interval_ms == b.interval_ms
        && *identity == b.identity
        && same_supervisor(supervisor.as_ref(), b.supervisor.as_ref())
        && *region == b.region
        && *config == b.config
        && *health == b.health
        && *restart == b.restart
        && *restart_policy == b.restart_policy
}

fn same_supervisor(a: Option<&SupervisorStatus>, b: Option<&SupervisorStatus>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.reachable == b.reachable
                && a.error == b.error
                && a.source == b.source
                && a.programs.len() == b.programs.len()
                && a.programs
                    .iter()
                    .zip(&b.programs)
                    .all(|(p, q)| same_program(p, q))
        }
        _ => false,
    }
}

/// A program but its `description` (supervisord's "pid 123, uptime 1:02:03").
fn same_program(a: &Program, b: &Program) -> bool {
    let Program {
        name,
        group,
        state,
        state_code,
        pid,
        start_unix,
        exit_status,
        spawn_error,
        description: _,
        autostart,
        config_file,
    } = a;
    *name == b.name
        && *group == b.group
        && *state == b.state
        && *state_code == b.state_code
        && *pid == b.pid
        && *start_unix == b.start_unix
        && *exit_status == b.exit_status
        && *spawn_error == b.spawn_error
        && *autostart == b.autostart
        && *config_file == b.config_file
}

#[cfg(test)]
mod tests {
    use super::*;
    use omswatch_common::proto::v1::Resources;

    fn seen(at: i64, seq: u64, state: &str, uptime: &str, load: f64) -> NodeObservation {
        NodeObservation {
            report: NodeReport {
                node: "n1".into(),
                seq,
                sent_at_unix_ms: at,
                supervisor: Some(SupervisorStatus {
                    programs: vec![Program {
                        name: "oms_console".into(),
                        state: state.into(),
                        description: format!("pid 7, uptime {uptime}"),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                resources: Some(Resources {
                    load5: load,
                    ..Default::default()
                }),
                ..Default::default()
            }
            .into(),
            received_at_unix_ms: at,
        }
    }

    #[test]
    fn only_changes_and_refreshes_are_written() {
        let mut refresh = Refresh::default();
        let first = seen(0, 1, "RUNNING", "0:00:05", 0.1);
        assert!(refresh.due(&first, None), "a node's first report");
        let same = seen(5_000, 2, "RUNNING", "0:00:10", 0.7);
        assert!(
            !refresh.due(&same, Some(&first)),
            "only volatile fields moved"
        );
        let stopped = seen(10_000, 3, "STOPPED", "0:00:10", 0.7);
        assert!(refresh.due(&stopped, Some(&same)), "a state changed");
        let later = seen(10_000 + REFRESH_MS, 4, "STOPPED", "0:00:10", 0.7);
        assert!(
            refresh.due(&later, Some(&stopped)),
            "refreshed after REFRESH_MS"
        );
        refresh.forget("n1");
        let again = seen(10_001 + REFRESH_MS, 5, "STOPPED", "0:00:10", 0.7);
        assert!(
            refresh.due(&again, Some(&later)),
            "a forgotten node is written again"
        );
    }
}
