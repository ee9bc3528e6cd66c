//! The timeline's record of restarts (kind `remediation`): one event when a restart is
//! sent (`requested`), one for how it ended (`running`, `not_running`, `failed`,
//! `no_answer`), and one for each refusal (`refused`). Written through the store like
//! every event, so whatever reads the timeline (history, notifications) sees them.
//! The actor is a certificate's name or a token's label, never a token.

use std::time::Duration;

use crate::store::Store;
use crate::store::events::{Event, EventKind};

/// The `result` of a remediation event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Sent to the agent.
    Requested,
    /// Refused by the collector or the agent; nothing changed.
    Refused,
    /// RUNNING afterwards.
    Running,
    /// Ran, but not RUNNING within the wait.
    NotRunning,
    /// The agent could not run it; nothing changed.
    Failed,
    /// The agent did not answer.
    NoAnswer,
}

impl Outcome {
    /// The name in the timeline.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Requested => "requested",
            Outcome::Refused => "refused",
            Outcome::Running => "running",
            Outcome::NotRunning => "not_running",
            Outcome::Failed => "failed",
            Outcome::NoAnswer => "no_answer",
        }
    }
}

/// What one restart is about, for its events.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// Who asked.
    pub actor: &'a str,
    /// The node.
    pub node: &'a str,
    /// The program.
    pub program: &'a str,
    /// The operator's reason, may be empty.
    pub reason: &'a str,
    /// The request's id.
    pub request_id: &'a str,
}

impl Subject<'_> {
    /// The event of `outcome`, saying `message`, `elapsed` after the request (none for
    /// the request itself).
    pub fn event(
        &self,
        store: &Store,
        outcome: Outcome,
        message: String,
        elapsed: Option<Duration>,
    ) -> Event {
        let at = omswatch_common::telemetry::now_unix_ms();
        Event {
            id: store.new_event_id(at),
            at_unix_ms: at,
            kind: EventKind::Remediation.as_str().into(),
            nodes: vec![self.node.to_string()],
            message: Some(message),
            collector: store.collector().to_string(),
            actor: Some(self.actor.to_string()),
            program: Some(self.program.to_string()),
            result: Some(outcome.as_str().into()),
            duration_ms: elapsed.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            reason: Some(self.reason.to_string()).filter(|r| !r.is_empty()),
            request_id: Some(self.request_id.to_string()),
            ..Event::default()
        }
    }

    /// "alice asked to restart oms_console on oms-node-3 (reason: ...)".
    pub fn requested(&self) -> String {
        let mut text = format!(
            "{} asked to restart {} on {}",
            self.actor, self.program, self.node
        );
        if !self.reason.is_empty() {
            text.push_str(&format!(" (reason: {:?})", self.reason));
        }
        text
    }

    /// "alice restarted oms_console on oms-node-3: RUNNING after 2.1 s".
    pub fn running(&self, elapsed: Duration) -> String {
        format!(
            "{} restarted {} on {}: RUNNING after {}",
            self.actor,
            self.program,
            self.node,
            seconds(elapsed)
        )
    }

    /// "alice restarted oms_console on oms-node-3: not RUNNING within 30 s: ...".
    pub fn not_running(&self, wait: Duration, why: &str) -> String {
        format!(
            "{} restarted {} on {}: not RUNNING within {}: {why}",
            self.actor,
            self.program,
            self.node,
            seconds(wait)
        )
    }

    /// "refused alice's restart of oms_console on oms-node-3: ...".
    pub fn refused(&self, why: &str) -> String {
        format!(
            "refused {}'s restart of {} on {}: {why}",
            self.actor, self.program, self.node
        )
    }

    /// "alice's restart of oms_console on oms-node-3 ...: ...".
    pub fn ended(&self, how: &str, why: &str) -> String {
        format!(
            "{}'s restart of {} on {} {how}: {why}",
            self.actor, self.program, self.node
        )
    }
}

/// `2.1 s`, `30 s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if (s - s.round()).abs() < 0.05 {
        format!("{:.0} s", s)
    } else {
        format!("{s:.1} s")
    }
}

/// Records `event`; a failure is logged (the caller decides whether it may go on).
pub async fn record(store: &Store, event: &Event) -> bool {
    match store.record(event).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, event = ?event.message, "a remediation event could not be recorded");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_who_did_what_where() {
        let subject = Subject {
            actor: "alice",
            node: "oms-node-3",
            program: "oms_console",
            reason: "down after the upgrade",
            request_id: "r1",
        };
        assert_eq!(
            subject.running(Duration::from_millis(2100)),
            "alice restarted oms_console on oms-node-3: RUNNING after 2.1 s"
        );
        assert_eq!(
            subject.requested(),
            "alice asked to restart oms_console on oms-node-3 (reason: \"down after the upgrade\")"
        );
        assert_eq!(
            subject.not_running(Duration::from_secs(30), "FATAL"),
            "alice restarted oms_console on oms-node-3: not RUNNING within 30 s: FATAL"
        );
        assert_eq!(
            subject.refused("--allow-restart is off"),
            "refused alice's restart of oms_console on oms-node-3: --allow-restart is off"
        );
    }
}
