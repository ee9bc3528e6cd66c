//! The human view: one line per node, then findings most severe first, each
//! with its fix. Plain text, no colour codes, so it pastes into a ticket.

use std::collections::BTreeMap;
use std::fmt::Write;

use omswatch_common::proto::v1 as pb;

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

/// The table text of a status.
pub fn render(status: &pb::ClusterStatus, collector: &str) -> String {
    let status = &super::printable::sanitized(status);
    let collector = super::printable::printable(collector);
    let mut out = String::new();
    let _ = writeln!(out, "omswatch status of {collector}: {}", summary(status));
    if let Some(store) = status.store.as_ref().filter(|s| !s.up) {
        let _ = writeln!(
            out,
            "STORE DOWN: {} is not written ({}); reports and the timeline are kept in memory until it is back",
            super::printable::printable(&store.location),
            super::printable::printable(&store.error)
        );
    }
    out.push('\n');
    if status.nodes.is_empty() {
        out.push_str("No agent has reported yet. Deploy omswatch-agent in each OMS container (see deploy/README.md).\n");
    } else {
        out.push_str(&regions_tables(&status.nodes));
    }
    out.push('\n');
    if status.findings.is_empty() {
        out.push_str("No findings: every check of the OMS runbook passes.\n");
    } else {
        let _ = writeln!(
            out,
            "FINDINGS (most severe first; `omswatch explain CODE` tells more)"
        );
        for f in &status.findings {
            out.push_str(&finding(f, status.generated_at_unix_ms));
        }
    }
    out
}

fn summary(status: &pb::ClusterStatus) -> String {
    let count = |s: &str| status.findings.iter().filter(|f| f.severity == s).count();
    let down = status.nodes.iter().filter(|n| n.state == "DOWN").count();
    format!(
        "{} nodes ({down} down), {} critical, {} warning findings",
        status.nodes.len(),
        count("critical"),
        count("warning")
    )
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

fn finding(f: &pb::Finding, now_unix_ms: i64) -> String {
    let nodes = if f.nodes.is_empty() {
        String::new()
    } else {
        format!("  [{}]", f.nodes.join(", "))
    };
    let since = f
        .since_unix_ms
        .map(|since| format!("  for {}", active_for(now_unix_ms.saturating_sub(since))))
        .unwrap_or_default();
    format!(
        "\n{:<8}  {}{nodes}{since}\n  {}\n  fix: {}\n",
        f.severity.to_uppercase(),
        f.code,
        f.message,
        f.remedy
    )
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
mod tests {
    use super::*;

    #[test]
    fn table_shows_nodes_findings_and_fixes() {
        let status = pb::ClusterStatus {
            nodes: vec![pb::NodeStatus {
                name: "n1".into(),
                state: "DOWN".into(),
                oms_host_ip: None,
                components: vec![pb::ComponentState {
                    name: "oms_console".into(),
                    state: "STOPPED".into(),
                }],
                ..Default::default()
            }],
            findings: vec![pb::Finding {
                code: "COMPONENT_NOT_RUNNING".into(),
                severity: "critical".into(),
                nodes: vec!["n1".into()],
                message: "n1: oms_console is STOPPED".into(),
                remedy: "supervisorctl restart oms_console".into(),
                since_unix_ms: Some(1_000),
                ..Default::default()
            }],
            generated_at_unix_ms: 1_000 + 12 * 60_000 + 5_000,
            ..Default::default()
        };
        let text = render(&status, "http://c:9470");
        let row = text
            .lines()
            .find(|l| l.starts_with("n1 "))
            .expect("node row");
        assert!(
            row.split_whitespace().collect::<Vec<_>>()[..3] == ["n1", "DOWN", "(unset)"],
            "{row}"
        );
        assert!(text.contains("0/1 RUNNING (oms_console STOPPED)"), "{text}");
        assert!(
            text.contains("CRITICAL  COMPONENT_NOT_RUNNING  [n1]  for 12m"),
            "{text}"
        );
        assert!(
            text.contains("fix: supervisorctl restart oms_console"),
            "{text}"
        );
    }

    #[test]
    fn durations_read_in_two_units_at_most() {
        assert_eq!(active_for(45_000), "45s");
        assert_eq!(active_for(12 * 60_000 + 59_000), "12m");
        assert_eq!(active_for(3 * 3_600_000 + 5 * 60_000), "3h 5m");
        assert_eq!(active_for(2 * 86_400_000 + 4 * 3_600_000), "2d 4h");
        assert_eq!(active_for(-5), "0s");
    }

    #[test]
    fn several_regions_get_one_table_each() {
        let node = |name: &str, region: &str| pb::NodeStatus {
            name: name.into(),
            region: region.into(),
            state: "ONLINE".into(),
            ..Default::default()
        };
        let status = pb::ClusterStatus {
            nodes: vec![node("a", "hz"), node("b", "sh"), node("c", "hz")],
            ..Default::default()
        };
        let text = render(&status, "c");
        let hz = text.find("REGION hz").expect("hz heading");
        let sh = text.find("REGION sh").expect("sh heading");
        let row_c = text.find("\nc ").expect("row c");
        assert!(hz < row_c && row_c < sh, "{text}");
        let single = render(
            &pb::ClusterStatus {
                nodes: vec![node("a", "hz")],
                ..Default::default()
            },
            "c",
        );
        assert!(!single.contains("REGION"), "{single}");
    }
}
