//! The baseline: a bare tonic server of the same proto whose Report stream only acks. The
//! load generator runs it as its own process, so its CPU and memory are measured like the
//! collector's, in the same run.

use std::pin::Pin;

use omswatch_common::proto::v1::reporting_server::{Reporting, ReportingServer};
use omswatch_common::proto::v1::{NodeReport, ReportAck};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status, Streaming};

/// Acks every report and keeps nothing.
#[derive(Debug, Default)]
pub struct BareReporting;

#[tonic::async_trait]
impl Reporting for BareReporting {
    type ReportStream = Pin<Box<dyn Stream<Item = Result<ReportAck, Status>> + Send>>;

    async fn report(
        &self,
        request: Request<Streaming<NodeReport>>,
    ) -> Result<Response<Self::ReportStream>, Status> {
        let mut inbound = request.into_inner();
        // The collector's shape: one task per stream, acks through a small queue.
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move {
            while let Ok(Some(report)) = inbound.message().await {
                let ack = ReportAck {
                    seq: report.seq,
                    ..ReportAck::default()
                };
                if tx.send(Ok(ack)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Serves [`BareReporting`] on `listener` until the process is killed.
pub async fn serve(listener: TcpListener) -> anyhow::Result<()> {
    tonic::transport::Server::builder()
        .add_service(ReportingServer::new(BareReporting))
        .serve_with_incoming(TcpListenerStream::new(listener))
        .await?;
    Ok(())
}
