//! The agent's main loop: keep one stream open to each collector (`--collector`,
//! one or several: a pair sharing a store), send a report every interval and at
//! once on change, reconnect each with its own capped jittered backoff. One prober
//! feeds every stream ([`fanout`]), so a dead or hung collector delays neither the
//! probes nor the reports to the others.
//! A connection that stops answering is given up: HTTP/2 pings and an ack
//! deadline (three reporting intervals without an ack) find it half-open.
//! A failing probe is data in the report; nothing here ends the agent but shutdown,
//! not even a refusal by the collector: an operator may fix the certificate, and
//! the TLS files are read again on every connection.
//! A message from the collector that carries a restart command is handed to
//! [`crate::restart`]; its answers go back on fresh reports (`run/restart.rs`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use omswatch_common::proto::v1::reporting_client::ReportingClient;
use omswatch_common::proto::v1::{NodeReport, ReportAck, RestartOutcome};
use omswatch_common::telemetry::chain;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Endpoint;

use crate::backoff::Backoff;
use crate::report::{Fingerprint, Reporter};
use crate::restart::Restarts;
use crate::transport::Transport;
use fanout::{Probed, SharedReporter, Slot};

mod ack;
mod ended;
pub mod fanout;
mod restart;

use ack::{ACK_DEADLINE_INTERVALS, AckDeadline};
pub use ended::Ended;

/// How often the agent pings the collector over HTTP/2. The stream always has
/// a report in flight or coming, but a half-open connection (a NAT or firewall
/// that dropped the flow, a collector host that vanished) would otherwise only
/// show after the kernel gives up retransmitting, some 15 minutes.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered before the connection is closed: a few
/// round trips on the worst link, far less than the reporting deadline.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// How the agent talks to one collector (one per `--collector` URL).
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The collector's URL.
    pub collector: String,
    /// TLS files or plain text, as checked by [`crate::transport::check`].
    pub transport: Transport,
    /// Send at least this often.
    pub interval: Duration,
    /// Probe this often, to notice changes between reports.
    pub probe_every: Duration,
    /// Longest wait between reconnect attempts.
    pub backoff_cap: Duration,
    /// What to do with restart commands (refused, by default).
    pub restarts: Restarts,
}

/// Runs until `shutdown` completes: one stream to `schedule`'s collector.
pub async fn run(reporter: Reporter, schedule: Schedule, shutdown: impl Future<Output = ()>) {
    run_all(reporter, vec![schedule], shutdown).await;
}

/// Runs until `shutdown` completes: one prober, and one task per collector of
/// `schedules`, each with its own stream, backoff and ack deadline
/// ([`fanout`]: the same report reaches every stream, none waits for another).
pub async fn run_all(
    reporter: Reporter,
    schedules: Vec<Schedule>,
    shutdown: impl Future<Output = ()>,
) {
    let Some(first) = schedules.first() else {
        return;
    };
    let probe_every = first.probe_every;
    let reporter: SharedReporter = Arc::new(tokio::sync::Mutex::new(reporter));
    let (slots, slot) = watch::channel(None);
    let mut streams = JoinSet::new();
    for schedule in schedules {
        streams.spawn(stream_forever(
            Arc::clone(&reporter),
            schedule,
            slot.clone(),
        ));
    }
    drop(slot);
    tokio::select! {
        () = fanout::probe_forever(reporter, probe_every, slots) => {}
        () = shutdown => tracing::info!("agent stopping"),
    }
    // Dropping the set aborts every stream: their connections close with them.
    streams.abort_all();
}

/// One collector's stream, reconnected with its own backoff, forever.
async fn stream_forever(reporter: SharedReporter, schedule: Schedule, mut slot: Slot) {
    let mut backoff = Backoff::new(Duration::from_millis(500), schedule.backoff_cap);
    loop {
        let ended = session(&reporter, &schedule, &mut backoff, &mut slot).await;
        let delay = backoff.next_delay(rand::random::<f64>());
        let node = reporter.lock().await.node.clone();
        ended.log(&schedule.collector, &node, delay);
        tokio::time::sleep(delay).await;
    }
}

/// The endpoint for `schedule`: its URL, with TLS when asked (files read now).
pub fn endpoint(schedule: &Schedule) -> Result<Endpoint, Ended> {
    let endpoint = Endpoint::from_shared(schedule.collector.clone())
        .map_err(|e| Ended::lost("bad collector URL", &e))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_keepalive(Some(Duration::from_secs(30)))
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        // Also while no call is open (between connecting and the first report,
        // which waits for the probes), so a dead connection is found there too.
        .keep_alive_while_idle(true);
    match &schedule.transport {
        Transport::Plain => Ok(endpoint),
        Transport::Tls(files) => {
            let config = files.client_config().map_err(|e| Ended::Files(chain(&e)))?;
            endpoint
                .tls_config(config)
                .map_err(|e| Ended::tls("cannot use the TLS files", &e))
        }
    }
}

/// One connection: returns why it ended. Its first report is the newest probed one.
async fn session(
    reporter: &SharedReporter,
    schedule: &Schedule,
    backoff: &mut Backoff,
    slot: &mut Slot,
) -> Ended {
    let endpoint = match endpoint(schedule) {
        Ok(endpoint) => endpoint,
        Err(ended) => return ended,
    };
    let channel = match endpoint.connect().await {
        Ok(c) => c,
        Err(e) => return Ended::lost("cannot connect", &e),
    };
    let (tx, rx) = mpsc::channel::<NodeReport>(4);
    let first = match slot.wait_for(Option::is_some).await {
        Ok(probed) => probed
            .clone()
            .map(|p| (p.print, NodeReport::clone(&p.report))),
        Err(_) => None,
    };
    let Some((print, first)) = first else {
        return Ended::Lost("the prober stopped".into());
    };
    let mut sent = Sent {
        print,
        at: Instant::now(),
        acks: AckDeadline::new(schedule.interval),
    };
    sent.acks.sent(first.seq, sent.at);
    if tx.send(first).await.is_err() {
        return Ended::Lost("report channel closed".into());
    }
    let acks = match ReportingClient::new(channel)
        .report(ReceiverStream::new(rx))
        .await
    {
        Ok(response) => response.into_inner(),
        Err(status) => {
            let tls = matches!(schedule.transport, Transport::Tls(_));
            return Ended::first_call(status, tls);
        }
    };
    tracing::info!(collector = %schedule.collector, "connected to the collector");
    report_until_ended(reporter, schedule, backoff, (tx, acks), sent, slot).await
}

/// What this stream has sent: for change detection and the ack deadline.
struct Sent {
    /// The last report's fingerprint.
    print: Fingerprint,
    /// When the last report went out.
    at: Instant,
    /// Reports waiting for their acks.
    acks: AckDeadline,
}

/// The stream's two directions: reports out, acks in.
type Stream = (mpsc::Sender<NodeReport>, Streaming<ReportAck>);

/// Sends each probed report on change or when the interval is up, until the
/// stream ends or the collector stops acknowledging.
async fn report_until_ended(
    reporter: &SharedReporter,
    schedule: &Schedule,
    backoff: &mut Backoff,
    (tx, mut acks): Stream,
    mut sent: Sent,
    slot: &mut Slot,
) -> Ended {
    let (answers, mut answered) = mpsc::channel::<RestartOutcome>(restart::QUEUED_ANSWERS);
    loop {
        tokio::select! {
            ack = acks.message() => match ack {
                Ok(Some(ack)) => {
                    backoff.reset();
                    match ack.restart {
                        // It repeats an earlier ack's seq: a command, not an ack. The
                        // restarts' memory is shared by every stream, so a command id
                        // seen on another collector's stream is refused as a replay.
                        Some(command) => schedule.restarts.receive(command, answers.clone()),
                        None => sent.acks.acked(ack.seq, Instant::now()),
                    }
                }
                Ok(None) => return Ended::Lost("the collector closed the stream".into()),
                Err(status) => return Ended::status("the stream ended", status),
            },
            Some(outcome) = answered.recv() => {
                if let Err(ended) = restart::send_answer(reporter, &tx, &mut sent, outcome).await {
                    return ended;
                }
            },
            changed = slot.changed() => {
                if changed.is_err() {
                    return Ended::Lost("the prober stopped".into());
                }
                if sent.acks.overdue(Instant::now()) {
                    return Ended::Lost(format!(
                        "no acknowledgement from the collector for {:?} ({ACK_DEADLINE_INTERVALS} \
                         reporting intervals): the connection is presumed dead; reconnecting",
                        sent.acks.deadline()
                    ));
                }
                let probed = slot.borrow_and_update().clone();
                if let Some(Err(ended)) =
                    probed.map(|probed| send_if_due(schedule, &tx, &mut sent, probed))
                {
                    return ended;
                }
            }
        }
    }
}

/// Sends `probed` when it changed or the interval is up.
fn send_if_due(
    schedule: &Schedule,
    tx: &mpsc::Sender<NodeReport>,
    sent: &mut Sent,
    probed: Probed,
) -> Result<(), Ended> {
    let changed = probed.print != sent.print;
    if !changed && sent.at.elapsed() < schedule.interval {
        return Ok(());
    }
    let seq = probed.report.seq;
    // Never wait for room: on a half-open connection the channel never drains,
    // and the ack deadline must still be checked. Nothing is marked sent when
    // it is full, so the next probe tries again.
    match tx.try_send(NodeReport::clone(&probed.report)) {
        Ok(()) => {
            if changed {
                tracing::info!(seq, collector = %schedule.collector, "probe result changed; reporting now");
            }
            sent.print = probed.print;
            sent.at = Instant::now();
            sent.acks.sent(seq, sent.at);
            Ok(())
        }
        Err(TrySendError::Full(_)) => {
            tracing::debug!(
                seq,
                collector = %schedule.collector,
                "reports are queueing up for the collector; retrying at the next probe"
            );
            Ok(())
        }
        Err(TrySendError::Closed(_)) => {
            Err(Ended::Lost("the stream to the collector closed".into()))
        }
    }
}

#[cfg(test)]
mod tests;
