//! The timeline (`omswatch history`) as a table for people, newest last. The JSON for
//! scripts lives in [`omswatch_common::views::history_json`], since the collector's
//! `GET /api/v1/history` serves the very same document.

use std::fmt::Write;

use omswatch_common::proto::v1 as pb;
use omswatch_common::views::history_json::rfc3339;

use super::printable::printable;

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
