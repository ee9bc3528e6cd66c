//! Waiting for a restart to end: the agent's answers and the program's state in its
//! node's reports, folded by [`Progress`] (pure, tested on its own) and driven by
//! [`until_done`] against two deadlines: the answer window (an agent that knows
//! commands says `accepted` or `refused` at once; silence means it is too old or
//! stuck) and the operator's `--wait` for the program to be RUNNING.
//!
//! Only states seen from the agent's final answer on count: a report before it may
//! still show the old process RUNNING.

use omswatch_common::proto::v1::Program;
use omswatch_common::restart::AgentResult;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::waiters::Observed;

/// How a restart ended, as far as the collector can tell.
#[derive(Debug, Clone, PartialEq)]
pub enum Waited {
    /// The agent refused the command; nothing changed. Its message names the switch.
    Refused(String),
    /// The agent could not run it; nothing changed (its message says why).
    Failed(String),
    /// No answer at all within the answer window.
    NoAnswer,
    /// The restart ran (or is still running).
    Ran {
        /// Whether the program was RUNNING in a report after the agent's final answer.
        running: bool,
        /// The program as last reported after that answer (or before, if none came).
        program: Option<Program>,
        /// What the agent said, or that it did not say how the restart ended.
        detail: String,
    },
}

/// What has been seen of one restart so far.
#[derive(Debug, Default)]
pub struct Progress {
    /// The agent accepted the command.
    accepted: bool,
    /// The agent's final answer: restarted or start_failed, with its message.
    finished: Option<(AgentResult, String)>,
    /// The program in the last report seen after the final answer.
    last: Option<Program>,
    /// Whether `last` was seen after the final answer.
    settled: bool,
}

impl Progress {
    /// Whether the agent has answered at all.
    pub fn answered(&self) -> bool {
        self.accepted || self.finished.is_some()
    }

    /// Folds one observation in; `Some` once the restart's end is known.
    pub fn see(&mut self, observed: Observed) -> Option<Waited> {
        match observed {
            Observed::Outcome(outcome) => match AgentResult::parse(&outcome.result) {
                Some(AgentResult::Accepted) => self.accepted = true,
                Some(AgentResult::Refused) => return Some(Waited::Refused(outcome.message)),
                Some(AgentResult::Failed) | None => {
                    return Some(Waited::Failed(outcome.message));
                }
                Some(result @ (AgentResult::Restarted | AgentResult::StartFailed)) => {
                    self.finished = Some((result, outcome.message));
                }
            },
            Observed::State(program) => {
                if self.finished.is_some() {
                    self.settled = true;
                    self.last = program;
                } else if self.last.is_none() {
                    self.last = program;
                }
            }
        }
        let state = self.last.as_ref().map(|p| p.state.as_str());
        match (self.settled, state) {
            // FATAL: supervisord gave up starting it; waiting longer changes nothing.
            (true, Some("RUNNING" | "FATAL")) => Some(self.ran()),
            _ => None,
        }
    }

    /// The end of a restart given up at its deadline.
    pub fn give_up(self) -> Waited {
        if self.answered() {
            self.ran()
        } else {
            Waited::NoAnswer
        }
    }

    fn ran(&self) -> Waited {
        let running = self.settled && self.last.as_ref().is_some_and(|p| p.state == "RUNNING");
        let detail = match &self.finished {
            Some((_, message)) => message.clone(),
            None => "the agent accepted the restart but has not said how it ended (a long \
                     stopwaitsecs or startsecs, or the agent lost its connection)"
                .into(),
        };
        Waited::Ran {
            running,
            program: self.last.clone(),
            detail,
        }
    }
}

/// Folds what `rx` brings until the end is known: the answer must come by
/// `answer_by`, the program must be RUNNING by `deadline`.
pub async fn until_done(
    rx: &mut mpsc::UnboundedReceiver<Observed>,
    answer_by: Instant,
    deadline: Instant,
) -> Waited {
    let mut progress = Progress::default();
    loop {
        let until = if progress.answered() {
            deadline
        } else {
            answer_by.min(deadline)
        };
        tokio::select! {
            observed = rx.recv() => match observed {
                Some(observed) => {
                    if let Some(done) = progress.see(observed) {
                        return done;
                    }
                }
                // The waiter is gone (the collector is stopping): what is known now.
                None => return progress.give_up(),
            },
            () = tokio::time::sleep_until(until) => return progress.give_up(),
        }
    }
}

#[cfg(test)]
mod tests {
    use omswatch_common::proto::v1::RestartOutcome;

    use super::*;

    fn outcome(result: &str, message: &str) -> Observed {
        Observed::Outcome(RestartOutcome {
            result: result.into(),
            message: message.into(),
            ..Default::default()
        })
    }

    fn state(state: &str) -> Observed {
        Observed::State(Some(Program {
            name: "oms_console".into(),
            state: state.into(),
            spawn_error: if state == "FATAL" {
                "Exited too quickly".into()
            } else {
                String::new()
            },
            ..Default::default()
        }))
    }

    fn fold(seen: Vec<Observed>) -> Option<Waited> {
        let mut progress = Progress::default();
        seen.into_iter().find_map(|o| progress.see(o))
    }

    fn running(waited: &Waited) -> Option<bool> {
        match waited {
            Waited::Ran { running, .. } => Some(*running),
            _ => None,
        }
    }

    #[test]
    fn running_counts_only_after_the_final_answer() {
        let done = fold(vec![
            state("RUNNING"), // the old process, before the stop
            outcome("accepted", ""),
            state("STOPPING"),
            outcome("restarted", "stopped and started"),
            state("RUNNING"),
        ])
        .expect("done");
        assert_eq!(running(&done), Some(true));
        assert!(fold(vec![state("RUNNING"), outcome("accepted", "")]).is_none());
    }

    #[test]
    fn refusals_and_failures_end_at_once() {
        let refused = fold(vec![outcome("refused", "--allow-restart is off")]);
        assert_eq!(
            refused,
            Some(Waited::Refused("--allow-restart is off".into()))
        );
        let failed = fold(vec![outcome("failed", "supervisord unreachable")]);
        assert_eq!(
            failed,
            Some(Waited::Failed("supervisord unreachable".into()))
        );
        let unknown = fold(vec![outcome("exploded", "?")]);
        assert!(matches!(unknown, Some(Waited::Failed(_))));
    }

    #[test]
    fn fatal_after_a_failed_start_ends_not_running_with_the_spawn_error() {
        let done = fold(vec![
            outcome("accepted", ""),
            outcome("start_failed", "SPAWN_ERROR: oms_console"),
            state("BACKOFF"),
            state("FATAL"),
        ])
        .expect("FATAL is final");
        match done {
            Waited::Ran {
                running: false,
                program: Some(p),
                detail,
            } => {
                assert_eq!(p.spawn_error, "Exited too quickly");
                assert!(detail.contains("SPAWN_ERROR"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn giving_up_tells_silence_from_a_slow_restart() {
        assert_eq!(Progress::default().give_up(), Waited::NoAnswer);
        let mut accepted = Progress::default();
        assert!(accepted.see(outcome("accepted", "")).is_none());
        assert!(accepted.see(state("STOPPING")).is_none());
        match accepted.give_up() {
            Waited::Ran {
                running: false,
                program,
                detail,
            } => {
                assert_eq!(program.map(|p| p.state).as_deref(), Some("STOPPING"));
                assert!(detail.contains("has not said how it ended"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn silence_ends_at_the_answer_window() {
        let (_tx, mut rx) = mpsc::unbounded_channel();
        let now = Instant::now();
        let answer_by = now + std::time::Duration::from_millis(50);
        let waited = until_done(&mut rx, answer_by, now + std::time::Duration::from_secs(60)).await;
        assert_eq!(waited, Waited::NoAnswer);
        assert!(now.elapsed() < std::time::Duration::from_secs(5));
    }
}
