//! The standard gRPC services that tools expect: health checking (`grpc.health.v1.Health`, for
//! load balancers, Kubernetes probes and `grpc_health_probe`) and server reflection (for
//! `grpcurl` and the like).
//!
//! Health: the overall service `""` and each omswatch service are NOT_SERVING until the state
//! has been loaded (the state file restored), then SERVING, and NOT_SERVING again as soon as
//! shutdown begins. Anyone who completes the TLS handshake may ask (see docs/SECURITY.md): the
//! answer tells nothing but up or down, and probes rarely carry client credentials. A `Watch`
//! stream sees NOT_SERVING and then ends, so a watcher never holds up the shutdown.
//!
//! Reflection describes the omswatch and health services (`omswatch.v1.Reporting`,
//! `omswatch.v1.Query`, `grpc.health.v1.Health`), v1 and v1alpha, to operators only (certificate
//! or bearer token, as a query): it is a tool for the people who run the collector.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use omswatch_common::proto::v1::query_server::QueryServer;
use omswatch_common::proto::v1::reporting_server::ReportingServer;
use tokio::sync::watch;
use tonic::server::NamedService;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};
use tonic_health::ServingStatus;
use tonic_health::pb::health_check_response::ServingStatus as WireStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService};

use crate::auth::{self, Authorizer};
use crate::ingest::ReportingService;
use crate::query::QueryService;

/// The services whose health is reported: the whole server (`""`) and each omswatch service.
pub fn service_names() -> [&'static str; 3] {
    [
        "",
        <ReportingServer<ReportingService> as NamedService>::NAME,
        <QueryServer<QueryService> as NamedService>::NAME,
    ]
}

/// Sets what the health service answers.
#[derive(Clone)]
pub struct HealthStatus(HealthReporter);

impl HealthStatus {
    /// Every service SERVING (the state is loaded).
    pub async fn serving(&self) {
        self.set(ServingStatus::Serving).await;
    }

    /// Every service NOT_SERVING (starting, or draining at shutdown).
    pub async fn not_serving(&self) {
        self.set(ServingStatus::NotServing).await;
    }

    async fn set(&self, status: ServingStatus) {
        for name in service_names() {
            self.0.set_service_status(name, status).await;
        }
    }
}

/// The health service, NOT_SERVING until told otherwise, whose `Watch` streams end once `stop`
/// turns true and they have sent NOT_SERVING.
pub async fn health(stop: watch::Receiver<bool>) -> (HealthStatus, HealthServer<DrainingHealth>) {
    let status = HealthStatus(HealthReporter::new());
    status.not_serving().await;
    let service = DrainingHealth {
        inner: HealthService::from_health_reporter(status.0.clone()),
        stop,
    };
    (status, HealthServer::new(service))
}

/// tonic-health's service, with watch streams that end at shutdown.
pub struct DrainingHealth {
    inner: HealthService,
    stop: watch::Receiver<bool>,
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for DrainingHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let updates = self.inner.watch(request).await?.into_inner();
        let watching = Watching {
            updates: Box::pin(updates),
            stop: self.stop.clone(),
            last: None,
        };
        let stream = futures::stream::unfold(watching, Watching::next);
        Ok(Response::new(Box::pin(stream)))
    }
}

/// One watcher's stream and what it has been sent.
struct Watching {
    updates: WatchStream,
    stop: watch::Receiver<bool>,
    last: Option<i32>,
}

impl Watching {
    /// The next update, or the end once shutting down and NOT_SERVING has been sent. The status
    /// is set to NOT_SERVING before `stop` turns true, so that update always comes first.
    async fn next(mut self) -> Option<(Result<HealthCheckResponse, Status>, Self)> {
        let not_serving = WireStatus::NotServing as i32;
        loop {
            let stopping = *self.stop.borrow();
            if stopping && self.last == Some(not_serving) {
                return None;
            }
            tokio::select! {
                update = self.updates.next() => {
                    let update = update?;
                    if let Ok(response) = &update {
                        self.last = Some(response.status);
                    }
                    return Some((update, self));
                }
                changed = self.stop.changed(), if !stopping => {
                    if changed.is_err() {
                        return None; // the server is gone
                    }
                }
            }
        }
    }
}

/// The reflection services (v1 and v1alpha), each behind the operator check.
pub fn reflection(
    auth: Authorizer,
) -> Result<
    (
        InterceptedService<
            tonic_reflection::server::v1::ServerReflectionServer<
                impl tonic_reflection::server::v1::ServerReflection,
            >,
            impl tonic::service::Interceptor + Clone,
        >,
        InterceptedService<
            tonic_reflection::server::v1alpha::ServerReflectionServer<
                impl tonic_reflection::server::v1alpha::ServerReflection,
            >,
            impl tonic::service::Interceptor + Clone,
        >,
    ),
    tonic_reflection::server::Error,
> {
    let builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(omswatch_common::proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let v1 = InterceptedService::new(builder().build_v1()?, operators_only(auth.clone()));
    let v1alpha = InterceptedService::new(builder().build_v1alpha()?, operators_only(auth));
    Ok((v1, v1alpha))
}

fn operators_only(auth: Authorizer) -> impl Fn(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |request: Request<()>| {
        let peer = auth::peer_addr(&request);
        auth.operator(&request)
            .map_err(|e| auth::refuse(&peer, "reflection", e))?;
        Ok(request)
    }
}
