use std::collections::BTreeMap;

use omswatch_common::diagnose::diagnose;
use omswatch_common::oms_config;
use omswatch_common::proto::v1::{Identity, NodeReport, Program, SupervisorStatus};
use omswatch_common::snapshot::{
    HeartbeatRow, HostRow, MetaDbFailure, MetaDbView, NodeObservation, RegionInput, Snapshot,
};

use super::*;

const NOW: i64 = 1_800_000_000_000;
const PASSWORD: &str = "s3cret-Meta-pw";

fn node(name: &str, ip: &str, oms_host_ip: &str, console: &str) -> NodeObservation {
    let program = |name: &str, state: &str| Program {
        name: name.into(),
        state: state.into(),
        ..Default::default()
    };
    NodeObservation {
        report: NodeReport {
            node: name.into(),
            interval_ms: 5000,
            identity: Some(Identity {
                hostname: name.into(),
                hostname_ips: vec![ip.into()],
                oms_host_ip: Some(oms_host_ip.into()),
                ..Default::default()
            }),
            supervisor: Some(SupervisorStatus {
                reachable: true,
                programs: vec![
                    program("oms_console", console),
                    program("oms_drc_supervisor", "RUNNING"),
                ],
                ..Default::default()
            }),
            ..Default::default()
        }
        .into(),
        received_at_unix_ms: NOW - 1500,
    }
}

fn region(ips: &[&str], metadb_up: bool) -> RegionInput {
    let list: String = ips.iter().map(|ip| format!("  - {ip}\n")).collect();
    let text = format!(
        "oms_meta_host: 10.0.0.5\noms_meta_port: 2881\noms_meta_user: u\noms_meta_password: {PASSWORD}\n\
         drc_cm_db: oms_cm\ndrc_cm_heartbeat_db: oms_cm_heartbeat_0\ncm_url: http://10.0.0.1:8088\n\
         cm_region: hz\ncm_nodes:\n{list}"
    );
    let failure = MetaDbFailure {
        target: "u@10.0.0.5:2881/oms_cm.host".into(),
        reason: "connection refused".into(),
    };
    let metadb = MetaDbView {
        hosts: if metadb_up {
            Ok(ips
                .iter()
                .map(|ip| HostRow {
                    ip: ip.to_string(),
                    host_status: Some("ONLINE".into()),
                })
                .collect())
        } else {
            Err(failure.clone())
        },
        heartbeats: Ok(ips
            .iter()
            .map(|ip| HeartbeatRow {
                host_ip: ip.to_string(),
                task_type: None,
                gmt_created: None,
                gmt_modified: None,
                age_s: Some(4),
            })
            .collect()),
        clock: None,
    };
    RegionInput {
        config: oms_config::parse("config.yaml", &text),
        summary: Some(oms_config::summary::summarize("config.yaml", &text)),
        metadb: Some(metadb),
    }
}

fn snapshot(nodes: Vec<NodeObservation>, metadb_up: bool) -> Snapshot {
    let ips: Vec<String> = nodes
        .iter()
        .flat_map(|n| {
            n.report
                .identity
                .iter()
                .flat_map(|i| i.hostname_ips.clone())
        })
        .collect();
    let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
    Snapshot {
        now_unix_ms: NOW,
        regions: vec![region(&ips, metadb_up)],
        nodes,
        thresholds: Default::default(),
        scope: Default::default(),
    }
}

fn stats() -> CollectorStats {
    CollectorStats {
        reports_received: 7,
        reports_refused: crate::ingest::Refusal::ALL
            .iter()
            .map(|r| (*r, u64::from(*r == crate::ingest::Refusal::Rate)))
            .collect(),
        agents_connected: 2,
        store_up: Some(true),
        connections: Some(crate::listener::ConnectionCounts {
            open: 3,
            accepted_total: 10,
            refused_total_cap_total: 1,
            refused_peer_cap_total: 2,
            handshake_failed_total: 4,
            authorised_total: 6,
            closed_idle_total: 5,
        }),
        notify: crate::notify::stats::NotifyCounts {
            deliveries: [7, 8, 9],
            queue_pending: 11,
            queue_failed: 1,
            lease_held: true,
            alertmanager_ok: 12,
            alertmanager_error: 13,
            alerts_firing: 2,
        },
    }
}

fn scrape(snapshot: &Snapshot, format: Format) -> String {
    render(snapshot, &diagnose(snapshot), &stats(), format)
}

/// Every sample as `name{labels}` → value (labels as encoded).
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn value(text: &str, series: &str) -> Option<f64> {
    samples(text).get(series).copied()
}

#[test]
fn node_states_components_and_ages() {
    let s = snapshot(
        vec![
            node("n1", "10.0.0.11", "10.0.0.11", "RUNNING"),
            node("n2", "10.0.0.12", "10.0.0.12", "STOPPED"),
        ],
        true,
    );
    let text = scrape(&s, Format::Prometheus);
    let state = |n: &str, st: &str| {
        value(
            &text,
            &format!("omswatch_node_state{{node=\"{n}\",region=\"hz\",state=\"{st}\"}}"),
        )
    };
    assert_eq!(state("n1", "ONLINE"), Some(1.0), "{text}");
    assert_eq!(state("n1", "DOWN"), Some(0.0));
    assert_eq!(state("n2", "DOWN"), Some(1.0));
    assert_eq!(state("n2", "ONLINE"), Some(0.0));
    assert_eq!(state("n2", "DEGRADED"), Some(0.0));
    let up = |n: &str, p: &str| {
        value(
            &text,
            &format!("omswatch_component_up{{node=\"{n}\",program=\"{p}\"}}"),
        )
    };
    assert_eq!(up("n1", "oms_console"), Some(1.0));
    assert_eq!(up("n2", "oms_console"), Some(0.0));
    assert_eq!(
        value(
            &text,
            "omswatch_heartbeat_age_seconds{node=\"n1\",ip=\"10.0.0.11\"}"
        ),
        Some(4.0)
    );
    assert_eq!(
        value(&text, "omswatch_report_age_seconds{node=\"n2\"}"),
        Some(1.5)
    );
    assert_eq!(value(&text, "omswatch_metadb_up{region=\"hz\"}"), Some(1.0));
    assert_eq!(value(&text, "omswatch_reports_received_total"), Some(7.0));
    assert_eq!(
        value(&text, "omswatch_reports_refused_total{reason=\"rate\"}"),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "omswatch_reports_refused_total{reason=\"malformed\"}"
        ),
        Some(0.0)
    );
    assert_eq!(value(&text, "omswatch_agents_connected"), Some(2.0));
    let build = format!("omswatch_build_info{{version=\"{}\"}}", crate::VERSION);
    assert_eq!(value(&text, &build), Some(1.0));
}

#[test]
fn findings_are_labelled_root_or_symptom_and_counted() {
    // n2 runs with n1's OMS_HOST_IP: the duplicate is the root, n2's mismatch a symptom.
    let s = snapshot(
        vec![
            node("n1", "10.0.0.11", "10.0.0.11", "RUNNING"),
            node("n2", "10.0.0.12", "10.0.0.11", "RUNNING"),
        ],
        true,
    );
    let text = scrape(&s, Format::Prometheus);
    let active = |code: &str, node: &str, root: &str| {
        value(
            &text,
            &format!(
                "omswatch_finding_active{{code=\"{code}\",severity=\"critical\",node=\"{node}\",root=\"{root}\"}}"
            ),
        )
    };
    assert_eq!(
        active("DUPLICATE_OMS_HOST_IP", "n1", "true"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(active("DUPLICATE_OMS_HOST_IP", "n2", "true"), Some(1.0));
    assert_eq!(active("OMS_HOST_IP_MISMATCH", "n2", "false"), Some(1.0));
    assert_eq!(active("OMS_HOST_IP_MISMATCH", "n2", "true"), None);
    let diagnosis = diagnose(&s);
    let critical = diagnosis
        .findings
        .iter()
        .filter(|f| f.severity().as_str() == "critical")
        .count();
    assert_eq!(
        value(&text, "omswatch_findings{severity=\"critical\"}"),
        Some(critical as f64)
    );
    assert_eq!(
        value(&text, "omswatch_findings{severity=\"info\"}"),
        Some(0.0)
    );
    let info = text
        .lines()
        .find(|l| l.starts_with("omswatch_finding_info{id=\"DUPLICATE_OMS_HOST_IP/"))
        .expect("info series");
    assert!(
        info.contains("summary=\"Two or more live nodes report the same OMS_HOST_IP.\""),
        "{info}"
    );
    assert!(info.contains("remedy=\"Recreate the containers"), "{info}");
}

#[test]
fn a_finding_without_nodes_has_an_empty_node_label_and_a_failed_metadb_reads_0() {
    let s = snapshot(vec![node("n1", "10.0.0.11", "10.0.0.11", "RUNNING")], false);
    let text = scrape(&s, Format::Prometheus);
    assert_eq!(value(&text, "omswatch_metadb_up{region=\"hz\"}"), Some(0.0));
    assert!(
        text.lines().any(|l| l.starts_with(
            "omswatch_finding_active{code=\"METADB_UNREACHABLE\",severity=\"critical\",node=\"\",root=\"true\"}"
        )),
        "{text}"
    );
}

#[test]
fn a_vanished_node_and_its_findings_disappear() {
    let both = snapshot(
        vec![
            node("n1", "10.0.0.11", "10.0.0.11", "RUNNING"),
            node("n2", "10.0.0.12", "10.0.0.12", "STOPPED"),
        ],
        true,
    );
    assert!(scrape(&both, Format::Prometheus).contains("node=\"n2\""));
    let mut one = both.clone();
    one.nodes.retain(|n| n.report.node == "n1");
    let text = scrape(&one, Format::Prometheus);
    assert!(!text.contains("n2"), "{text}");
}

#[test]
fn no_secret_reaches_the_metrics() {
    let s = snapshot(vec![node("n1", "10.0.0.11", "10.0.0.11", "RUNNING")], false);
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let text = scrape(&s, format);
        assert!(!text.contains(PASSWORD), "{text}");
    }
}

#[test]
fn both_formats_carry_help_and_types_and_only_openmetrics_ends_with_eof() {
    let s = snapshot(vec![node("n1", "10.0.0.11", "10.0.0.11", "RUNNING")], true);
    let prom = scrape(&s, Format::Prometheus);
    assert!(
        prom.contains("# TYPE omswatch_reports_received_total counter"),
        "{prom}"
    );
    assert!(prom.contains("# HELP omswatch_node_state "), "{prom}");
    assert!(!prom.contains("# EOF"));
    let om = scrape(&s, Format::OpenMetrics);
    assert!(
        om.contains("# TYPE omswatch_reports_received counter"),
        "{om}"
    );
    assert!(om.contains("omswatch_reports_received_total 7"), "{om}");
    assert!(om.ends_with("# EOF\n"), "{om}");
    for family in [
        "omswatch_node_state",
        "omswatch_component_up",
        "omswatch_finding_active",
        "omswatch_finding_info",
        "omswatch_findings",
        "omswatch_heartbeat_age_seconds",
        "omswatch_report_age_seconds",
        "omswatch_metadb_up",
        "omswatch_reports_refused_total",
        "omswatch_agents_connected",
        "omswatch_build_info",
    ] {
        assert!(prom.contains(&format!("# HELP {family} ")), "{family}");
        assert!(prom.contains(&format!("# TYPE {family} ")), "{family}");
    }
}

#[test]
fn hostile_label_values_are_escaped_not_fatal() {
    let s = snapshot(
        vec![node("n\"1\\\n}", "10.0.0.11", "10.0.0.11", "RUNNING")],
        true,
    );
    let text = scrape(&s, Format::Prometheus);
    assert!(text.contains("node=\"n\\\"1\\\\\\n}\""), "{text}");
    assert!(text.lines().all(|l| !l.starts_with('}')), "{text}");
}

#[test]
fn accept_negotiates_openmetrics_only_when_asked() {
    let om = Format::OpenMetrics;
    let prom = Format::Prometheus;
    for (accept, want) in [
        (None, prom),
        (Some("*/*"), prom),
        (Some("text/plain"), prom),
        (Some("garbage;;;,,"), prom),
        (Some("application/openmetrics-text"), om),
        (
            Some(
                "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1",
            ),
            om,
        ),
        (Some("application/openmetrics-text; q=0"), prom),
        (
            Some("text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.0"),
            prom,
        ),
    ] {
        assert_eq!(Format::negotiate(accept), want, "{accept:?}");
    }
}

#[test]
fn the_collectors_own_health_store_connections_and_notifications() {
    let text = scrape(&snapshot(Vec::new(), true), Format::Prometheus);
    for (series, want) in [
        ("omswatch_store_up", 1.0),
        ("omswatch_connections_open", 3.0),
        ("omswatch_connections_accepted_total", 10.0),
        (
            "omswatch_connections_refused_total{reason=\"max_connections\"}",
            1.0,
        ),
        (
            "omswatch_connections_refused_total{reason=\"max_connections_per_peer\"}",
            2.0,
        ),
        (
            "omswatch_connections_refused_total{reason=\"handshake\"}",
            4.0,
        ),
        ("omswatch_connections_closed_idle_total", 5.0),
        (
            "omswatch_webhook_deliveries_total{result=\"delivered\"}",
            7.0,
        ),
        ("omswatch_webhook_deliveries_total{result=\"retry\"}", 8.0),
        ("omswatch_webhook_deliveries_total{result=\"failed\"}", 9.0),
        ("omswatch_webhook_queue", 11.0),
        ("omswatch_webhook_failed", 1.0),
        ("omswatch_webhook_sender", 1.0),
        ("omswatch_alertmanager_posts_total{result=\"ok\"}", 12.0),
        ("omswatch_alertmanager_posts_total{result=\"error\"}", 13.0),
        ("omswatch_alertmanager_alerts_firing", 2.0),
    ] {
        assert_eq!(value(&text, series), Some(want), "{series} in:\n{text}");
    }
    let without = render(
        &snapshot(Vec::new(), true),
        &diagnose(&snapshot(Vec::new(), true)),
        &CollectorStats::default(),
        Format::Prometheus,
    );
    assert!(
        !without.contains("omswatch_store_up"),
        "absent without a store"
    );
}
