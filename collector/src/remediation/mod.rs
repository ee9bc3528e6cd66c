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
mod checks;
mod ending;
pub mod limit;
pub mod refusal;
pub mod streams;
pub mod wait;
pub mod waiters;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use omswatch_common::proto::v1::{NodeReport, Program};
use tokio::time::Instant;

use crate::auth::{AuthError, Operator};
use crate::notify::alertmanager::AlertFeed;
use crate::state::StateHandle;
use crate::store::Store;
use crate::store::events::Event;

pub use audit::Outcome;
pub use refusal::{Refusal, RefusalKind};
pub use streams::{AckSender, Registration};

use audit::Subject;
use checks::check;
use limit::RateLimit;
use streams::StreamRegistry;
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
    /// Alertmanager, told of every recorded event (`OmswatchRemediation`).
    alerts: AlertFeed,
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
                alerts: AlertFeed::none(),
                streams: Arc::default(),
                waiters: Arc::default(),
                limit: Mutex::default(),
            }),
        }
    }

    /// The same, also pushing each recorded event to Alertmanager through `alerts` (the
    /// webhooks get them from the store's outbox, as every event). Call before cloning.
    pub fn alerting(mut self, alerts: AlertFeed) -> Remediation {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.alerts = alerts,
            None => tracing::error!("restart alerts set after the restarts were shared: none sent"),
        }
        self
    }

    /// Records `event` in the timeline (and so in the webhooks' outbox), then hands it to
    /// Alertmanager; whether it was recorded.
    async fn audited(&self, event: &Event) -> bool {
        self.audited_alerting(event, true).await
    }

    /// [`Self::audited`], handing the event to Alertmanager only when `alert`: a caller who
    /// may not restart at all is recorded but alerts nobody (each of its requests would
    /// otherwise open an alert of its own).
    async fn audited_alerting(&self, event: &Event, alert: bool) -> bool {
        let recorded = audit::record(&self.inner.store, event).await;
        if recorded && alert {
            self.inner.alerts.remediation(event);
        }
        recorded
    }

    /// Whether this collector's `--allow-restart` is on (the page shows its button then).
    pub fn allowed(&self) -> bool {
        self.inner.allow
    }

    /// Whether views should offer to restart `program` on the node whose last report is
    /// `report` (the Servers page's button): see [`offered`].
    pub fn offers(&self, report: &NodeReport, program: &str) -> bool {
        offered(self.inner.allow, report, program)
    }

    /// Why views should not offer to restart `program` on the node whose last report is
    /// `report`: see [`not_offered_because`].
    pub fn not_offered_because(
        &self,
        report: Option<&NodeReport>,
        program: &str,
    ) -> Option<String> {
        not_offered_because(self.inner.allow, report, program)
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
            tracing::error!(error = %e, "the restart's request could not be recorded");
            self.give_back(attempt, &slot);
            return Err(Refusal::unaudited(
                RefusalKind::StoreDown,
                format!(
                    "the restart was not sent: its audit record could not be written to the \
                     store ({e}); restarts wait until the store takes writes again"
                ),
            ));
        }
        self.inner.alerts.remediation(&event);
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
}

/// Whether a restart of `program` can work on the node of `report`: this collector
/// allows restarts (`collector_allows`), the node's agent advertises that it does and
/// lists the program, and the program is not the agent itself. An agent that
/// advertises nothing (older than restarts) is offered nothing.
pub fn offered(collector_allows: bool, report: &NodeReport, program: &str) -> bool {
    not_offered_because(collector_allows, Some(report), program).is_none()
}

/// Why a restart of `program` cannot work on the node whose last report is `report`
/// (`None`: no report), naming the switch, as the Servers page says it beside a disabled
/// button; `None` when every switch is on (see [`offered`]).
pub fn not_offered_because(
    collector_allows: bool,
    report: Option<&NodeReport>,
    program: &str,
) -> Option<String> {
    if !collector_allows {
        return Some("collector restarts off (--allow-restart)".into());
    }
    let Some(report) = report else {
        return Some("no report from this node's agent".into());
    };
    let Some(policy) = &report.restart_policy else {
        return Some(format!(
            "the node's agent ({}) is older than restarts",
            report.agent_version
        ));
    };
    if !policy.allowed {
        return Some("agent restarts off (--allow-restart)".into());
    }
    if omswatch_common::restart::names_the_agent(program) {
        return Some("the agent never restarts itself".into());
    }
    if !policy.programs.iter().any(|p| p == program) {
        return Some(format!(
            "{program} not in the agent's --restart-programs ({})",
            policy.programs.join(",")
        ));
    }
    None
}

#[cfg(test)]
mod tests;
