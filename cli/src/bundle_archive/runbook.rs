//! The runbook's MetaDB questions answered per region: is each server's IP in
//! `cm_nodes`, in `<drc_cm_db>.host` as ONLINE, and heartbeating in
//! `<drc_cm_heartbeat_db>.heart_beat` (steps 4 and 5 of docs/OMS.md's runbook)?

use std::collections::BTreeSet;
use std::fmt::Write;

use omswatch_common::ip::normalize;
use omswatch_common::proto::v1 as pb;
use serde_yaml::Value;

use super::text::aligned;

/// The section of `summary.txt` for one region whose files are in `dir`.
pub fn region_answers(rows: &pb::RegionRows, dir: &str, nodes: &[pb::NodeStatus]) -> String {
    // The collector labels a region by cm_region, else by its config file.
    let title = if rows.region.is_empty() || rows.region == rows.file {
        format!("Region of {}", or_unknown(&rows.file))
    } else {
        format!("Region {} ({})", rows.region, or_unknown(&rows.file))
    };
    let mut out = format!("{title}: rows in {dir}/\n");
    let cm_nodes = cm_nodes(&rows.redacted_config);
    if cm_nodes.is_none() {
        out.push_str("  cm_nodes: unknown (the collector could not read this config.yaml)\n");
    }
    for (what, error) in [
        ("host", &rows.hosts_error),
        ("heart_beat", &rows.heartbeats_error),
    ] {
        if !error.is_empty() {
            let _ = writeln!(out, "  {what} table NOT READ: {error}");
        }
    }
    let header = ["IP", "IN CM_NODES", "HOST ROW", "HEARTBEAT", "AGENT"];
    let table = aligned(
        &header,
        all_ips(rows, cm_nodes.as_ref(), nodes)
            .iter()
            .map(|ip| answer(ip, rows, cm_nodes.as_ref(), nodes)),
    );
    for line in table.lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}

/// `cm_nodes` of a config text, normalised; `None` when it cannot be read. The text came from
/// the collector (and maybe a node): parsed with the bounded parser, like every config.yaml.
fn cm_nodes(config: &str) -> Option<BTreeSet<String>> {
    let Ok(Value::Mapping(map)) = omswatch_common::oms_config::parse_yaml(config) else {
        return None;
    };
    let list = match map.get("cm_nodes") {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        Some(other) => scalar(other)
            .map(|s| s.split(',').map(normalize).collect())
            .unwrap_or_default(),
        None => BTreeSet::new(),
    };
    Some(list)
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(normalize(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Every IP any source names: cm_nodes, host rows, heartbeat rows, and the
/// agents of this region (so a server missing everywhere still shows up).
fn all_ips(
    rows: &pb::RegionRows,
    cm_nodes: Option<&BTreeSet<String>>,
    nodes: &[pb::NodeStatus],
) -> BTreeSet<String> {
    let mut ips: BTreeSet<String> = cm_nodes.cloned().unwrap_or_default();
    ips.extend(rows.hosts.iter().map(|h| normalize(&h.ip)));
    ips.extend(rows.heartbeats.iter().map(|h| normalize(&h.host_ip)));
    for node in nodes.iter().filter(|n| n.region == rows.region) {
        match &node.oms_host_ip {
            Some(ip) => ips.extend([normalize(ip)]),
            None => ips.extend(node.hostname_ips.iter().map(|ip| normalize(ip))),
        }
    }
    ips
}

fn answer(
    ip: &str,
    rows: &pb::RegionRows,
    cm_nodes: Option<&BTreeSet<String>>,
    nodes: &[pb::NodeStatus],
) -> Vec<String> {
    let in_cm = match cm_nodes {
        Some(set) if set.contains(ip) => "yes",
        Some(_) => "NO",
        None => "?",
    };
    let hosts: Vec<String> = rows
        .hosts
        .iter()
        .filter(|h| normalize(&h.ip) == ip)
        .map(|h| h.host_status.clone().unwrap_or_else(|| "NULL".into()))
        .collect();
    let beats: Vec<&pb::HeartbeatRowMsg> = rows
        .heartbeats
        .iter()
        .filter(|b| normalize(&b.host_ip) == ip)
        .collect();
    let freshest = beats.iter().filter_map(|b| b.age_s).min();
    let heartbeat = match (beats.is_empty(), freshest) {
        (true, _) => "(no row)".to_string(),
        (false, Some(age)) => format!("{age}s ago"),
        (false, None) => "row, age unknown".to_string(),
    };
    let agents: Vec<&str> = nodes
        .iter()
        .filter(|n| {
            n.oms_host_ip.as_deref().map(normalize).as_deref() == Some(ip)
                || n.hostname_ips.iter().any(|h| normalize(h) == ip)
        })
        .map(|n| n.name.as_str())
        .collect();
    vec![
        ip.to_string(),
        in_cm.to_string(),
        if hosts.is_empty() {
            "(no row)".into()
        } else {
            hosts.join(",")
        },
        heartbeat,
        if agents.is_empty() {
            "(none)".into()
        } else {
            agents.join(",")
        },
    ]
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "(unknown)" } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ip_is_checked_against_cm_nodes_host_and_heartbeat() {
        let rows = pb::RegionRows {
            file: "/etc/oms/config.yaml".into(),
            redacted_config: "cm_nodes:\n  - 10.0.0.1\n  - 10.0.0.2\n".into(),
            hosts: vec![pb::HostRowMsg {
                ip: "10.0.0.1".into(),
                host_status: Some("ONLINE".into()),
            }],
            heartbeats: vec![pb::HeartbeatRowMsg {
                host_ip: "10.0.0.1".into(),
                age_s: Some(4),
                ..Default::default()
            }],
            ..Default::default()
        };
        let nodes = [pb::NodeStatus {
            name: "n3".into(),
            oms_host_ip: Some("10.0.0.3".into()),
            ..Default::default()
        }];
        let text = region_answers(&rows, "metadb/config.yaml", &nodes);
        let cells = |ip: &str| -> Vec<String> {
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(ip))
                .unwrap_or_default();
            line.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        };
        assert_eq!(
            cells("10.0.0.1"),
            ["10.0.0.1", "yes", "ONLINE", "4s ago", "(none)"]
        );
        assert_eq!(
            cells("10.0.0.2"),
            ["10.0.0.2", "yes", "(no row)", "(no row)", "(none)"]
        );
        assert_eq!(
            cells("10.0.0.3"),
            ["10.0.0.3", "NO", "(no row)", "(no row)", "n3"]
        );
    }

    #[test]
    fn unreadable_tables_and_configs_are_said() {
        let rows = pb::RegionRows {
            hosts_error: "oms_cm.host: connection refused".into(),
            ..Default::default()
        };
        let text = region_answers(&rows, "metadb/region-1", &[]);
        assert!(
            text.contains("host table NOT READ: oms_cm.host: connection refused"),
            "{text}"
        );
        assert!(text.contains("cm_nodes: unknown"), "{text}");
    }
}
