//! The node's own config.yaml: runbook precondition 1 ("`config.yaml` checked"), read where the
//! OMS container was started with it.
//!
//! The agent reports the file the way the collector summarises its own copies
//! ([`summarize`]): non-secret values as text, secrets only as digests, so the collector can tell a
//! node whose file drifted from the region's without a password ever leaving the node. The same
//! file also tells the agent its region (`cm_region`) and where OMS's health endpoint listens
//! (`nginx_server_port`).

use std::io::Read;
use std::path::{Path, PathBuf};

use omswatch_common::oms_config::DEFAULT_NGINX_PORT;
use omswatch_common::oms_config::summary::summarize;
use omswatch_common::proto::v1::NodeConfig;

use super::stamp::{Derived, Watched};

/// Where OMS containers get their config.yaml (`docker run -v <cfg>:/home/admin/conf/config.yaml`).
pub const DEFAULT_PATH: &str = "/home/admin/conf/config.yaml";

/// Largest file read, the collector's cap too. A config.yaml is a few KiB; a bigger one is a wrong
/// path (a log, a device).
const MAX_BYTES: u64 = omswatch_common::oms_config::MAX_CONFIG_BYTES;

/// Why the file could not be read; becomes `NodeConfig.error`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing, unreadable, or not text.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure (invalid UTF-8 included).
        source: std::io::Error,
    },
    /// Larger than any config.yaml.
    #[error("cannot read {}: larger than {MAX_BYTES} bytes, not a config.yaml", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
}

/// Reads and summarises the node's config.yaml, again only when the file changed ([`Watched`]):
/// it is probed every second and edited a few times a year.
#[derive(Debug)]
pub struct ConfigProbe {
    /// The file.
    path: PathBuf,
    /// The last summary, kept until the file changes.
    last: Derived<NodeConfig>,
}

impl ConfigProbe {
    /// A probe of the config.yaml at `path`.
    pub fn new(path: PathBuf) -> ConfigProbe {
        ConfigProbe {
            path,
            last: Derived::new(),
        }
    }

    /// The file probed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's summary. Never fails: an unreadable file is a `NodeConfig` with only `path` and
    /// `error` set. Reading and summarising run on a blocking thread, as a large file may take a
    /// while.
    pub async fn probe(&self) -> NodeConfig {
        if let Some(config) = self.last.get(&self.path) {
            return config;
        }
        let watched = Watched::of([self.path.as_path()]);
        let path = self.path.clone();
        let config = tokio::task::spawn_blocking(move || summary(&path))
            .await
            .unwrap_or_else(|e| NodeConfig {
                path: self.path.display().to_string(),
                error: format!("summarising the file failed: {e}"),
                ..NodeConfig::default()
            });
        self.last.set(&self.path, watched, config.clone());
        config
    }
}

/// Reads and summarises the config.yaml at `path` (blocking).
fn summary(path: &Path) -> NodeConfig {
    match read(path) {
        Ok(text) => summarize(&path.display().to_string(), &text),
        Err(error) => NodeConfig {
            path: path.display().to_string(),
            error: error.to_string(),
            ..NodeConfig::default()
        },
    }
}

/// The file's text, refusing anything larger than [`MAX_BYTES`].
fn read(path: &Path) -> Result<String, Error> {
    let read_error = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut text = String::new();
    file.take(MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read_error)?;
    if text.len() as u64 > MAX_BYTES {
        return Err(Error::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(text)
}

/// The file's `cm_region`, when set and not empty.
pub fn region(config: &NodeConfig) -> Option<&str> {
    let region = config.values.get("cm_region")?.trim();
    (!region.is_empty()).then_some(region)
}

/// The file's `nginx_server_port`, or OMS's default (8089) when absent or not a port: OMS's
/// health endpoint is served there.
pub fn nginx_server_port(config: &NodeConfig) -> u16 {
    config
        .values
        .get("nginx_server_port")
        .and_then(|v| v.trim().parse::<u16>().ok())
        .filter(|port| *port != 0)
        .unwrap_or(DEFAULT_NGINX_PORT)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const PASSWORD: &str = "Hunter2-meta!";

    fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn probe(path: &Path) -> NodeConfig {
        ConfigProbe::new(path.to_owned()).probe().await
    }

    #[tokio::test]
    async fn summary_carries_values_and_digests_never_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            &format!(
                "oms_meta_host: 10.0.0.5\noms_meta_password: \"{PASSWORD}\"\n\
                 cm_region: cn-hangzhou\nnginx_server_port: 9089\ncm_nodes:\n  - 10.0.0.11\n"
            ),
        );
        let config = probe(&path).await;
        assert_eq!(config.error, "");
        assert_eq!(config.path, path.display().to_string());
        assert_eq!(config.values["oms_meta_host"], "10.0.0.5");
        assert!(config.secret_digests.contains_key("oms_meta_password"));
        assert_eq!(config.lines["cm_region"], 3);
        assert!(!format!("{config:?}").contains(PASSWORD));
        assert_eq!(region(&config), Some("cn-hangzhou"));
        assert_eq!(nginx_server_port(&config), 9089);
    }

    #[tokio::test]
    async fn one_probe_sees_every_edit_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        let probe = ConfigProbe::new(path.clone());
        assert!(probe.probe().await.error.starts_with("cannot read"));
        for name in ["east", "west", "wes2"] {
            std::fs::write(&path, format!("cm_region: {name}\n")).unwrap();
            assert_eq!(region(&probe.probe().await), Some(name));
        }
        std::fs::remove_file(&path).unwrap();
        assert!(probe.probe().await.error.starts_with("cannot read"));
    }

    #[tokio::test]
    async fn defaults_when_keys_are_absent_empty_or_invalid() {
        let dir = tempfile::tempdir().unwrap();
        for text in [
            "cm_region: \"\"\n",
            "nginx_server_port: http\n",
            "nginx_server_port: 0\n",
            "nginx_server_port: 70000\n",
        ] {
            let config = probe(&write(&dir, text)).await;
            assert_eq!(region(&config), None, "{text}");
            assert_eq!(nginx_server_port(&config), 8089, "{text}");
        }
    }

    #[tokio::test]
    async fn missing_binary_or_huge_file_is_an_error_not_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.yaml");
        let config = probe(&missing).await;
        assert!(
            config
                .error
                .starts_with(&format!("cannot read {}: ", missing.display())),
            "{}",
            config.error
        );
        assert!(config.values.is_empty() && config.redacted_text.is_empty());
        assert_eq!(nginx_server_port(&config), 8089);

        let binary = dir.path().join("binary.yaml");
        std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x80]).unwrap();
        assert!(probe(&binary).await.error.starts_with("cannot read"));

        let huge = dir.path().join("huge.yaml");
        std::fs::write(&huge, "a: b\n".repeat(300_000)).unwrap();
        assert!(probe(&huge).await.error.contains("larger than"));

        let garbage = write(&dir, "cm_nodes: [\n\u{0}");
        assert!(!probe(&garbage).await.error.is_empty());
    }
}
