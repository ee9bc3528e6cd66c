//! A report over every limit comes out within them, as the collector itself
//! judges ([`crate::limits::check()`]), and says what was cut.

use crate::limits::check;
use crate::proto::v1::DiskUsage;

use super::*;

/// `n` bytes of two-byte characters with a control character in front.
fn long(n: usize) -> String {
    format!("\u{1b}[31m{}", "é".repeat(n / 2))
}

fn program(i: usize) -> Program {
    Program {
        name: format!("p{i}\n{}", long(MAX_LABEL)),
        group: long(MAX_LABEL),
        state: long(MAX_LABEL),
        spawn_error: long(MAX_TEXT),
        description: long(MAX_TEXT),
        config_file: long(MAX_TEXT),
        ..Default::default()
    }
}

fn config() -> NodeConfig {
    let n = MAX_MAP_ENTRIES + 50;
    let key = |i: usize| format!("key_{i:04}\t{}", long(MAX_LABEL));
    let line = |i: usize| u32::try_from(i + 1).unwrap();
    NodeConfig {
        path: long(MAX_TEXT),
        error: long(MAX_TEXT),
        values: (0..n).map(|i| (key(i), long(MAX_TEXT))).collect(),
        secret_digests: (n..2 * n).map(|i| (key(i), long(MAX_LABEL))).collect(),
        lines: (0..2 * n).map(|i| (key(i), line(i))).collect(),
        redacted_text: long(MAX_REDACTED_TEXT),
    }
}

fn identity() -> Identity {
    let ips = |n: usize| (0..n).map(|i| format!(" 10.0.{}.{} ", i / 250, i % 250));
    Identity {
        hostname: long(MAX_HOSTNAME),
        hostname_ips: ips(MAX_IPS + 10).chain(["not-an-ip".into()]).collect(),
        hostname_error: long(MAX_TEXT),
        interface_ips: ips(MAX_IPS + 1).collect(),
        oms_host_ip: Some(format!("10.0.0.5\r{}", "x".repeat(MAX_IP))),
        oms_host_ip_source: long(MAX_LABEL),
    }
}

fn resources() -> Resources {
    let disk = |_| DiskUsage {
        path: long(MAX_TEXT),
        error: long(MAX_TEXT),
        ..Default::default()
    };
    Resources {
        error: long(MAX_TEXT),
        disks: (0..MAX_DISKS + 3).map(disk).collect(),
        ..Default::default()
    }
}

/// A report over every limit there is.
fn oversized() -> NodeReport {
    NodeReport {
        node: "oms-node-1".into(),
        agent_version: long(MAX_LABEL),
        region: long(MAX_LABEL),
        identity: Some(identity()),
        supervisor: Some(SupervisorStatus {
            reachable: true,
            error: long(MAX_TEXT),
            source: long(MAX_TEXT),
            programs: (0..MAX_PROGRAMS + 7).map(program).collect(),
        }),
        config: Some(config()),
        resources: Some(resources()),
        health: Some(OmsHealth {
            url: long(MAX_TEXT),
            error: long(MAX_TEXT),
            docker_init_evidence: long(MAX_TEXT),
            ..Default::default()
        }),
        restart: Some(RestartOutcome {
            command_id: long(MAX_LABEL),
            program: "oms\nconsole".into(),
            result: "restarted".into(),
            message: long(MAX_TEXT),
            via: long(MAX_TEXT),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn a_report_over_every_limit_comes_out_within_them() {
    let mut report = oversized();
    assert!(check(&report).is_err(), "the fixture breaks the limits");
    clip(&mut report);
    assert_eq!(check(&report), Ok(()));
}

#[test]
fn what_was_dropped_is_said() {
    let mut report = oversized();
    clip(&mut report);
    let supervisor = report.supervisor.unwrap();
    assert_eq!(supervisor.programs.len(), MAX_PROGRAMS);
    assert!(
        supervisor
            .error
            .starts_with("omswatch-agent: 519 programs; only the first 512")
    );
    let config = report.config.unwrap();
    assert!(
        config.error.contains("612 top-level keys"),
        "{}",
        config.error
    );
    let index = |key: &String| key[4..8].parse::<usize>().unwrap();
    assert!(
        config.values.keys().all(|k| index(k) < MAX_MAP_ENTRIES),
        "the file's head is kept"
    );
    assert!(
        config.values.keys().any(|k| k.starts_with("key_0000\\t")),
        "escaped"
    );
    assert_eq!(config.lines.len(), 2 * MAX_MAP_ENTRIES);
    let resources = report.resources.unwrap();
    assert!(
        resources.error.contains("67 filesystems"),
        "{}",
        resources.error
    );
    let identity = report.identity.unwrap();
    assert!(
        identity
            .hostname_error
            .contains("12 addresses not reported")
    );
    assert_eq!(identity.interface_ips[0], "10.0.0.0", "trimmed");
}

#[test]
fn an_overlong_oms_host_ip_is_still_a_visible_mismatch() {
    let mut report = oversized();
    clip(&mut report);
    let ip = report.identity.unwrap().oms_host_ip.unwrap();
    assert!(ip.starts_with("10.0.0.5\\r"), "{ip}");
    assert!(ip.ends_with(CUT) && ip.len() <= MAX_IP, "{ip}");
    assert!(!crate::ip::is_ip(&ip));
}

#[test]
fn cuts_fall_on_char_boundaries_and_show() {
    for limit in CUT.len()..CUT.len() + 8 {
        let mut value = "aé€😀".repeat(10);
        cut(&mut value, limit);
        assert!(value.len() <= limit, "{limit}: {value}");
        assert!(value.ends_with(CUT), "{limit}: {value}");
    }
    let mut short = "abcdef".to_string();
    cut(&mut short, 3);
    assert_eq!(short, "abc", "no room for the marker: a plain cut");
}

#[test]
fn a_report_within_the_limits_is_left_alone() {
    let mut report = NodeReport {
        node: "n".into(),
        identity: Some(Identity {
            hostname: "n".into(),
            hostname_ips: vec!["10.0.0.1".into()],
            oms_host_ip: Some("oms-node-1".into()),
            ..Default::default()
        }),
        config: Some(NodeConfig {
            values: HashMap::from([("tsdb".into(), "url: x\nuser: y".into())]),
            redacted_text: "tsdb:\n  url: x\n".into(),
            ..Default::default()
        }),
        health: Some(OmsHealth {
            error: "HTTP 503: {\"healthy\": false}".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let before = report.clone();
    clip(&mut report);
    assert_eq!(report, before);
}
