use crate::proto::v1::{DiskUsage, Program};

use super::*;

fn valid() -> NodeReport {
    NodeReport {
        node: "oms-node-1".into(),
        identity: Some(Identity {
            hostname: "oms-node-1".into(),
            hostname_ips: vec!["10.0.0.1".into(), "fe80::1".into()],
            interface_ips: vec!["10.0.0.1".into()],
            oms_host_ip: Some("10.0.0.1".into()),
            ..Default::default()
        }),
        supervisor: Some(SupervisorStatus {
            programs: vec![Program {
                name: "oms_console".into(),
                state: "RUNNING".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn with(change: impl FnOnce(&mut NodeReport)) -> NodeReport {
    let mut report = valid();
    change(&mut report);
    report
}

fn identity(r: &mut NodeReport) -> &mut Identity {
    r.identity.get_or_insert_with(Default::default)
}

#[test]
fn a_normal_report_passes() {
    assert_eq!(check(&valid()), Ok(()));
    // A wrong OMS_HOST_IP is the diagnosis's business (OMS_HOST_IP_MISMATCH), not a refusal.
    let hostname_as_ip = with(|r| identity(r).oms_host_ip = Some("oms-node-1".into()));
    assert_eq!(check(&hostname_as_ip), Ok(()));
    let empty = with(|r| identity(r).oms_host_ip = Some(String::new()));
    assert_eq!(check(&empty), Ok(()));
}

#[test]
fn each_violation_names_its_field() {
    let cases: Vec<(NodeReport, &str)> = vec![
        (with(|r| r.node = " ".into()), "--node NAME"),
        (with(|r| r.node = "a\u{1b}[31mb".into()), "node"),
        (with(|r| r.node = "n".repeat(254)), "node is 254 bytes"),
        (
            with(|r| identity(r).hostname_ips.push("10.0.0".into())),
            "identity.hostname_ips[2] \"10.0.0\" is not an IP",
        ),
        (
            with(|r| identity(r).interface_ips = vec!["x".repeat(65)]),
            "identity.interface_ips[0] is 65 bytes",
        ),
        (
            with(|r| identity(r).oms_host_ip = Some("1.2.3.4\n".into())),
            "identity.oms_host_ip",
        ),
        (
            with(|r| identity(r).hostname = "h".repeat(254)),
            "identity.hostname is 254",
        ),
        (
            with(|r| {
                let programs = &mut r.supervisor.get_or_insert_with(Default::default).programs;
                programs.resize(MAX_PROGRAMS + 1, Program::default());
            }),
            "supervisor.programs has 513 entries; the limit is 512",
        ),
        (
            with(|r| {
                let programs = &mut r.supervisor.get_or_insert_with(Default::default).programs;
                programs[0].description = "d".repeat(MAX_TEXT + 1);
            }),
            "supervisor.programs[0].description is 4097 bytes long; the limit is 4096",
        ),
        (
            with(|r| {
                let programs = &mut r.supervisor.get_or_insert_with(Default::default).programs;
                programs[0].name = "p".repeat(MAX_LABEL + 1);
            }),
            "supervisor.programs[0].name",
        ),
        (
            with(|r| {
                let config = r.config.get_or_insert_with(Default::default);
                config.redacted_text = "x".repeat(MAX_REDACTED_TEXT + 1);
            }),
            "config.redacted_text",
        ),
        (
            with(|r| {
                let config = r.config.get_or_insert_with(Default::default);
                config.values = (0..=MAX_MAP_ENTRIES)
                    .map(|i| (format!("k{i}"), String::new()))
                    .collect();
            }),
            "config.values has 257 entries",
        ),
        (
            with(|r| {
                let config = r.config.get_or_insert_with(Default::default);
                config
                    .values
                    .insert("cm_nodes".into(), "v".repeat(MAX_TEXT + 1));
            }),
            "config.values[\"cm_nodes\"]",
        ),
        (
            with(|r| {
                let resources = r.resources.get_or_insert_with(Default::default);
                resources.disks = vec![DiskUsage::default(); MAX_DISKS + 1];
            }),
            "resources.disks has 65 entries",
        ),
        (
            with(|r| {
                let outcome = r.restart.get_or_insert_with(Default::default);
                outcome.program = "oms\u{1b}[2J".into();
            }),
            "restart.program",
        ),
        (
            with(|r| {
                let outcome = r.restart.get_or_insert_with(Default::default);
                outcome.message = "m".repeat(MAX_TEXT + 1);
            }),
            "restart.message is 4097 bytes",
        ),
        (
            with(|r| {
                let policy = r.restart_policy.get_or_insert_with(Default::default);
                policy.programs = vec!["oms_console".into(), "x\ny".into()];
            }),
            "restart_policy.programs[1]",
        ),
    ];
    for (report, expected) in cases {
        let err = check(&report).expect_err(expected).to_string();
        assert!(
            err.contains(expected),
            "{err:?} should contain {expected:?}"
        );
    }
}

#[test]
fn shown_escapes_and_shortens() {
    assert_eq!(shown("a\nb"), "\"a\\nb\"");
    let long = shown(&"é".repeat(100));
    assert!(
        long.ends_with('…') && long.chars().count() == 64 + 3,
        "{long}"
    );
}
