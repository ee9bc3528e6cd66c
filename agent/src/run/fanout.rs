//! One prober, several streams: the agent probes once per `--probe-every` and hands
//! the same report to every collector's stream through a [`Slot`] of its own, a
//! `watch` that holds only the newest report. Handing over never waits, so a
//! collector that is dead, hung or slow to drain delays neither the probes nor the
//! other streams: its stream simply finds a newer report when it is ready again.

use std::sync::Arc;
use std::time::Duration;

use omswatch_common::proto::v1::NodeReport;
use tokio::sync::{Mutex, watch};
use tokio::time::Instant;

use crate::report::{Fingerprint, Reporter};

/// The newest probed report and its fingerprint (computed once, not per stream).
#[derive(Debug, Clone)]
pub struct Probed {
    /// The report, shared by every stream until one sends it.
    pub report: Arc<NodeReport>,
    /// What of it counts as a change.
    pub print: Fingerprint,
}

/// One stream's view of the prober's output: latest wins, never blocks the prober.
pub type Slot = watch::Receiver<Option<Probed>>;

/// The reporter, shared by the prober and by the streams that answer a restart
/// command on a fresh report. A lock is held for one build at most.
pub type SharedReporter = Arc<Mutex<Reporter>>;

/// Builds one report under the lock.
pub async fn build(reporter: &SharedReporter) -> NodeReport {
    reporter.lock().await.build().await
}

/// Probes every `every` forever, handing each report to every slot of `slots`.
/// Returns only when every stream has gone (their receivers dropped).
pub async fn probe_forever(
    reporter: SharedReporter,
    every: Duration,
    slots: watch::Sender<Option<Probed>>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let started = Instant::now();
        let report = build(&reporter).await;
        let print = Fingerprint::of(&report);
        // One line per probe at debug level: what a probe costs, and a count for
        // scripts/bench-agent.sh (whatever the number of collectors).
        tracing::debug!(seq = report.seq, took = ?started.elapsed(), "probed");
        let probed = Probed {
            report: Arc::new(report),
            print,
        };
        // send_replace never waits and keeps the value even with no receiver.
        slots.send_replace(Some(probed));
        if slots.is_closed() {
            return;
        }
    }
}
