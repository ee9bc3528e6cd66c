//! Machine-wide named locks shared by parallel test processes.
//!
//! A lock is a bound Linux *abstract* unix socket (`\0omswatch-tests/<name>`): binding is atomic
//! and exclusive, and the kernel releases it when the holder exits, even on SIGKILL. So a lock can
//! never be left stale by a crashed test, and whoever holds it may treat any leftovers that carry
//! the lock's name (namespaces, bridges, half-built directories) as garbage of a dead holder.
//! Abstract names are per network namespace; test processes all run in the host's.

use std::io::ErrorKind;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct HostLock {
    /// The bound socket; the binding is the lock.
    _socket: UnixListener,
    /// The lock's name, for messages.
    name: String,
}

impl HostLock {
    /// Takes the lock `name` if nobody holds it; `Ok(None)` when another process does.
    pub fn try_acquire(name: &str) -> anyhow::Result<Option<HostLock>> {
        let address = SocketAddr::from_abstract_name(format!("omswatch-tests/{name}"))
            .with_context(|| format!("building the abstract socket name for lock {name}"))?;
        match UnixListener::bind_addr(&address) {
            Ok(socket) => Ok(Some(HostLock {
                _socket: socket,
                name: name.to_owned(),
            })),
            Err(error) if error.kind() == ErrorKind::AddrInUse => Ok(None),
            Err(error) => Err(error).with_context(|| format!("binding the socket of lock {name}")),
        }
    }

    /// Waits (polling) until the lock `name` is free and takes it; fails after `timeout`.
    pub async fn acquire(name: &str, timeout: Duration) -> anyhow::Result<HostLock> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(lock) = HostLock::try_acquire(name)? {
                return Ok(lock);
            }
            if Instant::now() >= deadline {
                bail!("lock {name} still held by another process after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The lock's name as given to [`HostLock::try_acquire`].
    pub fn name(&self) -> &str {
        &self.name
    }
}
