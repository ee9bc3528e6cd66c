//! The human view: one line per node, then the PROBLEMS: each root cause, most
//! severe first, with its fix and the symptoms folded under it; the first
//! problem's fix on top ("Fix first"). Plain text, no colour codes, so it pastes
//! into a ticket. The grouping and ranking are common's
//! ([`omswatch_common::findings::problems`]), so every view agrees on what to fix first.

use std::collections::BTreeMap;
use std::fmt::Write;

use omswatch_common::findings::problems::{self, Problem};
use omswatch_common::proto::v1 as pb;

mod summary;

pub use summary::SUMMARY_ABOVE;
use summary::{Cap, names};

const HEADERS: [&str; 8] = [
    "NODE",
    "STATE",
    "OMS_HOST_IP",
    "HOSTNAME -I",
    "HOST ROW",
    "HEARTBEAT",
    "REPORTED",
    "COMPONENTS",
];

/// What `omswatch status` says when the collector knows no node.
const NO_AGENT: &str = "No agent has reported yet. Deploy omswatch-agent in each OMS container (see deploy/README.md).";

/// What a table is of: its first line, and what stands in place of the nodes
/// table when no node reports.
#[derive(Debug, Clone, Copy)]
pub struct Heading<'a> {
    /// The first line's subject, e.g. `omswatch status of https://10.0.0.5:9470`.
    pub title: &'a str,
    /// Said instead of the nodes table when there is no node.
    pub no_nodes: &'a str,
}

/// Which node rows a table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Every node up to [`SUMMARY_ABOVE`]; above, a summary (counts per state, the first
    /// problems, the nodes not ONLINE).
    Auto,
    /// Every node and every problem in full, whatever the size (`--all`).
    All,
}

/// The table text of a status from `collector`.
pub fn render(status: &pb::ClusterStatus, collector: &str) -> String {
    render_rows(status, collector, Rows::Auto)
}

/// The table text of a status from `collector`, with `rows`.
pub fn render_rows(status: &pb::ClusterStatus, collector: &str, rows: Rows) -> String {
    let title = format!(
        "omswatch status of {}",
        super::printable::printable(collector)
    );
    render_with_rows(
        status,
        &Heading {
            title: &title,
            no_nodes: NO_AGENT,
        },
        rows,
    )
}

/// The table text of a status, under `heading`.
pub fn render_with(status: &pb::ClusterStatus, heading: &Heading<'_>) -> String {
    render_with_rows(status, heading, Rows::Auto)
}

/// The table text of a status, under `heading`, with `rows`.
pub fn render_with_rows(status: &pb::ClusterStatus, heading: &Heading<'_>, rows: Rows) -> String {
    let status = &super::printable::sanitized(status);
    if rows == Rows::Auto && status.nodes.len() > SUMMARY_ABOVE {
        return summarised(status, heading);
    }
    let problems = problems::problems(&status.findings);
    let mut out = top(status, heading, &problems);
    out.push('\n');
    if status.nodes.is_empty() {
        let _ = writeln!(out, "{}", heading.no_nodes);
    } else {
        out.push_str(&regions_tables(&status.nodes));
    }
    out.push('\n');
    if problems.is_empty() {
        out.push_str("No findings: every check of the OMS runbook passes.\n");
    } else {
        let _ = writeln!(
            out,
            "PROBLEMS (root causes, most severe first; `omswatch explain CODE` tells more)"
        );
        for (i, p) in problems.iter().enumerate() {
            out.push_str(&problem(i + 1, p, status.generated_at_unix_ms, Cap::NONE));
        }
    }
    out
}

/// The first lines of every table: the summary, the store if down, the first fix.
fn top(status: &pb::ClusterStatus, heading: &Heading<'_>, problems: &[Problem<'_>]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", heading.title, summary(status, problems));
    if let Some(store) = status.store.as_ref().filter(|s| !s.up) {
        let _ = writeln!(
            out,
            "STORE DOWN: {} is not written ({}); reports and the timeline are kept in memory until it is back",
            store.location, store.error
        );
    }
    if let Some(first) = problems.first() {
        let _ = writeln!(out, "Fix first: {}", first.root.remedy);
    }
    out
}

/// A large cluster's table: counts per state, the problems, the nodes not ONLINE.
fn summarised(status: &pb::ClusterStatus, heading: &Heading<'_>) -> String {
    let problems = problems::problems(&status.findings);
    let mut out = top(status, heading, &problems);
    out.push('\n');
    out.push_str(&summary::state_counts(&status.nodes));
    if !problems.is_empty() {
        let _ = writeln!(
            out,
            "\nPROBLEMS (root causes, most severe first; `omswatch explain CODE` tells more)"
        );
        let now = status.generated_at_unix_ms;
        out.push_str(&summary::problems(&problems, |i, p| {
            problem(i, p, now, Cap::SUMMARY)
        }));
    }
    out.push('\n');
    out.push_str(&summary::not_online(&status.nodes, nodes_table));
    out
}

/// `3 nodes (1 down); 2 problems (2 critical, 0 warning), 2 more findings folded under them`.
fn summary(status: &pb::ClusterStatus, problems: &[Problem<'_>]) -> String {
    let text = problems::summary(problems);
    if status.nodes.is_empty() {
        return text;
    }
    let down = status.nodes.iter().filter(|n| n.state == "DOWN").count();
    format!("{} nodes ({down} down); {text}", status.nodes.len())
}

/// One table, or one per region when nodes belong to several.
fn regions_tables(nodes: &[pb::NodeStatus]) -> String {
    let mut regions: BTreeMap<&str, Vec<&pb::NodeStatus>> = BTreeMap::new();
    for node in nodes {
        regions.entry(node.region.as_str()).or_default().push(node);
    }
    if regions.len() < 2 {
        return nodes_table(&nodes.iter().collect::<Vec<_>>());
    }
    let mut out = String::new();
    for (region, nodes) in regions {
        let name = if region.is_empty() {
            "(unknown region)"
        } else {
            region
        };
        let _ = writeln!(out, "REGION {name}");
        out.push_str(&nodes_table(&nodes));
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

fn nodes_table(nodes: &[&pb::NodeStatus]) -> String {
    let rows: Vec<[String; 8]> = nodes.iter().map(|n| row(n)).collect();
    let mut widths = HEADERS.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
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
    out.push_str(&line(&HEADERS.map(String::from)));
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

fn row(n: &pb::NodeStatus) -> [String; 8] {
    let dash = || "-".to_string();
    let running = n.components.iter().filter(|c| c.state == "RUNNING").count();
    let bad: Vec<String> = n
        .components
        .iter()
        .filter(|c| c.state != "RUNNING")
        .map(|c| format!("{} {}", c.name, c.state))
        .collect();
    let components = if n.components.is_empty() {
        dash()
    } else if bad.is_empty() {
        format!("{running}/{} RUNNING", n.components.len())
    } else {
        format!(
            "{running}/{} RUNNING ({})",
            n.components.len(),
            bad.join(", ")
        )
    };
    [
        n.name.clone(),
        n.state.clone(),
        n.oms_host_ip.clone().unwrap_or_else(|| "(unset)".into()),
        if n.hostname_ips.is_empty() {
            dash()
        } else {
            n.hostname_ips.join(",")
        },
        n.host_status.clone().unwrap_or_else(dash),
        n.heartbeat_age_s.map_or_else(dash, |a| format!("{a}s ago")),
        n.last_report_age_s
            .map_or_else(dash, |a| format!("{a}s ago")),
        components,
    ]
}

/// One root cause: its fix, what it explains, then each symptom indented.
fn problem(number: usize, p: &Problem<'_>, now_unix_ms: i64, cap: Cap) -> String {
    let root = p.root;
    let mut out = format!(
        "\n{number}. {}\n   {}\n   fix: {}\n",
        headline(root, now_unix_ms, cap),
        root.message,
        root.remedy
    );
    if p.symptoms.is_empty() {
        return out;
    }
    let ids = p
        .symptoms
        .iter()
        .map(|s| if s.id.is_empty() { &s.code } else { &s.id })
        .map(String::as_str);
    let _ = writeln!(out, "   explains: {}", names(ids, cap));
    for s in p.symptoms.iter().take(cap.symptoms) {
        let _ = writeln!(
            out,
            "     {}\n       {}",
            headline(s, now_unix_ms, cap),
            problems::under_root(&s.message, &root.id)
        );
    }
    if p.symptoms.len() > cap.symptoms {
        let _ = writeln!(
            out,
            "     ... and {} more symptoms",
            p.symptoms.len() - cap.symptoms
        );
    }
    out
}

/// `CRITICAL  CODE  [nodes]`, or `[ip X]` for a finding about an IP no node stands behind.
fn headline(f: &pb::Finding, now_unix_ms: i64, cap: Cap) -> String {
    let nodes = match (f.nodes.is_empty(), f.evidence.get("ip")) {
        (false, _) => format!("  [{}]", names(f.nodes.iter().map(String::as_str), cap)),
        (true, Some(ip)) => format!("  [ip {ip}]"),
        (true, None) => String::new(),
    };
    // How long it has been active, from the collector's timeline (absent in `check`).
    let since = f
        .since_unix_ms
        .map(|since| format!("  for {}", active_for(now_unix_ms.saturating_sub(since))))
        .unwrap_or_default();
    format!("{:<8}  {}{nodes}{since}", f.severity.to_uppercase(), f.code)
}

/// A duration for people, two units at most: `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn active_for(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests;
