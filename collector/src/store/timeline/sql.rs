//! The timeline's writes, each one transaction with its event. Written so two
//! collectors sharing a MySQL store record every change once without trusting
//! each other's clocks: raising is an `INSERT` keyed by the finding's identity
//! (a unique violation means the other collector raised it: no event),
//! clearing a `DELETE` (0 rows: already cleared: no event), and a node's state
//! a compare-and-set on its row. A collector that sees a change late, after the
//! other recorded it and its reversal, finds the other's event under the same key
//! ([`super::echo`]) and records nothing.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::echo::dedupe_key;
use super::plan::{ActiveFinding, FindingRecord};
use crate::store::error::is_unique_violation;
use crate::store::events::{Event, EventKind, to_json};
use crate::store::{Result, Store, required_text};

/// The primary key of a finding identity (identities can be longer than a key may be).
pub fn finding_key(identity: &str) -> String {
    Sha256::digest(identity.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Tries of a node-state compare-and-set before giving up until the next tick.
const CAS_TRIES: usize = 3;

impl Store {
    /// Raises `f` at `at`; returns when it was raised — now, or earlier by
    /// another collector (then no event is written).
    pub(crate) async fn raise(&self, f: &FindingRecord, at: i64) -> Result<i64> {
        self.timed(async {
            let q = |e| self.query_error(e);
            let mut tx = self.pool().begin().await.map_err(q)?;
            let key = dedupe_key(EventKind::Raised.as_str(), &[&f.id]);
            if self.echoes(&mut tx, &key, at).await.map_err(q)? {
                // The other collector raised it moments ago (and may have cleared it since).
                tx.rollback().await.map_err(q)?;
                tracing::debug!(finding = %f.id, "raised by the other collector of the pair moments ago");
                return self.raised_at(f, at).await;
            }
            let event = self.finding_event(EventKind::Raised, f, at, None);
            let inserted = sqlx::query(
                "INSERT INTO active_findings (finding_key, finding_id, code, severity, nodes, message, \
                 evidence, raised_at_unix_ms, raised_event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(finding_key(&f.id))
            .bind(f.id.clone())
            .bind(f.code.clone())
            .bind(f.severity.clone())
            .bind(to_json(&f.nodes))
            .bind(f.message.clone())
            .bind(to_json(&f.evidence))
            .bind(at)
            .bind(event.id.clone())
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => {
                    tx.rollback().await.map_err(q)?;
                    return self.raised_at(f, at).await;
                }
                other => other.map_err(q)?,
            };
            self.insert_event(&mut tx, &event).await.map_err(q)?;
            self.mark_change(&mut tx, &event.id, &key).await.map_err(q)?;
            tx.commit().await.map_err(q)?;
            Ok(at)
        })
        .await
    }

    /// When the other collector raised `f`, as its active row says; `at` when it
    /// has no row (cleared since).
    async fn raised_at(&self, f: &FindingRecord, at: i64) -> Result<i64> {
        let row =
            sqlx::query("SELECT raised_at_unix_ms FROM active_findings WHERE finding_key = ?")
                .bind(finding_key(&f.id))
                .fetch_optional(self.pool())
                .await
                .map_err(|e| self.query_error(e))?;
        match row {
            Some(row) => row
                .try_get("raised_at_unix_ms")
                .map_err(|e| self.query_error(e)),
            None => Ok(at),
        }
    }

    /// Clears `active` at `at`; false when it was already cleared (no event).
    pub(crate) async fn clear(&self, active: &ActiveFinding, at: i64) -> Result<bool> {
        self.timed(async {
            let q = |e| self.query_error(e);
            let mut tx = self.pool().begin().await.map_err(q)?;
            let key = dedupe_key(EventKind::Cleared.as_str(), &[&active.record.id]);
            if self.echoes(&mut tx, &key, at).await.map_err(q)? {
                // The other collector cleared it moments ago; an active row now is its
                // raising again since, which it will clear itself.
                tx.rollback().await.map_err(q)?;
                return Ok(false);
            }
            let deleted = sqlx::query("DELETE FROM active_findings WHERE finding_key = ?")
                .bind(finding_key(&active.record.id))
                .execute(&mut *tx)
                .await
                .map_err(q)?;
            if deleted.rows_affected() == 0 {
                tx.rollback().await.map_err(q)?;
                return Ok(false);
            }
            let event = self.finding_event(
                EventKind::Cleared,
                &active.record,
                at,
                Some(active.raised_at_unix_ms),
            );
            self.insert_event(&mut tx, &event).await.map_err(q)?;
            self.mark_change(&mut tx, &event.id, &key)
                .await
                .map_err(q)?;
            tx.commit().await.map_err(q)?;
            Ok(true)
        })
        .await
    }

    /// Records that `node` is now `to`: compare-and-set from the stored state,
    /// with an event saying from what. False when the store already said `to`.
    pub(crate) async fn change_node_state(
        &self,
        node: &str,
        to: &str,
        region: &str,
        at: i64,
    ) -> Result<bool> {
        for _ in 0..CAS_TRIES {
            let done = self
                .timed(self.try_node_state(node, to, region, at))
                .await?;
            if let Some(recorded) = done {
                return Ok(recorded);
            }
        }
        tracing::debug!(%node, %to, "node state kept changing under us; retrying next tick");
        Ok(false)
    }

    /// One compare-and-set; `None` when another writer got in between.
    async fn try_node_state(
        &self,
        node: &str,
        to: &str,
        region: &str,
        at: i64,
    ) -> Result<Option<bool>> {
        let q = |e| self.query_error(e);
        let mut tx = self.pool().begin().await.map_err(q)?;
        let current: Option<String> = sqlx::query("SELECT state FROM node_states WHERE node = ?")
            .bind(node.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(q)?
            .map(|row| required_text(&row, "state"))
            .transpose()
            .map_err(q)?;
        let key = dedupe_key(EventKind::NodeState.as_str(), &[node, to]);
        if current.as_deref() == Some(to) || self.echoes(&mut tx, &key, at).await.map_err(q)? {
            tx.rollback().await.map_err(q)?;
            return Ok(Some(false));
        }
        let written = match &current {
            Some(from) => sqlx::query(
                "UPDATE node_states SET state = ?, since_unix_ms = ? WHERE node = ? AND state = ?",
            )
            .bind(to.to_string())
            .bind(at)
            .bind(node.to_string())
            .bind(from.clone())
            .execute(&mut *tx)
            .await
            .map(|r| r.rows_affected() == 1),
            None => {
                sqlx::query("INSERT INTO node_states (node, state, since_unix_ms) VALUES (?, ?, ?)")
                    .bind(node.to_string())
                    .bind(to.to_string())
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map(|_| true)
            }
        };
        match written {
            Ok(true) => {}
            Err(e) if !is_unique_violation(&e) => return Err(q(e)),
            _ => {
                tx.rollback().await.map_err(q)?;
                return Ok(None);
            }
        }
        let event = Event {
            id: self.new_event_id(at),
            at_unix_ms: at,
            kind: EventKind::NodeState.as_str().into(),
            nodes: vec![node.to_string()],
            message: Some(match &current {
                Some(from) => format!("{node} is {to} (was {from})"),
                None => format!("{node} is {to} (first seen)"),
            }),
            from: current,
            to: Some(to.to_string()),
            region: (!region.is_empty()).then(|| region.to_string()),
            collector: self.collector().to_string(),
            ..Event::default()
        };
        self.insert_event(&mut tx, &event).await.map_err(q)?;
        self.mark_change(&mut tx, &event.id, &key)
            .await
            .map_err(q)?;
        tx.commit().await.map_err(q)?;
        Ok(Some(true))
    }

    /// Drops a forgotten node's recorded state (no event).
    pub(crate) async fn drop_node_state(&self, node: &str) -> Result<()> {
        self.timed(async {
            sqlx::query("DELETE FROM node_states WHERE node = ?")
                .bind(node.to_string())
                .execute(self.pool())
                .await
                .map(|_| ())
                .map_err(|e| self.query_error(e))
        })
        .await
    }

    /// The active findings (by identity) and node states the store holds.
    pub(crate) async fn load_active(
        &self,
    ) -> Result<(HashMap<String, ActiveFinding>, HashMap<String, String>)> {
        self.timed(async {
            let q = |e| self.query_error(e);
            let rows = sqlx::query(
                "SELECT finding_id, code, severity, nodes, message, evidence, raised_at_unix_ms \
                 FROM active_findings",
            )
            .fetch_all(self.pool())
            .await
            .map_err(q)?;
            let mut active = HashMap::new();
            for row in &rows {
                let finding = active_of(row).map_err(q)?;
                active.insert(finding.record.id.clone(), finding);
            }
            let rows = sqlx::query("SELECT node, state FROM node_states")
                .fetch_all(self.pool())
                .await
                .map_err(q)?;
            let mut states = HashMap::new();
            for row in &rows {
                states.insert(
                    required_text(row, "node").map_err(q)?,
                    required_text(row, "state").map_err(q)?,
                );
            }
            Ok((active, states))
        })
        .await
    }

    fn finding_event(
        &self,
        kind: EventKind,
        f: &FindingRecord,
        at: i64,
        raised_at_unix_ms: Option<i64>,
    ) -> Event {
        Event {
            id: self.new_event_id(at),
            at_unix_ms: at,
            kind: kind.as_str().into(),
            code: Some(f.code.clone()),
            severity: Some(f.severity.clone()),
            nodes: f.nodes.clone(),
            message: Some(f.message.clone()),
            evidence: f.evidence.clone(),
            finding_id: Some(f.id.clone()),
            raised_at_unix_ms,
            collector: self.collector().to_string(),
            ..Event::default()
        }
    }
}

fn active_of(row: &sqlx::any::AnyRow) -> std::result::Result<ActiveFinding, sqlx::Error> {
    let json =
        |column: &str| -> std::result::Result<String, sqlx::Error> { required_text(row, column) };
    let decode = |column: &str, e: serde_json::Error| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(e),
    };
    Ok(ActiveFinding {
        record: FindingRecord {
            id: required_text(row, "finding_id")?,
            code: required_text(row, "code")?,
            severity: required_text(row, "severity")?,
            nodes: serde_json::from_str(&json("nodes")?).map_err(|e| decode("nodes", e))?,
            message: required_text(row, "message")?,
            evidence: serde_json::from_str(&json("evidence")?)
                .map_err(|e| decode("evidence", e))?,
        },
        raised_at_unix_ms: row.try_get("raised_at_unix_ms")?,
    })
}
