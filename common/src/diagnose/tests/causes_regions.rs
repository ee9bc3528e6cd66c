//! Causal links over cm_nodes and regions: counts explained by per-IP findings,
//! and regions whose config.yaml or MetaDB cannot be read (see `causes`).

use super::causes::*;
use super::*;

const NOT_IN: Option<&str> = Some("NODE_NOT_IN_CM_NODES/n2");

pub(super) const CASES: &[FoldCase] = &[
    (
        "not in cm_nodes: its rows and the count",
        |s| set_config(s, 0, "config.yaml", &config(&["10.0.0.11"])),
        &[
            ("NODE_NOT_IN_CM_NODES/n2", None),
            ("CM_NODES_COUNT_MISMATCH", NOT_IN),
            ("HOST_ROW_UNKNOWN/oms_cm/10.0.0.12", NOT_IN),
            (
                "HEARTBEAT_FROM_UNKNOWN_IP/oms_cm_heartbeat_0/10.0.0.12",
                NOT_IN,
            ),
        ],
    ),
    (
        "an agent missing: the count",
        |s| {
            s.nodes.pop();
        },
        &[
            ("CM_NODE_NOT_REPORTING/10.0.0.12", None),
            (
                "CM_NODES_COUNT_MISMATCH",
                Some("CM_NODE_NOT_REPORTING/10.0.0.12"),
            ),
        ],
    ),
];

/// sh's MetaDB reads fail with these targets.
fn sh_unreadable(s: &mut Snapshot, hosts: bool) {
    let fail = |table: &str| MetaDbFailure {
        target: format!("oms@127.0.0.1:3306/{table}"),
        reason: "Unknown database".into(),
    };
    let view = s.regions[1].metadb.as_mut().expect("metadb");
    view.heartbeats = Err(fail("oms_cm_heartbeat_1.heart_beat"));
    if hosts {
        view.hosts = Err(fail("oms_cm.host"));
    }
}

const SH_INVALID: Option<&str> = Some("CONFIG_INVALID/sh.yaml/cm_nodes");
const N3_NOT_IN: Option<&str> = Some("NODE_NOT_IN_CM_NODES/n3");

/// Two regions (`two_regions::healthy`): hz (n1, n2) and sh (n3).
pub(super) const TWO_REGION_CASES: &[FoldCase] = &[
    (
        "sh's config.yaml unreadable: what only its cm_nodes would place",
        |s| {
            set_config(s, 1, "sh.yaml", "cm_nodes: [");
            let hz = s.regions[0].metadb.as_mut().expect("metadb");
            hz.heartbeats
                .as_mut()
                .expect("rows")
                .push(beat("10.0.1.21", 2));
        },
        &[
            ("CONFIG_INVALID/sh.yaml/cm_nodes", None),
            ("NODE_NOT_IN_CM_NODES/n3", SH_INVALID),
            ("HOST_ROW_UNKNOWN/oms_cm/10.0.1.21", SH_INVALID),
            (
                "HEARTBEAT_FROM_UNKNOWN_IP/oms_cm_heartbeat_0/10.0.1.21",
                SH_INVALID,
            ),
            ("CM_NODES_COUNT_MISMATCH", SH_INVALID),
        ],
    ),
    (
        "sh's config.yaml unreadable: a node of hz is hz's problem",
        |s| {
            set_config(s, 1, "sh.yaml", "cm_nodes: [");
            s.nodes[2].report_mut().region = "hz".into();
        },
        &[
            ("CONFIG_INVALID/sh.yaml/cm_nodes", None),
            ("NODE_NOT_IN_CM_NODES/n3", None),
            ("HOST_ROW_UNKNOWN/oms_cm/10.0.1.21", N3_NOT_IN),
            ("CM_NODES_COUNT_MISMATCH", N3_NOT_IN),
        ],
    ),
    (
        "sh's MetaDB unreadable: nothing is inferred from its rows",
        |s| sh_unreadable(s, true),
        &[(
            "METADB_UNREACHABLE/127.0.0.1:3306/oms_cm.host,oms_cm_heartbeat_1.heart_beat",
            None,
        )],
    ),
    (
        "sh's heartbeat database unreadable: no heartbeat symptom for its ips",
        |s| sh_unreadable(s, false),
        &[(
            "METADB_UNREACHABLE/127.0.0.1:3306/oms_cm_heartbeat_1.heart_beat",
            None,
        )],
    ),
];
