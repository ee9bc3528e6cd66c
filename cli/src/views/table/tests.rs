//! The full table: rows, problems, durations, regions.

use super::*;

#[test]
fn table_shows_nodes_findings_and_fixes() {
    let status = pb::ClusterStatus {
        nodes: vec![pb::NodeStatus {
            name: "n1".into(),
            state: "DOWN".into(),
            oms_host_ip: None,
            components: vec![pb::ComponentState {
                name: "oms_console".into(),
                state: "STOPPED".into(),
            }],
            ..Default::default()
        }],
        findings: vec![pb::Finding {
            code: "COMPONENT_NOT_RUNNING".into(),
            severity: "critical".into(),
            nodes: vec!["n1".into()],
            message: "n1: oms_console is STOPPED".into(),
            remedy: "supervisorctl restart oms_console".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let text = render(&status, "http://c:9470");
    let row = text
        .lines()
        .find(|l| l.starts_with("n1 "))
        .expect("node row");
    assert!(
        row.split_whitespace().collect::<Vec<_>>()[..3] == ["n1", "DOWN", "(unset)"],
        "{row}"
    );
    assert!(text.contains("0/1 RUNNING (oms_console STOPPED)"), "{text}");
    assert!(
        text.contains("CRITICAL  COMPONENT_NOT_RUNNING  [n1]"),
        "{text}"
    );
    assert!(
        text.contains("fix: supervisorctl restart oms_console"),
        "{text}"
    );
}

fn finding(code: &str, severity: &str, id: &str, caused_by: &str) -> pb::Finding {
    pb::Finding {
        code: code.into(),
        severity: severity.into(),
        id: id.into(),
        caused_by: caused_by.into(),
        message: format!("{code} seen"),
        remedy: format!("fix {code}"),
        ..Default::default()
    }
}

#[test]
fn problems_lead_with_the_fix_and_fold_their_symptoms() {
    let dup = "DUPLICATE_OMS_HOST_IP/10.0.0.11";
    let mut mismatch = finding("OMS_HOST_IP_MISMATCH", "critical", "M/n2", dup);
    mismatch.message = format!("n2: wrong IP (caused by {dup})");
    let mut silent = finding("CM_NODE_NOT_REPORTING", "warning", "C/10.0.0.12", dup);
    silent.message = format!("10.0.0.12 unreported (probably caused by {dup})");
    let mut root = finding("DUPLICATE_OMS_HOST_IP", "critical", dup, "");
    root.explains = vec!["M/n2".into(), "C/10.0.0.12".into()];
    let status = pb::ClusterStatus {
        findings: vec![
            finding("COMPONENT_NOT_RUNNING", "critical", "R/n3", ""),
            root,
            mismatch,
            silent,
        ],
        ..Default::default()
    };
    let text = render(&status, "c");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "Fix first: fix COMPONENT_NOT_RUNNING", "{text}");
    assert!(
        lines[0].ends_with("2 problems (2 critical, 0 warning), 2 more findings folded under them"),
        "{text}"
    );
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {text}"))
    };
    assert!(at("1. CRITICAL  COMPONENT_NOT_RUNNING") < at("2. CRITICAL  DUPLICATE_OMS_HOST_IP"));
    assert!(text.contains("   explains: M/n2, C/10.0.0.12\n"), "{text}");
    assert!(
        text.contains("\n     CRITICAL  OMS_HOST_IP_MISMATCH\n       n2: wrong IP\n"),
        "{text}"
    );
    assert!(
        text.contains("       10.0.0.12 unreported (probably caused by it)\n"),
        "{text}"
    );
    // Symptoms are no problems of their own, and their fixes are the root's.
    assert_eq!(text.matches("OMS_HOST_IP_MISMATCH").count(), 1, "{text}");
    assert!(!text.contains("fix OMS_HOST_IP_MISMATCH"), "{text}");
}

#[test]
fn no_findings_no_fix_first() {
    let text = render(&pb::ClusterStatus::default(), "c");
    assert!(!text.contains("Fix first"), "{text}");
    assert!(
        text.contains("No findings") && text.contains("No agent"),
        "{text}"
    );
}

#[test]
fn durations_read_in_two_units_at_most() {
    assert_eq!(active_for(45_000), "45s");
    assert_eq!(active_for(12 * 60_000 + 59_000), "12m");
    assert_eq!(active_for(3 * 3_600_000 + 5 * 60_000), "3h 5m");
    assert_eq!(active_for(2 * 86_400_000 + 4 * 3_600_000), "2d 4h");
    assert_eq!(active_for(-5), "0s");
}

#[test]
fn a_root_says_how_long_it_has_been_active_and_a_down_store_is_said() {
    let status = pb::ClusterStatus {
        findings: vec![pb::Finding {
            code: "COMPONENT_NOT_RUNNING".into(),
            severity: "critical".into(),
            nodes: vec!["n1".into()],
            message: "n1: oms_console is STOPPED".into(),
            remedy: "supervisorctl restart oms_console".into(),
            since_unix_ms: Some(1_000),
            ..Default::default()
        }],
        generated_at_unix_ms: 1_000 + 12 * 60_000 + 5_000,
        store: Some(pb::StoreStatus {
            location: "sqlite:///x.db".into(),
            up: false,
            error: "disk full".into(),
        }),
        ..Default::default()
    };
    let text = render(&status, "http://c:9470");
    assert!(
        text.contains("CRITICAL  COMPONENT_NOT_RUNNING  [n1]  for 12m"),
        "{text}"
    );
    assert!(
        text.contains("STORE DOWN: sqlite:///x.db is not written (disk full)"),
        "{text}"
    );
}

#[test]
fn several_regions_get_one_table_each() {
    let node = |name: &str, region: &str| pb::NodeStatus {
        name: name.into(),
        region: region.into(),
        state: "ONLINE".into(),
        ..Default::default()
    };
    let status = pb::ClusterStatus {
        nodes: vec![node("a", "hz"), node("b", "sh"), node("c", "hz")],
        ..Default::default()
    };
    let text = render(&status, "c");
    let hz = text.find("REGION hz").expect("hz heading");
    let sh = text.find("REGION sh").expect("sh heading");
    let row_c = text.find("\nc ").expect("row c");
    assert!(hz < row_c && row_c < sh, "{text}");
    let single = render(
        &pb::ClusterStatus {
            nodes: vec![node("a", "hz")],
            ..Default::default()
        },
        "c",
    );
    assert!(!single.contains("REGION"), "{single}");
}
