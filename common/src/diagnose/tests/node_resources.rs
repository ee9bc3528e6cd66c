//! What agents report of their node besides identity, supervisord and
//! config.yaml: resources, clock, OMS health, autostart of stopped programs.

use super::*;
use crate::proto::v1::{DiskUsage, OmsHealth, Resources};

fn resources(s: &mut Snapshot, r: Resources) {
    s.nodes[0].report_mut().resources = Some(r);
}

fn cores(load5: f64) -> Resources {
    Resources {
        cpus: 4,
        load5,
        ..Default::default()
    }
}

fn memory(available: u64) -> Resources {
    Resources {
        mem_total_bytes: 100,
        mem_available_bytes: available,
        ..Default::default()
    }
}

fn disk(path: &str, total: u64, available: u64) -> DiskUsage {
    DiskUsage {
        path: path.into(),
        total_bytes: total,
        available_bytes: available,
        error: String::new(),
    }
}

/// The MetaDB's clock reads `db_ahead_ms` ahead of the collector's, node 0's
/// clock `node_ahead_ms` ahead.
fn clocks(s: &mut Snapshot, db_ahead_ms: i64, node_ahead_ms: i64) {
    metadb(s).clock = Some(DbClock {
        db_unix_ms: NOW - 500 + db_ahead_ms,
        collector_unix_ms: NOW - 500,
    });
    let at = s.nodes[0].received_at_unix_ms;
    resources(
        s,
        Resources {
            clock_unix_ms: at + node_ahead_ms,
            ..Default::default()
        },
    );
}

fn health(s: &mut Snapshot, healthy: bool, docker_init_ran: bool, probed: bool) {
    s.nodes[0].report_mut().health = Some(OmsHealth {
        url: "http://127.0.0.1:8089/oms/health".into(),
        reachable: true,
        http_status: if healthy { 200 } else { 503 },
        healthy,
        error: if healthy {
            String::new()
        } else {
            "HTTP 503".into()
        },
        docker_init_ran,
        docker_init_evidence: "/home/admin/logs/docker_init.log.*".into(),
        probed,
    });
}

fn stopped(s: &mut Snapshot, state: &str, autostart: Option<bool>) {
    let p = &mut s.nodes[0]
        .report_mut()
        .supervisor
        .as_mut()
        .expect("sup")
        .programs[1];
    p.state = state.into();
    p.autostart = autostart;
    p.config_file = "/etc/supervisor/conf.d/oms.ini".into();
}

pub(super) const CASES: &[Case] = &[
    (
        "load high",
        |s| resources(s, cores(8.5)),
        &[(Code::LoadHigh, &["n1"])],
    ),
    ("load at the limit", |s| resources(s, cores(8.0)), &[]),
    (
        "no cpus, no load finding",
        |s| {
            resources(
                s,
                Resources {
                    load5: 9.0,
                    ..Default::default()
                },
            )
        },
        &[],
    ),
    (
        "unreadable resources are not judged",
        |s| {
            resources(
                s,
                Resources {
                    error: "no /proc".into(),
                    ..cores(100.0)
                },
            )
        },
        &[],
    ),
    (
        "memory low",
        |s| resources(s, memory(9)),
        &[(Code::MemoryLow, &["n1"])],
    ),
    ("memory at the limit", |s| resources(s, memory(10)), &[]),
    (
        "one finding per full disk",
        |s| {
            let mut bad = disk("/home/ds/store", 100, 0);
            bad.error = "gone".into();
            resources(
                s,
                Resources {
                    disks: vec![
                        disk("/home/admin/logs", 100, 5),
                        disk("/home/admin/logs", 100, 5),
                        disk("/home/admin/conf", 100, 10),
                        disk("/empty", 0, 0),
                        bad,
                    ],
                    ..Default::default()
                },
            )
        },
        &[(Code::DiskLow, &["n1"])],
    ),
    (
        "node clock ahead",
        |s| clocks(s, 0, 11_000),
        &[(Code::ClockSkew, &["n1"])],
    ),
    (
        "node clock behind",
        |s| clocks(s, 0, -10_001),
        &[(Code::ClockSkew, &["n1"])],
    ),
    ("node clock at the limit", |s| clocks(s, 0, -10_000), &[]),
    (
        "node and MetaDB agree, both ahead",
        |s| clocks(s, 60_000, 60_000),
        &[],
    ),
    (
        "no MetaDB clock, no skew",
        |s| {
            clocks(s, 0, 60_000);
            metadb(s).clock = None;
        },
        &[],
    ),
    (
        "absurd clocks do not overflow",
        |s| {
            metadb(s).clock = Some(DbClock {
                db_unix_ms: i64::MIN,
                collector_unix_ms: i64::MAX,
            });
            resources(
                s,
                Resources {
                    clock_unix_ms: i64::MAX,
                    ..Default::default()
                },
            );
        },
        &[(Code::ClockSkew, &["n1"])],
    ),
    (
        "oms health fails",
        |s| health(s, false, true, true),
        &[(Code::OmsHealthFailed, &["n1"])],
    ),
    ("health probe off", |s| health(s, false, false, false), &[]),
    (
        "docker_init.sh never ran",
        |s| health(s, true, false, true),
        &[(Code::DockerInitNotRun, &["n1"])],
    ),
    (
        "stopped with autostart=false",
        |s| stopped(s, "STOPPED", Some(false)),
        &[(Code::ComponentNotRunning, &["n1"])],
    ),
];

#[test]
fn resource_evidence_is_formatted() {
    let mut s = healthy();
    clocks(&mut s, 0, -12_340);
    let f = finding(&s, Code::ClockSkew);
    assert_eq!(
        (&*f.evidence["skew_s"], &*f.evidence["threshold_s"]),
        ("-12.3", "10")
    );
    resources(
        &mut s,
        Resources {
            disks: vec![disk("/home/admin/logs", 1000, 49)],
            ..memory(9)
        },
    );
    let f = finding(&s, Code::MemoryLow);
    assert_eq!(f.evidence["available_pct"], "9.0");
    let f = finding(&s, Code::DiskLow);
    assert_eq!(
        (&*f.evidence["path"], &*f.evidence["used_pct"]),
        ("/home/admin/logs", "95.1")
    );
    resources(&mut s, cores(8.5));
    let f = finding(&s, Code::LoadHigh);
    assert_eq!((&*f.evidence["load5"], &*f.evidence["cpus"]), ("8.50", "4"));
}

#[test]
fn autostart_false_explains_why_it_stays_stopped() {
    let mut s = healthy();
    stopped(&mut s, "STOPPED", Some(false));
    let remedy = finding(&s, Code::ComponentNotRunning).remedy();
    assert!(
        remedy.contains("autostart=false in /etc/supervisor/conf.d/oms.ini")
            && remedy.contains("`supervisorctl update`"),
        "{remedy}"
    );
    s.nodes[0]
        .report_mut()
        .supervisor
        .as_mut()
        .expect("sup")
        .programs[1]
        .config_file = String::new();
    let remedy = finding(&s, Code::ComponentNotRunning).remedy();
    assert!(
        remedy.contains("in its [program:oms_console] section"),
        "{remedy}"
    );
    stopped(&mut s, "FATAL", Some(false));
    let f = finding(&s, Code::ComponentNotRunning);
    assert!(!f.evidence.contains_key("autostart_hint"));
    stopped(&mut s, "STOPPED", Some(true));
    assert!(
        !finding(&s, Code::ComponentNotRunning)
            .remedy()
            .contains("autostart")
    );
}
