//! The table of a large cluster: a row per node would bury the few that matter under
//! thousands that are fine, so above [`SUMMARY_ABOVE`] nodes the table gives the count of
//! nodes in each state, the problems (the first few, each with its first symptoms), then
//! only the nodes that are not ONLINE, and says how to see the rest (`--all`, or the JSON,
//! which always holds every node). It stays under 100 lines at any size.

use std::collections::BTreeMap;
use std::fmt::Write;

use omswatch_common::findings::problems::Problem;
use omswatch_common::proto::v1 as pb;

/// Above this many nodes the table is summarised (unless `--all`).
pub const SUMMARY_ABOVE: usize = 50;
/// Problems listed in a summary; the rest are counted.
const MAX_PROBLEMS: usize = 5;
/// Nodes not ONLINE listed in a summary; the rest are counted.
const MAX_ROWS: usize = 20;

/// How much of each problem a view lists.
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    /// Symptoms listed under a root.
    pub symptoms: usize,
    /// Node names (or symptom ids) on one line.
    pub names: usize,
}

impl Cap {
    /// Everything: the full table.
    pub const NONE: Cap = Cap {
        symptoms: usize::MAX,
        names: usize::MAX,
    };
    /// A summary's.
    pub const SUMMARY: Cap = Cap {
        symptoms: 2,
        names: 5,
    };
}

/// `a, b, c` of at most `cap.names` names, then `and N more`.
pub fn names<'a>(all: impl ExactSizeIterator<Item = &'a str>, cap: Cap) -> String {
    let total = all.len();
    let mut text = all.take(cap.names).collect::<Vec<_>>().join(", ");
    if total > cap.names {
        let _ = write!(text, " and {} more", total - cap.names);
    }
    text
}

/// `ONLINE 9,990  DOWN 10`: the count of nodes in each state, worst first.
pub fn state_counts(nodes: &[pb::NodeStatus]) -> String {
    let mut counts: BTreeMap<(u8, &str), usize> = BTreeMap::new();
    for n in nodes {
        *counts
            .entry((rank(&n.state), n.state.as_str()))
            .or_default() += 1;
    }
    let cells: Vec<String> = counts
        .iter()
        .map(|((_, state), count)| format!("{state} {count}"))
        .collect();
    format!("NODES BY STATE: {}\n", cells.join("  "))
}

/// Worst states first; ONLINE last.
fn rank(state: &str) -> u8 {
    match state {
        "DOWN" => 0,
        "DEGRADED" => 1,
        "UNKNOWN" => 2,
        "ONLINE" => 4,
        _ => 3,
    }
}

/// The problems, at most [`MAX_PROBLEMS`], each by `render` (given its number and [`Cap::SUMMARY`]).
pub fn problems(
    problems: &[Problem<'_>],
    render: impl Fn(usize, &Problem<'_>) -> String,
) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().take(MAX_PROBLEMS).enumerate() {
        out.push_str(&render(i + 1, p));
    }
    if problems.len() > MAX_PROBLEMS {
        let _ = writeln!(
            out,
            "\n... and {} more problems (`omswatch status --all` or `--format json` lists every one)",
            problems.len() - MAX_PROBLEMS
        );
    }
    out
}

/// The nodes not ONLINE, worst first, at most [`MAX_ROWS`] of them, laid out by `table`.
pub fn not_online(
    nodes: &[pb::NodeStatus],
    table: impl Fn(&[&pb::NodeStatus]) -> String,
) -> String {
    let mut bad: Vec<&pb::NodeStatus> = nodes.iter().filter(|n| n.state != "ONLINE").collect();
    if bad.is_empty() {
        return format!("Every one of the {} nodes is ONLINE.\n", nodes.len());
    }
    bad.sort_by(|a, b| (rank(&a.state), &a.name).cmp(&(rank(&b.state), &b.name)));
    let mut out = format!(
        "NODES NOT ONLINE ({} of {}; `omswatch status --all` lists every node)\n",
        bad.len(),
        nodes.len()
    );
    out.push_str(&table(&bad[..bad.len().min(MAX_ROWS)]));
    if bad.len() > MAX_ROWS {
        let _ = writeln!(out, "... and {} more not ONLINE", bad.len() - MAX_ROWS);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Rows, render, render_rows};
    use omswatch_common::proto::v1 as pb;

    /// 10,000 nodes: every 1,000th DOWN with a stopped component (a warning each), and one
    /// critical root (a duplicated IP) explaining 500 symptoms on 500 nodes.
    fn large() -> pb::ClusterStatus {
        let nodes = (0..10_000)
            .map(|i| pb::NodeStatus {
                name: format!("node-{i:05}"),
                state: if i % 1000 == 7 { "DOWN" } else { "ONLINE" }.into(),
                ..Default::default()
            })
            .collect();
        let finding = |code: &str, id: String, nodes: Vec<String>, caused_by: &str| pb::Finding {
            code: code.into(),
            severity: "critical".into(),
            message: format!("{id} is wrong"),
            remedy: format!("fix {id}"),
            id,
            nodes,
            caused_by: caused_by.into(),
            ..Default::default()
        };
        let mut findings: Vec<pb::Finding> = (0..10)
            .map(|k| {
                let node = format!("node-{:05}", k * 1000 + 7);
                let mut f = finding("COMPONENT_NOT_RUNNING", format!("R/{node}"), vec![node], "");
                f.severity = "warning".into(); // ranked after the critical root below
                f
            })
            .collect();
        let root = "DUPLICATE_OMS_HOST_IP/10.0.0.1";
        let symptoms: Vec<pb::Finding> = (0..500)
            .map(|i| {
                let node = format!("node-{i:05}");
                finding(
                    "OMS_HOST_IP_MISMATCH",
                    format!("M/{node}"),
                    vec![node],
                    root,
                )
            })
            .collect();
        let mut dup = finding(
            "DUPLICATE_OMS_HOST_IP",
            root.into(),
            (0..500).map(|i| format!("node-{i:05}")).collect(),
            "",
        );
        dup.explains = symptoms.iter().map(|s| s.id.clone()).collect();
        findings.push(dup);
        findings.extend(symptoms);
        pb::ClusterStatus {
            nodes,
            findings,
            ..Default::default()
        }
    }

    #[test]
    fn a_large_cluster_is_summarised_within_100_lines() {
        let status = large();
        let text = render(&status, "http://c:9470");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() <= 100, "{} lines:\n{text}", lines.len());
        assert!(
            lines.iter().all(|l| l.len() < 400),
            "a line too long:\n{text}"
        );
        assert!(
            text.contains("NODES BY STATE: DOWN 10  ONLINE 9990"),
            "{text}"
        );
        assert!(text.contains("NODES NOT ONLINE (10 of 10000;"), "{text}");
        for k in 0..10 {
            let down = format!("\nnode-{:05} ", k * 1000 + 7);
            assert!(text.contains(&down), "{down} missing:\n{text}");
        }
        assert!(!text.contains("\nnode-00001 "), "an ONLINE row:\n{text}");
        assert!(text.contains("and 6 more problems"), "{text}");
        assert!(text.contains("`omswatch status --all`"), "{text}");
        // The 500-node root comes first, named by its first nodes, its symptoms counted.
        assert!(text.contains("and 495 more]"), "{text}");
        assert!(text.contains("... and 498 more symptoms"), "{text}");
    }

    #[test]
    fn all_lists_every_node_and_a_small_cluster_is_never_summarised() {
        let status = large();
        let all = render_rows(&status, "c", Rows::All);
        assert!(all.lines().count() > 10_000);
        assert!(all.contains("\nnode-00001 ") && !all.contains("NODES BY STATE"));
        let small = pb::ClusterStatus {
            nodes: status.nodes[..super::SUMMARY_ABOVE].to_vec(),
            ..Default::default()
        };
        let text = render(&small, "c");
        assert!(!text.contains("NODES BY STATE"), "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with("node-")).count(), 50);
    }
}
