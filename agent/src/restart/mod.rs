//! Restart commands from the collector: checked by the agent's own rules ([`guard`]:
//! `--allow-restart`, `--restart-programs`, never the agent itself, one per program per
//! minute, replay and expiry), then run through supervisord
//! ([`crate::probe::supervisor::SupervisorProbe::restart`]). Each command is answered
//! on the stream that brought it ([`crate::run`] puts the answer on a fresh report):
//! `refused`, or `accepted` at once and then how it ended.
//!
//! What the agent remembers (ids seen, each program's last restart) is shared by every
//! stream and survives reconnects: a command replayed on a new connection, or sent by
//! a second collector, is judged against the same memory.

pub mod ancestry;
pub mod guard;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omswatch_common::proto::v1::{RestartCommand, RestartOutcome};
use omswatch_common::restart::AgentResult;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::probe::supervisor::SupervisorProbe;

pub use guard::{Guard, Policy};

/// How long each step (stop, start) may take: supervisord's own `stopwaitsecs` and
/// `startsecs` decide, this only bounds a supervisord that stopped answering.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// The agent's restarts: its switches, its memory and the supervisord to act on.
/// Cheap to clone (clones share the memory).
#[derive(Clone)]
pub struct Restarts {
    policy: Policy,
    guard: Arc<Mutex<Guard>>,
    /// None when restarts are off: nothing to act on.
    supervisor: Option<Arc<SupervisorProbe>>,
    /// Where the agent's ancestors are read.
    proc_root: PathBuf,
}

impl std::fmt::Debug for Restarts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restarts")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Default for Restarts {
    /// Off: every command is refused, naming `--allow-restart`.
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            guard: Arc::default(),
            supervisor: None,
            proc_root: PathBuf::from("/proc"),
        }
    }
}

impl Restarts {
    /// Restarts under `policy`, acting through `supervisor`, the agent's ancestors read
    /// under `proc_root`.
    pub fn new(policy: Policy, supervisor: SupervisorProbe, proc_root: PathBuf) -> Self {
        Self {
            policy,
            guard: Arc::default(),
            supervisor: Some(Arc::new(supervisor)),
            proc_root,
        }
    }

    /// Restarts as the flags ask: `--allow-restart` (`allow`) and `--restart-programs`
    /// (`programs`), acting through a supervisord probe with `supervisor`'s settings.
    /// A list naming the agent itself is refused: it never restarts itself.
    pub fn from_flags(
        allow: bool,
        programs: Vec<String>,
        supervisor: crate::probe::supervisor::SupervisorSettings,
    ) -> Result<Restarts, String> {
        let programs: Vec<String> = programs
            .into_iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if let Some(own) = programs
            .iter()
            .find(|p| omswatch_common::restart::names_the_agent(p))
        {
            return Err(format!(
                "--restart-programs names {own}, omswatch's own agent, which is never restarted \
                 through itself: remove it from the list"
            ));
        }
        let policy = Policy { allow, programs };
        if !allow {
            return Ok(Restarts {
                policy,
                ..Restarts::default()
            });
        }
        // The agent's own /proc, whatever --proc-root says: its ancestors are its own.
        let proc_root = PathBuf::from("/proc");
        Ok(Restarts::new(
            policy,
            SupervisorProbe::new(supervisor),
            proc_root,
        ))
    }

    /// The switches.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The switches as every report advertises them.
    pub fn advertised(&self) -> omswatch_common::proto::v1::RestartPolicy {
        omswatch_common::proto::v1::RestartPolicy {
            allowed: self.policy.allow,
            programs: if self.policy.allow {
                self.policy.programs.clone()
            } else {
                Vec::new()
            },
        }
    }

    /// Handles `command`: refused at once, or run in its own task; every answer goes
    /// to `answers` (the stream that brought it). A restart under way is not stopped
    /// when that stream ends: leaving a program stopped would be worse.
    pub fn receive(&self, command: RestartCommand, answers: mpsc::Sender<RestartOutcome>) {
        tracing::info!(command = %command.id, program = %command.program, actor = %command.actor, reason = %command.reason, "restart command received");
        let now = Instant::now();
        let checked = self
            .guard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .check(
                &self.policy,
                &command,
                now,
                omswatch_common::telemetry::now_unix_ms(),
            );
        let supervisor = match (checked, &self.supervisor) {
            (Ok(()), Some(supervisor)) => Arc::clone(supervisor),
            (Ok(()), None) => {
                answer_now(
                    &answers,
                    &command,
                    AgentResult::Refused,
                    "restarts are off on this node: start omswatch-agent with --allow-restart"
                        .into(),
                );
                return;
            }
            (Err(why), _) => {
                answer_now(&answers, &command, AgentResult::Refused, why);
                return;
            }
        };
        let run = Run {
            supervisor,
            guard: Arc::clone(&self.guard),
            proc_root: self.proc_root.clone(),
            accepted_at: now,
        };
        tokio::spawn(run.execute(command, answers));
    }
}

/// One accepted command being run.
struct Run {
    supervisor: Arc<SupervisorProbe>,
    guard: Arc<Mutex<Guard>>,
    proc_root: PathBuf,
    accepted_at: Instant,
}

impl Run {
    async fn execute(self, command: RestartCommand, answers: mpsc::Sender<RestartOutcome>) {
        let name = command.program.as_str();
        let program = match self.supervisor.find_program(name).await {
            Ok(program) => program,
            Err(why) => {
                self.give_back(name);
                let why = format!("cannot restart {name}: {why}");
                return answer(
                    &answers,
                    &command,
                    AgentResult::Failed,
                    why,
                    Duration::ZERO,
                    "",
                )
                .await;
            }
        };
        let mine = ancestry::ancestors(&self.proc_root, std::process::id());
        if program.pid != 0 && mine.contains(&program.pid) {
            self.give_back(name);
            let why = format!(
                "{name} (pid {}) is this agent itself, which is never restarted through itself",
                program.pid
            );
            return answer(
                &answers,
                &command,
                AgentResult::Refused,
                why,
                Duration::ZERO,
                "",
            )
            .await;
        }
        answer(
            &answers,
            &command,
            AgentResult::Accepted,
            String::new(),
            Duration::ZERO,
            "",
        )
        .await;
        let started = Instant::now();
        let done = self.supervisor.restart(&program, STEP_TIMEOUT).await;
        if done.result == AgentResult::Failed {
            self.give_back(name);
        }
        answer(
            &answers,
            &command,
            done.result,
            done.message,
            started.elapsed(),
            &done.via,
        )
        .await;
    }

    /// The restart did not happen: the program's minute is not used up.
    fn give_back(&self, program: &str) {
        self.guard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .give_back(program, self.accepted_at);
    }
}

/// The answer to `command`.
fn outcome(
    command: &RestartCommand,
    result: AgentResult,
    message: String,
    took: Duration,
    via: &str,
) -> RestartOutcome {
    RestartOutcome {
        command_id: command.id.clone(),
        program: command.program.clone(),
        result: result.as_str().into(),
        message,
        duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        via: via.into(),
    }
}

/// Logs and queues an answer without waiting (from the stream's own task).
fn answer_now(
    answers: &mpsc::Sender<RestartOutcome>,
    command: &RestartCommand,
    result: AgentResult,
    message: String,
) {
    tracing::warn!(command = %command.id, program = %command.program, reason = %message, "restart command refused");
    if answers
        .try_send(outcome(command, result, message, Duration::ZERO, ""))
        .is_err()
    {
        tracing::warn!(command = %command.id, "the refusal could not be queued for the collector");
    }
}

/// Logs and sends an answer from a restart's task.
async fn answer(
    answers: &mpsc::Sender<RestartOutcome>,
    command: &RestartCommand,
    result: AgentResult,
    message: String,
    took: Duration,
    via: &str,
) {
    match result {
        AgentResult::Accepted => {
            tracing::info!(command = %command.id, program = %command.program, "restart accepted")
        }
        AgentResult::Restarted => {
            tracing::info!(command = %command.id, program = %command.program, ?took, %via, %message, "restart done")
        }
        _ => {
            tracing::warn!(command = %command.id, program = %command.program, result = result.as_str(), ?took, %via, %message, "restart not done")
        }
    }
    if answers
        .send(outcome(command, result, message, took, via))
        .await
        .is_err()
    {
        tracing::warn!(command = %command.id, "the stream that brought the command has ended: the collector will not hear this answer");
    }
}

#[cfg(test)]
mod tests;
