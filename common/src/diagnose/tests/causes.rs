//! One case per causal link (findings/causes.rs): a minimal snapshot, and every
//! finding's id with the id of the root it is folded under (`None`: a root).
//! `every_link_has_a_case` checks that each link is the direct cause in some case.
//! Here: wrong or missing OMS_HOST_IP and silent nodes; `causes_node`: supervisord,
//! components, docker_init.sh, heartbeats; `causes_regions`: cm_nodes counts and
//! regions whose config.yaml or MetaDB cannot be read.

use super::*;
use crate::findings::causes::LINKS;
use crate::proto::v1::OmsHealth;

/// A case: name, mutation of its table's base snapshot, (id, caused_by) of every finding.
pub(super) type FoldCase = (
    &'static str,
    fn(&mut Snapshot),
    &'static [(&'static str, Option<&'static str>)],
);

pub(super) fn id_of(s: &mut Snapshot, node: usize) -> &mut Identity {
    s.nodes[node]
        .report_mut()
        .identity
        .as_mut()
        .expect("identity")
}

pub(super) fn set_oms_ip(s: &mut Snapshot, node: usize, ip: &str) {
    id_of(s, node).oms_host_ip = Some(ip.into());
}

/// Region 0 keeps no host row and no heartbeat for `ip`.
pub(super) fn rows_gone(s: &mut Snapshot, ip: &str) {
    let view = metadb(s);
    view.hosts.as_mut().expect("rows").retain(|r| r.ip != ip);
    view.heartbeats
        .as_mut()
        .expect("rows")
        .retain(|r| r.host_ip != ip);
}

/// Region 0's heartbeat of `ip` is 600 s old and its host row OFFLINE.
pub(super) fn rows_stale(s: &mut Snapshot, ip: &str) {
    let view = metadb(s);
    for r in view
        .hosts
        .as_mut()
        .expect("rows")
        .iter_mut()
        .filter(|r| r.ip == ip)
    {
        r.host_status = Some("OFFLINE".into());
    }
    for r in view
        .heartbeats
        .as_mut()
        .expect("rows")
        .iter_mut()
        .filter(|r| r.host_ip == ip)
    {
        r.age_s = Some(600);
    }
}

pub(super) fn no_heartbeat(s: &mut Snapshot, ip: &str) {
    let beats = metadb(s).heartbeats.as_mut().expect("rows");
    beats.retain(|r| r.host_ip != ip);
}

pub(super) fn stop(s: &mut Snapshot, node: usize, program: &str) {
    let sup = s.nodes[node]
        .report_mut()
        .supervisor
        .as_mut()
        .expect("supervisor");
    for p in sup.programs.iter_mut().filter(|p| p.name == program) {
        p.state = "STOPPED".into();
    }
}

pub(super) fn health(s: &mut Snapshot, node: usize, healthy: bool, docker_init_ran: bool) {
    s.nodes[node].report_mut().health = Some(OmsHealth {
        url: "http://127.0.0.1:8089/oms/health".into(),
        reachable: true,
        http_status: if healthy { 200 } else { 502 },
        healthy,
        error: if healthy {
            String::new()
        } else {
            "HTTP 502".into()
        },
        docker_init_ran,
        docker_init_evidence: "/home/admin/logs/docker_init.log.*".into(),
        probed: true,
    });
}

pub(super) fn unreachable_supervisor(s: &mut Snapshot, node: usize) {
    s.nodes[node].report_mut().supervisor = Some(SupervisorStatus {
        reachable: false,
        error: "connection refused".into(),
        ..Default::default()
    });
}

/// n2 started with 10.0.0.99, which cm_nodes does not list; its host name resolves to 10.0.0.12.
pub(super) fn unlisted_ip(s: &mut Snapshot) {
    set_oms_ip(s, 1, "10.0.0.99");
    let view = metadb(s);
    view.hosts
        .as_mut()
        .expect("rows")
        .push(host("10.0.0.99", "ONLINE"));
    view.heartbeats
        .as_mut()
        .expect("rows")
        .push(beat("10.0.0.99", 2));
}

const DUP: Option<&str> = Some("DUPLICATE_OMS_HOST_IP/10.0.0.11");
const MISMATCH: Option<&str> = Some("OMS_HOST_IP_MISMATCH/n2");
const MISSING: Option<&str> = Some("OMS_HOST_IP_MISSING/n2");
const SILENT: Option<&str> = Some("NODE_SILENT/n2");

pub(super) const CASES: &[FoldCase] = &[
    (
        "duplicate ip: the mismatch and the shadowed ip",
        |s| set_oms_ip(s, 1, "10.0.0.11"),
        &[
            ("DUPLICATE_OMS_HOST_IP/10.0.0.11", None),
            ("OMS_HOST_IP_MISMATCH/n2", DUP),
            ("CM_NODE_NOT_REPORTING/10.0.0.12", DUP),
        ],
    ),
    (
        "duplicate ip: the shadowed ip's rows are gone",
        |s| {
            set_oms_ip(s, 1, "10.0.0.11");
            rows_gone(s, "10.0.0.12");
        },
        &[
            ("DUPLICATE_OMS_HOST_IP/10.0.0.11", None),
            ("OMS_HOST_IP_MISMATCH/n2", DUP),
            ("CM_NODE_NOT_REPORTING/10.0.0.12", DUP),
            ("HEARTBEAT_MISSING/10.0.0.12", DUP),
            ("HOST_ROW_MISSING/10.0.0.12", DUP),
        ],
    ),
    (
        "duplicate ip: the shadowed ip's rows are stale",
        |s| {
            set_oms_ip(s, 1, "10.0.0.11");
            rows_stale(s, "10.0.0.12");
        },
        &[
            ("DUPLICATE_OMS_HOST_IP/10.0.0.11", None),
            ("OMS_HOST_IP_MISMATCH/n2", DUP),
            ("CM_NODE_NOT_REPORTING/10.0.0.12", DUP),
            ("HEARTBEAT_STALE/10.0.0.12", DUP),
            ("HOST_NOT_ONLINE/10.0.0.12", DUP),
        ],
    ),
    (
        "started with an unlisted ip: its rows and the real ip's",
        |s| {
            rows_gone(s, "10.0.0.12");
            unlisted_ip(s);
        },
        &[
            ("OMS_HOST_IP_MISMATCH/n2", None),
            ("NODE_NOT_IN_CM_NODES/n2", MISMATCH),
            ("CM_NODE_NOT_REPORTING/10.0.0.12", MISMATCH),
            ("HEARTBEAT_MISSING/10.0.0.12", MISMATCH),
            ("HOST_ROW_MISSING/10.0.0.12", MISMATCH),
            ("HOST_ROW_UNKNOWN/oms_cm/10.0.0.99", MISMATCH),
            (
                "HEARTBEAT_FROM_UNKNOWN_IP/oms_cm_heartbeat_0/10.0.0.99",
                MISMATCH,
            ),
        ],
    ),
    (
        "started with an unlisted ip: the real ip's rows are stale",
        |s| {
            set_oms_ip(s, 1, "10.0.0.99");
            rows_stale(s, "10.0.0.12");
        },
        &[
            ("OMS_HOST_IP_MISMATCH/n2", None),
            ("NODE_NOT_IN_CM_NODES/n2", MISMATCH),
            ("CM_NODE_NOT_REPORTING/10.0.0.12", MISMATCH),
            ("HEARTBEAT_STALE/10.0.0.12", MISMATCH),
            ("HOST_NOT_ONLINE/10.0.0.12", MISMATCH),
        ],
    ),
    (
        "a mismatch whose host name is unlisted too explains nothing",
        |s| {
            set_oms_ip(s, 1, "10.0.0.99");
            id_of(s, 1).hostname_ips = vec!["10.0.0.98".into()];
        },
        &[
            ("OMS_HOST_IP_MISMATCH/n2", None),
            ("NODE_NOT_IN_CM_NODES/n2", None),
            ("CM_NODE_NOT_REPORTING/10.0.0.12", None),
        ],
    ),
    (
        "OMS_HOST_IP missing: its host name's ip and rows",
        |s| {
            set_oms_ip(s, 1, " ");
            rows_gone(s, "10.0.0.12");
        },
        &[
            ("OMS_HOST_IP_MISSING/n2", None),
            ("CM_NODE_NOT_REPORTING/10.0.0.12", MISSING),
            ("HEARTBEAT_MISSING/10.0.0.12", MISSING),
            ("HOST_ROW_MISSING/10.0.0.12", MISSING),
        ],
    ),
    (
        "OMS_HOST_IP missing: its host name's rows are stale",
        |s| {
            set_oms_ip(s, 1, "");
            rows_stale(s, "10.0.0.12");
        },
        &[
            ("OMS_HOST_IP_MISSING/n2", None),
            ("CM_NODE_NOT_REPORTING/10.0.0.12", MISSING),
            ("HEARTBEAT_STALE/10.0.0.12", MISSING),
            ("HOST_NOT_ONLINE/10.0.0.12", MISSING),
        ],
    ),
    (
        "silent node: its ip unreported, the count off, its rows gone",
        |s| {
            s.nodes[1].received_at_unix_ms = NOW - 16_000;
            rows_gone(s, "10.0.0.12");
        },
        &[
            ("NODE_SILENT/n2", None),
            ("CM_NODE_NOT_REPORTING/10.0.0.12", SILENT),
            ("CM_NODES_COUNT_MISMATCH", SILENT),
            ("HEARTBEAT_MISSING/10.0.0.12", SILENT),
            ("HOST_ROW_MISSING/10.0.0.12", SILENT),
        ],
    ),
    (
        "silent node: its rows are stale",
        |s| {
            s.nodes[1].received_at_unix_ms = NOW - 16_000;
            rows_stale(s, "10.0.0.12");
        },
        &[
            ("NODE_SILENT/n2", None),
            ("CM_NODE_NOT_REPORTING/10.0.0.12", SILENT),
            ("CM_NODES_COUNT_MISMATCH", SILENT),
            ("HEARTBEAT_STALE/10.0.0.12", SILENT),
            ("HOST_NOT_ONLINE/10.0.0.12", SILENT),
        ],
    ),
];

/// Every fold case with its base snapshot, mutated.
pub(super) fn all_fold_cases() -> impl Iterator<Item = (&'static FoldCase, Snapshot)> {
    type FoldTable = (fn() -> Snapshot, &'static [FoldCase]);
    let tables: [FoldTable; 4] = [
        (healthy, CASES),
        (healthy, causes_node::CASES),
        (healthy, causes_regions::CASES),
        (two_regions::healthy, causes_regions::TWO_REGION_CASES),
    ];
    tables.into_iter().flat_map(|(base, cases)| {
        cases.iter().map(move |case| {
            let mut s = base();
            (case.1)(&mut s);
            (case, s)
        })
    })
}

#[test]
fn every_fold_case_folds_as_written() {
    for ((name, _, expected), s) in all_fold_cases() {
        let mut got: Vec<(String, Option<String>)> = diagnose(&s)
            .findings
            .into_iter()
            .map(|f| (f.id, f.caused_by))
            .collect();
        let mut want: Vec<(String, Option<String>)> = expected
            .iter()
            .map(|(id, by)| (id.to_string(), by.map(str::to_string)))
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "case {name}");
    }
}

/// The direct cause a symptom's message names: `(caused by ID)` or `(probably caused by ID)`.
pub(super) fn direct_cause(message: &str) -> Option<&str> {
    let inner = message.strip_suffix(')')?;
    let (_, id) = inner.rsplit_once("caused by ")?;
    Some(id)
}

#[test]
fn every_link_has_a_case() {
    let folds: Vec<(Code, String)> = all_fold_cases()
        .flat_map(|(_, s)| diagnose(&s).findings)
        .filter_map(|f| Some((f.code, direct_cause(&f.message)?.to_string())))
        .collect();
    for link in LINKS {
        for symptom in link.symptoms {
            let covered = folds.iter().any(|(code, cause)| {
                let (cause_code, rest) = cause.split_once('/').unwrap_or((cause, ""));
                *code == *symptom
                    && cause_code == link.cause.as_str()
                    && (link.programs.is_empty()
                        || link
                            .programs
                            .iter()
                            .any(|p| rest.ends_with(&format!("/{p}"))))
            });
            assert!(covered, "no case where {} explains {symptom}", link.cause);
        }
    }
}
