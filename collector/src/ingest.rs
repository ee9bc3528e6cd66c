//! The Reporting service: agents stream NodeReports in. Each report is checked
//! (that the certificate's node sent it, then rate, then limits), handed to the
//! aggregator and acknowledged; a refused report ends only its own stream with a
//! status that names the reason, and never reaches the aggregator. At shutdown
//! every stream is ended by the collector, since agents never end theirs.
//! Accepted and refused reports are counted ([`IngestCounters`], by [`Refusal`]) for `/metrics`.
//! With [`ReportingService::with_remediation`], each stream is registered (so a restart
//! command can be sent down it) and each report shown to the restarts waiting for its node.

mod counters;

pub use counters::{IngestCounters, Refusal};

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use futures::{Stream, StreamExt};
use omswatch_common::limits::{self, MAX_NODE_NAME, shown};
use omswatch_common::proto::v1::reporting_server::Reporting;
use omswatch_common::proto::v1::{NodeReport, ReportAck};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status, Streaming};

use crate::auth::{self, AuthError, Authorizer, Reporter};
use crate::rate::ReportBucket;
use crate::remediation::{Registration, Remediation};
use crate::state::StateHandle;

/// How fast one stream may report: sustained rate and burst.
#[derive(Debug, Clone, Copy)]
pub struct ReportRate {
    /// Reports per second, sustained.
    pub per_second: f64,
    /// Reports at once.
    pub burst: u32,
}

/// How many Report streams are still open (their answer not yet finished),
/// for the shutdown log.
#[derive(Debug, Clone, Default)]
pub struct OpenStreams(Arc<AtomicUsize>);

impl OpenStreams {
    /// Streams open now.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn enter(&self) -> OpenStream {
        self.0.fetch_add(1, Ordering::Relaxed);
        OpenStream(Arc::clone(&self.0))
    }
}

/// One open stream, counted until dropped.
struct OpenStream(Arc<AtomicUsize>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The gRPC Reporting service.
pub struct ReportingService {
    state: StateHandle,
    auth: Authorizer,
    rate: ReportRate,
    max_message_bytes: usize,
    stop: watch::Receiver<bool>,
    open: OpenStreams,
    counters: IngestCounters,
    remediation: Option<Remediation>,
}

impl ReportingService {
    /// A service feeding `state`, admitting reporters by `auth`. When `stop`
    /// turns true (or its sender is dropped) every stream is ended.
    pub fn new(
        state: StateHandle,
        auth: Authorizer,
        rate: ReportRate,
        max_message_bytes: usize,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Self {
            state,
            auth,
            rate,
            max_message_bytes,
            stop,
            open: OpenStreams::default(),
            counters: IngestCounters::default(),
            remediation: None,
        }
    }

    /// Registers every stream with `remediation` and shows it every report.
    pub fn with_remediation(mut self, remediation: Remediation) -> Self {
        self.remediation = Some(remediation);
        self
    }

    /// The counts of accepted and refused reports.
    pub fn counters(&self) -> IngestCounters {
        self.counters.clone()
    }

    /// The count of this service's open streams.
    pub fn open_streams(&self) -> OpenStreams {
        self.open.clone()
    }
}

#[tonic::async_trait]
impl Reporting for ReportingService {
    type ReportStream = Pin<Box<dyn Stream<Item = Result<ReportAck, Status>> + Send>>;

    async fn report(
        &self,
        request: Request<Streaming<NodeReport>>,
    ) -> Result<Response<Self::ReportStream>, Status> {
        let peer = auth::peer_addr(&request);
        let reporter = self.auth.reporter(&request).map_err(|e| {
            self.counters.refused(Refusal::Credentials);
            auth::refuse(&peer, "report", e)
        })?;
        let (tx, rx) = mpsc::channel(8);
        let stream = AgentStream {
            inbound: request.into_inner(),
            acks: tx,
            state: self.state.clone(),
            bucket: ReportBucket::new(self.rate.per_second, self.rate.burst, Instant::now()),
            max_message_bytes: self.max_message_bytes,
            stop: self.stop.clone(),
            peer,
            reporter,
            counters: self.counters.clone(),
            remediation: self.remediation.clone(),
            registration: None,
        };
        tokio::spawn(stream.pump());
        // The answer stream carries the count: tonic drops it once the stream
        // is over for the agent, not merely when the pump has stopped.
        let open = self.open.enter();
        let acks = ReceiverStream::new(rx).map(move |ack| {
            let _open = &open;
            ack
        });
        Ok(Response::new(Box::pin(acks)))
    }
}

/// Completes once the collector is shutting down (or the server is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// A report's node name for a status or a log line: as sent when it is a sane
/// name, escaped and cut when not. Impersonation is checked before the limits,
/// so the name may be anything here.
fn safe_name(node: &str) -> String {
    let sane = !node.trim().is_empty()
        && node.len() <= MAX_NODE_NAME
        && !node.chars().any(char::is_control);
    if sane { node.to_string() } else { shown(node) }
}

/// One agent's stream and what it is allowed.
struct AgentStream {
    inbound: Streaming<NodeReport>,
    acks: mpsc::Sender<Result<ReportAck, Status>>,
    state: StateHandle,
    bucket: ReportBucket,
    max_message_bytes: usize,
    stop: watch::Receiver<bool>,
    peer: String,
    reporter: Reporter,
    counters: IngestCounters,
    /// Restarts: where the stream registers and shows its reports.
    remediation: Option<Remediation>,
    /// This stream as restarts see it, once its node is known.
    registration: Option<Registration>,
}

impl AgentStream {
    /// Moves the agent's reports into the state until the stream ends, a report
    /// is refused or the collector shuts down.
    async fn pump(mut self) {
        let peer = self.peer.clone();
        let mut node: Option<String> = None;
        loop {
            let mut report = match self.next().await {
                None => break,
                Some(Ok(Some(report))) => report,
                Some(Ok(None)) => break,
                Some(Err(status)) => {
                    self.broken(status, node.as_deref()).await;
                    break;
                }
            };
            if let Err((why, status)) = self.admit(&report) {
                self.counters.refused(why);
                tracing::warn!(%peer, reporter = %self.reporter, node = %shown(&report.node), %status, "refused a report; ending the stream");
                self.answer(Err(status)).await; // the agent may have gone already.
                return;
            }
            if node.as_deref() != Some(report.node.as_str()) {
                tracing::info!(%peer, node = %report.node, "agent connected");
                node = Some(report.node.clone());
                self.registration = self.remediation.as_ref().map(|r| {
                    r.stream_opened(&report.node, self.acks.clone(), &report.agent_version)
                });
            }
            let seq = report.seq;
            self.counters.received();
            if let Some(remediation) = &self.remediation {
                remediation.observe(&mut report);
            } else {
                report.restart = None; // an answer is not part of the node's state
            }
            let ack = ReportAck {
                seq,
                ..ReportAck::default()
            };
            if self.state.report(report).await.is_err() || !self.answer(Ok(ack)).await {
                break;
            }
            if let Some(registration) = &self.registration {
                registration.acked(seq);
            }
        }
        if *self.stop.borrow() {
            self.shutting_down();
        }
        tracing::info!(%peer, node = node.as_deref().unwrap_or("?"), "agent disconnected");
    }

    /// The agent's next message, or None once the collector is shutting down
    /// (checked first, so a chatty agent cannot delay it).
    async fn next(&mut self) -> Option<Result<Option<NodeReport>, Status>> {
        tokio::select! {
            biased;
            () = stopped(&mut self.stop) => None,
            next = self.inbound.message() => Some(next),
        }
    }

    /// Sends an ack or the status that ends the stream; false when the agent is
    /// gone, or when shutdown begins while an agent that stopped reading holds
    /// the send up.
    async fn answer(&mut self, answer: Result<ReportAck, Status>) -> bool {
        tokio::select! {
            biased;
            () = stopped(&mut self.stop) => false,
            sent = self.acks.send(answer) => sent.is_ok(),
        }
    }

    /// Ends the stream with a status the agent reconnects on. Never waits: the
    /// acks queued before it are still delivered, and if the queue is full the
    /// stream simply ends after them.
    fn shutting_down(&self) {
        let _ = self
            .acks
            .try_send(Err(Status::unavailable("collector shutting down")));
    }

    /// Identity first, so an impersonation attempt is always answered and
    /// logged as one whatever else is wrong with the report; then the rate
    /// (cheapest), then the limits.
    fn admit(&mut self, report: &NodeReport) -> Result<(), (Refusal, Status)> {
        self.reporter
            .admits(&report.node)
            .map_err(|e| (Refusal::WrongNode, denied(e, &report.node)))?;
        if !self.bucket.take(Instant::now()) {
            return Err((
                Refusal::Rate,
                Status::resource_exhausted(
                    "too many reports on this stream (max_reports_per_second / report_burst); reconnect with backoff",
                ),
            ));
        }
        limits::check(report)
            .map_err(|v| (Refusal::Limits, Status::invalid_argument(v.to_string())))
    }

    /// A stream that broke while reading. An oversized or undecodable message
    /// is the peer's fault and gets a status that says so; anything else (a
    /// reset, a disconnect) has nobody left to answer.
    async fn broken(&mut self, status: Status, node: Option<&str>) {
        let node = node.unwrap_or("?");
        match self.refusal(&status) {
            Some((why, refusal)) => {
                self.counters.refused(why);
                tracing::warn!(peer = %self.peer, reporter = %self.reporter, %node, reason = %status.message(), "refused a report; ending the stream");
                self.answer(Err(refusal)).await;
            }
            None => tracing::info!(peer = %self.peer, %node, %status, "agent stream broke"),
        }
    }

    /// tonic's decoder answers `out_of_range`/`resource_exhausted` for a message
    /// over the limit and `internal` for bytes that are not a NodeReport.
    fn refusal(&self, status: &Status) -> Option<(Refusal, Status)> {
        match status.code() {
            Code::OutOfRange | Code::ResourceExhausted => Some((
                Refusal::TooLarge,
                Status::resource_exhausted(format!(
                    "report larger than max_message_bytes ({} bytes)",
                    self.max_message_bytes
                )),
            )),
            Code::Internal if status.message().contains("failed to decode") => Some((
                Refusal::Malformed,
                Status::invalid_argument(format!("not a NodeReport: {}", status.message())),
            )),
            _ => None,
        }
    }
}

/// The status for a reporter that may not send this report. `admits` names the
/// report's node as sent; the status (logged here and by the agent) carries it
/// only made safe.
fn denied(e: AuthError, node: &str) -> Status {
    match e {
        AuthError::WrongNode { cert, .. } => AuthError::WrongNode {
            cert,
            report: safe_name(node),
        }
        .into(),
        other => other.into(),
    }
}
