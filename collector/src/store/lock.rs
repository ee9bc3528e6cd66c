//! One collector per SQLite file: an exclusive `flock` on `<file>.lock`, held
//! for the collector's life and released by the kernel when it exits, even on
//! SIGKILL. (Two collectors sharing one store is what the MySQL store is for.)

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

use super::StoreError;

/// The held lock; dropping it releases the file.
#[derive(Debug)]
pub struct SqliteLock {
    _file: File,
}

/// The lock file of SQLite file `db`.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

impl SqliteLock {
    /// Takes the lock of `db` or says who holds it; writes our pid into it.
    pub fn acquire(db: &Path) -> Result<SqliteLock, StoreError> {
        let lock = lock_path(db);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock)
            .map_err(|error| StoreError::LockFile {
                file: db.to_path_buf(),
                lock: lock.clone(),
                error,
            })?;
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let holder = text
                .trim()
                .parse::<u32>()
                .map(|pid| format!(" (pid {pid})"))
                .unwrap_or_default();
            return Err(StoreError::Locked {
                file: db.to_path_buf(),
                lock,
                holder,
            });
        }
        // Best effort: the pid only makes the message of a second collector better.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{}", std::process::id());
        Ok(SqliteLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_naming_the_file_and_pid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("omswatch.db");
        let held = SqliteLock::acquire(&db).expect("first");
        let err = SqliteLock::acquire(&db).expect_err("second").to_string();
        assert!(err.contains(&db.display().to_string()), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("mysql://"), "{err}");
        drop(held);
        SqliteLock::acquire(&db).expect("free again");
    }
}
