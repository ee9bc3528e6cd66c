//! Table-driven tests: one minimal snapshot per finding code, plus the healthy
//! baseline that must yield nothing.

use super::*;
use crate::findings::Code;
use crate::oms_config;
use crate::proto::v1::{Identity, NodeReport, Program, SupervisorStatus};
use crate::snapshot::*;

mod causes;
mod causes_node;
mod causes_regions;
mod config_rules;
mod folding;
mod metadb_rows;
mod node_config;
mod node_resources;
mod runbook;
mod scope;
mod two_regions;

const NOW: i64 = 1_000_000_000;

fn config(nodes: &[&str]) -> String {
    let list: String = nodes.iter().map(|n| format!("  - {n}\n")).collect();
    format!(
        "oms_meta_host: 127.0.0.1\noms_meta_port: 3306\noms_meta_user: oms\noms_meta_password: pw\n\
         drc_cm_db: oms_cm\ndrc_cm_heartbeat_db: oms_cm_heartbeat_0\ncm_url: http://10.0.0.11:8088\n\
         cm_is_default: true\ncm_location: 0\ncm_nodes:\n{list}"
    )
}

fn program(name: &str, state: &str) -> Program {
    Program {
        name: name.into(),
        group: name.into(),
        state: state.into(),
        ..Default::default()
    }
}

fn node(name: &str, oms_ip: Option<&str>, hostname_ips: &[&str]) -> NodeObservation {
    let programs =
        ["nginx", "oms_console", "oms_drc_cm", "oms_drc_supervisor"].map(|p| program(p, "RUNNING"));
    NodeObservation {
        report: NodeReport {
            node: name.into(),
            interval_ms: 5_000,
            identity: Some(Identity {
                hostname: name.into(),
                hostname_ips: hostname_ips.iter().map(|s| s.to_string()).collect(),
                oms_host_ip: oms_ip.map(Into::into),
                ..Default::default()
            }),
            supervisor: Some(SupervisorStatus {
                reachable: true,
                programs: programs.to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        }
        .into(),
        received_at_unix_ms: NOW - 1_000,
    }
}

fn host(ip: &str, status: &str) -> HostRow {
    HostRow {
        ip: ip.into(),
        host_status: Some(status.into()),
    }
}

fn beat(ip: &str, age: i64) -> HeartbeatRow {
    HeartbeatRow {
        host_ip: ip.into(),
        task_type: Some("supervisor".into()),
        gmt_created: None,
        gmt_modified: None,
        age_s: Some(age),
    }
}

/// Two healthy nodes, both in cm_nodes, host rows ONLINE, fresh heartbeats.
fn healthy() -> Snapshot {
    cluster(&["10.0.0.11", "10.0.0.12"])
}

/// One healthy node per IP (n1, n2, ...), all in one region's cm_nodes.
fn cluster(ips: &[&str]) -> Snapshot {
    Snapshot {
        now_unix_ms: NOW,
        nodes: ips
            .iter()
            .enumerate()
            .map(|(i, ip)| node(&format!("n{}", i + 1), Some(ip), &[ip]))
            .collect(),
        regions: vec![RegionInput {
            config: oms_config::parse("config.yaml", &config(ips)),
            summary: None,
            metadb: Some(MetaDbView {
                hosts: Ok(ips.iter().map(|ip| host(ip, "ONLINE")).collect()),
                heartbeats: Ok(ips.iter().map(|ip| beat(ip, 2)).collect()),
                clock: None,
            }),
        }],
        thresholds: Thresholds::default(),
        scope: Scope::Cluster,
    }
}

fn codes(s: &Snapshot) -> Vec<(Code, Vec<String>)> {
    diagnose(s)
        .findings
        .into_iter()
        .map(|f| (f.code, f.nodes))
        .collect()
}

/// The one finding of `code` (panics in tests only, naming what was found).
fn finding(s: &Snapshot, code: Code) -> crate::findings::Finding {
    let all = diagnose(s).findings;
    let mut of_code: Vec<_> = all.iter().filter(|f| f.code == code).cloned().collect();
    assert_eq!(of_code.len(), 1, "one {code} expected in {all:#?}");
    of_code.remove(0)
}

/// Replaces region `i`'s config by `text` parsed as `file`.
fn set_config(s: &mut Snapshot, i: usize, file: &str, text: &str) {
    s.regions[i].config = oms_config::parse(file, text);
}

fn metadb(s: &mut Snapshot) -> &mut MetaDbView {
    s.regions[0].metadb.as_mut().expect("metadb")
}

fn failure() -> MetaDbFailure {
    MetaDbFailure {
        target: "oms@127.0.0.1:3306/oms_cm.host".into(),
        reason: "connection refused".into(),
    }
}

type Case = (
    &'static str,
    fn(&mut Snapshot),
    &'static [(Code, &'static [&'static str])],
);

/// A case table and the snapshot its cases start from.
type Table = (fn() -> Snapshot, &'static [Case]);

/// Every case table: `every_code_has_a_case` looks for each code in them all.
const TABLES: &[Table] = &[
    (healthy, runbook::CASES),
    (healthy, config_rules::CASES),
    (healthy, node_config::CASES),
    (healthy, node_resources::CASES),
    (healthy, metadb_rows::CASES),
    (two_regions::healthy, two_regions::CASES),
];

/// Every case, each with the snapshot it starts from, mutated.
fn all_cases() -> impl Iterator<Item = (&'static Case, Snapshot)> {
    TABLES.iter().flat_map(|(base, cases)| {
        cases.iter().map(move |case| {
            let mut s = base();
            (case.1)(&mut s);
            (case, s)
        })
    })
}

#[test]
fn every_case_yields_exactly_its_findings() {
    for ((name, _, expected), s) in all_cases() {
        let mut got = codes(&s);
        let mut want: Vec<(Code, Vec<String>)> = expected
            .iter()
            .map(|(c, n)| (*c, n.iter().map(|s| s.to_string()).collect()))
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "case {name}");
    }
}

#[test]
fn every_code_has_a_case() {
    for code in Code::ALL {
        assert!(
            all_cases().any(|((_, _, e), _)| e.iter().any(|(c, _)| c == code)),
            "no case for {code}"
        );
    }
}

#[test]
fn every_remedy_is_filled_from_evidence() {
    for ((name, _, _), s) in all_cases() {
        for f in diagnose(&s).findings {
            let remedy = f.remedy();
            assert!(
                !remedy.contains('{'),
                "case {name}: {} remedy has a gap: {remedy}",
                f.code
            );
        }
    }
}
