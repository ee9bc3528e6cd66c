//! Wiring: the store ([`crate::store`]: its report writer, timeline and pruner),
//! the aggregator ([`crate::state`]), the poller ([`crate::poll`]) and the gRPC
//! services ([`crate::ingest`], [`crate::query`]), all stopped by one shutdown
//! future (ctrl-c or SIGTERM in the binary, a test's own future in tests).

use std::future::Future;
use std::time::Duration;

use omswatch_common::proto::v1::query_server::QueryServer;
use omswatch_common::proto::v1::reporting_server::ReportingServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::transport::server::Router;

use crate::ingest::{OpenStreams, ReportRate, ReportingService};
use crate::poll;
use crate::query::QueryService;
use crate::settings::{Settings, SettingsError};
use crate::state;
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
    /// The store cannot be opened (the message names it, the cause and the fix).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Runs the collector on `listener` until `shutdown` completes. Checks the
/// settings and reads every TLS and token file first, so a mistake stops the
/// start with its reason instead of failing each peer later.
pub async fn run(
    listener: TcpListener,
    mut settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    // The rules (e.g. --insecure only on loopback) apply to the address really
    // served, which a caller may have bound differently from `settings.listen`.
    if let Ok(addr) = listener.local_addr() {
        settings.listen = addr;
    }
    settings.validate()?;
    if let Some(ca) = &settings.metadb_tls.ca {
        transport::read_pem("--metadb-tls-ca", ca, "CERTIFICATE")?;
    }
    let Security {
        mut server,
        auth,
        token_watch,
    } = transport::prepare(&settings)?;
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
    let poller = tokio::spawn(poll::run(settings.clone(), state.clone(), timeline.clone()));
    let rate = ReportRate {
        per_second: settings.max_reports_per_second,
        burst: settings.report_burst,
    };
    let limit = settings.max_message_bytes;
    let (stop, stopping) = watch::channel(false);
    let service = ReportingService::new(state.clone(), auth.clone(), rate, limit, stopping);
    let open = service.open_streams();
    let reporting = ReportingServer::new(service).max_decoding_message_size(limit);
    let query = QueryServer::new(QueryService::new(state, auth, store.clone(), timeline))
        .max_decoding_message_size(limit);
    tracing::info!(
        listen = %listener.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()),
        tls = !settings.insecure,
        "collector serving"
    );
    let router = server.add_service(reporting).add_service(query);
    let served = serve(router, listener, shutdown, &stop, &open).await;
    poller.abort();
    pruner.abort();
    timeline_task.abort();
    if let Some(task) = token_watch {
        task.abort();
    }
    close_store(&store, &stop_writer, writer).await;
    tracing::info!("collector stopped");
    Ok(served?)
}

/// Serves until `shutdown`, then ends every agent stream through `stop`:
/// tonic's graceful shutdown waits for all connections to close, and an agent
/// never closes its Report stream. Returns at the latest DRAIN_TIMEOUT later.
async fn serve(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    stop: &watch::Sender<bool>,
    open: &OpenStreams,
) -> Result<(), tonic::transport::Error> {
    let signal = async {
        shutdown.await;
        tracing::info!(
            report_streams = open.count(),
            "shutting down: ending agent streams"
        );
        stop.send_replace(true);
    };
    let serving = router.serve_with_incoming_shutdown(transport::incoming(listener), signal);
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
