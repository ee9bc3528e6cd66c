//! Folding over every case: ids unique and stable, roots and symptoms that
//! agree, "probably" on guesses, chains folded to the first cause, and cycles in
//! a link table resolved to one stable root.

use super::causes::{all_fold_cases, direct_cause};
use super::*;
use crate::findings::Finding;
use crate::findings::causes::{Certainty, Link, Tie};
use crate::proto::v1::{DiskUsage, OmsHealth, Resources};

/// Every snapshot of every case table.
fn every_snapshot() -> Vec<(String, Snapshot)> {
    let plain = all_cases().map(|((name, _, _), s)| (name.to_string(), s));
    let folds = all_fold_cases().map(|((name, _, _), s)| (name.to_string(), s));
    plain.chain(folds).collect()
}

#[test]
fn ids_are_unique_and_url_safe_in_every_case() {
    for (name, s) in every_snapshot() {
        let findings = diagnose(&s).findings;
        let mut ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
        for id in &ids {
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-:@%,/".contains(&b)),
                "case {name}: {id}"
            );
            assert!(!id.contains('~'), "case {name}: {id} needed a counter");
        }
        ids.sort_unstable();
        let count = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), count, "case {name}: {findings:#?}");
    }
}

/// The same problems later: other clock, ages, descriptions and error texts.
fn later(mut s: Snapshot) -> Snapshot {
    const LATER: i64 = 3_600_000;
    let stale = s.thresholds.heartbeat_stale_s;
    s.now_unix_ms = s.now_unix_ms.saturating_add(LATER);
    for n in &mut s.nodes {
        n.received_at_unix_ms = n.received_at_unix_ms.saturating_add(LATER);
        if let Some(r) = n
            .report_mut()
            .resources
            .as_mut()
            .filter(|r| r.clock_unix_ms > 0)
        {
            r.clock_unix_ms = r.clock_unix_ms.saturating_add(LATER);
        }
        for p in n
            .report_mut()
            .supervisor
            .iter_mut()
            .flat_map(|s| s.programs.iter_mut())
        {
            p.description = "Exited too quickly (process log may have details)".into();
            p.exit_status = p.exit_status.wrapping_add(1);
        }
    }
    for view in s.regions.iter_mut().filter_map(|r| r.metadb.as_mut()) {
        if let Some(clock) = view.clock.as_mut() {
            clock.db_unix_ms = clock.db_unix_ms.saturating_add(LATER);
            clock.collector_unix_ms = clock.collector_unix_ms.saturating_add(LATER);
        }
        for beat in view.heartbeats.iter_mut().flatten() {
            beat.age_s = beat.age_s.map(|a| if a > stale { a + 1000 } else { a });
        }
        for failure in [view.hosts.as_mut().err(), view.heartbeats.as_mut().err()]
            .into_iter()
            .flatten()
        {
            failure.reason = "timed out after 5s".into();
        }
    }
    s
}

/// Each finding's id, root and folded symptoms, in id order.
fn folding(s: &Snapshot) -> Vec<(String, Option<String>, Vec<String>)> {
    let mut v: Vec<_> = diagnose(s)
        .findings
        .into_iter()
        .map(|f| (f.id, f.caused_by, f.explains))
        .collect();
    v.sort();
    v
}

#[test]
fn ids_and_folding_survive_other_times_and_messages() {
    for (name, s) in every_snapshot() {
        let before = diagnose(&s).findings;
        let after = diagnose(&later(s.clone())).findings;
        let messages = |v: &[Finding]| v.iter().map(|f| f.message.clone()).collect::<Vec<_>>();
        if !before.is_empty() && name.contains("stale") {
            assert_ne!(
                messages(&before),
                messages(&after),
                "case {name}: nothing changed"
            );
        }
        assert_eq!(folding(&s), folding(&later(s.clone())), "case {name}");
    }
}

#[test]
fn roots_and_symptoms_agree() {
    for (name, s) in every_snapshot() {
        let findings = diagnose(&s).findings;
        let by_id: std::collections::HashMap<&str, &Finding> =
            findings.iter().map(|f| (f.id.as_str(), f)).collect();
        assert!(
            findings.is_empty() || findings.iter().any(|f| f.caused_by.is_none()),
            "case {name}: no root"
        );
        for f in &findings {
            match &f.caused_by {
                Some(root) => {
                    let root = by_id[root.as_str()];
                    assert!(
                        root.caused_by.is_none(),
                        "case {name}: {} under a symptom",
                        f.id
                    );
                    assert!(root.explains.contains(&f.id), "case {name}: {}", f.id);
                    assert!(f.explains.is_empty(), "case {name}: {}", f.id);
                    assert!(direct_cause(&f.message).is_some(), "{}", f.message);
                }
                None => {
                    for symptom in &f.explains {
                        let s = by_id[symptom.as_str()];
                        assert_eq!(s.caused_by.as_deref(), Some(f.id.as_str()), "case {name}");
                    }
                }
            }
        }
    }
}

fn find<'a>(findings: &'a [Finding], id: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no {id} in {findings:#?}"))
}

#[test]
fn a_guess_says_probably_and_a_sure_link_does_not() {
    let mut s = healthy();
    s.nodes[1]
        .report_mut()
        .identity
        .as_mut()
        .expect("id")
        .oms_host_ip = Some("10.0.0.11".into());
    metadb(&mut s).heartbeats.as_mut().expect("rows").pop();
    let findings = diagnose(&s).findings;
    let missing = find(&findings, "HEARTBEAT_MISSING/10.0.0.12");
    assert!(
        missing
            .message
            .ends_with("heart_beat (probably caused by DUPLICATE_OMS_HOST_IP/10.0.0.11)"),
        "{}",
        missing.message
    );
    let unreported = find(&findings, "CM_NODE_NOT_REPORTING/10.0.0.12");
    assert!(
        unreported
            .message
            .ends_with(" (caused by DUPLICATE_OMS_HOST_IP/10.0.0.11)"),
        "{}",
        unreported.message
    );
    let root = find(&findings, "DUPLICATE_OMS_HOST_IP/10.0.0.11");
    assert_eq!(root.message, "2 nodes report OMS_HOST_IP 10.0.0.11: n1, n2");
    assert_eq!(root.explains.len(), 3, "{:?}", root.explains);
}

#[test]
fn chains_fold_to_the_first_cause() {
    let mut s = healthy();
    s.nodes[1].received_at_unix_ms = NOW - 16_000;
    let findings = diagnose(&s).findings;
    let count = find(&findings, "CM_NODES_COUNT_MISMATCH");
    assert_eq!(count.caused_by.as_deref(), Some("NODE_SILENT/n2"));
    assert_eq!(
        direct_cause(&count.message),
        Some("CM_NODE_NOT_REPORTING/10.0.0.12")
    );
    let root = find(&findings, "NODE_SILENT/n2");
    let mut explains = root.explains.clone();
    explains.sort();
    assert_eq!(
        explains,
        ["CM_NODES_COUNT_MISMATCH", "CM_NODE_NOT_REPORTING/10.0.0.12"]
    );
}

const fn sure(cause: Code, symptoms: &'static [Code], tie: Tie) -> Link {
    Link {
        cause,
        programs: &[],
        symptoms,
        tie,
        certainty: Certainty::Sure,
    }
}

/// (id, caused_by) of every finding under `links`, in id order.
fn roots_with(s: &Snapshot, links: &[Link]) -> Vec<(String, Option<String>)> {
    let mut v: Vec<_> = diagnose_with(s, links)
        .findings
        .into_iter()
        .map(|f| (f.id, f.caused_by))
        .collect();
    v.sort();
    v
}

fn pair(id: &str, by: Option<&str>) -> (String, Option<String>) {
    (id.to_string(), by.map(str::to_string))
}

/// n1: oms_console stopped, health failing, docker_init.sh not run.
fn stopped_unhealthy(docker_init_ran: bool) -> Snapshot {
    let mut s = healthy();
    s.nodes[0]
        .report_mut()
        .supervisor
        .as_mut()
        .expect("sup")
        .programs[1]
        .state = "STOPPED".into();
    s.nodes[0].report_mut().health = Some(OmsHealth {
        url: "http://127.0.0.1:8089/oms/health".into(),
        error: "HTTP 502".into(),
        docker_init_ran,
        probed: true,
        ..Default::default()
    });
    s
}

#[test]
fn a_cycle_gets_one_stable_root() {
    use Code::{ComponentNotRunning as C, OmsHealthFailed as H};
    let s = stopped_unhealthy(true);
    let want = vec![
        pair("COMPONENT_NOT_RUNNING/n1/oms_console", None),
        pair(
            "OMS_HEALTH_FAILED/n1",
            Some("COMPONENT_NOT_RUNNING/n1/oms_console"),
        ),
    ];
    let forth = [sure(C, &[H], Tie::SameNode), sure(H, &[C], Tie::SameNode)];
    let back = [forth[1], forth[0]];
    assert_eq!(roots_with(&s, &forth), want);
    assert_eq!(roots_with(&s, &back), want);
}

#[test]
fn a_cycle_with_a_cause_outside_hangs_under_it() {
    use Code::{ComponentNotRunning as C, DockerInitNotRun as D, OmsHealthFailed as H};
    let s = stopped_unhealthy(false);
    let links = [
        sure(H, &[C], Tie::SameNode),
        sure(C, &[H], Tie::SameNode),
        sure(D, &[H], Tie::SameNode),
    ];
    assert_eq!(
        roots_with(&s, &links),
        [
            pair(
                "COMPONENT_NOT_RUNNING/n1/oms_console",
                Some("DOCKER_INIT_NOT_RUN/n1")
            ),
            pair("DOCKER_INIT_NOT_RUN/n1", None),
            pair("OMS_HEALTH_FAILED/n1", Some("DOCKER_INIT_NOT_RUN/n1")),
        ]
    );
}

#[test]
fn findings_of_one_code_explaining_each_other_keep_the_first_as_root() {
    let mut s = healthy();
    let disk = |path: &str| DiskUsage {
        path: path.into(),
        total_bytes: 100,
        available_bytes: 1,
        error: String::new(),
    };
    s.nodes[0].report_mut().resources = Some(Resources {
        disks: vec![disk("/home/ds/store"), disk("/home/admin/logs")],
        ..Default::default()
    });
    let links = [sure(Code::DiskLow, &[Code::DiskLow], Tie::SameNode)];
    assert_eq!(
        roots_with(&s, &links),
        [
            pair("DISK_LOW/n1/%2Fhome%2Fadmin%2Flogs", None),
            pair(
                "DISK_LOW/n1/%2Fhome%2Fds%2Fstore",
                Some("DISK_LOW/n1/%2Fhome%2Fadmin%2Flogs")
            ),
        ]
    );
}
