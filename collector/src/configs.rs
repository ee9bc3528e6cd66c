//! The regions' config.yaml files, as the poller hands them to the state each tick: each file is
//! parsed again only when it changed (device, inode, size, mtime or ctime differ from the last
//! read), and the reading and parsing run on a blocking thread, so a large or slow file never
//! holds up the async tasks that answer agents and operators. What a file may cost is bounded
//! in `omswatch_common::oms_config` (size cap, bounded YAML).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use omswatch_common::oms_config::{self, ConfigIssue, RegionConfig};
use omswatch_common::proto::v1::NodeConfig;

/// One file's parse: the region (or its issues) and the summary a node's agent would send.
pub type Loaded = (Result<RegionConfig, Vec<ConfigIssue>>, Option<NodeConfig>);

/// A parse slower than this is logged as a warning: the file is unusually large.
const SLOW_PARSE: Duration = Duration::from_secs(1);

/// What tells that a file changed without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Some(Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        })
    }
}

/// One config.yaml and its last parse.
struct Entry {
    path: PathBuf,
    /// The stamp the last parse was made at; `None`: never parsed, or the file could not be
    /// stat'ed (then it is read again every tick, which fails as fast).
    stamp: Option<Stamp>,
    loaded: Option<Loaded>,
}

impl Entry {
    /// Parses the file again if it changed since the last parse; returns whether it did.
    /// The stamp is taken before reading, so an edit during the read is seen next time.
    fn refresh(&mut self) -> bool {
        let stamp = Stamp::of(&self.path);
        if stamp.is_some() && stamp == self.stamp && self.loaded.is_some() {
            return false;
        }
        let started = Instant::now();
        self.loaded = Some(oms_config::load(&self.path));
        self.stamp = stamp;
        let took = started.elapsed();
        if took > SLOW_PARSE {
            tracing::warn!(file = %self.path.display(), ms = took.as_millis(), "config.yaml took long to parse");
        } else {
            tracing::debug!(file = %self.path.display(), ms = took.as_millis(), "config.yaml parsed");
        }
        true
    }
}

/// The configured config.yaml files, in the order given.
pub struct ConfigFiles {
    entries: Vec<Entry>,
}

impl ConfigFiles {
    /// The files at `paths`, none parsed yet.
    pub fn new(paths: &[PathBuf]) -> Self {
        Self {
            entries: paths
                .iter()
                .map(|path| Entry {
                    path: path.clone(),
                    stamp: None,
                    loaded: None,
                })
                .collect(),
        }
    }

    /// Every file's parse, in order; files changed since the last call are parsed again, on a
    /// blocking thread.
    pub async fn load(&mut self) -> Vec<Loaded> {
        let mut entries = std::mem::take(&mut self.entries);
        let paths: Vec<PathBuf> = entries.iter().map(|e| e.path.clone()).collect();
        let refreshed = tokio::task::spawn_blocking(move || {
            for entry in &mut entries {
                entry.refresh();
            }
            entries
        })
        .await;
        self.entries = match refreshed {
            Ok(entries) => entries,
            Err(e) => {
                // A parse that panicked: start these files afresh next tick, and say so.
                tracing::error!(error = %e, "reading the config.yaml files failed");
                ConfigFiles::new(&paths).entries
            }
        };
        self.entries
            .iter()
            .map(|e| match &e.loaded {
                Some(loaded) => loaded.clone(),
                None => unreadable(&e.path),
            })
            .collect()
    }
}

/// The issue for a file whose read did not complete.
fn unreadable(path: &Path) -> Loaded {
    let issue = ConfigIssue {
        file: path.display().to_string(),
        key: String::new(),
        line: None,
        problem: "the file could not be read this tick; it is retried at the next".into(),
    };
    (Err(vec![issue]), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &Path) -> Entry {
        Entry {
            path: path.to_path_buf(),
            stamp: None,
            loaded: None,
        }
    }

    #[test]
    fn an_unchanged_file_is_not_parsed_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, "cm_region: a\n").expect("write");
        let mut e = entry(&path);
        assert!(e.refresh(), "first read");
        assert!(!e.refresh(), "unchanged");
        std::fs::write(&path, "cm_region: bb\n").expect("rewrite");
        assert!(e.refresh(), "changed size");
        let summary = e
            .loaded
            .as_ref()
            .and_then(|l| l.1.as_ref())
            .expect("summary");
        assert_eq!(summary.values["cm_region"], "bb");
    }

    #[test]
    fn a_replaced_file_of_the_same_size_is_parsed_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, "cm_region: a\n").expect("write");
        let mut e = entry(&path);
        e.refresh();
        // As editors and config management do: write aside, rename over (a new inode).
        let aside = dir.path().join("config.yaml.new");
        std::fs::write(&aside, "cm_region: b\n").expect("write");
        std::fs::rename(&aside, &path).expect("rename");
        assert!(e.refresh());
        let summary = e
            .loaded
            .as_ref()
            .and_then(|l| l.1.as_ref())
            .expect("summary");
        assert_eq!(summary.values["cm_region"], "b");
    }

    #[test]
    fn a_missing_file_is_retried_every_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut e = entry(&dir.path().join("nope.yaml"));
        assert!(e.refresh());
        assert!(e.refresh());
        assert!(matches!(e.loaded, Some((Err(_), None))));
    }

    #[tokio::test]
    async fn load_returns_every_file_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.yaml");
        std::fs::write(&a, "cm_region: a\n").expect("write");
        let mut files = ConfigFiles::new(&[a, dir.path().join("missing.yaml")]);
        let loaded = files.load().await;
        assert_eq!(loaded.len(), 2);
        assert!(loaded[0].1.is_some());
        assert!(loaded[1].0.is_err());
    }
}
