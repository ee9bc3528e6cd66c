//! The agent's main loop: keep one stream to the collector open, send a report
//! every interval and at once on change, reconnect with capped jittered backoff.
//! A connection that stops answering is given up: HTTP/2 pings and an ack
//! deadline (three reporting intervals without an ack) find it half-open.
//! A failing probe is data in the report; nothing here ends the agent but shutdown,
//! not even a refusal by the collector: an operator may fix the certificate, and
//! the TLS files are read again on every connection.
//! A message from the collector that carries a restart command is handed to
//! [`crate::restart`]; its answers go back on fresh reports (`run/restart.rs`).

use std::future::Future;
use std::time::Duration;

use omswatch_common::proto::v1::reporting_client::ReportingClient;
use omswatch_common::proto::v1::{NodeReport, ReportAck, RestartOutcome};
use omswatch_common::telemetry::chain;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Endpoint;

use crate::backoff::Backoff;
use crate::report::{Fingerprint, Reporter};
use crate::restart::Restarts;
use crate::transport::Transport;

mod ack;
mod ended;
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

/// How the agent talks to the collector.
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

/// Runs until `shutdown` completes.
pub async fn run(mut reporter: Reporter, schedule: Schedule, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut backoff = Backoff::new(Duration::from_millis(500), schedule.backoff_cap);
    loop {
        let session = session(&mut reporter, &schedule, &mut backoff);
        let ended = tokio::select! {
            ended = session => ended,
            () = &mut shutdown => { tracing::info!("agent stopping"); return; }
        };
        let delay = backoff.next_delay(rand::random::<f64>());
        ended.log(&schedule.collector, &reporter.node, delay);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = &mut shutdown => { tracing::info!("agent stopping"); return; }
        }
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

/// One connection: returns why it ended.
async fn session(reporter: &mut Reporter, schedule: &Schedule, backoff: &mut Backoff) -> Ended {
    let endpoint = match endpoint(schedule) {
        Ok(endpoint) => endpoint,
        Err(ended) => return ended,
    };
    let channel = match endpoint.connect().await {
        Ok(c) => c,
        Err(e) => return Ended::lost("cannot connect", &e),
    };
    let (tx, rx) = mpsc::channel::<NodeReport>(4);
    let first = reporter.build().await;
    let mut sent = Sent {
        print: Fingerprint::of(&first),
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
    tracing::info!(collector = %schedule.collector, node = %reporter.node, "connected to the collector");
    report_until_ended(reporter, schedule, backoff, (tx, acks), sent).await
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

/// Probes every `probe_every` and reports on change or interval, until the
/// stream ends or the collector stops acknowledging.
async fn report_until_ended(
    reporter: &mut Reporter,
    schedule: &Schedule,
    backoff: &mut Backoff,
    (tx, mut acks): Stream,
    mut sent: Sent,
) -> Ended {
    let mut probe_tick = tokio::time::interval(schedule.probe_every);
    probe_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (answers, mut answered) = mpsc::channel::<RestartOutcome>(restart::QUEUED_ANSWERS);
    loop {
        tokio::select! {
            ack = acks.message() => match ack {
                Ok(Some(ack)) => {
                    backoff.reset();
                    match ack.restart {
                        // It repeats an earlier ack's seq: a command, not an ack.
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
            _ = probe_tick.tick() => {
                if sent.acks.overdue(Instant::now()) {
                    return Ended::Lost(format!(
                        "no acknowledgement from the collector for {:?} ({ACK_DEADLINE_INTERVALS} \
                         reporting intervals): the connection is presumed dead; reconnecting",
                        sent.acks.deadline()
                    ));
                }
                if let Err(ended) = probe_and_send(reporter, schedule, &tx, &mut sent).await {
                    return ended;
                }
            }
        }
    }
}

/// Probes, and sends the report when it changed or the interval is up.
async fn probe_and_send(
    reporter: &mut Reporter,
    schedule: &Schedule,
    tx: &mpsc::Sender<NodeReport>,
    sent: &mut Sent,
) -> Result<(), Ended> {
    let started = Instant::now();
    let report = reporter.build().await;
    let print = Fingerprint::of(&report);
    let changed = print != sent.print;
    // One line per probe at debug level: what a probe costs, and a count for scripts/bench-agent.sh.
    tracing::debug!(seq = report.seq, changed, took = ?started.elapsed(), "probed");
    if !changed && sent.at.elapsed() < schedule.interval {
        return Ok(());
    }
    let seq = report.seq;
    // Never wait for room: on a half-open connection the channel never drains,
    // and the ack deadline must still be checked. Nothing is marked sent when
    // it is full, so the next probe tries again.
    match tx.try_send(report) {
        Ok(()) => {
            if changed {
                tracing::info!(seq, "probe result changed; reporting now");
            }
            sent.print = print;
            sent.at = Instant::now();
            sent.acks.sent(seq, sent.at);
            Ok(())
        }
        Err(TrySendError::Full(_)) => {
            tracing::debug!(
                seq,
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
