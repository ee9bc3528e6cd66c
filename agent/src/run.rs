//! The agent's main loop: keep one stream to the collector open, send a report
//! every interval and at once on change, reconnect with capped jittered backoff.
//! A failing probe is data in the report; nothing here ends the agent but shutdown,
//! not even a refusal by the collector: an operator may fix the certificate, and
//! the TLS files are read again on every connection.

use std::future::Future;
use std::time::Duration;

use omswatch_common::proto::v1::NodeReport;
use omswatch_common::proto::v1::reporting_client::ReportingClient;
use omswatch_common::telemetry::chain;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;

use crate::backoff::Backoff;
use crate::report::{Fingerprint, Reporter};
use crate::transport::Transport;

mod ended;

pub use ended::Ended;

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
        .tcp_keepalive(Some(Duration::from_secs(30)));
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
    let mut last = Fingerprint::of(&first);
    if tx.send(first).await.is_err() {
        return Ended::Lost("report channel closed".into());
    }
    let mut acks = match ReportingClient::new(channel)
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
    let mut last_sent = Instant::now();
    let mut probe_tick = tokio::time::interval(schedule.probe_every);
    probe_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ack = acks.message() => match ack {
                Ok(Some(_)) => backoff.reset(),
                Ok(None) => return Ended::Lost("the collector closed the stream".into()),
                Err(status) => return Ended::status("the stream ended", status),
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
                        return Ended::Lost("the stream to the collector closed".into());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
