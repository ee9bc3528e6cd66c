//! The HTTP listener (`--http-listen`, default 127.0.0.1:9471): `GET /metrics` for
//! Prometheus, `GET /api/v1/status` (the JSON of `omswatch status --format json`),
//! `GET /api/v1/history` (the JSON of `omswatch history --format json`, the same filters as
//! query parameters), and `GET /-/healthy`, `GET /-/ready`.
//!
//! - [`routes`]: the router, the operator check in front of `/metrics` and `/api/*`, the
//!   health endpoints; a later module (the Servers page) merges its own routes there.
//! - [`api`]: the handlers, thin: snapshot → diagnose → a view, as the gRPC query does.
//! - [`restart`]: `POST /api/v1/restart`, the same restart as `omswatch restart`.
//! - [`tls`]: the collector's certificate, client certificates verified against its CA.
//!
//! Everything is bounded: connections ([`MAX_CONNECTIONS`], more are closed at once), the
//! TLS handshake, the request head (size, header count, and the time to send it, which is
//! also how long an idle keep-alive connection may wait), each request's handling, and a
//! connection's life. Plain text only under `--insecure` (loopback unless forced, checked
//! with the settings), where, as over gRPC, nobody is authenticated.

pub mod api;
pub mod restart;
pub mod routes;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::auth::Authorizer;
use crate::ingest::{IngestCounters, OpenStreams};
use crate::settings::Settings;
use crate::state::StateHandle;
use crate::transport::TransportError;

/// Open connections at most; a scraper needs one, a person's browser a few.
pub const MAX_CONNECTIONS: usize = 64;
/// A peer that opens TCP but never finishes the TLS handshake is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time to send a request head; an idle keep-alive connection is closed after it too
/// (hyper starts the clock when it waits for the next head). Over Prometheus's default
/// 15 s scrape interval, so a scraper keeps its connection.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request head: hyper's read buffer (its minimum is 8 KiB).
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most headers in one request.
const MAX_HEADERS: usize = 64;
/// One request's handling, from head to response.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection is asked to close after this, and cut if it has not 10 s later: a peer
/// that stopped reading a response cannot hold its slot for ever.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(300);
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// What the handlers read: the same state, authorizer and counters the gRPC services use.
#[derive(Clone)]
pub struct HttpContext {
    /// The aggregator.
    pub state: StateHandle,
    /// Who may read `/metrics` and `/api/*`.
    pub auth: Authorizer,
    /// Reports accepted and refused by ingest.
    pub counters: IngestCounters,
    /// Open agent streams.
    pub open: OpenStreams,
    /// The gRPC Query service, whose status the status API renders.
    pub query: crate::query::QueryService,
    /// The store's health, the connections and the notifications, for `/metrics`.
    pub sources: crate::metrics::Sources,
    /// The Servers page's sign-in sessions (they also admit `GET /api/*`).
    pub sessions: crate::page::Sessions,
}

/// Who is on the other end of a connection: its address and, over TLS, the leaf of the
/// client certificate chain rustls verified. Put into each request's extensions.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The peer's address.
    pub addr: SocketAddr,
    /// The DER of its verified client certificate, if it presented one.
    pub certificate: Option<Arc<[u8]>>,
}

/// Why the HTTP listener cannot start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address cannot be bound.
    #[error(
        "cannot listen on {addr} for --http-listen (in use? pass --http-listen ADDR, or off): {source}"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TLS files are unusable.
    #[error(transparent)]
    Tls(#[from] TransportError),
}

/// Binds `settings.http_listen`; `None` when it is off.
pub async fn bind(settings: &Settings) -> Result<Option<TcpListener>, HttpError> {
    let Some(addr) = settings.http_listen.addr() else {
        return Ok(None);
    };
    TcpListener::bind(addr)
        .await
        .map(Some)
        .map_err(|source| HttpError::Bind { addr, source })
}

/// Starts serving on `listener` (TLS unless `settings.insecure`) until `stop` turns true.
pub fn start(
    listener: TcpListener,
    settings: &Settings,
    context: HttpContext,
    stop: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, HttpError> {
    let tls = if settings.insecure {
        None
    } else {
        Some(TlsAcceptor::from(tls::server_config(settings)?))
    };
    tracing::info!(
        listen = %listener.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()),
        tls = tls.is_some(),
        "HTTP listener serving the Servers page (/), /metrics, /api/v1/status, /api/v1/history, /api/v1/restart, /-/healthy, /-/ready"
    );
    Ok(tokio::spawn(serve(
        listener,
        tls,
        routes::router(context),
        stop,
    )))
}

/// The accept loop. Each connection runs in its own task, holding one of
/// [`MAX_CONNECTIONS`] permits; at `stop`, the loop ends and every connection is dropped.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stopping| *stopping) => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        let (stream, addr) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors, typically: wait instead of spinning.
                tracing::warn!(error = %e, "HTTP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!(peer = %addr, max = MAX_CONNECTIONS, "HTTP connection refused: too many open");
            continue;
        };
        let (tls, app) = (tls.clone(), app.clone());
        connections.spawn(async move {
            connection(stream, addr, tls, app).await;
            drop(permit);
        });
    }
    connections.shutdown().await;
}

async fn connection(stream: TcpStream, addr: SocketAddr, tls: Option<TlsAcceptor>, app: Router) {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = tls else {
        let peer = Peer {
            addr,
            certificate: None,
        };
        return http1(TokioIo::new(stream), peer, app).await;
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => {
            let certificate = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| Arc::from(leaf.as_ref()));
            http1(TokioIo::new(stream), Peer { addr, certificate }, app).await;
        }
        Ok(Err(e)) => tracing::debug!(peer = %addr, error = %e, "HTTP TLS handshake failed"),
        Err(_) => tracing::debug!(peer = %addr, "HTTP TLS handshake timed out"),
    }
}

/// Serves HTTP/1.1 requests on one connection, each with the peer in its extensions.
async fn http1<I>(io: TokioIo<I>, peer: Peer, app: Router)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let addr = peer.addr;
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(peer.clone());
        let mut app = app.clone();
        async move { app.call(request).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        () = tokio::time::sleep(MAX_CONNECTION_AGE) => {
            conn.as_mut().graceful_shutdown();
            tokio::time::timeout(CLOSE_GRACE, conn.as_mut()).await.unwrap_or(Ok(()))
        }
    };
    if let Err(e) = served {
        tracing::debug!(peer = %addr, error = %e, "HTTP connection ended with an error");
    }
}

/// [`REQUEST_TIMEOUT`] for the router's middleware.
pub(crate) fn request_timeout() -> Duration {
    REQUEST_TIMEOUT
}
