//! A connection as tonic serves it, wrapped: it counts until closed (its [`Admitted`] guard), and
//! it fails its reads once its grace period ends without an authorised call, which makes hyper
//! close it. Checked in `poll_read` because the HTTP/2 server always has a read pending, so the
//! timer is polled without a task of its own.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};
use tonic::transport::server::Connected;

use super::admission::Admitted;

/// One served connection.
pub struct Tracked<IO> {
    io: IO,
    admitted: Admitted,
    /// Ends the grace period; `None` once the connection made an authorised call.
    grace: Option<Pin<Box<Sleep>>>,
    /// The grace period ended without an authorised call: every read and write fails.
    expired: bool,
}

impl<IO> Tracked<IO> {
    /// Wraps `io`, whose grace period ends `grace` after it was accepted.
    pub(super) fn new(io: IO, admitted: Admitted, grace: Duration) -> Self {
        let deadline = Instant::from_std(admitted.accepted_at()) + grace;
        Self {
            io,
            admitted,
            grace: Some(Box::pin(tokio::time::sleep_until(deadline))),
            expired: false,
        }
    }

    /// Ok while the connection may stay; the error that closes it once its grace is over.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.expired {
            return Err(idle_error());
        }
        let Some(grace) = &mut self.grace else {
            return Ok(());
        };
        if self.admitted.marker().is_authorised() {
            self.grace = None;
            return Ok(());
        }
        if grace.as_mut().poll(cx).is_pending() {
            return Ok(());
        }
        self.expired = true;
        let connections = self.admitted.connections();
        connections.stats().closed_idle();
        let peer = self.admitted.peer();
        tracing::debug!(%peer, "closing a connection that made no authorised call within the grace period");
        if let Some(more) = connections.idle_log().ready() {
            tracing::info!(
                %peer,
                others_since_last_log = more,
                "closed a connection that made no authorised call within idle_grace"
            );
        }
        Err(idle_error())
    }
}

fn idle_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "no authorised call within idle_grace",
    )
}

impl<IO: AsyncRead + Unpin> AsyncRead for Tracked<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Tracked<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.expired {
            return Poll::Ready(Err(idle_error()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.expired {
            return Poll::Ready(Err(idle_error()));
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// tonic puts this in every request's extensions: with TLS it carries the peer's certificates
/// (`Request::peer_certs`), so the authoriser sees through the wrapper.
impl<IO: Connected> Connected for Tracked<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}
