//! The page's timeline: the store's events of the last [`WINDOW_HOURS`] hours, newest first
//! (what just happened is what the operator looks for), at most [`MAX_ROWS`] of them; the
//! rest is one `omswatch history` away.

use omswatch_common::proto::v1 as pb;

use super::view::{Segment, Stamp, segments};

/// How far back the page looks.
pub const WINDOW_HOURS: i64 = 24;
/// Most events shown.
pub const MAX_ROWS: u32 = 50;

/// The timeline section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// Newest first.
    pub rows: Vec<EventRow>,
    /// Whether older events of the window were left out.
    pub truncated: bool,
    /// Why it could not be read, when it could not.
    pub error: Option<String>,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// When.
    pub at: Stamp,
    /// How long ago, at the status's time.
    pub ago: String,
    /// `raised`, `cleared`, `node state`, `collector`…
    pub kind: String,
    /// The code, the state change or the collector's action.
    pub what: String,
    /// The badge's class: a severity, `cleared`, or a node state's.
    pub tone: &'static str,
    /// Nodes concerned, `—` when none.
    pub nodes: String,
    /// What happened (what it quotes apart, as in the problems).
    pub message: Vec<Segment>,
}

impl Timeline {
    /// The section for `events` (oldest first, as the store answers) seen at `now_unix_ms`.
    pub fn of(events: &[pb::TimelineEvent], truncated: bool, now_unix_ms: i64) -> Timeline {
        Timeline {
            rows: events.iter().rev().map(|e| row(e, now_unix_ms)).collect(),
            truncated,
            error: None,
        }
    }

    /// The section when the store cannot be read.
    pub fn unavailable(error: String) -> Timeline {
        Timeline {
            error: Some(error),
            ..Timeline::default()
        }
    }
}

fn row(e: &pb::TimelineEvent, now_unix_ms: i64) -> EventRow {
    let (kind, what, tone) = match e.kind.as_str() {
        "node_state" => {
            let to = e.to.clone().unwrap_or_else(|| "?".into());
            let tone = match to.as_str() {
                "DOWN" => "critical",
                "DEGRADED" => "warning",
                "ONLINE" => "ok",
                _ => "info",
            };
            let from = e.from.as_deref().unwrap_or("new");
            ("node state".to_string(), format!("{from} → {to}"), tone)
        }
        "collector" => (
            "collector".to_string(),
            e.evidence.get("action").cloned().unwrap_or_default(),
            "info",
        ),
        "cleared" => ("cleared".to_string(), code(e), "ok"),
        "raised" => {
            let tone = match e.severity.as_deref() {
                Some("critical") => "critical",
                Some("warning") => "warning",
                _ => "info",
            };
            ("raised".to_string(), code(e), tone)
        }
        "remediation" => remediation(e),
        other => (other.to_string(), code(e), "info"),
    };
    EventRow {
        at: Stamp::of(e.at_unix_ms),
        ago: super::view::ago(now_unix_ms.saturating_sub(e.at_unix_ms) / 1000),
        kind,
        what,
        tone,
        nodes: if e.nodes.is_empty() {
            "—".to_string()
        } else {
            e.nodes.join(", ")
        },
        message: segments(e.message.as_deref().unwrap_or_default()),
    }
}

/// A restart's event: "restart oms_console: running", toned by how it went. Who asked,
/// the reason and the time it took are in its message (as the audit wrote it).
fn remediation(e: &pb::TimelineEvent) -> (String, String, &'static str) {
    let result = e.result.as_deref().unwrap_or("?");
    let tone = match result {
        "running" => "ok",
        "requested" => "info",
        "refused" => "warning",
        _ => "critical",
    };
    let program = e.program.as_deref().unwrap_or("?");
    let mut what = format!("restart {program}: {}", result.replace('_', " "));
    // How long it took means something once it ran; a refusal took no time worth showing.
    if let Some(ms) = e
        .duration_ms
        .filter(|_| !matches!(result, "requested" | "refused"))
    {
        what.push_str(&format!(" ({:.1} s)", ms as f64 / 1000.0));
    }
    ("remediation".to_string(), what, tone)
}

fn code(e: &pb::TimelineEvent) -> String {
    e.code.clone().unwrap_or_else(|| "—".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_shows_its_program_result_and_time() {
        let event = pb::TimelineEvent {
            kind: "remediation".into(),
            at_unix_ms: 1_000,
            nodes: vec!["oms-node-2".into()],
            message: Some("token:oncall restarted oms_console on oms-node-2: RUNNING".into()),
            actor: Some("token:oncall".into()),
            program: Some("oms_console".into()),
            result: Some("running".into()),
            duration_ms: Some(2_140),
            ..pb::TimelineEvent::default()
        };
        let row = row(&event, 61_000);
        assert_eq!(
            (row.kind.as_str(), row.what.as_str(), row.tone),
            ("remediation", "restart oms_console: running (2.1 s)", "ok")
        );
        assert_eq!(row.nodes, "oms-node-2");
        let refused = pb::TimelineEvent {
            result: Some("refused".into()),
            duration_ms: Some(3),
            ..event
        };
        let row = super::row(&refused, 0);
        assert_eq!(
            (row.what.as_str(), row.tone),
            ("restart oms_console: refused", "warning")
        );
    }
}
