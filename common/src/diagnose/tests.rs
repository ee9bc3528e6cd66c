//! Table-driven tests: one minimal snapshot per finding code, plus the healthy
//! baseline that must yield nothing.

use super::*;
use crate::findings::Code;
use crate::oms_config;
use crate::proto::v1::{Identity, NodeReport, Program, SupervisorStatus};
use crate::snapshot::*;

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
        },
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
    let ips = ["10.0.0.11", "10.0.0.12"];
    Snapshot {
        now_unix_ms: NOW,
        nodes: vec![
            node("n1", Some(ips[0]), &[ips[0]]),
            node("n2", Some(ips[1]), &[ips[1]]),
        ],
        regions: vec![RegionInput {
            config: oms_config::parse("config.yaml", &config(&ips)),
            summary: None,
            metadb: Some(MetaDbView {
                hosts: Ok(ips.iter().map(|ip| host(ip, "ONLINE")).collect()),
                heartbeats: Ok(ips.iter().map(|ip| beat(ip, 2)).collect()),
                clock: None,
            }),
        }],
        thresholds: Thresholds::default(),
    }
}

fn codes(s: &Snapshot) -> Vec<(Code, Vec<String>)> {
    diagnose(s)
        .findings
        .into_iter()
        .map(|f| (f.code, f.nodes))
        .collect()
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

const CASES: &[Case] = &[
    ("healthy", |_| {}, &[]),
    (
        "duplicate ip",
        |s| {
            s.nodes[1].report.identity.as_mut().expect("id").oms_host_ip = Some("10.0.0.11".into());
        },
        &[
            (Code::DuplicateOmsHostIp, &["n1", "n2"]),
            (Code::OmsHostIpMismatch, &["n2"]),
            (Code::CmNodeNotReporting, &["n2"]),
        ],
    ),
    (
        "missing ip",
        |s| s.nodes[1].report.identity.as_mut().expect("id").oms_host_ip = Some("  ".into()),
        &[
            (Code::OmsHostIpMissing, &["n2"]),
            (Code::CmNodeNotReporting, &["n2"]),
        ],
    ),
    (
        "mismatch",
        |s| {
            s.nodes[1]
                .report
                .identity
                .as_mut()
                .expect("id")
                .hostname_ips = vec!["10.9.9.9".into()]
        },
        &[(Code::OmsHostIpMismatch, &["n2"])],
    ),
    (
        "not in cm_nodes",
        |s| {
            s.regions[0].config = oms_config::parse("config.yaml", &config(&["10.0.0.11"]));
        },
        &[(Code::NodeNotInCmNodes, &["n2"])],
    ),
    (
        "cm node not reporting",
        |s| {
            s.nodes.pop();
        },
        &[(Code::CmNodeNotReporting, &[])],
    ),
    (
        "silent",
        |s| s.nodes[1].received_at_unix_ms = NOW - 16_000,
        &[(Code::NodeSilent, &["n2"]), (Code::CmNodeNotReporting, &[])],
    ),
    (
        "host row missing",
        |s| {
            metadb(s).hosts.as_mut().expect("rows").pop();
        },
        &[(Code::HostRowMissing, &["n2"])],
    ),
    (
        "host offline",
        |s| {
            metadb(s).hosts = Ok(vec![
                host("10.0.0.11", "online"),
                host("10.0.0.12", "OFFLINE"),
            ])
        },
        &[(Code::HostNotOnline, &["n2"])],
    ),
    (
        "numeric status 1 is online",
        |s| metadb(s).hosts = Ok(vec![host("10.0.0.11", "1"), host(" 10.0.0.12", "ONLINE")]),
        &[],
    ),
    (
        "heartbeat missing",
        |s| {
            metadb(s).heartbeats.as_mut().expect("rows").remove(0);
        },
        &[(Code::HeartbeatMissing, &["n1"])],
    ),
    (
        "heartbeat stale",
        |s| metadb(s).heartbeats = Ok(vec![beat("10.0.0.11", 61), beat("10.0.0.12", 60)]),
        &[(Code::HeartbeatStale, &["n1"])],
    ),
    (
        "component stopped",
        |s| {
            s.nodes[0].report.supervisor.as_mut().expect("sup").programs[1].state = "STOPPED".into()
        },
        &[(Code::ComponentNotRunning, &["n1"])],
    ),
    (
        "starting is not flagged",
        |s| {
            s.nodes[0].report.supervisor.as_mut().expect("sup").programs[1].state =
                "STARTING".into()
        },
        &[],
    ),
    (
        "supervisor unreachable",
        |s| {
            s.nodes[0].report.supervisor = Some(SupervisorStatus {
                reachable: false,
                error: "no socket".into(),
                ..Default::default()
            });
        },
        &[(Code::SupervisorUnreachable, &["n1"])],
    ),
    (
        "metadb unreachable, both tables one finding",
        |s| {
            *metadb(s) = MetaDbView {
                hosts: Err(failure()),
                heartbeats: Err(MetaDbFailure {
                    target: "hb".into(),
                    ..failure()
                }),
                clock: None,
            };
        },
        &[(Code::MetadbUnreachable, &[])],
    ),
    (
        "config invalid",
        |s| {
            s.regions[0].config = oms_config::parse("config.yaml", "cm_nodes: [");
        },
        &[(Code::ConfigInvalid, &[])],
    ),
];

#[test]
fn every_case_yields_exactly_its_findings() {
    for (name, mutate, expected) in CASES {
        let mut s = healthy();
        mutate(&mut s);
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
            CASES
                .iter()
                .any(|(_, _, e)| e.iter().any(|(c, _)| c == code)),
            "no case for {code}"
        );
    }
}

#[test]
fn node_states_follow_findings() {
    let mut s = healthy();
    s.nodes[0].report.supervisor.as_mut().expect("sup").programs[1].state = "FATAL".into();
    s.nodes[1]
        .report
        .identity
        .as_mut()
        .expect("id")
        .hostname_ips = vec![];
    let d = diagnose(&s);
    assert_eq!(d.nodes[0].state, NodeState::Down);
    assert_eq!(d.nodes[1].state, NodeState::Degraded);
    assert_eq!(d.nodes[0].host_status.as_deref(), Some("ONLINE"));
    assert_eq!(d.nodes[0].heartbeat_age_s, Some(2));
    assert_eq!(diagnose(&healthy()).nodes[0].state, NodeState::Online);
}

#[test]
fn remedies_are_filled() {
    let mut s = healthy();
    s.nodes[0].report.supervisor.as_mut().expect("sup").programs[1].state = "STOPPED".into();
    let f = &diagnose(&s).findings[0];
    assert!(
        f.remedy().contains("supervisorctl restart oms_console"),
        "{}",
        f.remedy()
    );
    assert!(
        !f.remedy().contains('{'),
        "unfilled placeholder: {}",
        f.remedy()
    );
}

#[test]
fn config_invalid_names_file_key_and_line() {
    let mut s = healthy();
    s.regions[0].config =
        oms_config::parse("/etc/oms/config.yaml", "oms_meta_host: x\ncm_nodes: [\n");
    let f = diagnose(&s)
        .findings
        .into_iter()
        .find(|f| f.code == Code::ConfigInvalid)
        .expect("finding");
    assert_eq!(f.evidence["file"], "/etc/oms/config.yaml");
    assert_eq!(f.evidence["key"], "cm_nodes");
    assert!(
        f.evidence["line"].parse::<usize>().is_ok(),
        "{:?}",
        f.evidence
    );
}
