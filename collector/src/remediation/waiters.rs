//! Restarts waiting for their node's answer: ingest shows every report to
//! [`Waiters::observe`], which takes the agent's `RestartOutcome` out of it (the
//! state keeps reports, not answers) and hands it, with the restarted program's
//! state in that same report, to the restart waiting for that node. With no
//! restart waiting (nearly always), a report costs one atomic load.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use omswatch_common::proto::v1::{NodeReport, Program, RestartOutcome};
use tokio::sync::mpsc;

/// What a waiting restart learns from one report of its node, in this order.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    /// The agent's answer to this restart's command.
    Outcome(RestartOutcome),
    /// The program as the report shows it (`None` when the report lists no such program).
    State(Option<Program>),
}

/// One restart waiting for its node.
struct Waiter {
    /// Its command's id.
    command_id: String,
    /// The program it restarts.
    program: String,
    /// Where its observations go.
    tx: mpsc::UnboundedSender<Observed>,
    /// Tells waiters of the same node apart, for removal.
    key: usize,
}

/// The restarts waiting, by node.
#[derive(Default)]
pub struct Waiters {
    by_node: Mutex<HashMap<String, Vec<Waiter>>>,
    /// How many are waiting: lets `observe` skip the lock when none is.
    count: AtomicUsize,
    next_key: AtomicUsize,
}

/// A registered waiter; removed when dropped.
pub struct Waiting {
    waiters: Arc<Waiters>,
    node: String,
    key: usize,
    /// What its node's reports show.
    pub rx: mpsc::UnboundedReceiver<Observed>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut map = self.waiters.lock();
        if let Some(list) = map.get_mut(&self.node) {
            list.retain(|w| w.key != self.key);
            if list.is_empty() {
                map.remove(&self.node);
            }
        }
        self.waiters.count.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Waiters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Waiter>>> {
        // Each change is one push or retain: a panic elsewhere leaves it whole.
        self.by_node
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for the answer to command `command_id`, restarting `program` on `node`.
    pub fn wait(self: &Arc<Self>, node: &str, program: &str, command_id: &str) -> Waiting {
        let (tx, rx) = mpsc::unbounded_channel();
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .entry(node.to_string())
            .or_default()
            .push(Waiter {
                command_id: command_id.to_string(),
                program: program.to_string(),
                tx,
                key,
            });
        self.count.fetch_add(1, Ordering::Relaxed);
        Waiting {
            waiters: Arc::clone(self),
            node: node.to_string(),
            key,
            rx,
        }
    }

    /// Takes the restart answer out of `report` and shows the report to the restarts
    /// waiting for its node. An answer nobody waits for (its restart gave up) is
    /// dropped; it is in the agent's log.
    pub fn observe(&self, report: &mut NodeReport) {
        let outcome = report.restart.take();
        if self.count.load(Ordering::Relaxed) == 0 {
            if let Some(outcome) = outcome {
                tracing::debug!(node = %report.node, command = %outcome.command_id, result = %outcome.result, "restart answer for no waiting restart");
            }
            return;
        }
        let map = self.lock();
        let Some(waiting) = map.get(&report.node) else {
            return;
        };
        for waiter in waiting {
            if let Some(outcome) = outcome
                .as_ref()
                .filter(|o| o.command_id == waiter.command_id)
            {
                let _ = waiter.tx.send(Observed::Outcome(outcome.clone()));
            }
            let program = report
                .supervisor
                .as_ref()
                .and_then(|s| s.programs.iter().find(|p| p.name == waiter.program))
                .cloned();
            let _ = waiter.tx.send(Observed::State(program));
        }
    }
}

#[cfg(test)]
mod tests {
    use omswatch_common::proto::v1::SupervisorStatus;

    use super::*;

    fn report(node: &str, state: &str, outcome: Option<&str>) -> NodeReport {
        NodeReport {
            node: node.into(),
            supervisor: Some(SupervisorStatus {
                programs: vec![Program {
                    name: "oms_console".into(),
                    state: state.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            restart: outcome.map(|id| RestartOutcome {
                command_id: id.into(),
                result: "restarted".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn answers_reach_their_restart_and_never_the_state() {
        let waiters = Arc::new(Waiters::default());
        let mut unrelated = report("n1", "RUNNING", Some("c0"));
        waiters.observe(&mut unrelated);
        assert!(unrelated.restart.is_none(), "taken out even when unawaited");
        let mut waiting = waiters.wait("n1", "oms_console", "c1");
        let mut other_node = report("n2", "STOPPED", Some("c1"));
        waiters.observe(&mut other_node);
        assert!(waiting.rx.try_recv().is_err(), "another node's report");
        let mut answer = report("n1", "RUNNING", Some("c1"));
        waiters.observe(&mut answer);
        assert!(answer.restart.is_none());
        match waiting.rx.try_recv() {
            Ok(Observed::Outcome(o)) => assert_eq!(o.command_id, "c1"),
            other => panic!("want the outcome first, got {other:?}"),
        }
        match waiting.rx.try_recv() {
            Ok(Observed::State(Some(p))) => assert_eq!(p.state, "RUNNING"),
            other => panic!("want the state, got {other:?}"),
        }
        let mut stale = report("n1", "STOPPED", Some("c9"));
        waiters.observe(&mut stale);
        assert!(matches!(waiting.rx.try_recv(), Ok(Observed::State(_))));
        assert!(waiting.rx.try_recv().is_err(), "another command's answer");
        drop(waiting);
        assert_eq!(waiters.count.load(Ordering::Relaxed), 0);
        assert!(waiters.lock().is_empty());
    }
}
