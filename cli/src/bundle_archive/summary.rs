//! The files a support engineer reads first: `summary.txt` (when, which
//! versions, the status table with findings and fixes, the runbook's MetaDB
//! questions answered, the list of files), `findings.txt` (each finding's
//! evidence and catalogue entry) and `versions.txt`.

use std::collections::BTreeMap;
use std::fmt::Write;

use omswatch_common::findings::Code;
use omswatch_common::proto::v1 as pb;

use super::text::{aligned, utc};
use super::{Meta, runbook};

/// A region's directory name beside its rows.
pub type RegionDir<'a> = (&'a pb::RegionRows, String);

/// `summary.txt`; `files` are the bundle's other files with a line about each.
pub fn summary(
    bundle: &pb::Bundle,
    meta: &Meta,
    regions: &[RegionDir<'_>],
    files: &[(String, String)],
) -> String {
    let status = bundle.status.clone().unwrap_or_default();
    let mut out = String::from("omswatch support bundle\n=======================\n\n");
    let rows = [
        (
            "Collected",
            format!(
                "{} (the collector's snapshot)",
                utc(bundle.generated_at_unix_ms)
            ),
        ),
        (
            "Packed",
            format!(
                "{} by omswatch CLI {}",
                utc(meta.packed_at_unix_ms),
                meta.cli_version
            ),
        ),
        (
            "Collector",
            format!(
                "{} (version {})",
                meta.collector_url,
                or_unknown(&status.collector_version)
            ),
        ),
        ("Nodes", node_states(&status.nodes)),
    ];
    for (k, v) in rows {
        let _ = writeln!(out, "{:<11}{v}", format!("{k}:"));
    }
    out.push_str(
        "\nSTATUS (as `omswatch status` shows it)\n--------------------------------------\n",
    );
    out.push_str(&crate::views::table::render(&status, &meta.collector_url));
    out.push_str("\nRUNBOOK STEPS 4-5 PER REGION: cm_nodes vs host rows vs heartbeat rows\n");
    out.push_str("----------------------------------------------------------------------\n");
    if regions.is_empty() {
        out.push_str(
            "The collector has no region config.yaml (--oms-config), so no MetaDB rows.\n\n",
        );
    }
    for (rows, dir) in regions {
        out.push_str(&runbook::region_answers(rows, dir, &status.nodes));
        out.push('\n');
    }
    out.push_str("FILES IN THIS BUNDLE\n--------------------\n");
    let this = vec!["summary.txt".to_string(), "this file".to_string()];
    let listing = std::iter::once(this).chain(
        files
            .iter()
            .map(|(path, about)| vec![path.clone(), about.clone()]),
    );
    out.push_str(&aligned(&["PATH", "WHAT"], listing));
    out
}

/// `3 (2 ONLINE, 1 DOWN)`.
fn node_states(nodes: &[pb::NodeStatus]) -> String {
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    for n in nodes {
        *states.entry(n.state.as_str()).or_default() += 1;
    }
    let parts: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
    format!("{} ({})", nodes.len(), parts.join(", "))
}

/// `findings.txt`: every finding with its evidence and its catalogue entry.
pub fn findings(status: &pb::ClusterStatus) -> String {
    if status.findings.is_empty() {
        return "No findings: every check of the OMS runbook passes.\n".into();
    }
    let mut out = String::new();
    for f in &status.findings {
        let _ = writeln!(
            out,
            "{} {} [{}]",
            f.severity.to_uppercase(),
            f.code,
            f.nodes.join(", ")
        );
        let _ = writeln!(out, "  message: {}\n  fix:     {}", f.message, f.remedy);
        let evidence: BTreeMap<_, _> = f.evidence.iter().collect();
        for (k, v) in evidence {
            let _ = writeln!(out, "  evidence {k}: {v}");
        }
        if let Some(entry) = Code::parse(&f.code).map(Code::entry) {
            let _ = writeln!(
                out,
                "  means:   {}\n  cause:   {}",
                entry.meaning, entry.cause
            );
        }
        out.push('\n');
    }
    out
}

/// `versions.txt`: the CLI's, the collector's and each agent's version.
pub fn versions(bundle: &pb::Bundle, meta: &Meta) -> String {
    let collector = bundle
        .status
        .as_ref()
        .map_or("", |s| s.collector_version.as_str());
    let mut rows = vec![
        vec!["omswatch CLI".to_string(), meta.cli_version.clone()],
        vec![
            "omswatch-collector".to_string(),
            or_unknown(collector).to_string(),
        ],
    ];
    rows.extend(bundle.reports.iter().map(|r| {
        vec![
            format!("omswatch-agent on {}", r.node),
            or_unknown(&r.agent_version).to_string(),
        ]
    }));
    aligned(&["COMPONENT", "VERSION"], rows.into_iter())
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "(unknown)" } else { s }
}
