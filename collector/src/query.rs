//! The Query service: snapshot the state, diagnose, answer. One call, whatever
//! the number of rules or nodes. Only operators may ask (see [`crate::auth`]):
//! the answer describes the production topology.

use omswatch_common::diagnose::diagnose;
use omswatch_common::proto::v1::query_server::Query;
use omswatch_common::proto::v1::{
    Bundle, BundleRequest, ClusterStatus, ForgetNodeReply, ForgetNodeRequest, History,
    HistoryRequest, RestartReply, RestartRequest, StatusRequest, StoreStatus,
};
use omswatch_common::snapshot::Snapshot;
use tonic::{Request, Response, Status};

use crate::auth::{self, Authorizer};
use crate::bundle;
use crate::convert;
use crate::remediation::{self, Remediation};
use crate::state::{Forgotten, StateHandle};
use crate::store::Store;
use crate::store::events::{EventKind, HistoryFilter};
use crate::store::timeline::TimelineHandle;

/// The gRPC Query service (cheap to clone: handles only; the HTTP views share it).
#[derive(Clone)]
pub struct QueryService {
    state: StateHandle,
    auth: Authorizer,
    store: Store,
    timeline: TimelineHandle,
    remediation: Option<Remediation>,
}

impl QueryService {
    /// A service answering from `state` and `store` (history, and since when
    /// findings are active, through `timeline`) to the operators `auth` admits.
    pub fn new(
        state: StateHandle,
        auth: Authorizer,
        store: Store,
        timeline: TimelineHandle,
    ) -> Self {
        Self {
            state,
            auth,
            store,
            timeline,
            remediation: None,
        }
    }

    /// Answers `Restart` through `remediation` (without it, `Restart` is unimplemented).
    pub fn with_remediation(mut self, remediation: Remediation) -> Self {
        self.remediation = Some(remediation);
        self
    }

    /// The restarts, for the HTTP API's `POST /api/v1/restart`.
    pub fn remediation(&self) -> Option<&Remediation> {
        self.remediation.as_ref()
    }

    /// The diagnosed status of `snapshot`, with since when each finding is active: what
    /// `GetStatus` answers and `GET /api/v1/status` renders.
    pub fn status_of(&self, snapshot: &Snapshot) -> ClusterStatus {
        convert::cluster_status(
            &diagnose(snapshot),
            snapshot.now_unix_ms,
            &|f| self.timeline.since(f),
            self.store_status(),
        )
    }

    /// The timeline's events `request` asks for: what `GetHistory` answers and
    /// `GET /api/v1/history` renders. A malformed node or code is `invalid_argument`, an
    /// unreadable store `unavailable`.
    pub async fn history_of(&self, request: HistoryRequest) -> Result<History, Status> {
        let filter = history_filter(request)?;
        let (events, truncated) = self.store.history(&filter).await.map_err(|e| {
            tracing::warn!(error = %e, "history query failed");
            Status::unavailable(format!("the timeline cannot be read: {e}"))
        })?;
        Ok(History {
            events: events.into_iter().map(convert::event).collect(),
            truncated,
        })
    }

    /// The timeline's events matching `filter`, oldest first, and whether older ones were
    /// left out, as the store keeps them: what the Servers page shows ([`Self::history_of`]
    /// is the same read for `GetHistory` and `GET /api/v1/history`).
    pub async fn history(
        &self,
        filter: &HistoryFilter,
    ) -> crate::store::Result<(Vec<crate::store::events::Event>, bool)> {
        self.store.history(filter).await
    }

    fn store_status(&self) -> StoreStatus {
        let health = self.store.health();
        StoreStatus {
            location: self.store.location().to_string(),
            up: health.is_up(),
            error: health.error().unwrap_or_default(),
        }
    }

    /// The current status, diagnosed on a blocking thread (tens of milliseconds at 10,000
    /// nodes, which would otherwise hold up a worker that acks reports).
    pub async fn status(&self) -> Result<(Snapshot, ClusterStatus), Status> {
        let snapshot = self.snapshot().await?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let status = this.status_of(&snapshot);
            (snapshot, status)
        })
        .await
        .map_err(|e| Status::internal(format!("the diagnosis failed: {e}")))
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
        let (_, status) = self.status().await?;
        Ok(Response::new(status))
    }

    async fn get_history(
        &self,
        request: Request<HistoryRequest>,
    ) -> Result<Response<History>, Status> {
        let peer = auth::peer_addr(&request);
        let operator = self
            .auth
            .operator(&request)
            .map_err(|e| auth::refuse(&peer, "history", e))?;
        tracing::debug!(%peer, %operator, "history query");
        Ok(Response::new(self.history_of(request.into_inner()).await?))
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
        let (snapshot, status) = self.status().await?;
        Ok(Response::new(bundle::bundle(&snapshot, status)))
    }

    async fn restart(
        &self,
        request: Request<RestartRequest>,
    ) -> Result<Response<RestartReply>, Status> {
        let peer = auth::peer_addr(&request);
        let Some(remediation) = &self.remediation else {
            return Err(Status::unimplemented(
                "this collector does not restart programs",
            ));
        };
        let caller = self.auth.caller(&request);
        let asked = request.into_inner();
        let wait = match asked.wait_ms {
            0 => remediation::DEFAULT_WAIT,
            ms => std::time::Duration::from_millis(u64::from(ms)),
        };
        let restart = remediation::RestartRequest {
            node: asked.node,
            program: asked.program,
            reason: asked.reason.trim().to_string(),
            wait,
        };
        tracing::info!(%peer, node = %restart.node, program = %restart.program, "restart asked");
        let done = remediation
            .restart(caller, restart)
            .await
            .map_err(|refusal| refusal.status())?;
        let program = done.program.unwrap_or_default();
        Ok(Response::new(RestartReply {
            result: if done.running {
                "running"
            } else {
                "not_running"
            }
            .into(),
            message: done.message,
            state: program.state,
            description: program.description,
            spawn_error: program.spawn_error,
            duration_ms: u64::try_from(done.duration.as_millis()).unwrap_or(u64::MAX),
            request_id: done.request_id,
            actor: done.actor,
        }))
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

/// The store's filter of a history request; a malformed node name or code is
/// refused (both are compared in SQL).
fn history_filter(request: HistoryRequest) -> Result<HistoryFilter, Status> {
    let node = Some(request.node).filter(|n| !n.is_empty());
    if let Some(node) = &node
        && omswatch_common::identity::validate_name(node).is_err()
    {
        return Err(Status::invalid_argument(
            "not a node name: give the name `omswatch status` shows",
        ));
    }
    let code = match Some(request.code).filter(|c| !c.is_empty()) {
        Some(c) => Some(
            omswatch_common::findings::Code::parse(&c)
                .ok_or_else(|| {
                    Status::invalid_argument(format!(
                        "unknown finding code {c:?}: `omswatch explain --all` lists them"
                    ))
                })?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    let kind = match Some(request.kind).filter(|k| !k.is_empty()) {
        Some(k) => Some(
            EventKind::parse(&k)
                .ok_or_else(|| {
                    Status::invalid_argument(format!(
                        "unknown event kind {k:?}: raised, cleared, node_state, collector or remediation"
                    ))
                })?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    Ok(HistoryFilter {
        since_unix_ms: request.since_unix_ms,
        until_unix_ms: request.until_unix_ms,
        node,
        code,
        kind,
        limit: request.limit,
    })
}
