//! The state file of collectors before the store (`--state-file`, deprecated):
//! every node's latest report and when it arrived. The store imports it once
//! ([`crate::store::Store::import_state_file`]); `save` remains as the baseline
//! of the store bench. Protobuf (the wire types), written to a temporary file,
//! synced and renamed, so a crash never leaves half a file.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use omswatch_common::proto::v1::{StoredNode, StoredNodes};
use omswatch_common::snapshot::NodeObservation;
use prost::Message;

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// Reading or writing failed.
    #[error("state file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The file is not a state file (or is from an incompatible version).
    #[error("state file {} cannot be decoded ({source}); move it away to start afresh", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        source: prost::DecodeError,
    },
}

/// The nodes stored in `path`; none when the file does not exist yet.
pub fn load(path: &Path) -> Result<Vec<NodeObservation>, PersistError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(PersistError::Io {
                path: path.into(),
                source,
            });
        }
    };
    let stored = StoredNodes::decode(bytes.as_slice()).map_err(|source| PersistError::Decode {
        path: path.into(),
        source,
    })?;
    Ok(stored
        .nodes
        .into_iter()
        .filter_map(|n| {
            Some(NodeObservation {
                report: n.report?.into(),
                received_at_unix_ms: n.received_at_unix_ms,
            })
        })
        .collect())
}

/// Replaces `path` with `nodes`, atomically, mode 0600 (reports describe the cluster).
pub fn save(path: &Path, nodes: &[NodeObservation]) -> Result<(), PersistError> {
    let stored = StoredNodes {
        nodes: nodes
            .iter()
            .map(|n| StoredNode {
                report: Some(omswatch_common::proto::v1::NodeReport::clone(&n.report)),
                received_at_unix_ms: n.received_at_unix_ms,
            })
            .collect(),
    };
    let io = |source| PersistError::Io {
        path: path.into(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    file.write_all(&stored.encode_to_vec()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use omswatch_common::proto::v1::NodeReport;

    #[test]
    fn round_trips_and_tolerates_absence_but_not_garbage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.pb");
        assert!(load(&path).expect("absent is empty").is_empty());
        let nodes = vec![NodeObservation {
            report: NodeReport {
                node: "n1".into(),
                seq: 7,
                ..Default::default()
            }
            .into(),
            received_at_unix_ms: 1234,
        }];
        save(&path, &nodes).expect("save");
        let back = load(&path).expect("load");
        assert_eq!(
            (
                back[0].report.node.as_str(),
                back[0].report.seq,
                back[0].received_at_unix_ms
            ),
            ("n1", 7, 1234)
        );
        std::fs::write(&path, b"\xff\xff\xff garbage").expect("write");
        assert!(matches!(load(&path), Err(PersistError::Decode { .. })));
    }
}
