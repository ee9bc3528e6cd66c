//! The Reporting service: agents stream NodeReports in. Each report is checked
//! (rate, limits, then that the certificate's node sent it), handed to the
//! aggregator and acknowledged; a refused report ends only its own stream with a
//! status that names the reason, and never reaches the aggregator.

use std::pin::Pin;
use std::time::Instant;

use futures::Stream;
use omswatch_common::proto::v1::reporting_server::Reporting;
use omswatch_common::proto::v1::{NodeReport, ReportAck};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status, Streaming};

use crate::auth::{self, Authorizer, Reporter};
use crate::limits::{self, shown};
use crate::rate::ReportBucket;
use crate::state::StateHandle;

/// How fast one stream may report: sustained rate and burst.
#[derive(Debug, Clone, Copy)]
pub struct ReportRate {
    /// Reports per second, sustained.
    pub per_second: f64,
    /// Reports at once.
    pub burst: u32,
}

/// The gRPC Reporting service.
pub struct ReportingService {
    state: StateHandle,
    auth: Authorizer,
    rate: ReportRate,
    max_message_bytes: usize,
}

impl ReportingService {
    /// A service feeding `state`, admitting reporters by `auth`.
    pub fn new(
        state: StateHandle,
        auth: Authorizer,
        rate: ReportRate,
        max_message_bytes: usize,
    ) -> Self {
        Self {
            state,
            auth,
            rate,
            max_message_bytes,
        }
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
        let reporter = self
            .auth
            .reporter(&request)
            .map_err(|e| auth::refuse(&peer, "report", e))?;
        let (tx, rx) = mpsc::channel(8);
        let stream = AgentStream {
            inbound: request.into_inner(),
            acks: tx,
            state: self.state.clone(),
            bucket: ReportBucket::new(self.rate.per_second, self.rate.burst, Instant::now()),
            max_message_bytes: self.max_message_bytes,
            peer,
            reporter,
        };
        tokio::spawn(stream.pump());
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// One agent's stream and what it is allowed.
struct AgentStream {
    inbound: Streaming<NodeReport>,
    acks: mpsc::Sender<Result<ReportAck, Status>>,
    state: StateHandle,
    bucket: ReportBucket,
    max_message_bytes: usize,
    peer: String,
    reporter: Reporter,
}

impl AgentStream {
    /// Moves the agent's reports into the state until the stream ends or a report is refused.
    async fn pump(mut self) {
        let peer = self.peer.clone();
        let mut node: Option<String> = None;
        loop {
            let report = match self.inbound.message().await {
                Ok(Some(report)) => report,
                Ok(None) => break,
                Err(status) => {
                    self.broken(status, node.as_deref()).await;
                    break;
                }
            };
            if let Err(status) = self.admit(&report) {
                tracing::warn!(%peer, reporter = %self.reporter, node = %shown(&report.node), %status, "refused a report; ending the stream");
                let _ = self.acks.send(Err(status)).await; // the agent may have gone already.
                return;
            }
            if node.as_deref() != Some(report.node.as_str()) {
                tracing::info!(%peer, node = %report.node, "agent connected");
                node = Some(report.node.clone());
            }
            let seq = report.seq;
            if self.state.report(report).await.is_err()
                || self.acks.send(Ok(ReportAck { seq })).await.is_err()
            {
                break;
            }
        }
        tracing::info!(%peer, node = node.as_deref().unwrap_or("?"), "agent disconnected");
    }

    /// Rate first (cheapest), then the limits, then whether this peer may
    /// speak for the node: the name is only compared once it is known sane.
    fn admit(&mut self, report: &NodeReport) -> Result<(), Status> {
        if !self.bucket.take(Instant::now()) {
            return Err(Status::resource_exhausted(
                "too many reports on this stream (max_reports_per_second / report_burst); reconnect with backoff",
            ));
        }
        limits::check(report).map_err(|v| Status::invalid_argument(v.to_string()))?;
        self.reporter.admits(&report.node).map_err(Status::from)
    }

    /// A stream that broke while reading. An oversized or undecodable message
    /// is the peer's fault and gets a status that says so; anything else (a
    /// reset, a disconnect) has nobody left to answer.
    async fn broken(&self, status: Status, node: Option<&str>) {
        let node = node.unwrap_or("?");
        match self.refusal(&status) {
            Some(refusal) => {
                tracing::warn!(peer = %self.peer, reporter = %self.reporter, %node, reason = %status.message(), "refused a report; ending the stream");
                let _ = self.acks.send(Err(refusal)).await;
            }
            None => tracing::info!(peer = %self.peer, %node, %status, "agent stream broke"),
        }
    }

    /// tonic's decoder answers `out_of_range`/`resource_exhausted` for a message
    /// over the limit and `internal` for bytes that are not a NodeReport.
    fn refusal(&self, status: &Status) -> Option<Status> {
        match status.code() {
            Code::OutOfRange | Code::ResourceExhausted => {
                Some(Status::resource_exhausted(format!(
                    "report larger than max_message_bytes ({} bytes)",
                    self.max_message_bytes
                )))
            }
            Code::Internal if status.message().contains("failed to decode") => Some(
                Status::invalid_argument(format!("not a NodeReport: {}", status.message())),
            ),
            _ => None,
        }
    }
}
