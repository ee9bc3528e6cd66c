//! Wiring: the aggregator, the poller and the gRPC server, all stopped by one
//! shutdown future (ctrl-c or SIGTERM in the binary, a test's own future in tests).

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use omswatch_common::diagnose::diagnose;
use omswatch_common::findings::Finding;
use omswatch_common::oms_config;
use omswatch_common::proto::v1::query_server::QueryServer;
use omswatch_common::proto::v1::reporting_server::ReportingServer;
use omswatch_common::snapshot::RegionInput;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::transport::server::Router;

use crate::ingest::{OpenStreams, ReportRate, ReportingService};
use crate::metadb::MetaDbReader;
use crate::query::QueryService;
use crate::settings::{Settings, SettingsError};
use crate::state::{self, StateHandle};
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
    let (state, _aggregator) = state::spawn(
        settings.thresholds(),
        restore(settings.state_file.as_deref()),
    );
    let poller = tokio::spawn(poll(settings.clone(), state.clone()));
    let rate = ReportRate {
        per_second: settings.max_reports_per_second,
        burst: settings.report_burst,
    };
    let limit = settings.max_message_bytes;
    let (stop, stopping) = watch::channel(false);
    let service = ReportingService::new(state.clone(), auth.clone(), rate, limit, stopping);
    let open = service.open_streams();
    let reporting = ReportingServer::new(service).max_decoding_message_size(limit);
    let query = QueryServer::new(QueryService::new(state, auth)).max_decoding_message_size(limit);
    tracing::info!(
        listen = %listener.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()),
        tls = !settings.insecure,
        "collector serving"
    );
    let router = server.add_service(reporting).add_service(query);
    let served = serve(router, listener, shutdown, &stop, &open).await;
    poller.abort();
    if let Some(task) = token_watch {
        task.abort();
    }
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

/// Every tick: re-read each config.yaml (edits are picked up without a restart),
/// read the MetaDB, hand both to the aggregator, and log what changed.
async fn poll(settings: Settings, state: StateHandle) {
    let mut reader = MetaDbReader::new(settings.metadb_timeout, settings.metadb_tls.clone());
    let mut ticker = tokio::time::interval(settings.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous = BTreeSet::new();
    let mut first_tick = true;
    let mut save_error: Option<String> = None;
    loop {
        ticker.tick().await;
        let mut regions: Vec<RegionInput> = settings
            .oms_configs
            .iter()
            .map(|path| {
                let (config, summary) = oms_config::load(path);
                RegionInput {
                    config,
                    summary,
                    metadb: None,
                }
            })
            .collect();
        // On the first tick, publish the configs before the (slower) MetaDB reads, so
        // config findings show at once even while the MetaDB hangs.
        if first_tick && state.set_regions(regions.clone()).await.is_err() {
            return;
        }
        first_tick = false;
        for region in &mut regions {
            if let Ok(config) = &region.config {
                region.metadb = Some(reader.read(config).await);
            }
        }
        let valid: Vec<_> = regions
            .iter()
            .filter_map(|r| r.config.as_ref().ok())
            .collect();
        reader.retain(&valid);
        if state.set_regions(regions).await.is_err() {
            return;
        }
        let Ok(snapshot) = state.snapshot().await else {
            return;
        };
        previous = log_changes(previous, &diagnose(&snapshot).findings);
        if let Some(path) = &settings.state_file {
            save_error = keep(path, &snapshot.nodes, save_error);
        }
    }
}

/// The nodes of the state file; an unreadable one is logged and ignored, so a
/// bad file never keeps the collector from starting.
fn restore(path: Option<&std::path::Path>) -> Vec<omswatch_common::snapshot::NodeObservation> {
    let Some(path) = path else { return Vec::new() };
    match crate::persist::load(path) {
        Ok(nodes) => {
            tracing::info!(file = %path.display(), nodes = nodes.len(), "restored nodes from the state file");
            nodes
        }
        Err(e) => {
            tracing::error!(error = %e, "starting without the nodes of the state file");
            Vec::new()
        }
    }
}

/// Saves the nodes; logs a failure once (not every tick) and its recovery.
fn keep(
    path: &std::path::Path,
    nodes: &[omswatch_common::snapshot::NodeObservation],
    last: Option<String>,
) -> Option<String> {
    match (crate::persist::save(path, nodes), last) {
        (Ok(()), Some(_)) => {
            tracing::info!(file = %path.display(), "the state file is written again");
            None
        }
        (Ok(()), None) => None,
        (Err(e), last) => {
            let text = e.to_string();
            if last.as_deref() != Some(text.as_str()) {
                tracing::error!(error = %text, "cannot write the state file: a restart would forget nodes");
            }
            Some(text)
        }
    }
}

/// Logs findings that appeared or cleared since the last tick, by their stable
/// id (code and subject, not ages); returns the new set of ids.
fn log_changes(previous: BTreeSet<String>, findings: &[Finding]) -> BTreeSet<String> {
    let current: BTreeSet<String> = findings.iter().map(|f| f.id.clone()).collect();
    for f in findings.iter().filter(|f| !previous.contains(&f.id)) {
        tracing::warn!(id = %f.id, code = %f.code, severity = %f.severity(), nodes = ?f.nodes, caused_by = ?f.caused_by, "finding raised: {}", f.message);
    }
    for gone in previous.difference(&current) {
        tracing::info!(finding = %gone, "finding cleared");
    }
    current
}
