//! Machine-wide named locks shared by parallel test processes.
//!
//! A lock is a bound Linux *abstract* unix socket (`\0omswatch-tests/<name>`): binding is atomic
//! and exclusive, and the kernel releases it when the holder exits, even on SIGKILL. So a lock can
//! never be left stale by a crashed test, and whoever holds it may treat any leftovers that carry
//! the lock's name (namespaces, bridges, half-built directories) as garbage of a dead holder.
//! Abstract names are per network namespace; test processes all run in the host's.
//!
//! The same trick marks the harness's temp dirs as in use ([`owned_temp_dir`]), so that those of
//! killed test processes can be swept ([`sweep_temp_dirs`]).

use std::io::ErrorKind;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tempfile::TempDir;

/// Unowned temp dirs younger than this are left alone: their creator may not hold its lock yet.
const SWEEP_MIN_AGE: Duration = Duration::from_secs(30);

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

/// Creates `$TMPDIR/<prefix>XXXXXX` and a lock named after it, which marks the dir as in use.
///
/// Drop the `TempDir` before the lock. [`sweep_temp_dirs`] deletes such dirs of dead processes.
pub fn owned_temp_dir(prefix: &str) -> anyhow::Result<(TempDir, HostLock)> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .with_context(|| format!("creating a temp dir {prefix}*"))?;
    let name = dir_lock_name(dir.path());
    let lock = HostLock::try_acquire(&name)?
        .with_context(|| format!("lock {name} of a brand-new temp dir is taken"))?;
    Ok((dir, lock))
}

/// Deletes `$TMPDIR/<prefix>*` dirs (made by [`owned_temp_dir`]) whose owner is gone: left by a
/// test process that was killed before its `Drop` ran.
pub fn sweep_temp_dirs(prefix: &str) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let owned_by_harness = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(prefix));
        let old_enough = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .is_ok_and(|modified| modified.elapsed().is_ok_and(|age| age >= SWEEP_MIN_AGE));
        if owned_by_harness
            && old_enough
            && let Ok(Some(_lock)) = HostLock::try_acquire(&dir_lock_name(&entry.path()))
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The lock name marking the temp dir `path` as in use.
fn dir_lock_name(path: &std::path::Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!("tmpdir-{name}")
}
