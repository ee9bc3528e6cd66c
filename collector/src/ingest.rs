//! The Reporting service: agents stream NodeReports in; each valid report goes to
//! the aggregator and is acknowledged; an invalid one ends that stream with
//! `invalid_argument`, leaving every other node untouched.

use std::pin::Pin;

use futures::Stream;
use omswatch_common::proto::v1::reporting_server::Reporting;
use omswatch_common::proto::v1::{NodeReport, ReportAck};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::state::StateHandle;

/// Limits on what one report may carry.
const MAX_NAME_LEN: usize = 253;
const MAX_PROGRAMS: usize = 512;

/// The gRPC Reporting service.
pub struct ReportingService {
    state: StateHandle,
}

impl ReportingService {
    /// A service feeding `state`.
    pub fn new(state: StateHandle) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl Reporting for ReportingService {
    type ReportStream = Pin<Box<dyn Stream<Item = Result<ReportAck, Status>> + Send>>;

    #[tracing::instrument(skip_all, fields(peer = ?request.remote_addr()))]
    async fn report(
        &self,
        request: Request<Streaming<NodeReport>>,
    ) -> Result<Response<Self::ReportStream>, Status> {
        let peer = request
            .remote_addr()
            .map_or_else(|| "unknown".to_string(), |a| a.to_string());
        let inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(pump(inbound, tx, self.state.clone(), peer));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Moves one agent's reports into the state until the stream ends.
async fn pump(
    mut inbound: Streaming<NodeReport>,
    acks: mpsc::Sender<Result<ReportAck, Status>>,
    state: StateHandle,
    peer: String,
) {
    let mut node: Option<String> = None;
    loop {
        let report = match inbound.message().await {
            Ok(Some(report)) => report,
            Ok(None) => break,
            Err(status) => {
                tracing::info!(%peer, node = node.as_deref().unwrap_or("?"), %status, "agent stream broke");
                break;
            }
        };
        if let Err(status) = validate(&report) {
            tracing::warn!(%peer, node = %report.node, %status, "refused a report");
            let _ = acks.send(Err(status)).await;
            return;
        }
        if node.as_deref() != Some(report.node.as_str()) {
            tracing::info!(%peer, node = %report.node, "agent connected");
            node = Some(report.node.clone());
        }
        let seq = report.seq;
        if state.report(report).await.is_err() || acks.send(Ok(ReportAck { seq })).await.is_err() {
            break;
        }
    }
    tracing::info!(%peer, node = node.as_deref().unwrap_or("?"), "agent disconnected");
}

/// Refuses reports the diagnosis could not use or that would bloat the state.
fn validate(report: &NodeReport) -> Result<(), Status> {
    let name = report.node.trim();
    if name.is_empty() {
        return Err(Status::invalid_argument(
            "report without a node name: start the agent with --node NAME",
        ));
    }
    if name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(Status::invalid_argument(format!(
            "node name must be at most {MAX_NAME_LEN} printable characters"
        )));
    }
    let programs = report.supervisor.as_ref().map_or(0, |s| s.programs.len());
    if programs > MAX_PROGRAMS {
        return Err(Status::invalid_argument(format!(
            "{programs} programs in one report; the limit is {MAX_PROGRAMS}"
        )));
    }
    Ok(())
}
