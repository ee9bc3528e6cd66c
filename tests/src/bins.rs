//! Locating the workspace binaries (`omswatch-agent`, `omswatch-collector`, `omswatch`) that the
//! end-to-end tests run as real processes.
//!
//! Cargo builds a test into `target/<profile>/deps/<test>-<hash>`, and the workspace's binaries
//! into `target/<profile>/`; so the binaries sit one level above the running test, unless
//! `OMSWATCH_BIN_DIR` says otherwise (e.g. for binaries cross-built for CentOS 7).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The environment variable that overrides where binaries are looked up.
pub const BIN_DIR_ENV: &str = "OMSWATCH_BIN_DIR";

/// The path of the workspace binary `name`, from `$OMSWATCH_BIN_DIR` or the cargo target dir.
///
/// Fails, saying how to build it, when the binary is not there.
pub fn bin_path(name: &str) -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os(BIN_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => default_bin_dir()?,
    };
    bin_path_in(&dir, name)
}

/// The path of binary `name` inside `dir`, or an error saying how to build it.
pub fn bin_path_in(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "binary {name} not found in {}: run `cargo build --workspace --bins` first \
             (scripts/test.sh does)",
            dir.display()
        );
    }
    Ok(path)
}

/// The environment variable naming the static agent that ships (set by scripts/test.sh).
pub const STATIC_AGENT_ENV: &str = "OMSWATCH_STATIC_AGENT";

/// The static `omswatch-agent` built by scripts/build-static-agent.sh: `$OMSWATCH_STATIC_AGENT`,
/// else where that script leaves it (`target/x86_64-unknown-linux-musl/agent/`).
///
/// Fails, saying how to build it, when it is not there: the test that needs it must not skip.
pub fn static_agent_path() -> anyhow::Result<PathBuf> {
    let path = match std::env::var_os(STATIC_AGENT_ENV) {
        Some(path) => PathBuf::from(path),
        None => {
            let bin_dir = default_bin_dir()?;
            let target = bin_dir.parent().unwrap_or(&bin_dir);
            target.join("x86_64-unknown-linux-musl/agent/omswatch-agent")
        }
    };
    if !path.is_file() {
        bail!(
            "the static agent {} is missing: run scripts/build-static-agent.sh (scripts/test.sh \
             does and sets {STATIC_AGENT_ENV})",
            path.display()
        );
    }
    Ok(path)
}

/// The cargo output directory of the running test (`target/debug` for `target/debug/deps/t-…`).
pub fn default_bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("finding the running test executable")?;
    let mut dir = exe
        .parent()
        .with_context(|| format!("{} has no parent directory", exe.display()))?;
    if dir.ends_with("deps") {
        dir = dir.parent().unwrap_or(dir);
    }
    Ok(dir.to_path_buf())
}
