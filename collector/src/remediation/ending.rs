//! A restart sent: the command down the node's stream, the wait for its end, what the
//! caller is told, and the records of refusals and outcomes.

use omswatch_common::proto::v1::{Program, RestartCommand};
use omswatch_common::restart::COMMAND_TTL;

use super::audit::{self, Outcome};
use super::streams::SendError;
use super::wait::{self, Waited};
use super::{
    ANSWER_WINDOW, Attempt, Refusal, RefusalKind, Remediation, RestartRequest, Restarted, Target,
};

impl Remediation {
    /// Sends the command and waits for its end.
    pub(super) async fn run(
        &self,
        attempt: &Attempt,
        target: &Target,
    ) -> Result<Restarted, Refusal> {
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
    pub(super) fn judge(
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
    pub(super) async fn refused(&self, attempt: &Attempt, mut refusal: Refusal) -> Refusal {
        if refusal.audited {
            let subject = attempt.subject();
            let message = subject.refused(&refusal.message);
            let event = subject.event(
                &self.inner.store,
                Outcome::Refused,
                message,
                Some(attempt.started.elapsed()),
            );
            let alert = refusal.kind != RefusalKind::Forbidden;
            if !self.audited_alerting(&event, alert).await {
                refusal.audited = false;
            }
        }
        refusal
    }

    /// Records how a sent restart ended.
    pub(super) async fn record_end(&self, attempt: &Attempt, ended: &Result<Restarted, Refusal>) {
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
        self.audited(&event).await;
        tracing::info!(actor = %attempt.actor, node = %attempt.request.node, program = %attempt.request.program, request = %attempt.request_id, result = outcome.as_str(), "restart ended");
    }
}

/// Why a program that ran is not RUNNING: its state, supervisord's spawn error or
/// description, and what the agent said.
pub(super) fn not_running_why(program: Option<&Program>, detail: &str) -> String {
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
