//! Wiring: the store ([`crate::store`]: its report writer, timeline and pruner),
//! the aggregator ([`crate::state`]), the poller ([`crate::poll`]), the gRPC
//! services ([`crate::ingest`], [`crate::query`], health and reflection from
//! [`crate::health`]) behind the collector's own accept loop ([`crate::listener`]),
//! the HTTP listener ([`crate::http`]) and the notifications ([`crate::notify`]), all
//! stopped by one shutdown future (ctrl-c or SIGTERM in the binary, a test's own
//! future in tests).

use std::future::Future;
use std::io;
use std::time::Duration;

use futures::Stream;
use omswatch_common::proto::v1::query_server::QueryServer;
use omswatch_common::proto::v1::reporting_server::ReportingServer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::transport::server::{Connected, Router};

use crate::health::{self, HealthStatus};
use crate::ingest::{OpenStreams, ReportRate, ReportingService};
use crate::listener::{self, Connections, PlainText};
use crate::notify::Notify;
use crate::notify::lease::LeaseTiming;
use crate::notify::stats::NotifyStats;
use crate::poll;
use crate::query::QueryService;
use crate::remediation::Remediation;
use crate::settings::{Settings, SettingsError};
use crate::state::{self, StateHandle};
use crate::store::{self, Store, StoreError, timeline, writer};
use crate::transport::{self, Security, TransportError};

/// How long shutdown waits for the connections to close once every agent
/// stream has been ended: a peer that keeps a call open (or stopped reading)
/// must not keep the collector up. Well under systemd's TimeoutStopSec (15 s),
/// so the collector exits by itself rather than by SIGKILL.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the collector stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The settings break a rule (e.g. `--insecure` off loopback).
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The TLS files or the token file are unusable.
    #[error(transparent)]
    Security(#[from] TransportError),
    /// The HTTP listener cannot start.
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    /// The store cannot be opened (the message names it, the cause and the fix).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A notification receiver's URL, CA, token or secret file is unusable.
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The reflection service could not be built from the protocol's descriptors.
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Runs the collector on `listener` until `shutdown` completes. Checks the
/// settings and reads every TLS and token file first, so a mistake stops the
/// start with its reason instead of failing each peer later.
pub async fn run(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    run_with_http(listener, None, settings, shutdown).await
}

/// [`run`] with the HTTP listener already bound (tests bind port 0); `None` binds
/// `settings.http_listen` unless it is off.
pub async fn run_with_http(
    listener: TcpListener,
    http: Option<TcpListener>,
    mut settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    // The rules (e.g. --insecure only on loopback) apply to the addresses really
    // served, which a caller may have bound differently from the settings.
    if let Ok(addr) = listener.local_addr() {
        settings.listen = addr;
    }
    if let Some(addr) = http.as_ref().and_then(|l| l.local_addr().ok()) {
        settings.http_listen = crate::settings::HttpListen::On(addr);
    }
    settings.validate()?;
    if let Some(ca) = &settings.metadb_tls.ca {
        transport::read_pem("--metadb-tls-ca", ca, "CERTIFICATE")?;
    }
    let Security {
        mut server,
        tls,
        auth,
        token_watch,
    } = transport::prepare(&settings)?;
    let notify = crate::notify::prepare(&settings)?;
    let connections = Connections::new(settings.connection_limits());
    let auth = auth.tracking(connections.clone());
    // After the TLS files: a wrong path is reported as such, whoever holds the HTTP port.
    let http = match http {
        Some(listener) => Some(listener),
        None => crate::http::bind(&settings).await?,
    };
    let store::startup::Started { store, restored } =
        store::startup::open(&settings, &collector_name(settings.listen)).await?;
    let (timeline, timeline_task) = timeline::start(
        store.clone(),
        &restored,
        settings.thresholds().silent_intervals,
    )
    .await?;
    let sink = writer::ReportSink::default();
    let (stop_writer, writer_stopping) = watch::channel(false);
    let writer = tokio::spawn(writer::run(store.clone(), sink.clone(), writer_stopping));
    let pruner = tokio::spawn(store::prune::run(store.clone(), settings.retention));
    let (state, _aggregator) = state::spawn(settings.thresholds(), restored, Some(sink));
    let notify_stats = NotifyStats::default();
    let notify = Notify::start(notify, &store, notify_stats.clone(), LeaseTiming::default());
    let poller = tokio::spawn(poll::run(
        settings.clone(),
        state.clone(),
        timeline.clone(),
        notify.alerts.clone(),
    ));
    let rate = ReportRate {
        per_second: settings.max_reports_per_second,
        burst: settings.report_burst,
    };
    let limit = settings.max_message_bytes;
    let (stop, stopping) = watch::channel(false);
    let (health_status, health) = health::health(stopping.clone()).await;
    tokio::spawn(serving_once_loaded(state.clone(), health_status.clone()));
    let (reflection_v1, reflection_v1alpha) = health::reflection(auth.clone())?;
    let remediation = Remediation::new(settings.allow_restart, state.clone(), store.clone())
        .alerting(notify.alerts.clone());
    let service = ReportingService::new(state.clone(), auth.clone(), rate, limit, stopping)
        .with_remediation(remediation.clone());
    let open = service.open_streams();
    let query = QueryService::new(state.clone(), auth.clone(), store.clone(), timeline)
        .with_remediation(remediation);
    let http = match http {
        Some(listener) => {
            let context = crate::http::HttpContext {
                state: state.clone(),
                auth: auth.clone(),
                counters: service.counters(),
                open: open.clone(),
                query: query.clone(),
                sources: crate::metrics::Sources {
                    store: store.health(),
                    connections: connections.clone(),
                    notify: notify_stats,
                },
                sessions: crate::page::Sessions::new(),
            };
            Some(crate::http::start(
                listener,
                &settings,
                context,
                stop.subscribe(),
            )?)
        }
        None => None,
    };
    let reporting = ReportingServer::new(service).max_decoding_message_size(limit);
    let query = QueryServer::new(query).max_decoding_message_size(limit);
    let limits = connections.limits();
    tracing::info!(
        listen = %listener.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()),
        tls = tls.is_some(),
        idle_grace = ?limits.idle_grace,
        max_connections = limits.max_connections,
        max_connections_per_peer = limits.max_connections_per_peer,
        allow_restart = settings.allow_restart,
        "collector serving"
    );
    let router = server
        .add_service(reporting)
        .add_service(query)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let draining = Draining {
        stop: &stop,
        open: &open,
        health: &health_status,
    };
    let served = match tls {
        Some(acceptor) => {
            let incoming = listener::incoming(listener, acceptor, connections.clone());
            serve(router, incoming, shutdown, draining).await
        }
        None => {
            let incoming = listener::incoming(listener, PlainText, connections.clone());
            serve(router, incoming, shutdown, draining).await
        }
    };
    poller.abort();
    if let Some(task) = http {
        task.abort();
    }
    pruner.abort();
    timeline_task.abort();
    if let Some(task) = token_watch {
        task.abort();
    }
    notify.stop().await;
    close_store(&store, &stop_writer, writer).await;
    let counts = connections.stats().counts();
    tracing::info!(
        accepted = counts.accepted_total,
        authorised = counts.authorised_total,
        closed_idle = counts.closed_idle_total,
        refused_peer_cap = counts.refused_peer_cap_total,
        refused_total_cap = counts.refused_total_cap_total,
        handshake_failed = counts.handshake_failed_total,
        "collector stopped"
    );
    Ok(served?)
}

/// Reports SERVING once the aggregator answers, i.e. once the state file is restored.
async fn serving_once_loaded(state: StateHandle, health: HealthStatus) {
    if state.snapshot().await.is_ok() {
        health.serving().await;
        tracing::debug!("health: SERVING");
    }
}

/// What shutdown turns off: health first, then every agent stream.
struct Draining<'a> {
    stop: &'a watch::Sender<bool>,
    open: &'a OpenStreams,
    health: &'a HealthStatus,
}

/// Serves until `shutdown`, then reports NOT_SERVING and ends every agent stream
/// through `stop`: tonic's graceful shutdown waits for all connections to close,
/// and an agent never closes its Report stream. Returns at the latest
/// DRAIN_TIMEOUT later.
async fn serve<IO>(
    router: Router,
    incoming: impl Stream<Item = io::Result<IO>>,
    shutdown: impl Future<Output = ()>,
    draining: Draining<'_>,
) -> Result<(), tonic::transport::Error>
where
    IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
{
    let Draining { stop, open, health } = draining;
    let signal = async {
        shutdown.await;
        tracing::info!(
            report_streams = open.count(),
            "shutting down: health NOT_SERVING, ending agent streams"
        );
        health.not_serving().await;
        stop.send_replace(true);
    };
    let serving = router.serve_with_incoming_shutdown(incoming, signal);
    tokio::select! {
        served = serving => served,
        () = drain_deadline(stop.subscribe()) => {
            tracing::warn!(
                report_streams = open.count(),
                "connections still open {}s after shutdown began; exiting without them",
                DRAIN_TIMEOUT.as_secs()
            );
            Ok(())
        }
    }
}

/// Completes DRAIN_TIMEOUT after `stopping` turns true.
async fn drain_deadline(mut stopping: watch::Receiver<bool>) {
    if stopping.wait_for(|stop| *stop).await.is_err() {
        // The sender outlives the server; were it gone, never cut the serving short.
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(DRAIN_TIMEOUT).await;
}

/// Writes what is pending and the stop event, within DRAIN_TIMEOUT.
async fn close_store(
    store: &Store,
    stop_writer: &watch::Sender<bool>,
    writer: tokio::task::JoinHandle<()>,
) {
    stop_writer.send_replace(true);
    let closing = async {
        let _ = writer.await;
        store::startup::record_stop(store).await;
        store.close().await;
    };
    if tokio::time::timeout(DRAIN_TIMEOUT, closing).await.is_err() {
        tracing::warn!(store = %store.location(), "the store did not take the last writes in time");
    }
}

/// This collector's name in the timeline: host name and port, which tell the
/// collectors of a pair apart.
fn collector_name(listen: std::net::SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "collector".into());
    format!("{host}:{}", listen.port())
}
