//! The collector's answer as it is on the wire: tests that check what the proto
//! carries (a finding's `caused_by`, `explains`) ask for it directly, as the
//! operator, over the cluster's TLS.

use std::time::Duration;

use anyhow::Context;
use omswatch_common::proto::v1::query_client::QueryClient;
use omswatch_common::proto::v1::{ClusterStatus, Finding, StatusRequest};
use omswatch_common::tls::ClientTlsFiles;
use tonic::transport::Endpoint;

use super::Cluster;

impl Cluster {
    /// `GetStatus` as the operator: the proto `ClusterStatus`.
    pub async fn status_proto(&self) -> anyhow::Result<ClusterStatus> {
        let mut endpoint = Endpoint::from_shared(self.collector_url.clone())?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10));
        if let Some(pki) = &self.pki {
            let files = ClientTlsFiles {
                ca: Some(pki.ca.clone()),
                cert: Some(pki.operator.cert.clone()),
                key: Some(pki.operator.key.clone()),
            };
            endpoint = endpoint.tls_config(files.client_config()?)?;
        }
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("connecting to {}", self.collector_url))?;
        let status = QueryClient::new(channel)
            .max_decoding_message_size(omswatch_common::proto::MAX_ANSWER_BYTES)
            .get_status(StatusRequest {})
            .await?
            .into_inner();
        Ok(status)
    }
}

/// The finding of `status` with `code` whose nodes or `ip` evidence is `subject`.
pub fn proto_finding<'a>(
    status: &'a ClusterStatus,
    code: &str,
    subject: &str,
) -> Option<&'a Finding> {
    status.findings.iter().find(|f| {
        f.code == code
            && (f.nodes.iter().any(|n| n == subject)
                || f.evidence.get("ip").is_some_and(|ip| ip == subject))
    })
}
