//! Writes a bundle's files as a gzip'd tar: one top directory, directories 0755,
//! files 0644, owned by root, all stamped with the collector's snapshot time so
//! the same bundle always packs to the same bytes.

use std::collections::BTreeSet;
use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::BundleFile;

/// Why the archive could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Adding an entry failed (a write error, or a path tar refuses).
    #[error("cannot add {path} to the archive: {source}")]
    Entry {
        /// The entry's path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Finishing the tar or the gzip stream failed.
    #[error("cannot finish the archive: {0}")]
    Finish(#[source] std::io::Error),
}

/// Writes `files` as a `.tar.gz` to `out` and returns `out`; `mtime` in Unix seconds.
pub fn write<W: Write>(files: &[BundleFile], mtime: u64, out: W) -> Result<W, Error> {
    let mut tar = tar::Builder::new(GzEncoder::new(out, Compression::default()));
    for dir in directories(files) {
        let mut header = header(tar::EntryType::Directory, 0o755, 0, mtime);
        tar.append_data(&mut header, &dir, std::io::empty())
            .map_err(|source| Error::Entry {
                path: dir.clone(),
                source,
            })?;
    }
    for file in files {
        let size = u64::try_from(file.contents.len()).unwrap_or(u64::MAX);
        let mut header = header(tar::EntryType::Regular, 0o644, size, mtime);
        tar.append_data(&mut header, &file.path, file.contents.as_slice())
            .map_err(|source| Error::Entry {
                path: file.path.clone(),
                source,
            })?;
    }
    tar.into_inner()
        .and_then(GzEncoder::finish)
        .map_err(Error::Finish)
}

/// Every parent directory of every file, parents before children.
fn directories(files: &[BundleFile]) -> BTreeSet<String> {
    let mut dirs = BTreeSet::new();
    for file in files {
        let mut end = 0;
        while let Some(i) = file.path[end..].find('/') {
            end += i + 1;
            dirs.insert(file.path[..end].to_string());
        }
    }
    dirs
}

fn header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    header
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn archive_round_trips_with_modes_and_directories() -> Result<(), Box<dyn std::error::Error>> {
        let files = vec![
            BundleFile {
                path: "top/summary.txt".into(),
                contents: b"hello".to_vec(),
            },
            BundleFile {
                path: "top/nodes/n1/report.txt".into(),
                contents: vec![b'x'; 300],
            },
        ];
        let bytes = write(&files, 1_700_000_000, Vec::new())?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
        let mut seen = Vec::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = entry.path()?.display().to_string();
            let mode = entry.header().mode()?;
            let mut body = Vec::new();
            entry.read_to_end(&mut body)?;
            seen.push((path, mode, body.len()));
        }
        assert_eq!(
            seen,
            [
                ("top/".to_string(), 0o755, 0),
                ("top/nodes/".into(), 0o755, 0),
                ("top/nodes/n1/".into(), 0o755, 0),
                ("top/summary.txt".into(), 0o644, 5),
                ("top/nodes/n1/report.txt".into(), 0o644, 300),
            ]
        );
        Ok(())
    }
}
