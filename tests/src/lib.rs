//! The integration harness: runs REAL components for omswatch's end-to-end tests.
//!
//! Each piece owns one kind of outside resource and gives it back on `Drop`:
//! - [`MariaDb`]: a throwaway `mariadbd` playing the OMS MetaDB, with seeding helpers for the
//!   `host` and `heart_beat` tables;
//! - [`TestNet`]: a bridge plus one network namespace per simulated OMS node, each with its own
//!   IP, hostname and `/etc/hosts`;
//! - [`Supervisord`]: a real `supervisord` laid out like an OMS container (`conf.d/*.ini`);
//! - [`curl`] makes HTTP(S) requests through the real `curl`;
//! - [`browser::Browser`]: a real headless chromium driven through chromedriver (WebDriver);
//! - [`prometheus::Prometheus`]: a real Prometheus scraping the collector and evaluating the
//!   shipped alert rules; [`alertmanager::Alertmanager`]: a real Alertmanager the collector
//!   pushes its alerts to;
//! - [`webhook_receiver`]: HTTP receivers inside the test (recording, or hanging) for the
//!   collector's webhooks and Alertmanager's notifications;
//! - [`bin_path`] finds the workspace binaries ([`bins::static_agent_path`] the agent that
//!   ships), [`free_port`] a TCP port; [`elf`] tells what a binary needs to start;
//! - [`cluster`] assembles the pieces into a whole OMS-like cluster with agents and a collector;
//! - [`deployment`]: a seeded MetaDB and two regions' config.yaml, no agent (for `omswatch check`);
//! - [`TrackedChild`] owns every long-running process the pieces start: dropping it kills the
//!   process with everything it started and reaps it;
//! - [`standalone`] runs a collector alone, over TLS on loopback.
//!
//! Tests run in parallel processes (cargo nextest), so every name, port, address and directory
//! is unique per instance; machine-wide choices go through [`host_lock`]. A test process killed
//! before its `Drop` runs (a nextest timeout) leaves nothing running: servers die with it, and
//! the next harness user (or `omswatch-test-sweep`, run by `scripts/cleanup.sh`) sweeps its
//! processes, namespaces and temp dirs. Missing prerequisites are errors that say what to
//! install, never silent skips.

pub mod alertmanager;
pub mod bins;
pub mod browser;
pub mod cluster;
pub mod curl;
pub mod deployment;
pub mod elf;
pub mod host_lock;
pub mod loadgen;
pub mod mariadb;
pub mod netns;
pub mod ports;
mod process;
pub mod prometheus;
pub mod servers_page;
pub mod standalone;
pub mod supervisord;
pub mod tracked;
pub mod webhook_receiver;

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use anyhow::{Context, bail};

pub use bins::bin_path;
pub use mariadb::MariaDb;
pub use netns::{NodeNet, TestNet};
pub use ports::free_port;
pub use process::{is_alive, is_gone};
pub use supervisord::{ProgramSpec, Supervisord, oms_programs};
pub use tracked::TrackedChild;

/// Removes what test processes killed before their `Drop` left behind, and nothing that a running
/// test (of any checkout) still uses: processes tagged by dead test processes, network slots
/// whose lock nobody holds, temp dirs whose owner is gone. Returns the network slots cleaned.
pub fn sweep_leftovers() -> anyhow::Result<Vec<u32>> {
    require_root()?;
    tracked::sweep_orphans();
    let slots = netns::sweep_unowned_slots()?;
    for prefix in [
        cluster::DIR_PREFIX,
        deployment::DIR_PREFIX,
        supervisord::DIR_PREFIX,
        mariadb::INSTANCE_DIR_PREFIX,
        prometheus::DIR_PREFIX,
        alertmanager::DIR_PREFIX,
        browser::DIR_PREFIX,
    ] {
        host_lock::sweep_temp_dirs(prefix);
    }
    Ok(slots)
}

/// Directories searched after `$PATH`: root's tools live in `sbin`, which a user's `$PATH` may lack.
const EXTRA_PROGRAM_DIRS: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// Fails unless the process runs as root (network namespaces and `mariadbd --user=root` need it).
pub fn require_root() -> anyhow::Result<()> {
    let uid = std::fs::metadata("/proc/self")
        .context("reading /proc/self to learn the uid")?
        .uid();
    if uid != 0 {
        bail!(
            "the omswatch integration harness needs root (uid is {uid}): run the tests as root, \
             e.g. `scripts/test.sh` as root"
        );
    }
    Ok(())
}

/// Finds `program` in `$PATH` or the usual `sbin`/`bin` directories.
///
/// The error names the Debian package to install, e.g. `apt-get install -y mariadb-server`.
pub fn require_program(program: &str, debian_package: &str) -> anyhow::Result<PathBuf> {
    let path_dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_dirs)
        .chain(EXTRA_PROGRAM_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .with_context(|| {
            format!(
                "`{program}` not found in $PATH or {EXTRA_PROGRAM_DIRS:?}: install it with \
                 `apt-get install -y {debian_package}` (scripts/test.sh installs everything)"
            )
        })
}
