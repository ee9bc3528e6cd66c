use omswatch_common::proto::v1::{Identity, NodeConfig, OmsHealth, Program, SupervisorStatus};

use super::*;

fn program(name: &str, state: &str) -> Program {
    Program {
        name: name.into(),
        state: state.into(),
        autostart: Some(true),
        description: if state == "RUNNING" {
            "pid 7, uptime 0:01:00".into()
        } else {
            "Not started".into()
        },
        ..Program::default()
    }
}

/// oms-node-2 (hostname -i 10.0.0.12) with `oms_ip`, its config.yaml at `config`.
fn report(oms_ip: &str, stopped: Option<&str>, config: &Path) -> NodeReport {
    let programs = ["nginx", "oms_console", "oms_drc_cm", "oms_drc_supervisor"].map(|p| {
        program(
            p,
            if Some(p) == stopped {
                "STOPPED"
            } else {
                "RUNNING"
            },
        )
    });
    NodeReport {
        node: "oms-node-2".into(),
        agent_version: "test".into(),
        interval_ms: 5_000,
        sent_at_unix_ms: 1_000_000,
        seq: 1,
        identity: Some(Identity {
            hostname: "oms-node-2".into(),
            hostname_ips: vec!["10.0.0.12".into()],
            interface_ips: vec!["10.0.0.12".into(), "127.0.0.1".into()],
            oms_host_ip: Some(oms_ip.into()),
            oms_host_ip_source: "env".into(),
            ..Identity::default()
        }),
        supervisor: Some(SupervisorStatus {
            reachable: true,
            source: "xmlrpc unix:///tmp/supervisor.sock".into(),
            programs: programs.to_vec(),
            ..SupervisorStatus::default()
        }),
        config: Some(NodeConfig {
            path: config.display().to_string(),
            values: [("cm_nodes".to_string(), "10.0.0.11,10.0.0.12".to_string())].into(),
            ..NodeConfig::default()
        }),
        health: Some(OmsHealth {
            probed: true,
            reachable: true,
            healthy: true,
            http_status: 200,
            url: "http://127.0.0.1:8089/oms/health".into(),
            docker_init_ran: true,
            docker_init_evidence: "/home/admin/logs/docker_init.log.1".into(),
            ..OmsHealth::default()
        }),
        ..NodeReport::default()
    }
}

/// A region of two servers that is not the default one.
fn config_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        "oms_meta_host: 10.0.0.5\noms_meta_port: 2881\noms_meta_user: oms\noms_meta_password: pw\n\
         drc_cm_db: oms_cm\ndrc_cm_heartbeat_db: oms_cm_heartbeat_1\ncm_url: http://10.0.0.100:8088\n\
         cm_location: 1\ncm_region: sh\ncm_is_default: false\ncm_nodes:\n  - 10.0.0.11\n  - 10.0.0.12\n",
    )
    .unwrap();
    file
}

fn table(report: &NodeReport) -> (String, u8) {
    let mut out = Vec::new();
    let code = answer(report, Format::Table, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), code)
}

#[test]
fn a_wrong_oms_host_ip_and_a_stopped_program_are_answered_with_their_fixes() {
    let config = config_file();
    let (text, code) = table(&report(
        "10.0.0.11",
        Some("oms_drc_supervisor"),
        config.path(),
    ));
    assert_eq!(code, 2, "{text}");
    assert!(
        text.starts_with("omswatch-agent --once on oms-node-2: 2 problems (2 critical, 0 warning)"),
        "{text}"
    );
    assert!(
        text.contains("OMS_HOST_IP  10.0.0.11 (from the agent's environment): NOT among `hostname -i`'s addresses"),
        "{text}"
    );
    assert!(
        text.contains("  oms_drc_supervisor  STOPPED  true       Not started\n"),
        "{text}"
    );
    assert!(text.contains("CRITICAL  OMS_HOST_IP_MISMATCH"), "{text}");
    assert!(
        text.contains("`supervisorctl restart oms_drc_supervisor`"),
        "{text}"
    );
    assert!(
        text.contains("recreate the container with `-e OMS_HOST_IP=<this server's IP>`"),
        "{text}"
    );
    // One node of a region that is not the default one: nothing about the others.
    for code in [
        "CM_NODE_NOT_REPORTING",
        "DEFAULT_REGION_COUNT",
        "CM_NODES_COUNT_MISMATCH",
    ] {
        assert!(!text.contains(code), "{code} in\n{text}");
    }
}

#[test]
fn its_own_config_yaml_tells_when_oms_host_ip_is_not_listed() {
    let config = config_file();
    let (text, code) = table(&report("10.0.0.99", None, config.path()));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("NODE_NOT_IN_CM_NODES"), "{text}");
    let mismatch = text
        .find("1. CRITICAL  OMS_HOST_IP_MISMATCH")
        .unwrap_or(usize::MAX);
    assert!(mismatch < text.len(), "the mismatch is the root:\n{text}");
}

#[test]
fn a_healthy_node_exits_0() {
    let config = config_file();
    let (text, code) = table(&report("10.0.0.12", None, config.path()));
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("No findings") && !text.contains("Fix first"),
        "{text}"
    );
    assert!(text.contains("cm_nodes  10.0.0.11,10.0.0.12"), "{text}");
}

#[test]
fn the_report_as_json_with_the_proto_names() {
    let config = config_file();
    let mut out = Vec::new();
    let code = answer(
        &report("10.0.0.11", None, config.path()),
        Format::Json,
        &mut out,
    )
    .unwrap();
    assert_eq!(code, 2);
    assert!(out.ends_with(b"}\n"));
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["node"], "oms-node-2");
    assert_eq!(json["identity"]["oms_host_ip"], "10.0.0.11");
    assert_eq!(
        json["supervisor"]["programs"][3]["name"],
        "oms_drc_supervisor"
    );
    assert_eq!(json["resources"], serde_json::Value::Null);
}

#[test]
fn node_text_cannot_drive_the_terminal() {
    let config = config_file();
    let mut r = report("10.0.0.12", None, config.path());
    if let Some(s) = r.supervisor.as_mut() {
        s.programs[0].description = "evil\u{1b}[2J\u{202e}".into();
    }
    let (text, _) = table(&r);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "{text}"
    );
}
