//! Restarting a supervisord program through its node's agent: the one place that
//! decides, whichever door the request came in by (`omswatch restart` over gRPC in
//! [`crate::query`], `POST /api/v1/restart` in [`crate::http`]).
//!
//! [`Remediation::restart`] runs: check the request → authorise (who: an operator
//! certificate or a token granted `restart`; the collector's `--allow-restart`) → find
//! the node's open stream and the program in its last report → take the minute's slot
//! ([`limit`]) → record `requested` ([`audit`]; no record, no restart) → send the
//! command down the node's report stream ([`streams`]) → wait for the agent's answer
//! and for the program to be RUNNING in the node's reports ([`waiters`], [`wait`]) →
//! record how it ended. Every refusal of an identified caller is recorded too.
//!
//! The agent checks again on its side (its own `--allow-restart`, `--restart-programs`,
//! never itself, one per minute, the command's expiry and id): the collector cannot
//! vouch for a node, and a node cannot be made to act by a collector alone.

pub mod audit;
pub mod limit;
pub mod refusal;
pub mod streams;
pub mod wait;
pub mod waiters;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use omswatch_common::limits::MAX_LABEL;
use omswatch_common::proto::v1::{NodeReport, Program, RestartCommand};
use omswatch_common::restart::COMMAND_TTL;
use tokio::time::Instant;

use crate::auth::{AuthError, Operator};
use crate::state::StateHandle;
use crate::store::Store;
use crate::tokens::Scope;

pub use audit::Outcome;
pub use refusal::{Refusal, RefusalKind};
pub use streams::{AckSender, Registration};

use audit::Subject;
use limit::{RateLimit, Slot};
use streams::{SendError, StreamRegistry};
use wait::Waited;
use waiters::Waiters;

/// How long to wait for RUNNING when the request does not say.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);
/// The longest wait a request may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(300);
/// How long the agent has to say `accepted` or `refused`: it probes supervisord and
/// builds a report first. Silence past it means an agent that knows no commands.
pub const ANSWER_WINDOW: Duration = Duration::from_secs(15);
/// The longest reason kept.
pub const MAX_REASON: usize = 512;

/// What to restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRequest {
    /// The node's name.
    pub node: String,
    /// The supervisord program.
    pub program: String,
    /// Why (recorded), may be empty.
    pub reason: String,
    /// How long to wait for RUNNING.
    pub wait: Duration,
}

/// A restart that ran.
#[derive(Debug, Clone, PartialEq)]
pub struct Restarted {
    /// RUNNING afterwards (else it ran, but the program was not RUNNING within the wait).
    pub running: bool,
    /// What happened, for a person (as recorded).
    pub message: String,
    /// The program as last reported.
    pub program: Option<Program>,
    /// From the request to the outcome.
    pub duration: Duration,
    /// The request's id, as in the timeline.
    pub request_id: String,
    /// Who was recorded as asking.
    pub actor: String,
}

/// The restarts of this collector: cheap to clone.
#[derive(Clone)]
pub struct Remediation {
    inner: Arc<Inner>,
}

struct Inner {
    /// The collector's `--allow-restart`.
    allow: bool,
    /// Where the node's last report is.
    state: StateHandle,
    /// Where the audit goes.
    store: Store,
    /// The nodes' open streams.
    streams: Arc<StreamRegistry>,
    /// The restarts waiting for an answer.
    waiters: Arc<Waiters>,
    /// One per node and program per minute.
    limit: Mutex<RateLimit>,
}

/// One request in flight, for its events.
struct Attempt {
    request: RestartRequest,
    actor: String,
    request_id: String,
    started: Instant,
}

impl Attempt {
    fn subject(&self) -> Subject<'_> {
        Subject {
            actor: &self.actor,
            node: &self.request.node,
            program: &self.request.program,
            reason: &self.request.reason,
            request_id: &self.request_id,
        }
    }
}

/// The node as its last report shows it.
struct Target {
    /// The node's clock now, estimated from its last report.
    node_now_ms: i64,
    /// The version its agent reports.
    agent_version: String,
}

impl Remediation {
    /// Restarts allowed when `allow` (`--allow-restart`), judged on `state`, audited in `store`.
    pub fn new(allow: bool, state: StateHandle, store: Store) -> Remediation {
        Remediation {
            inner: Arc::new(Inner {
                allow,
                state,
                store,
                streams: Arc::default(),
                waiters: Arc::default(),
                limit: Mutex::default(),
            }),
        }
    }

    /// Whether this collector's `--allow-restart` is on (the page shows its button then).
    pub fn allowed(&self) -> bool {
        self.inner.allow
    }

    /// Registers `node`'s report stream, answering on `acks`, until the registration drops.
    pub fn stream_opened(&self, node: &str, acks: AckSender, agent_version: &str) -> Registration {
        self.inner.streams.register(node, acks, agent_version)
    }

    /// Takes a restart answer out of `report` and shows the report to the restart
    /// waiting for its node, if any (ingest calls it for every report).
    pub fn observe(&self, report: &mut NodeReport) {
        self.inner.waiters.observe(report);
    }

    /// Restarts `request.program` on `request.node` for `caller` (see the module docs).
    pub async fn restart(
        &self,
        caller: Result<Operator, AuthError>,
        request: RestartRequest,
    ) -> Result<Restarted, Refusal> {
        check(&request)?;
        let mut attempt = Attempt {
            request,
            actor: String::new(),
            request_id: format!("{:032x}", rand::random::<u128>()),
            started: Instant::now(),
        };
        let result = self.attempt(&mut attempt, caller).await;
        if let Err(refusal) = &result {
            let subject = attempt.subject();
            tracing::warn!(actor = %subject.actor, node = %subject.node, program = %subject.program, refusal = refusal.kind.as_str(), reason = %refusal.message, "restart not done");
        }
        result
    }

    async fn attempt(
        &self,
        attempt: &mut Attempt,
        caller: Result<Operator, AuthError>,
    ) -> Result<Restarted, Refusal> {
        let checked = match self.admit(attempt, caller) {
            Ok(()) => self.target(attempt).await,
            Err(refusal) => Err(refusal),
        };
        let target = match checked {
            Ok(target) => target,
            Err(refusal) => return Err(self.refused(attempt, refusal).await),
        };
        let slot = match self.take_slot(attempt) {
            Ok(slot) => slot,
            Err(refusal) => return Err(self.refused(attempt, refusal).await),
        };
        let event = attempt.subject().event(
            &self.inner.store,
            Outcome::Requested,
            attempt.subject().requested(),
            None,
        );
        if let Err(e) = self.inner.store.record(&event).await {
            self.give_back(attempt, &slot);
            return Err(Refusal::unaudited(
                RefusalKind::StoreDown,
                format!(
                    "the restart was not sent: its audit record could not be written to the \
                     store ({e}); restarts wait until the store takes writes again"
                ),
            ));
        }
        tracing::info!(actor = %attempt.actor, node = %attempt.request.node, program = %attempt.request.program, request = %attempt.request_id, "restart requested");
        let ended = self.run(attempt, &target).await;
        if let Err(refusal) = &ended
            && refusal.changed_nothing()
        {
            self.give_back(attempt, &slot);
        }
        self.record_end(attempt, &ended).await;
        ended
    }

    /// Who may: an identified operator allowed to restart, on a collector that allows it.
    fn admit(
        &self,
        attempt: &mut Attempt,
        caller: Result<Operator, AuthError>,
    ) -> Result<(), Refusal> {
        let operator = match caller {
            Ok(operator) => operator,
            Err(AuthError::NotAnOperator(id)) => {
                attempt.actor = id.to_string();
                return Err(Refusal::new(
                    RefusalKind::Forbidden,
                    format!(
                        "the certificate of {id} may not restart programs: only operator \
                         certificates and tokens granted `restart` in the token file may"
                    ),
                ));
            }
            Err(e) => {
                let kind = if e.is_unauthenticated() {
                    RefusalKind::Unauthenticated
                } else {
                    RefusalKind::Forbidden
                };
                return Err(Refusal::unaudited(kind, e.to_string()));
            }
        };
        attempt.actor = operator.actor();
        if operator == Operator::Unverified {
            return Err(Refusal::new(
                RefusalKind::Forbidden,
                "this collector runs with --insecure, where nobody is authenticated: restarts \
                 need mutual TLS and an operator certificate or a token granted `restart`",
            ));
        }
        if !self.inner.allow {
            return Err(Refusal::new(
                RefusalKind::CollectorSwitchOff,
                "restarts are off on this collector: start omswatch-collector with \
                 --allow-restart (or allow_restart: true in its --config file)",
            ));
        }
        operator
            .require(Scope::Restart)
            .map(drop)
            .map_err(|e| Refusal::new(RefusalKind::Forbidden, e.to_string()))
    }

    /// The node's open stream, and the program in its last report.
    async fn target(&self, attempt: &Attempt) -> Result<Target, Refusal> {
        let RestartRequest { node, program, .. } = &attempt.request;
        let Some(agent_version) = self.inner.streams.agent_version(node) else {
            return Err(Refusal::new(
                RefusalKind::NotConnected,
                format!(
                    "{node} has no open report stream to this collector (its agent is stopped, \
                     cannot reach this collector, or reports to another one): see `omswatch \
                     status` and the agent's log on {node}"
                ),
            ));
        };
        let snapshot =
            self.inner.state.snapshot().await.map_err(|e| {
                Refusal::unaudited(RefusalKind::NotConnected, format!("{e}; retry"))
            })?;
        let observation = snapshot.nodes.iter().find(|n| &n.report.node == node);
        let Some(observation) = observation else {
            return Err(Refusal::new(
                RefusalKind::NotConnected,
                format!("{node} has not reported yet; retry in a few seconds"),
            ));
        };
        let programs: Vec<&str> = observation
            .report
            .supervisor
            .as_ref()
            .map(|s| s.programs.iter().map(|p| p.name.as_str()).collect())
            .unwrap_or_default();
        if !programs.contains(&program.as_str()) {
            return Err(Refusal::new(
                RefusalKind::NotFound,
                format!(
                    "{node}'s supervisord has no program {program} in its last report (it has: {})",
                    if programs.is_empty() {
                        "none".to_string()
                    } else {
                        programs.join(", ")
                    }
                ),
            ));
        }
        let now = omswatch_common::telemetry::now_unix_ms();
        let sent_at = observation.report.sent_at_unix_ms;
        let node_now_ms = if sent_at > 0 {
            sent_at.saturating_add(now.saturating_sub(observation.received_at_unix_ms))
        } else {
            now
        };
        Ok(Target {
            node_now_ms,
            agent_version,
        })
    }

    fn take_slot(&self, attempt: &Attempt) -> Result<Slot, Refusal> {
        let RestartRequest { node, program, .. } = &attempt.request;
        let mut limit = self
            .inner
            .limit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        limit
            .take(node, program, &attempt.actor, attempt.started.into_std())
            .map_err(|held| {
                Refusal::new(
                    RefusalKind::TooSoon,
                    format!(
                        "{program} on {node} was restarted {} ago by {}: one restart per node \
                         and program per minute; retry in {}",
                        audit::seconds(held.ago),
                        held.actor,
                        audit::seconds(held.retry_in)
                    ),
                )
            })
    }

    fn give_back(&self, attempt: &Attempt, slot: &Slot) {
        let RestartRequest { node, program, .. } = &attempt.request;
        self.inner
            .limit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .give_back(node, program, slot);
    }

    /// Sends the command and waits for its end.
    async fn run(&self, attempt: &Attempt, target: &Target) -> Result<Restarted, Refusal> {
        let RestartRequest {
            node,
            program,
            reason,
            wait,
        } = &attempt.request;
        let mut waiting = self.inner.waiters.wait(node, program, &attempt.request_id);
        let ttl_ms = u32::try_from(COMMAND_TTL.as_millis()).unwrap_or(u32::MAX);
        let command = RestartCommand {
            id: attempt.request_id.clone(),
            program: program.clone(),
            actor: attempt.actor.clone(),
            reason: reason.clone(),
            expires_at_unix_ms: target.node_now_ms.saturating_add(i64::from(ttl_ms)),
            ttl_ms,
        };
        if let Err(e) = self.inner.streams.send(node, command).await {
            let why = match e {
                SendError::NotConnected => "its report stream closed",
                SendError::Stuck => "its agent does not read its report stream",
            };
            return Err(Refusal::new(
                RefusalKind::NotConnected,
                format!("the restart could not be sent to {node}: {why}; retry"),
            ));
        }
        let answer_by = attempt.started + ANSWER_WINDOW;
        let deadline = attempt.started + *wait;
        let waited = wait::until_done(&mut waiting.rx, answer_by, deadline).await;
        self.judge(attempt, target, waited)
    }

    /// The restart's end as the caller sees it.
    fn judge(
        &self,
        attempt: &Attempt,
        target: &Target,
        waited: Waited,
    ) -> Result<Restarted, Refusal> {
        let node = &attempt.request.node;
        let subject = attempt.subject();
        match waited {
            Waited::Refused(why) => Err(Refusal::new(
                RefusalKind::AgentRefused,
                format!("the agent on {node} refused: {why}"),
            )),
            Waited::Failed(why) => Err(Refusal::new(
                RefusalKind::Failed,
                format!("the agent on {node} could not restart it; nothing was changed: {why}"),
            )),
            Waited::NoAnswer => Err(Refusal::new(
                RefusalKind::NoAnswer,
                format!(
                    "no answer from the agent on {node} within {}: its agent (version {}) may \
                     be too old to restart programs (upgrade it), or stuck; it is not known \
                     whether anything changed: see `omswatch status` and the agent's log",
                    audit::seconds(ANSWER_WINDOW.min(attempt.request.wait)),
                    target.agent_version
                ),
            )),
            Waited::Ran {
                running,
                program,
                detail,
            } => {
                let duration = attempt.started.elapsed();
                let message = if running {
                    subject.running(duration)
                } else {
                    subject.not_running(
                        attempt.request.wait,
                        &not_running_why(program.as_ref(), &detail),
                    )
                };
                Ok(Restarted {
                    running,
                    message,
                    program,
                    duration,
                    request_id: attempt.request_id.clone(),
                    actor: attempt.actor.clone(),
                })
            }
        }
    }

    /// Records a refusal before anything was sent, and hands it back.
    async fn refused(&self, attempt: &Attempt, mut refusal: Refusal) -> Refusal {
        if refusal.audited {
            let subject = attempt.subject();
            let message = subject.refused(&refusal.message);
            let event = subject.event(
                &self.inner.store,
                Outcome::Refused,
                message,
                Some(attempt.started.elapsed()),
            );
            if !audit::record(&self.inner.store, &event).await {
                refusal.audited = false;
            }
        }
        refusal
    }

    /// Records how a sent restart ended.
    async fn record_end(&self, attempt: &Attempt, ended: &Result<Restarted, Refusal>) {
        let subject = attempt.subject();
        let (outcome, message) = match ended {
            Ok(done) if done.running => (Outcome::Running, done.message.clone()),
            Ok(done) => (Outcome::NotRunning, done.message.clone()),
            Err(r) if r.kind == RefusalKind::AgentRefused => {
                (Outcome::Refused, subject.refused(&r.message))
            }
            Err(r) if r.kind == RefusalKind::NoAnswer => (
                Outcome::NoAnswer,
                subject.ended("got no answer", &r.message),
            ),
            Err(r) => (Outcome::Failed, subject.ended("failed", &r.message)),
        };
        let elapsed = attempt.started.elapsed();
        let event = subject.event(&self.inner.store, outcome, message, Some(elapsed));
        audit::record(&self.inner.store, &event).await;
        tracing::info!(actor = %attempt.actor, node = %attempt.request.node, program = %attempt.request.program, request = %attempt.request_id, result = outcome.as_str(), "restart ended");
    }
}

/// Why a program that ran is not RUNNING: its state, supervisord's spawn error or
/// description, and what the agent said.
fn not_running_why(program: Option<&Program>, detail: &str) -> String {
    let state = match program {
        Some(p) if !p.spawn_error.is_empty() => format!("{} ({})", p.state, p.spawn_error),
        Some(p) if !p.description.is_empty() => format!("{} ({})", p.state, p.description),
        Some(p) => p.state.clone(),
        None => "not in the node's report".into(),
    };
    if detail.is_empty() {
        state
    } else {
        format!("{state}; the agent said: {detail}")
    }
}

/// A request's names, reason and wait, before anything else.
fn check(request: &RestartRequest) -> Result<(), Refusal> {
    let invalid = |m: String| Refusal::unaudited(RefusalKind::Invalid, m);
    omswatch_common::identity::validate_name(&request.node).map_err(|e| {
        invalid(format!(
            "not a node name ({e}): give the name `omswatch status` shows"
        ))
    })?;
    let program_ok = !request.program.is_empty()
        && request.program.len() <= MAX_LABEL
        && request
            .program
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if !program_ok {
        return Err(invalid(format!(
            "not a supervisord program name: {}; give the name `omswatch status` shows",
            omswatch_common::limits::shown(&request.program)
        )));
    }
    if request.reason.len() > MAX_REASON || request.reason.chars().any(char::is_control) {
        return Err(invalid(format!(
            "the reason must be at most {MAX_REASON} bytes of printable text"
        )));
    }
    if request.wait.is_zero() || request.wait > MAX_WAIT {
        return Err(invalid(format!(
            "the wait must be between 1 ms and {}",
            audit::seconds(MAX_WAIT)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
