//! Whether `bash /root/docker_init.sh` ran in the container, a runbook precondition: it leaves
//! `docker_init.log` or `docker_init.log.*` in OMS's log directory.
//!
//! That directory holds every OMS log, often thousands of files, so it is listed again only when
//! it changed (an entry added, removed or renamed moves its times; see [`Watched`]).

use crate::probe::stamp::{Derived, Watched};
use std::path::{Path, PathBuf};

/// The prefix of the log file `docker_init.sh` leaves (`docker_init.log`, `docker_init.log.1`…).
const DOCKER_INIT_LOG: &str = "docker_init.log";

/// Looks for `docker_init.log*` in one directory.
#[derive(Debug)]
pub(super) struct DockerInitLog {
    /// The log directory.
    dir: PathBuf,
    /// The last answer, kept until the directory changes.
    last: Derived<(bool, String)>,
}

impl DockerInitLog {
    /// Looks in `dir`.
    pub(super) fn new(dir: PathBuf) -> DockerInitLog {
        DockerInitLog {
            dir,
            last: Derived::new(),
        }
    }

    /// Whether `docker_init.log*` exists, and the file found or what was looked for. Lists the
    /// directory on a blocking thread, and only when it changed since the last listing.
    pub(super) async fn probe(&self) -> (bool, String) {
        if let Some(answer) = self.last.get(&self.dir) {
            return answer;
        }
        let watched = Watched::of([self.dir.as_path()]);
        let dir = self.dir.clone();
        let answer = tokio::task::spawn_blocking(move || docker_init(&dir))
            .await
            .unwrap_or_else(|e| (false, format!("listing {} failed: {e}", self.dir.display())));
        self.last.set(&self.dir, watched, answer.clone());
        answer
    }
}

/// Whether `docker_init.log*` exists in `dir`, and the file found or what was looked for.
pub(super) fn docker_init(dir: &Path) -> (bool, String) {
    let missing = format!("no {DOCKER_INIT_LOG}* in {}", dir.display());
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return (false, format!("{missing} (cannot list it: {e})")),
    };
    // The first in sorted order, so the evidence does not flap between files;
    // `docker_init.log` sorts first.
    let found = entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with(DOCKER_INIT_LOG)
        })
        .map(|entry| entry.path())
        .min();
    match found {
        Some(file) => (true, file.display().to_string()),
        None => (false, missing),
    }
}
