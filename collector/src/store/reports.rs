//! Node reports in the store: each node's last report (protobuf) and when it
//! arrived, written in batches by [`super::writer`], read once at start; and
//! the one-time import of a `--state-file` from before the store.

use std::path::Path;

use omswatch_common::proto::v1::NodeReport;
use omswatch_common::snapshot::NodeObservation;
use prost::Message;
use sqlx::Row;

use super::{Result, Store, StoreError};

/// Rows per `REPLACE` statement: well under SQLite's and MySQL's placeholder limits.
const ROWS_PER_STATEMENT: usize = 200;

/// What the writer has to do for one node.
#[derive(Debug, Clone)]
pub enum NodeWrite {
    /// Keep this report (the node's latest).
    Save(Box<NodeObservation>),
    /// The node was forgotten: remove it.
    Forget,
}

impl Store {
    /// Applies `writes` (one per node) in one transaction.
    pub async fn write_nodes(&self, writes: &[(String, NodeWrite)]) -> Result<()> {
        self.timed(async {
            let q = |e| self.query_error(e);
            let mut tx = self.pool().begin().await.map_err(q)?;
            let saves: Vec<&NodeObservation> = writes
                .iter()
                .filter_map(|(_, w)| match w {
                    NodeWrite::Save(o) => Some(o.as_ref()),
                    NodeWrite::Forget => None,
                })
                .collect();
            for chunk in saves.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "REPLACE INTO node_reports (node, received_at_unix_ms, report) VALUES {}",
                    vec!["(?, ?, ?)"; chunk.len()].join(", ")
                );
                let mut query = sqlx::query(&sql);
                for o in chunk {
                    query = query
                        .bind(o.report.node.clone())
                        .bind(o.received_at_unix_ms)
                        .bind(o.report.encode_to_vec());
                }
                query.execute(&mut *tx).await.map_err(q)?;
            }
            for (node, _) in writes
                .iter()
                .filter(|(_, w)| matches!(w, NodeWrite::Forget))
            {
                sqlx::query("DELETE FROM node_reports WHERE node = ?")
                    .bind(node.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(q)?;
            }
            tx.commit().await.map_err(q)
        })
        .await
    }

    /// Every stored node's last report. A row that cannot be decoded is
    /// skipped with a warning, so one bad row never keeps the collector down.
    pub async fn load_nodes(&self) -> Result<Vec<NodeObservation>> {
        let rows = self
            .timed(async {
                sqlx::query(
                    "SELECT node, received_at_unix_ms, report FROM node_reports ORDER BY node",
                )
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.query_error(e))
            })
            .await?;
        let mut nodes = Vec::with_capacity(rows.len());
        for row in rows {
            let decoded = (|| -> std::result::Result<NodeObservation, String> {
                let bytes: Vec<u8> = row.try_get("report").map_err(|e| e.to_string())?;
                let report = NodeReport::decode(bytes.as_slice()).map_err(|e| e.to_string())?;
                let received_at_unix_ms = row
                    .try_get("received_at_unix_ms")
                    .map_err(|e| e.to_string())?;
                Ok(NodeObservation {
                    report: report.into(),
                    received_at_unix_ms,
                })
            })();
            match decoded {
                Ok(node) => nodes.push(node),
                Err(reason) => {
                    let node = super::text(&row, "node").ok().flatten().unwrap_or_default();
                    tracing::warn!(store = %self.location(), %node, %reason, "skipping a stored report that cannot be decoded");
                }
            }
        }
        Ok(nodes)
    }

    /// A fact about the store (see table `store_meta`).
    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        self.timed(async {
            let row = sqlx::query("SELECT meta_value FROM store_meta WHERE meta_key = ?")
                .bind(key.to_string())
                .fetch_optional(self.pool())
                .await
                .map_err(|e| self.query_error(e))?;
            row.map(|r| super::required_text(&r, "meta_value"))
                .transpose()
                .map_err(|e| self.query_error(e))
        })
        .await
    }

    /// Records a fact about the store.
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.timed(async {
            sqlx::query("REPLACE INTO store_meta (meta_key, meta_value) VALUES (?, ?)")
                .bind(key.to_string())
                .bind(value.to_string())
                .execute(self.pool())
                .await
                .map(|_| ())
                .map_err(|e| self.query_error(e))
        })
        .await
    }

    /// Imports the nodes of a `--state-file` once: nodes the store does not
    /// have yet, or has older reports of. Returns how many were imported, or
    /// `None` when this file was imported before.
    pub async fn import_state_file(&self, path: &Path) -> Result<Option<usize>> {
        let key = "imported_state_file";
        if let Some(done) = self.meta(key).await? {
            tracing::debug!(store = %self.location(), %done, "state file imported before");
            return Ok(None);
        }
        let nodes = crate::persist::load(path).map_err(|e| StoreError::Corrupt {
            location: self.location().to_string(),
            what: "state file".into(),
            reason: e.to_string(),
        })?;
        let known: std::collections::HashMap<String, i64> = self
            .load_nodes()
            .await?
            .into_iter()
            .map(|n| (n.report.node.clone(), n.received_at_unix_ms))
            .collect();
        let newer: Vec<(String, NodeWrite)> = nodes
            .into_iter()
            .filter(|n| {
                known
                    .get(&n.report.node)
                    .is_none_or(|at| *at < n.received_at_unix_ms)
            })
            .map(|n| (n.report.node.clone(), NodeWrite::Save(Box::new(n))))
            .collect();
        self.write_nodes(&newer).await?;
        let now = omswatch_common::telemetry::now_unix_ms();
        self.set_meta(key, &format!("{} at {now}", path.display()))
            .await?;
        Ok(Some(newer.len()))
    }
}
