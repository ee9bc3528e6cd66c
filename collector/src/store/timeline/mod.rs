//! The timeline task: each tick the poller hands it an [`Observation`] (the
//! diagnosis in brief); it compares it with the store's active findings and
//! node states ([`plan`]) and records each change as one transaction with its
//! event ([`sql`]). It runs apart from the poller, so a slow or absent
//! database delays neither ticks nor ingest: observations wait in a bounded
//! queue, and when that is full the newest is dropped — the next one brings the
//! store up to date anyway (what flapped in between is lost, nothing else).
//! Recording starts after the restart grace ([`grace`]).

pub mod echo;
pub mod grace;
pub mod plan;
pub mod sql;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use omswatch_common::findings::Finding;
use omswatch_common::snapshot::NodeObservation;
use tokio::sync::{mpsc, watch};

use super::{Result, Store};
pub use plan::{
    ActiveFinding, FindingRecord, NodeRecord, Observation, Transition, finding_identity,
};

/// Observations waiting for the database: a few minutes of ticks.
const QUEUE: usize = 64;

/// Since when each active finding (by identity) has been raised.
pub type SinceMap = Arc<HashMap<String, i64>>;

/// The poller's and the query's handle to the timeline task.
#[derive(Clone)]
pub struct TimelineHandle {
    tx: mpsc::Sender<Observation>,
    since: watch::Receiver<SinceMap>,
    /// Set once the restart grace is over (see [`grace`]).
    recording: Arc<AtomicBool>,
}

impl TimelineHandle {
    /// Hands one tick's observation to the task without waiting.
    pub fn observe(&self, observation: Observation) {
        if self.tx.try_send(observation).is_err() {
            tracing::debug!(
                "the timeline is behind the store; this tick will be folded into the next"
            );
        }
    }

    /// Whether the restart grace is over: the collector's view is worth telling (the
    /// Alertmanager push waits for it too, so a restart pages nobody).
    pub fn recording(&self) -> bool {
        self.recording.load(Ordering::Relaxed)
    }

    /// Since when `finding` has been active, when the store has it.
    pub fn since(&self, finding: &Finding) -> Option<i64> {
        self.since.borrow().get(&finding_identity(finding)).copied()
    }
}

/// What the task knows the store holds.
struct Recorded {
    active: HashMap<String, ActiveFinding>,
    states: HashMap<String, String>,
}

/// Loads the active set from `store` and starts the task. `restored` are the
/// nodes the collector restored at start (for the grace).
pub async fn start(
    store: Store,
    restored: &[NodeObservation],
    silent_intervals: u32,
) -> Result<(TimelineHandle, tokio::task::JoinHandle<()>)> {
    let (active, states) = store.load_active().await?;
    tracing::info!(
        store = %store.location(),
        active_findings = active.len(),
        nodes = states.len(),
        "loaded the timeline's active set"
    );
    let (since_tx, since) = watch::channel(since_of(&active));
    let (tx, mut rx) = mpsc::channel::<Observation>(QUEUE);
    let mut grace = grace::Grace::new(
        omswatch_common::telemetry::now_unix_ms(),
        restored,
        silent_intervals,
    );
    let mut recorded = Recorded { active, states };
    let recording = Arc::new(AtomicBool::new(false));
    let over = Arc::clone(&recording);
    let task = tokio::spawn(async move {
        while let Some(observation) = rx.recv().await {
            if !grace.admits(&observation) {
                continue;
            }
            over.store(true, Ordering::Relaxed);
            record(&store, &mut recorded, &observation).await;
            since_tx.send_replace(since_of(&recorded.active));
        }
    });
    Ok((
        TimelineHandle {
            tx,
            since,
            recording,
        },
        task,
    ))
}

/// Records what `now` changes; stops at the first failure (the next tick retries).
async fn record(store: &Store, recorded: &mut Recorded, now: &Observation) {
    let health = store.health();
    for transition in plan::plan(&recorded.active, &recorded.states, now) {
        if let Err(e) = apply(store, recorded, transition, now.at_unix_ms).await {
            health.failed("the timeline", &e);
            return;
        }
    }
    health.ok();
}

async fn apply(
    store: &Store,
    recorded: &mut Recorded,
    transition: Transition,
    at: i64,
) -> Result<()> {
    match transition {
        Transition::Raise(record) => {
            // The poller logs raised and cleared findings; here only what the store did.
            let raised_at_unix_ms = store.raise(&record, at).await?;
            tracing::debug!(finding = %record.id, raised_at_unix_ms, "raised in the timeline");
            recorded.active.insert(
                record.id.clone(),
                ActiveFinding {
                    record,
                    raised_at_unix_ms,
                },
            );
        }
        Transition::Clear(active) => {
            let recorded_here = store.clear(&active, at).await?;
            tracing::debug!(finding = %active.record.id, recorded_here, "cleared in the timeline");
            recorded.active.remove(&active.record.id);
        }
        Transition::NodeState {
            node, to, region, ..
        } => {
            store.change_node_state(&node, &to, &region, at).await?;
            recorded.states.insert(node, to);
        }
        Transition::NodeGone(node) => {
            store.drop_node_state(&node).await?;
            recorded.states.remove(&node);
        }
    }
    Ok(())
}

fn since_of(active: &HashMap<String, ActiveFinding>) -> SinceMap {
    Arc::new(
        active
            .iter()
            .map(|(id, a)| (id.clone(), a.raised_at_unix_ms))
            .collect(),
    )
}
