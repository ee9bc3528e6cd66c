//! Telling whether files changed without reading them.
//!
//! The agent probes every second, and most of what it reads (config.yaml, supervisord.conf and
//! the files it includes, the log directory where docker_init leaves its log) changes a few times
//! a year. A `stat` costs about a microsecond; reading and parsing costs a hundred times that. So
//! the probes keep what they derived from such files ([`Derived`]) with a [`Watched`] set of the
//! files' stamps, and derive it again only when a stamp differs.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How recent a modification may be for its stamp to be trusted. File times advance in coarse
/// steps (the kernel's tick), so a file written twice within one step, at the same size, would
/// keep its stamp; a stamp younger than this is re-checked by reading at the next probe, as git
/// does for its "racily clean" index entries.
const RACY: Duration = Duration::from_secs(2);

/// One version of a file or directory: device, inode, size, modification and change times. A
/// rename over it (how editors and configuration tools save) changes the inode, a write in place
/// the size or times, and a `touch` that resets the modification time still moves the change
/// time; a directory's times move when an entry is added, removed or renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Device and inode.
    id: (u64, u64),
    /// Size in bytes.
    len: u64,
    /// Modification time, seconds and nanoseconds.
    mtime: (i64, i64),
    /// Inode change time, seconds and nanoseconds.
    ctime: (i64, i64),
}

impl FileStamp {
    /// The stamp of `path` now, following symbolic links; `None` when it cannot be stat'ed
    /// (missing, no permission): its appearance is then a change too.
    pub fn of(path: &Path) -> Option<FileStamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(FileStamp {
            id: (meta.dev(), meta.ino()),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }

    /// Whether the last modification is older than [`RACY`] at `now`.
    fn settled(&self, now: SystemTime) -> bool {
        let newest = self.mtime.max(self.ctime);
        let Ok(since_epoch) = now.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        let now = (
            i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
            i64::from(since_epoch.subsec_nanos()),
        );
        let racy_secs = i64::try_from(RACY.as_secs()).unwrap_or(i64::MAX);
        (newest.0.saturating_add(racy_secs), newest.1) <= now
    }
}

/// The stamps of the files something was derived from, taken before they were read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watched {
    /// Each file and its stamp when it was added.
    files: Vec<(PathBuf, Option<FileStamp>)>,
    /// Whether one of them was modified too recently to trust its stamp ([`RACY`]).
    racy: bool,
}

impl Watched {
    /// Nothing watched yet.
    pub fn new() -> Watched {
        Watched::default()
    }

    /// Watches `path`, as it is now; call it before reading the file.
    pub fn add(&mut self, path: &Path) {
        if self.files.iter().any(|(p, _)| p == path) {
            return;
        }
        let stamp = FileStamp::of(path);
        if stamp.is_some_and(|s| !s.settled(SystemTime::now())) {
            self.racy = true;
        }
        self.files.push((path.to_owned(), stamp));
    }

    /// `paths`, watched.
    pub fn of<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Watched {
        let mut watched = Watched::new();
        for path in paths {
            watched.add(path);
        }
        watched
    }

    /// The files watched, in the order added.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|(path, _)| path.as_path())
    }

    /// Whether every file still has the stamp it had when added (and none was racy then): what
    /// was derived from them may be kept.
    pub fn unchanged(&self) -> bool {
        !self.racy
            && self
                .files
                .iter()
                .all(|(path, stamp)| FileStamp::of(path) == *stamp)
    }
}

/// Something derived from the file at a path (and the files it names), kept until one of them
/// changes. Shared by a probe's calls; the lock is never held while reading.
#[derive(Debug)]
pub struct Derived<T> {
    /// The path, the stamps of the files read, and what was derived from them.
    last: Mutex<Option<(PathBuf, Watched, T)>>,
}

impl<T: Clone> Derived<T> {
    /// Nothing derived yet.
    pub fn new() -> Derived<T> {
        Derived {
            last: Mutex::new(None),
        }
    }

    /// What was derived from `path`, if it is the path of the last derivation and none of the
    /// files read then has changed.
    pub fn get(&self, path: &Path) -> Option<T> {
        let last = self.last.lock().ok()?;
        let (last_path, watched, value) = last.as_ref()?;
        (last_path == path && watched.unchanged()).then(|| value.clone())
    }

    /// Keeps `value`, derived from `path` and the files in `watched` (stamped before reading).
    pub fn set(&self, path: &Path, watched: Watched, value: T) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some((path.to_owned(), watched, value));
        }
    }
}

impl<T: Clone> Default for Derived<T> {
    fn default() -> Self {
        Derived::new()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::fs::{File, FileTimes};

    use super::*;

    /// Sets `path`'s modification time an hour back, so its stamp is trusted.
    fn age(path: &Path) {
        let old = SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_times(FileTimes::new().set_modified(old).set_accessed(old))
            .unwrap();
    }

    #[test]
    fn writes_renames_appearances_and_removals_are_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.yaml");
        let missing = dir.path().join("later.ini");
        std::fs::write(&file, "a: 1\n").unwrap();
        age(&file);
        // ctime cannot be set back: the stamp is racy until RACY has passed.
        let fresh = Watched::of([file.as_path(), missing.as_path()]);
        assert!(!fresh.unchanged(), "a just-changed file is not trusted");

        let settled = |watched: &Watched| Watched {
            racy: false,
            ..watched.clone()
        };
        let watched = settled(&fresh);
        assert!(watched.unchanged());

        std::fs::write(&file, "a: 2\n").unwrap();
        assert!(!watched.unchanged(), "same size, new content");
        let watched = settled(&Watched::of([file.as_path(), missing.as_path()]));
        let replacement = dir.path().join("config.yaml.new");
        std::fs::write(&replacement, "a: 2\n").unwrap();
        std::fs::rename(&replacement, &file).unwrap();
        assert!(!watched.unchanged(), "renamed over");

        let watched = settled(&Watched::of([file.as_path(), missing.as_path()]));
        std::fs::write(&missing, "").unwrap();
        assert!(!watched.unchanged(), "appeared");
        let watched = settled(&Watched::of([file.as_path(), missing.as_path()]));
        std::fs::remove_file(&file).unwrap();
        assert!(!watched.unchanged(), "removed");
    }

    #[test]
    fn a_directory_changes_when_an_entry_is_added() {
        let dir = tempfile::tempdir().unwrap();
        let mut watched = Watched::of([dir.path()]);
        watched.racy = false;
        assert!(watched.unchanged());
        std::fs::write(dir.path().join("docker_init.log"), "").unwrap();
        assert!(!watched.unchanged());
    }

    #[test]
    fn old_stamps_are_settled_recent_ones_are_not() {
        let now = SystemTime::now();
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let stamp = |t: i64| FileStamp {
            id: (1, 1),
            len: 0,
            mtime: (t, 0),
            ctime: (t, 0),
        };
        assert!(stamp(secs - 3).settled(now));
        assert!(!stamp(secs).settled(now));
        assert!(!stamp(secs + 60).settled(now), "a file from the future");
    }
}
