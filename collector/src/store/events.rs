//! Timeline events: the row, how one is written (inside the caller's
//! transaction, with its webhook outbox rows), and the history query.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Result, Store};

/// Default number of events a history query returns.
pub const DEFAULT_LIMIT: u32 = 200;
/// Most events one history query returns.
pub const MAX_LIMIT: u32 = 5000;

/// What kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A finding appeared.
    Raised,
    /// A finding went away.
    Cleared,
    /// A node's state changed.
    NodeState,
    /// A collector started or stopped.
    Collector,
    /// A restart was requested through the collector, refused, or ended.
    Remediation,
}

impl EventKind {
    /// The wire and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Raised => "raised",
            EventKind::Cleared => "cleared",
            EventKind::NodeState => "node_state",
            EventKind::Collector => "collector",
            EventKind::Remediation => "remediation",
        }
    }

    /// The kind named `name` (as the wire and JSON spell it).
    pub fn parse(name: &str) -> Option<EventKind> {
        [
            EventKind::Raised,
            EventKind::Cleared,
            EventKind::NodeState,
            EventKind::Collector,
            EventKind::Remediation,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// One event of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// Unique id: the time (hex), the process's random instance and a counter.
    pub id: String,
    /// When (the recording collector's clock, Unix ms).
    pub at_unix_ms: i64,
    /// raised, cleared, node_state or collector.
    pub kind: String,
    /// Finding code.
    pub code: Option<String>,
    /// Finding severity.
    pub severity: Option<String>,
    /// Nodes concerned.
    pub nodes: Vec<String>,
    /// What happened.
    pub message: Option<String>,
    /// The finding's evidence.
    pub evidence: BTreeMap<String, String>,
    /// The finding's identity.
    pub finding_id: Option<String>,
    /// node_state: before.
    pub from: Option<String>,
    /// node_state: after.
    pub to: Option<String>,
    /// node_state: the node's region.
    pub region: Option<String>,
    /// cleared: when it was raised.
    pub raised_at_unix_ms: Option<i64>,
    /// The collector that recorded it.
    pub collector: String,
    /// remediation: who asked (certificate name, token label).
    pub actor: Option<String>,
    /// remediation: the supervisord program.
    pub program: Option<String>,
    /// remediation: requested, refused, running, not_running, failed, no_answer.
    pub result: Option<String>,
    /// remediation: from the request to this outcome, milliseconds.
    pub duration_ms: Option<i64>,
    /// remediation: the operator's reason.
    pub reason: Option<String>,
    /// remediation: the request's id.
    pub request_id: Option<String>,
}

/// Which events a history query wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// At or after (Unix ms).
    pub since_unix_ms: Option<i64>,
    /// At or before (Unix ms).
    pub until_unix_ms: Option<i64>,
    /// Naming this node.
    pub node: Option<String>,
    /// Of this code.
    pub code: Option<String>,
    /// Of this kind.
    pub kind: Option<String>,
    /// At most this many, the newest (0 = [`DEFAULT_LIMIT`]; capped at [`MAX_LIMIT`]).
    pub limit: u32,
}

pub(super) const COLUMNS: &str = "id, at_unix_ms, kind, code, severity, nodes, message, evidence, finding_id, \
                       from_state, to_state, region, raised_at_unix_ms, collector, actor, program, \
                       result, duration_ms, reason, request_id";

impl Store {
    /// Inserts `event` within `tx`, and one webhook outbox row per receiver this
    /// collector sends to ([`Store::set_webhook_targets`]: the SHA-256 of each
    /// receiver's URL), so a notification can never be lost between the event
    /// and its delivery. Every kind of event is notified.
    pub(crate) async fn insert_event(
        &self,
        tx: &mut Transaction<'static, Any>,
        event: &Event,
    ) -> std::result::Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO events ({COLUMNS}) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(event.id.clone())
        .bind(event.at_unix_ms)
        .bind(event.kind.clone())
        .bind(event.code.clone())
        .bind(event.severity.clone())
        .bind(to_json(&event.nodes))
        .bind(event.message.clone())
        .bind((!event.evidence.is_empty()).then(|| to_json(&event.evidence)))
        .bind(event.finding_id.clone())
        .bind(event.from.clone())
        .bind(event.to.clone())
        .bind(event.region.clone())
        .bind(event.raised_at_unix_ms)
        .bind(event.collector.clone())
        .bind(event.actor.clone())
        .bind(event.program.clone())
        .bind(event.result.clone())
        .bind(event.duration_ms)
        .bind(event.reason.clone())
        .bind(event.request_id.clone())
        .execute(&mut **tx)
        .await?;
        for target in self.webhook_targets() {
            sqlx::query(
                "INSERT INTO webhook_outbox (event_id, target, attempts, next_attempt_unix_ms) \
                 VALUES (?, ?, 0, ?)",
            )
            .bind(event.id.clone())
            .bind(target.clone())
            .bind(event.at_unix_ms)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Records `event` on its own (collector start and stop).
    pub async fn record(&self, event: &Event) -> Result<()> {
        self.timed(async {
            let q = |e| self.query_error(e);
            let mut tx = self.pool().begin().await.map_err(q)?;
            self.insert_event(&mut tx, event).await.map_err(q)?;
            tx.commit().await.map_err(q)
        })
        .await
    }

    /// The last start or stop recorded by `collector`.
    pub async fn last_collector_event(&self, collector: &str) -> Result<Option<Event>> {
        self.timed(async {
            let q = |e| self.query_error(e);
            let row = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM events WHERE kind = 'collector' AND collector = ? \
                 ORDER BY at_unix_ms DESC, id DESC LIMIT 1"
            ))
            .bind(collector.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(q)?;
            row.as_ref().map(event_of).transpose().map_err(q)
        })
        .await
    }

    /// The events matching `filter`, oldest first, and whether older ones
    /// were left out by the limit.
    pub async fn history(&self, filter: &HistoryFilter) -> Result<(Vec<Event>, bool)> {
        let limit = match filter.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        let mut sql = format!("SELECT {COLUMNS} FROM events WHERE 1 = 1");
        if filter.since_unix_ms.is_some() {
            sql.push_str(" AND at_unix_ms >= ?");
        }
        if filter.until_unix_ms.is_some() {
            sql.push_str(" AND at_unix_ms <= ?");
        }
        if filter.code.is_some() {
            sql.push_str(" AND code = ?");
        }
        if filter.kind.is_some() {
            sql.push_str(" AND kind = ?");
        }
        if filter.node.is_some() {
            sql.push_str(" AND nodes LIKE ? ESCAPE '!'");
        }
        sql.push_str(" ORDER BY at_unix_ms DESC, id DESC LIMIT ?");
        let mut query = sqlx::query(&sql);
        for value in [filter.since_unix_ms, filter.until_unix_ms]
            .into_iter()
            .flatten()
        {
            query = query.bind(value);
        }
        if let Some(code) = &filter.code {
            query = query.bind(code.clone());
        }
        if let Some(kind) = &filter.kind {
            query = query.bind(kind.clone());
        }
        if let Some(node) = &filter.node {
            query = query.bind(like_json_string(node));
        }
        let query = query.bind(i64::from(limit) + 1);
        let rows = self
            .timed(async {
                query
                    .fetch_all(self.pool())
                    .await
                    .map_err(|e| self.query_error(e))
            })
            .await?;
        let truncated = rows.len() > limit as usize;
        let mut events = rows
            .iter()
            .take(limit as usize)
            .map(event_of)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.query_error(e))?;
        events.reverse();
        Ok((events, truncated))
    }
}

/// A `LIKE` pattern matching `"value"` inside a JSON array, with `!` escaping
/// LIKE's wildcards (the same in SQLite and MySQL, unlike a backslash).
fn like_json_string(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    let mut pattern = String::from("%");
    for c in quoted.chars() {
        if matches!(c, '!' | '%' | '_') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub(super) fn event_of(row: &AnyRow) -> std::result::Result<Event, sqlx::Error> {
    let text = |c: &str| super::text(row, c);
    let decode = |c: &str, e: serde_json::Error| sqlx::Error::ColumnDecode {
        index: c.to_string(),
        source: Box::new(e),
    };
    let nodes = serde_json::from_str(&super::required_text(row, "nodes")?)
        .map_err(|e| decode("nodes", e))?;
    let evidence = match text("evidence")? {
        Some(json) => serde_json::from_str(&json).map_err(|e| decode("evidence", e))?,
        None => BTreeMap::new(),
    };
    Ok(Event {
        id: super::required_text(row, "id")?,
        at_unix_ms: row.try_get("at_unix_ms")?,
        kind: super::required_text(row, "kind")?,
        code: text("code")?,
        severity: text("severity")?,
        nodes,
        message: text("message")?,
        evidence,
        finding_id: text("finding_id")?,
        from: text("from_state")?,
        to: text("to_state")?,
        region: text("region")?,
        raised_at_unix_ms: row.try_get("raised_at_unix_ms")?,
        collector: super::required_text(row, "collector")?,
        actor: text("actor")?,
        program: text("program")?,
        result: text("result")?,
        duration_ms: row.try_get("duration_ms")?,
        reason: text("reason")?,
        request_id: text("request_id")?,
    })
}

/// `value` as JSON text (for the JSON columns).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::like_json_string;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_json_string("oms-node-1"), "%\"oms-node-1\"%");
        assert_eq!(like_json_string("a_b%c!"), "%\"a!_b!%c!!\"%");
    }
}
