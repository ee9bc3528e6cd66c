//! Reading a config.yaml from disk, never more than [`MAX_CONFIG_BYTES`](super::MAX_CONFIG_BYTES):
//! the size is checked before reading (a 50 MB file costs a `stat`, not a parse), and the read
//! itself stops past the cap, for files whose size the kernel does not know (`/dev/zero`, a
//! pipe) or that grow while read.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::MAX_CONFIG_BYTES;

/// Why a config.yaml could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Missing, unreadable, not a file, or not UTF-8 text.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error (invalid UTF-8 included).
        source: std::io::Error,
    },
    /// Larger than any config.yaml.
    #[error(
        "{} is {size} bytes, over the {cap}-byte cap for a config.yaml (a real one is a few KiB): \
         is this the right file? Fix the path or trim the file",
        path.display(),
        size = size.map_or_else(|| format!("more than {MAX_CONFIG_BYTES}"), |s| s.to_string()),
        cap = MAX_CONFIG_BYTES
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size when known (a stream has none).
        size: Option<u64>,
    },
}

impl ReadError {
    /// What is wrong, without the path: for a `ConfigIssue`, which names its file itself.
    pub fn problem(&self) -> String {
        match self {
            ReadError::Io { source, .. } => format!("cannot read the file: {source}"),
            ReadError::TooLarge { path, .. } => {
                let full = self.to_string();
                let shown = path.display().to_string();
                format!("the file{}", full.strip_prefix(&shown).unwrap_or(&full))
            }
        }
    }
}

/// The text of the config.yaml at `path`, refusing one over [`MAX_CONFIG_BYTES`].
pub fn read_capped(path: &Path) -> Result<String, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(io(std::io::Error::other("it is a directory")));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: Some(meta.len()),
        });
    }
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: None,
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_cap_names_its_size_and_the_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yaml");
        let file = std::fs::File::create(&path).expect("create");
        file.set_len(50 * 1024 * 1024).expect("sparse 50 MiB");
        let e = read_capped(&path).expect_err("refused").to_string();
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert!(e.contains("52428800 bytes"), "{e}");
        assert!(e.contains(&format!("{MAX_CONFIG_BYTES}-byte cap")), "{e}");
        let problem = read_capped(&path).expect_err("refused").problem();
        assert!(
            problem.starts_with("the file is 52428800 bytes, over the"),
            "{problem}"
        );
    }

    #[test]
    fn a_stream_is_cut_at_the_cap() {
        let e = read_capped(Path::new("/dev/zero")).expect_err("refused");
        assert!(matches!(e, ReadError::TooLarge { size: None, .. }), "{e}");
    }

    #[test]
    fn missing_directory_and_binary_files_are_io_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            read_capped(&dir.path().join("nope")),
            Err(ReadError::Io { .. })
        ));
        assert!(matches!(read_capped(dir.path()), Err(ReadError::Io { .. })));
        let binary = dir.path().join("b.yaml");
        std::fs::write(&binary, [0xff, 0xfe, 0]).expect("write");
        assert!(matches!(read_capped(&binary), Err(ReadError::Io { .. })));
    }

    #[test]
    fn a_file_at_the_cap_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yaml");
        let text = "a".repeat(usize::try_from(MAX_CONFIG_BYTES).expect("fits"));
        std::fs::write(&path, &text).expect("write");
        assert_eq!(read_capped(&path).expect("read").len(), text.len());
    }
}
