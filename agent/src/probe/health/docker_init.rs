//! Whether `bash /root/docker_init.sh` ran in the container, a runbook precondition: it leaves
//! `docker_init.log` or `docker_init.log.*` in OMS's log directory.

use std::path::Path;

/// The prefix of the log file `docker_init.sh` leaves (`docker_init.log`, `docker_init.log.1`…).
const DOCKER_INIT_LOG: &str = "docker_init.log";

/// Whether `docker_init.log*` exists in `dir`, and the file found or what was looked for.
pub(super) async fn docker_init(dir: &Path) -> (bool, String) {
    let missing = format!("no {DOCKER_INIT_LOG}* in {}", dir.display());
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) => return (false, format!("{missing} (cannot list it: {e})")),
    };
    let mut found: Vec<String> = Vec::new();
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(DOCKER_INIT_LOG) {
            found.push(entry.path().display().to_string());
        }
    }
    // Sorted, so the evidence does not flap between files; `docker_init.log` sorts first.
    found.sort();
    match found.into_iter().next() {
        Some(file) => (true, file),
        None => (false, missing),
    }
}
