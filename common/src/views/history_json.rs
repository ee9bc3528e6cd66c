//! The documented JSON of the timeline (docs/HISTORY_JSON.md), in one home: `omswatch
//! history --format json` prints it, the collector's `GET /api/v1/history` answers it (both
//! through [`document`], so the bytes are the same), and each webhook notification carries one
//! [`EventJson`] ([`event_body`]). Scripts depend on it: fields are only ever added.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::proto::v1 as pb;

/// The whole document.
#[derive(Debug, Serialize)]
pub struct HistoryJson {
    /// Events, oldest first.
    pub events: Vec<EventJson>,
    /// True when older events matched but were left out by `--limit`.
    pub truncated: bool,
}

/// One event; absent values are `null`.
#[derive(Debug, Serialize)]
pub struct EventJson {
    /// RFC 3339 time, UTC, milliseconds.
    pub at: String,
    /// The same time, Unix milliseconds.
    pub at_unix_ms: i64,
    /// raised, cleared, node_state, collector or remediation.
    pub kind: String,
    /// Finding code.
    pub code: Option<String>,
    /// Finding severity.
    pub severity: Option<String>,
    /// Nodes concerned.
    pub nodes: Vec<String>,
    /// What happened.
    pub message: Option<String>,
    /// node_state: the state before.
    pub from: Option<String>,
    /// node_state: the state after.
    pub to: Option<String>,
    /// Unique id (the idempotency id of notifications).
    pub id: String,
    /// The finding's identity across ticks.
    pub finding_id: Option<String>,
    /// The finding's evidence.
    pub evidence: Option<BTreeMap<String, String>>,
    /// node_state: the node's region.
    pub region: Option<String>,
    /// cleared: when the finding was raised (Unix milliseconds).
    pub raised_at_unix_ms: Option<i64>,
    /// The collector that recorded it.
    pub collector: String,
    /// remediation: who asked (certificate name, `token:<name>`, `token#<hash>`).
    pub actor: Option<String>,
    /// remediation: the supervisord program.
    pub program: Option<String>,
    /// remediation: requested, refused, running, not_running, failed or no_answer.
    pub result: Option<String>,
    /// remediation: from the request to this outcome, milliseconds.
    pub duration_ms: Option<i64>,
    /// remediation: the operator's reason.
    pub reason: Option<String>,
    /// remediation: the request's id, shared by its requested and outcome events.
    pub request_id: Option<String>,
}

/// The JSON document of a history answer, with the final newline: what the CLI prints and
/// the HTTP API answers.
pub fn document(history: &pb::History) -> String {
    let mut text = render(history);
    text.push('\n');
    text
}

/// The JSON document of a history answer (pretty-printed, no final newline).
pub fn render(history: &pb::History) -> String {
    let doc = HistoryJson {
        events: history.events.iter().map(event_json).collect(),
        truncated: history.truncated,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// One event as a compact JSON object: the body of a webhook notification (the same keys as
/// an element of `events`, `id` included).
pub fn event_body(event: &pb::TimelineEvent) -> String {
    serde_json::to_string(&event_json(event)).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// One event of the document.
pub fn event_json(e: &pb::TimelineEvent) -> EventJson {
    EventJson {
        at: rfc3339(e.at_unix_ms),
        at_unix_ms: e.at_unix_ms,
        kind: e.kind.clone(),
        code: e.code.clone(),
        severity: e.severity.clone(),
        nodes: e.nodes.clone(),
        message: e.message.clone(),
        from: e.from.clone(),
        to: e.to.clone(),
        id: e.id.clone(),
        finding_id: e.finding_id.clone(),
        evidence: (!e.evidence.is_empty()).then(|| {
            e.evidence
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        region: e.region.clone(),
        raised_at_unix_ms: e.raised_at_unix_ms,
        collector: e.collector.clone(),
        actor: e.actor.clone(),
        program: e.program.clone(),
        result: e.result.clone(),
        duration_ms: e.duration_ms,
        reason: e.reason.clone(),
        request_id: e.request_id.clone(),
    }
}

/// `2026-05-01T12:00:03.120Z`.
pub fn rfc3339(unix_ms: i64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(unix_ms).unwrap_or(0));
    humantime::format_rfc3339_millis(at).to_string()
}

#[cfg(test)]
mod tests;
