//! The Query service: snapshot the state, diagnose, answer. One call, whatever
//! the number of rules or nodes. Only operators may ask (see [`crate::auth`]):
//! the answer describes the production topology.

use omswatch_common::diagnose::diagnose;
use omswatch_common::proto::v1::query_server::Query;
use omswatch_common::proto::v1::{
    Bundle, BundleRequest, ClusterStatus, ForgetNodeReply, ForgetNodeRequest, StatusRequest,
};
use omswatch_common::snapshot::Snapshot;
use tonic::{Request, Response, Status};

use crate::auth::{self, Authorizer};
use crate::bundle;
use crate::state::{Forgotten, StateHandle};

/// The gRPC Query service.
pub struct QueryService {
    state: StateHandle,
    auth: Authorizer,
}

impl QueryService {
    /// A service answering from `state` to the operators `auth` admits.
    pub fn new(state: StateHandle, auth: Authorizer) -> Self {
        Self { state, auth }
    }

    async fn snapshot(&self) -> Result<Snapshot, Status> {
        self.state
            .snapshot()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))
    }
}

#[tonic::async_trait]
impl Query for QueryService {
    async fn get_status(
        &self,
        request: Request<StatusRequest>,
    ) -> Result<Response<ClusterStatus>, Status> {
        let peer = auth::peer_addr(&request);
        let operator = self
            .auth
            .operator(&request)
            .map_err(|e| auth::refuse(&peer, "status", e))?;
        tracing::debug!(%peer, %operator, "status query");
        let snapshot = self.snapshot().await?;
        let diagnosis = diagnose(&snapshot);
        Ok(Response::new(omswatch_common::wire::cluster_status(
            &diagnosis,
            snapshot.now_unix_ms,
            crate::VERSION,
        )))
    }

    async fn get_bundle(
        &self,
        request: Request<BundleRequest>,
    ) -> Result<Response<Bundle>, Status> {
        let peer = auth::peer_addr(&request);
        let operator = self
            .auth
            .operator(&request)
            .map_err(|e| auth::refuse(&peer, "bundle", e))?;
        tracing::info!(%peer, %operator, "support bundle requested");
        let snapshot = self.snapshot().await?;
        Ok(Response::new(bundle::bundle(&snapshot)))
    }

    async fn forget_node(
        &self,
        request: Request<ForgetNodeRequest>,
    ) -> Result<Response<ForgetNodeReply>, Status> {
        let peer = auth::peer_addr(&request);
        let operator = self
            .auth
            .operator(&request)
            .map_err(|e| auth::refuse(&peer, "forget", e))?;
        let name = request.into_inner().node;
        if omswatch_common::identity::validate_name(&name).is_err() {
            return Err(Status::invalid_argument(
                "not a node name: give the name `omswatch status` shows",
            ));
        }
        let outcome = self
            .state
            .forget(name.clone())
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        match outcome {
            Forgotten::Removed { silent_s } => {
                tracing::warn!(%peer, %operator, node = %name, silent_s, "node forgotten by an operator");
                let message = format!(
                    "forgot {name} (silent for {silent_s}s); it reappears if its agent reports again"
                );
                Ok(Response::new(ForgetNodeReply { message }))
            }
            Forgotten::Unknown => Err(Status::not_found(format!("no node named {name}"))),
            Forgotten::Live { age_s } => Err(Status::failed_precondition(format!(
                "{name} reported {age_s}s ago and would be back at its next report: stop its agent first"
            ))),
        }
    }
}
