//! Views of the timeline (`omswatch history`): a table for people, newest last,
//! and the documented JSON (docs/HISTORY_JSON.md). Fields are only ever added.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, SystemTime};

use omswatch_common::proto::v1 as pb;
use serde::Serialize;

use super::printable::printable;

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

/// The JSON document of a history answer.
pub fn json(history: &pb::History) -> String {
    let doc = HistoryJson {
        events: history.events.iter().map(event_json).collect(),
        truncated: history.truncated,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn event_json(e: &pb::TimelineEvent) -> EventJson {
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

const HEADERS: [&str; 5] = ["TIME (UTC)", "EVENT", "WHAT", "NODES", "MESSAGE"];

/// The table of a history answer, newest last.
pub fn table(history: &pb::History, collector: &str) -> String {
    let mut out = String::new();
    if history.events.is_empty() {
        let _ = writeln!(
            out,
            "No events in the timeline of {} for these filters.",
            printable(collector)
        );
        return out;
    }
    let rows: Vec<[String; 5]> = history.events.iter().map(row).collect();
    let mut widths = HEADERS.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter().take(4)) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s + "\n"
    };
    if history.truncated {
        let _ = writeln!(
            out,
            "(older events left out: narrow with --since/--node/--code or raise --limit)"
        );
    }
    out.push_str(&line(&HEADERS.map(String::from)));
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

fn row(e: &pb::TimelineEvent) -> [String; 5] {
    let clean = |s: &str| printable(s).into_owned();
    let what = match e.kind.as_str() {
        "node_state" => format!(
            "{} -> {}",
            e.from.as_deref().unwrap_or("new"),
            e.to.as_deref().unwrap_or("?")
        ),
        "collector" => e
            .evidence
            .get("action")
            .cloned()
            .unwrap_or_else(|| "-".into()),
        "remediation" => format!(
            "restart {}: {}",
            e.program.as_deref().unwrap_or("?"),
            e.result.as_deref().unwrap_or("?")
        ),
        _ => e.code.clone().unwrap_or_else(|| "-".into()),
    };
    let nodes = if e.nodes.is_empty() {
        "-".to_string()
    } else {
        e.nodes.join(",")
    };
    let time = rfc3339(e.at_unix_ms);
    let time = time.get(..19).unwrap_or(&time).replace('T', " ");
    [
        time,
        clean(&e.kind),
        clean(&what),
        clean(&nodes),
        clean(e.message.as_deref().unwrap_or("")),
    ]
}

#[cfg(test)]
mod tests;
