//! The collector's checks of a restart before anything is sent: the request itself,
//! who asks and the collector's switch, the node's stream and program, the minute.

use omswatch_common::limits::MAX_LABEL;

use super::audit;
use super::limit::Slot;
use super::{
    Attempt, MAX_REASON, MAX_WAIT, Refusal, RefusalKind, Remediation, RestartRequest, Target,
};
use crate::auth::{AuthError, Operator};
use crate::tokens::Scope;

impl Remediation {
    /// Who may: an identified operator allowed to restart, on a collector that allows it.
    pub(super) fn admit(
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
    pub(super) async fn target(&self, attempt: &Attempt) -> Result<Target, Refusal> {
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

    pub(super) fn take_slot(&self, attempt: &Attempt) -> Result<Slot, Refusal> {
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

    pub(super) fn give_back(&self, attempt: &Attempt, slot: &Slot) {
        let RestartRequest { node, program, .. } = &attempt.request;
        self.inner
            .limit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .give_back(node, program, slot);
    }
}

/// A request's names, reason and wait, before anything else.
pub(super) fn check(request: &RestartRequest) -> Result<(), Refusal> {
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
