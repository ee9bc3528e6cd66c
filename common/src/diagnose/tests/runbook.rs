//! The runbook's own steps: identity, cm_nodes, host rows, heartbeats,
//! supervisord, liveness, config.yaml parsing.

use super::*;

pub(super) const CASES: &[Case] = &[
    ("healthy", |_| {}, &[]),
    (
        "duplicate ip",
        |s| {
            s.nodes[1]
                .report_mut()
                .identity
                .as_mut()
                .expect("id")
                .oms_host_ip = Some("10.0.0.11".into());
        },
        &[
            (Code::DuplicateOmsHostIp, &["n1", "n2"]),
            (Code::OmsHostIpMismatch, &["n2"]),
            (Code::CmNodeNotReporting, &["n2"]),
        ],
    ),
    (
        "missing ip",
        |s| {
            s.nodes[1]
                .report_mut()
                .identity
                .as_mut()
                .expect("id")
                .oms_host_ip = Some("  ".into())
        },
        &[
            (Code::OmsHostIpMissing, &["n2"]),
            (Code::CmNodeNotReporting, &["n2"]),
        ],
    ),
    (
        "mismatch",
        |s| {
            s.nodes[1]
                .report_mut()
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
        &[
            (Code::NodeNotInCmNodes, &["n2"]),
            (Code::CmNodesCountMismatch, &[]),
            (Code::HostRowUnknown, &["n2"]),
            (Code::HeartbeatFromUnknownIp, &["n2"]),
        ],
    ),
    (
        "cm node not reporting",
        |s| {
            s.nodes.pop();
        },
        &[
            (Code::CmNodeNotReporting, &[]),
            (Code::CmNodesCountMismatch, &[]),
        ],
    ),
    (
        "silent",
        |s| s.nodes[1].received_at_unix_ms = NOW - 16_000,
        &[
            (Code::NodeSilent, &["n2"]),
            (Code::CmNodeNotReporting, &[]),
            (Code::CmNodesCountMismatch, &[]),
        ],
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
            s.nodes[0]
                .report_mut()
                .supervisor
                .as_mut()
                .expect("sup")
                .programs[1]
                .state = "STOPPED".into()
        },
        &[(Code::ComponentNotRunning, &["n1"])],
    ),
    (
        "starting is not flagged",
        |s| {
            s.nodes[0]
                .report_mut()
                .supervisor
                .as_mut()
                .expect("sup")
                .programs[1]
                .state = "STARTING".into()
        },
        &[],
    ),
    (
        "supervisor unreachable",
        |s| {
            s.nodes[0].report_mut().supervisor = Some(SupervisorStatus {
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
fn node_states_follow_findings() {
    let mut s = healthy();
    s.nodes[0]
        .report_mut()
        .supervisor
        .as_mut()
        .expect("sup")
        .programs[1]
        .state = "FATAL".into();
    s.nodes[1]
        .report_mut()
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
    s.nodes[0]
        .report_mut()
        .supervisor
        .as_mut()
        .expect("sup")
        .programs[1]
        .state = "STOPPED".into();
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
