//! The collector's own accept loop, in front of tonic: every connection is counted and capped
//! (in total and per peer address) before its TLS handshake, handshakes run in their own tasks
//! under a timeout, and a connection that makes no authorised call within `idle_grace` is closed.
//! Without this, a TLS client with no certificate completes the handshake and may hold its
//! connection (and a file descriptor) for good: a thousand of them would lock agents out.
//!
//! What counts as authorised is decided by [`crate::auth`], which calls
//! [`Connections::authorised`] for every call it admits (an agent's stream, an operator's query).
//! Health checks are answered but do not count: a load balancer's probe reconnects when needed,
//! and anyone could otherwise keep a connection by probing. The counts are in
//! [`ConnectionStats`], for the logs and a metrics view.

mod admission;
mod throttle;
pub mod tls;
mod tracked;

pub use admission::{
    Admitted, ConnectionCounts, ConnectionLimits, ConnectionStats, Connections, Refusal,
};
pub use tracked::Tracked;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

/// A TLS handshake must complete within this (or the grace period, if shorter).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// TCP keepalive catches a dead peer when HTTP/2 is stuck behind a full send buffer and cannot
/// deliver its ping.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);
/// After a failed accept (e.g. out of file descriptors), wait this long before the next one
/// rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Connections handed to tonic but not yet taken.
const QUEUE: usize = 64;

/// What turns an accepted TCP connection into the stream tonic serves: TLS or nothing.
pub trait Handshake: Clone + Send + Sync + 'static {
    /// The connection after the handshake.
    type Io: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static;

    /// Performs the handshake on `tcp`.
    fn handshake(&self, tcp: TcpStream) -> impl Future<Output = io::Result<Self::Io>> + Send;
}

/// `--insecure`: plain text, no handshake.
#[derive(Debug, Clone, Copy)]
pub struct PlainText;

impl Handshake for PlainText {
    type Io = TcpStream;

    async fn handshake(&self, tcp: TcpStream) -> io::Result<TcpStream> {
        Ok(tcp)
    }
}

impl Handshake for tokio_rustls::TlsAcceptor {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;

    fn handshake(&self, tcp: TcpStream) -> impl Future<Output = io::Result<Self::Io>> + Send {
        self.accept(tcp)
    }
}

/// The connections accepted on `listener`, admitted by `connections`, after `handshake`: the
/// stream to give tonic's `serve_with_incoming_shutdown`. The listening socket is closed as soon
/// as tonic drops the stream (at shutdown), so new clients are refused at once.
pub fn incoming<H: Handshake>(
    listener: TcpListener,
    handshake: H,
    connections: Connections,
) -> ReceiverStream<io::Result<Tracked<H::Io>>> {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(accept_loop(listener, handshake, connections, tx));
    ReceiverStream::new(rx)
}

async fn accept_loop<H: Handshake>(
    listener: TcpListener,
    handshake: H,
    connections: Connections,
    tx: mpsc::Sender<io::Result<Tracked<H::Io>>>,
) {
    loop {
        let accepted = tokio::select! {
            () = tx.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                accept_failed(&connections, &e);
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let admitted = match connections.admit(peer) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                refused(&connections, peer, refusal);
                continue; // dropping `tcp` closes it
            }
        };
        configure(&tcp, peer);
        tokio::spawn(hand_over(handshake.clone(), tcp, admitted, tx.clone()));
    }
}

/// Handshakes and hands the connection to tonic, or drops it (counted and logged at debug level:
/// port scanners and plain-text clients fail here all the time).
async fn hand_over<H: Handshake>(
    handshake: H,
    tcp: TcpStream,
    admitted: Admitted,
    tx: mpsc::Sender<io::Result<Tracked<H::Io>>>,
) {
    let grace = admitted.connections().limits().idle_grace;
    let peer = admitted.peer();
    match tokio::time::timeout(HANDSHAKE_TIMEOUT.min(grace), handshake.handshake(tcp)).await {
        Ok(Ok(io)) => {
            // Fails only when tonic stopped accepting: the connection is then dropped.
            let _ = tx.send(Ok(Tracked::new(io, admitted, grace))).await;
        }
        Ok(Err(e)) => {
            admitted.connections().stats().handshake_failed();
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
        }
        Err(_) => {
            admitted.connections().stats().handshake_failed();
            tracing::debug!(%peer, "TLS handshake timed out");
        }
    }
}

/// No delay (reports and answers are small and latency matters) and TCP keepalive. tonic sets
/// these only on listeners it binds itself.
fn configure(tcp: &TcpStream, peer: SocketAddr) {
    use rustix::net::sockopt;
    let set = tcp
        .set_nodelay(true)
        .and_then(|()| Ok(sockopt::set_socket_keepalive(tcp, true)?))
        .and_then(|()| Ok(sockopt::set_tcp_keepidle(tcp, TCP_KEEPALIVE)?));
    if let Err(e) = set {
        tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY/keepalive");
    }
}

fn refused(connections: &Connections, peer: SocketAddr, refusal: Refusal) {
    if let Some(more) = connections.refusal_log().ready() {
        tracing::warn!(
            %peer,
            reason = %refusal,
            others_since_last_log = more,
            "connection refused"
        );
    }
}

fn accept_failed(connections: &Connections, e: &io::Error) {
    if let Some(more) = connections.refusal_log().ready() {
        let hint = match e.raw_os_error() {
            Some(code) if code == rustix::io::Errno::MFILE.raw_os_error() => {
                " (out of file descriptors: raise LimitNOFILE or lower max_connections)"
            }
            _ => "",
        };
        tracing::error!(error = %e, others_since_last_log = more, "cannot accept a connection{hint}");
    }
}

/// Raises this process's soft limit on open files to its hard limit (as Go's runtime does), so
/// `max_connections` is not cut short by a default of 1024; returns the limit now in force.
pub fn raise_open_files_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            tracing::debug!(error = %e, "cannot raise the open-files limit");
        }
    }
    getrlimit(Resource::Nofile).current
}
