//! The agent's main loop: keep one stream to the collector open, send a report
//! every interval and at once on change, reconnect with capped jittered backoff.
//! A failing probe is data in the report; nothing here ends the agent but shutdown.

use std::future::Future;
use std::time::Duration;

use omswatch_common::proto::v1::NodeReport;
use omswatch_common::proto::v1::reporting_client::ReportingClient;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;

use omswatch_common::telemetry::chain;

use crate::backoff::Backoff;
use crate::report::{Fingerprint, Reporter};

/// How the agent talks to the collector.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The collector's URL.
    pub collector: String,
    /// Send at least this often.
    pub interval: Duration,
    /// Probe this often, to notice changes between reports.
    pub probe_every: Duration,
    /// Longest wait between reconnect attempts.
    pub backoff_cap: Duration,
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
        tracing::warn!(collector = %schedule.collector, reason = %ended, retry_in = ?delay, "not connected to the collector");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = &mut shutdown => { tracing::info!("agent stopping"); return; }
        }
    }
}

/// One connection: returns why it ended.
async fn session(reporter: &mut Reporter, schedule: &Schedule, backoff: &mut Backoff) -> String {
    let endpoint = match Endpoint::from_shared(schedule.collector.clone()) {
        Ok(e) => e
            .connect_timeout(Duration::from_secs(5))
            .tcp_keepalive(Some(Duration::from_secs(30))),
        Err(e) => return format!("bad collector URL: {}", chain(&e)),
    };
    let channel = match endpoint.connect().await {
        Ok(c) => c,
        Err(e) => return format!("cannot connect: {}", chain(&e)),
    };
    let (tx, rx) = mpsc::channel::<NodeReport>(4);
    let first = reporter.build().await;
    let mut last = Fingerprint::of(&first);
    if tx.send(first).await.is_err() {
        return "report channel closed".into();
    }
    let mut acks = match ReportingClient::new(channel)
        .report(ReceiverStream::new(rx))
        .await
    {
        Ok(response) => response.into_inner(),
        Err(status) => return format!("collector refused the stream: {status}"),
    };
    tracing::info!(collector = %schedule.collector, node = %reporter.node, "connected to the collector");
    let mut last_sent = Instant::now();
    let mut probe_tick = tokio::time::interval(schedule.probe_every);
    probe_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ack = acks.message() => match ack {
                Ok(Some(_)) => backoff.reset(),
                Ok(None) => return "the collector closed the stream".into(),
                Err(status) => return format!("the collector ended the stream: {status}"),
            },
            _ = probe_tick.tick() => {
                let report = reporter.build().await;
                let print = Fingerprint::of(&report);
                if print != last || last_sent.elapsed() >= schedule.interval {
                    if print != last {
                        tracing::info!(seq = report.seq, "probe result changed; reporting now");
                    }
                    last = print;
                    last_sent = Instant::now();
                    if tx.send(report).await.is_err() {
                        return "the stream to the collector closed".into();
                    }
                }
            }
        }
    }
}
