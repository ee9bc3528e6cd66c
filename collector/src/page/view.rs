//! What the page shows, worked out from a status and the timeline before any HTML: the
//! verdict, the nodes (one table per region), the problems with their folded symptoms, the
//! last day's events. Pure functions, so each choice is a unit test; the templates in
//! `collector/templates/` only lay these values out (and escape every one of them).
//!
//! The problems come from [`omswatch_common::findings::problems`], the grouping and ranking
//! the `omswatch` table uses, so the page and the CLI agree on what to fix first.

use std::collections::BTreeMap;

use omswatch_common::findings::problems::{self, Problem};
use omswatch_common::proto::v1 as pb;

pub use super::restart::{Button, RestartTarget, offer_restarts};
pub use super::timeline::{EventRow, Timeline};

/// Everything that refreshes: the part of the page `GET /page/live` serves again.
#[derive(Debug, Clone)]
pub struct Live {
    /// The document's title, which says the verdict in the tab.
    pub title: String,
    /// The bar on top.
    pub verdict: Verdict,
    /// Why the store is not written, when it is not.
    pub store_down: Option<String>,
    /// One table per region (a single unnamed one when there is one region).
    pub regions: Vec<Region>,
    /// Whether no node is known at all (the page then says how to deploy agents).
    pub no_nodes: bool,
    /// Ranked root causes.
    pub problems: Vec<ProblemView>,
    /// The last 24 hours of the timeline.
    pub timeline: Timeline,
    /// When the collector diagnosed.
    pub generated: Stamp,
    /// The collector's version.
    pub version: String,
}

/// A moment, as UTC text and as the `datetime` the script shows in local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// RFC 3339, e.g. `2026-05-01T12:03:04Z`.
    pub iso: String,
    /// `2026-05-01 12:03:04 UTC`.
    pub text: String,
}

impl Stamp {
    /// The stamp of `unix_ms`.
    pub fn of(unix_ms: i64) -> Stamp {
        let at = std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(u64::try_from(unix_ms).unwrap_or(0));
        let iso = humantime::format_rfc3339_seconds(at).to_string();
        let text = format!("{} UTC", iso.trim_end_matches('Z').replace('T', " "));
        Stamp { iso, text }
    }
}

/// The verdict bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `healthy`, `warning` or `critical`: the CSS class.
    pub level: &'static str,
    /// What the bar says first, in words (never colour alone).
    pub label: &'static str,
    /// Nodes and problems counted.
    pub summary: String,
    /// The first problem's fix.
    pub fix_first: Option<Vec<Segment>>,
}

/// A piece of a message or remedy: text, or what the catalogue quotes in backticks (a
/// command, shown as code; in a remedy, with a Copy button).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its text.
    pub text: String,
    /// Whether it is a command to copy.
    pub command: bool,
}

/// The nodes of one region.
#[derive(Debug, Clone)]
pub struct Region {
    /// Its name; `None` when the cluster has a single region.
    pub name: Option<String>,
    /// Its nodes, in the status's order.
    pub nodes: Vec<NodeRow>,
}

/// One node's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// Node name.
    pub name: String,
    /// ONLINE, DEGRADED, DOWN (as the status says).
    pub state: String,
    /// `online`, `degraded`, `down` or `unknown`: the badge's class.
    pub state_class: &'static str,
    /// OMS_HOST_IP, `None` when unset.
    pub oms_host_ip: Option<String>,
    /// `hostname -i`, `None` when unknown.
    pub hostname_ips: Option<String>,
    /// host_status of its host row, `None` when there is no row.
    pub host_row: Option<String>,
    /// Whether that row says ONLINE.
    pub host_row_online: bool,
    /// Heartbeat age, `None` when there is no row.
    pub heartbeat: Option<String>,
    /// Last report's age, `None` when no agent reports for it.
    pub last_report: Option<String>,
    /// `5/5 running`, `—` without programs.
    pub components: String,
    /// The programs not RUNNING, e.g. `oms_console STOPPED`.
    pub not_running: Vec<String>,
}

/// One root cause with what it explains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemView {
    /// 1 for the one to fix first.
    pub number: usize,
    /// Its finding's id (stable across refreshes).
    pub id: String,
    /// `critical`, `warning`, `info`: the CSS class.
    pub severity: String,
    /// The same in capitals, said in the badge.
    pub severity_label: String,
    /// Finding code.
    pub code: String,
    /// The nodes or IP it is about.
    pub subject: String,
    /// How long it has been active, when the timeline knows.
    pub active_for: Option<String>,
    /// What is wrong (what it quotes, e.g. `hostname -i`, apart).
    pub message: Vec<Segment>,
    /// What to do, commands apart.
    pub remedy: Vec<Segment>,
    /// The findings folded under it.
    pub symptoms: Vec<SymptomView>,
    /// The node and program a restart would bring back (COMPONENT_NOT_RUNNING of one node).
    pub restart: Option<RestartTarget>,
}

/// A finding folded under its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymptomView {
    /// `critical`, `warning`, `info`.
    pub severity: String,
    /// The same in capitals.
    pub severity_label: String,
    /// Finding code.
    pub code: String,
    /// The nodes or IP it is about.
    pub subject: String,
    /// Its message, without the "(caused by …)" its place already says.
    pub message: Vec<Segment>,
}

/// The live part of the page for `status` and the `timeline` read for it.
pub fn live(status: &pb::ClusterStatus, timeline: Timeline) -> Live {
    let problems = problems::problems(&status.findings);
    let now = status.generated_at_unix_ms;
    let verdict = verdict(status, &problems);
    let title = match verdict.level {
        "healthy" => "Healthy · omswatch".to_string(),
        _ => format!(
            "{} · {} · omswatch",
            verdict.label,
            count(problems.len(), "problem")
        ),
    };
    Live {
        title,
        verdict,
        store_down: status
            .store
            .as_ref()
            .filter(|s| !s.up)
            .map(|s| format!("{} is not written ({})", s.location, s.error)),
        regions: regions(&status.nodes),
        no_nodes: status.nodes.is_empty(),
        problems: problems
            .iter()
            .enumerate()
            .map(|(i, p)| problem(i + 1, p, now))
            .collect(),
        timeline,
        generated: Stamp::of(now),
        version: status.collector_version.clone(),
    }
}

fn verdict(status: &pb::ClusterStatus, problems: &[Problem<'_>]) -> Verdict {
    let worst = problems
        .iter()
        .map(Problem::severity_rank)
        .max()
        .unwrap_or(0);
    let (level, label) = match worst {
        2 => ("critical", "Critical"),
        1 => ("warning", "Warnings"),
        _ => ("healthy", "Healthy"),
    };
    let down = status.nodes.iter().filter(|n| n.state == "DOWN").count();
    let nodes = match status.nodes.len() {
        0 => "no node reports".to_string(),
        n => format!("{} ({down} down)", count(n, "node")),
    };
    let findings = if problems.is_empty() {
        "every check of the OMS runbook passes".to_string()
    } else {
        problems::summary(problems)
    };
    Verdict {
        level,
        label,
        summary: format!("{nodes} · {findings}"),
        fix_first: problems.first().map(|p| segments(&p.root.remedy)),
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `text` cut at its backticks: every other piece is a command. An unmatched backtick
/// stays text.
pub fn segments(text: &str) -> Vec<Segment> {
    let pieces: Vec<&str> = text.split('`').collect();
    let last = pieces.len() - 1;
    let mut out: Vec<Segment> = Vec::new();
    for (i, piece) in pieces.into_iter().enumerate() {
        let command = i % 2 == 1 && !(i == last && last % 2 == 1);
        let piece = if i % 2 == 1 && !command {
            format!("`{piece}")
        } else {
            piece.to_string()
        };
        match out.last_mut() {
            Some(prev) if !prev.command && !command => prev.text.push_str(&piece),
            _ if piece.is_empty() => {}
            _ => out.push(Segment {
                text: piece,
                command,
            }),
        }
    }
    out
}

fn regions(nodes: &[pb::NodeStatus]) -> Vec<Region> {
    let mut by_region: BTreeMap<&str, Vec<NodeRow>> = BTreeMap::new();
    for node in nodes {
        by_region
            .entry(&node.region)
            .or_default()
            .push(node_row(node));
    }
    if by_region.len() < 2 {
        return vec![Region {
            name: None,
            nodes: nodes.iter().map(node_row).collect(),
        }];
    }
    by_region
        .into_iter()
        .map(|(name, nodes)| Region {
            name: Some(if name.is_empty() {
                "(unknown region)".to_string()
            } else {
                name.to_string()
            }),
            nodes,
        })
        .collect()
}

fn node_row(n: &pb::NodeStatus) -> NodeRow {
    let running = n.components.iter().filter(|c| c.state == "RUNNING").count();
    NodeRow {
        name: n.name.clone(),
        state: n.state.clone(),
        state_class: match n.state.as_str() {
            "ONLINE" => "online",
            "DEGRADED" => "degraded",
            "DOWN" => "down",
            _ => "unknown",
        },
        oms_host_ip: n.oms_host_ip.clone(),
        hostname_ips: (!n.hostname_ips.is_empty()).then(|| n.hostname_ips.join(", ")),
        host_row: n.host_status.clone(),
        host_row_online: n.host_status.as_deref() == Some("ONLINE"),
        heartbeat: n.heartbeat_age_s.map(ago),
        last_report: n.last_report_age_s.map(ago),
        components: if n.components.is_empty() {
            "—".to_string()
        } else {
            format!("{running}/{} running", n.components.len())
        },
        not_running: n
            .components
            .iter()
            .filter(|c| c.state != "RUNNING")
            .map(|c| format!("{} {}", c.name, c.state))
            .collect(),
    }
}

/// `4 s ago`, `3 min ago`, `2 h 5 min ago`.
pub fn ago(seconds: i64) -> String {
    format!("{} ago", duration(seconds))
}

/// A duration for people, two units at most: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn subject(f: &pb::Finding) -> String {
    match (f.nodes.is_empty(), f.evidence.get("ip")) {
        (false, _) => f.nodes.join(", "),
        (true, Some(ip)) => format!("IP {ip}"),
        (true, None) => "cluster".to_string(),
    }
}

fn problem(number: usize, p: &Problem<'_>, now_unix_ms: i64) -> ProblemView {
    let root = p.root;
    let restart = match (
        root.code.as_str(),
        root.nodes.as_slice(),
        root.evidence.get("program"),
    ) {
        ("COMPONENT_NOT_RUNNING", [node], Some(program)) => Some(RestartTarget {
            node: node.clone(),
            program: program.clone(),
            button: Button::Hidden,
        }),
        _ => None,
    };
    ProblemView {
        number,
        id: root.id.clone(),
        severity: root.severity.clone(),
        severity_label: root.severity.to_uppercase(),
        code: root.code.clone(),
        subject: subject(root),
        active_for: root
            .since_unix_ms
            .map(|since| duration(now_unix_ms.saturating_sub(since) / 1000)),
        message: segments(&root.message),
        remedy: segments(&root.remedy),
        symptoms: p
            .symptoms
            .iter()
            .map(|s| SymptomView {
                severity: s.severity.clone(),
                severity_label: s.severity.to_uppercase(),
                code: s.code.clone(),
                subject: subject(s),
                message: segments(&problems::under_root(&s.message, &root.id)),
            })
            .collect(),
        restart,
    }
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
