//! Unit tests of [`super::pack`]: the bundle's layout from a hand-made Bundle.

use std::collections::HashMap;

use omswatch_common::proto::v1 as pb;

use super::*;

const SECRET: &str = "Hunter2-leaked";

fn program(name: &str, state: &str) -> pb::Program {
    pb::Program {
        name: name.into(),
        state: state.into(),
        ..Default::default()
    }
}

fn report(node: &str, ip: &str) -> pb::NodeReport {
    pb::NodeReport {
        node: node.into(),
        agent_version: "0.1.0".into(),
        identity: Some(pb::Identity {
            hostname: node.into(),
            hostname_ips: vec![ip.into()],
            oms_host_ip: Some(ip.into()),
            oms_host_ip_source: "env".into(),
            ..Default::default()
        }),
        supervisor: Some(pb::SupervisorStatus {
            reachable: true,
            programs: vec![
                program("oms_console", "STOPPED"),
                program("oms_drc_cm", "RUNNING"),
            ],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn sample() -> pb::Bundle {
    let mut leaky = report("../../etc", "10.0.0.2");
    leaky.config = Some(pb::NodeConfig {
        redacted_text: format!("cm_nodes:\n  - 10.0.0.1\ntsdb:\n  tsdb_password: {SECRET}\n"),
        values: HashMap::from([("tsdb".to_string(), format!("tsdb_password: {SECRET}"))]),
        ..Default::default()
    });
    pb::Bundle {
        status: Some(pb::ClusterStatus {
            nodes: vec![pb::NodeStatus {
                name: "oms-node-1".into(),
                state: "DOWN".into(),
                oms_host_ip: Some("10.0.0.1".into()),
                ..Default::default()
            }],
            findings: vec![pb::Finding {
                code: "COMPONENT_NOT_RUNNING".into(),
                severity: "critical".into(),
                message: "oms_console is STOPPED".into(),
                remedy: "supervisorctl restart oms_console".into(),
                ..Default::default()
            }],
            collector_version: "9.9.9".into(),
            ..Default::default()
        }),
        reports: vec![report("oms-node-1", "10.0.0.1"), leaky],
        regions: vec![pb::RegionRows {
            file: "/etc/oms/config.yaml".into(),
            redacted_config:
                "oms_meta_password: \"<redacted>\"\ncm_nodes:\n  - 10.0.0.1\n  - 10.0.0.2\n".into(),
            hosts: vec![pb::HostRowMsg {
                ip: "10.0.0.1".into(),
                host_status: Some("ONLINE".into()),
            }],
            heartbeats_error: "oms_cm_heartbeat_0.heart_beat: timed out".into(),
            ..Default::default()
        }],
        generated_at_unix_ms: 1_714_564_800_000,
    }
}

fn meta() -> Meta {
    Meta {
        cli_version: "1.2.3".into(),
        collector_url: "http://c:9470".into(),
        packed_at_unix_ms: 1_714_564_801_000,
    }
}

fn file<'a>(packed: &'a Packed, rel: &str) -> &'a str {
    let path = format!("{}/{rel}", packed.top_dir);
    packed
        .files
        .iter()
        .find(|f| f.path == path)
        .and_then(|f| std::str::from_utf8(&f.contents).ok())
        .unwrap_or_else(|| {
            panic!(
                "{rel} missing from {:?}",
                packed.files.iter().map(|f| &f.path).collect::<Vec<_>>()
            )
        })
}

#[test]
fn layout_has_every_part_under_one_top_dir() {
    let packed = pack(&sample(), &meta());
    assert_eq!(packed.top_dir, "omswatch-bundle-20240501T120000Z");
    let rel: Vec<&str> = packed
        .files
        .iter()
        .filter_map(|f| f.path.strip_prefix("omswatch-bundle-20240501T120000Z/"))
        .collect();
    assert_eq!(rel.len(), packed.files.len(), "{rel:?}");
    assert_eq!(rel[0], "summary.txt");
    for want in [
        "status.json",
        "findings.txt",
        "versions.txt",
        "metadb/config.yaml/host.tsv",
        "metadb/config.yaml/error.txt",
        "metadb/config.yaml/config.yaml",
        "nodes/oms-node-1/supervisor.txt",
        "nodes/oms-node-1/identity.txt",
        "nodes/oms-node-1/report.txt",
        "nodes/___.._etc/config.yaml",
    ] {
        assert!(rel.contains(&want), "{want} not in {rel:?}");
    }
    assert!(
        !rel.contains(&"metadb/config.yaml/heart_beat.tsv"),
        "{rel:?}"
    );
    assert!(
        rel.iter()
            .all(|p| !p.split('/').any(|c| c == ".." || c.is_empty())),
        "{rel:?}"
    );
}

#[test]
fn summary_answers_the_runbook_and_lists_the_files() {
    let packed = pack(&sample(), &meta());
    let summary = file(&packed, "summary.txt");
    for want in [
        "Collected: 2024-05-01 12:00:00 UTC",
        "omswatch CLI 1.2.3",
        "(version 9.9.9)",
        "Nodes:     1 (1 DOWN)",
        "CRITICAL  COMPONENT_NOT_RUNNING",
        "fix: supervisorctl restart oms_console",
        "heart_beat table NOT READ: oms_cm_heartbeat_0.heart_beat: timed out",
        "nodes/oms-node-1/supervisor.txt",
    ] {
        assert!(summary.contains(want), "{want:?} not in\n{summary}");
    }
    let row = summary
        .lines()
        .find(|l| l.trim_start().starts_with("10.0.0.2"))
        .unwrap_or_default();
    assert!(row.contains("yes") && row.contains("(no row)"), "{row}");
    assert_eq!(
        file(&packed, "status.json"),
        omswatch_common::views::status_json::document(packed_status())
    );
    assert!(
        file(&packed, "metadb/config.yaml/error.txt")
            .contains("heartbeats_error: oms_cm_heartbeat_0")
    );
    assert!(file(&packed, "nodes/oms-node-1/supervisor.txt").contains("oms_console"));
    assert!(file(&packed, "versions.txt").contains("omswatch-agent on oms-node-1"));
}

fn packed_status() -> &'static pb::ClusterStatus {
    static STATUS: std::sync::OnceLock<pb::ClusterStatus> = std::sync::OnceLock::new();
    STATUS.get_or_init(|| sample().status.unwrap_or_default())
}

#[test]
fn leaked_secrets_are_redacted_everywhere_with_a_warning() {
    let packed = pack(&sample(), &meta());
    for f in &packed.files {
        let text = String::from_utf8_lossy(&f.contents);
        assert!(!text.contains(SECRET), "{} leaks:\n{text}", f.path);
    }
    assert_eq!(packed.warnings.len(), 2, "{:?}", packed.warnings);
    assert!(
        packed.warnings[0].contains("nodes/___.._etc/config.yaml line 4: `tsdb_password`"),
        "{:?}",
        packed.warnings
    );
    assert!(packed.warnings.iter().all(|w| !w.contains(SECRET)));
}
