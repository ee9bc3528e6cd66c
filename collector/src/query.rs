//! The Query service: snapshot the state, diagnose, answer. One call, whatever
//! the number of rules or nodes.

use omswatch_common::diagnose::diagnose;
use omswatch_common::proto::v1::query_server::Query;
use omswatch_common::proto::v1::{Bundle, BundleRequest, ClusterStatus, StatusRequest};
use tonic::{Request, Response, Status};

use crate::state::StateHandle;
use crate::{bundle, convert};

/// The gRPC Query service.
pub struct QueryService {
    state: StateHandle,
}

impl QueryService {
    /// A service answering from `state`.
    pub fn new(state: StateHandle) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl Query for QueryService {
    async fn get_status(
        &self,
        request: Request<StatusRequest>,
    ) -> Result<Response<ClusterStatus>, Status> {
        tracing::debug!(peer = ?request.remote_addr(), "status query");
        let snapshot = self
            .state
            .snapshot()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        let diagnosis = diagnose(&snapshot);
        Ok(Response::new(convert::cluster_status(
            &diagnosis,
            snapshot.now_unix_ms,
        )))
    }

    async fn get_bundle(
        &self,
        request: Request<BundleRequest>,
    ) -> Result<Response<Bundle>, Status> {
        tracing::info!(peer = ?request.remote_addr(), "support bundle requested");
        let snapshot = self
            .state
            .snapshot()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        Ok(Response::new(bundle::bundle(&snapshot)))
    }
}
