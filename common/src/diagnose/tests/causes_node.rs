//! Causal links on one node: supervisord unreachable, a component stopped,
//! docker_init.sh not run, and a heartbeat that no longer comes (see `causes`).

use super::causes::*;
use super::*;

const SUP_DOWN: Option<&str> = Some("SUPERVISOR_UNREACHABLE/n1");
const DS_STOPPED: Option<&str> = Some("COMPONENT_NOT_RUNNING/n1/oms_drc_supervisor");

pub(super) const CASES: &[FoldCase] = &[
    (
        "supervisord unreachable: heartbeat stale, host offline, health failing",
        |s| {
            unreachable_supervisor(s, 0);
            rows_stale(s, "10.0.0.11");
            health(s, 0, false, true);
        },
        &[
            ("SUPERVISOR_UNREACHABLE/n1", None),
            ("HEARTBEAT_STALE/10.0.0.11", SUP_DOWN),
            ("HOST_NOT_ONLINE/10.0.0.11", SUP_DOWN),
            ("OMS_HEALTH_FAILED/n1", SUP_DOWN),
        ],
    ),
    (
        "supervisord unreachable: heartbeat missing",
        |s| {
            unreachable_supervisor(s, 0);
            no_heartbeat(s, "10.0.0.11");
        },
        &[
            ("SUPERVISOR_UNREACHABLE/n1", None),
            ("HEARTBEAT_MISSING/10.0.0.11", SUP_DOWN),
        ],
    ),
    (
        "oms_drc_supervisor stopped: heartbeat stale, host offline",
        |s| {
            stop(s, 0, "oms_drc_supervisor");
            rows_stale(s, "10.0.0.11");
        },
        &[
            ("COMPONENT_NOT_RUNNING/n1/oms_drc_supervisor", None),
            ("HEARTBEAT_STALE/10.0.0.11", DS_STOPPED),
            ("HOST_NOT_ONLINE/10.0.0.11", DS_STOPPED),
        ],
    ),
    (
        "oms_drc_supervisor stopped: heartbeat missing",
        |s| {
            stop(s, 0, "oms_drc_supervisor");
            no_heartbeat(s, "10.0.0.11");
        },
        &[
            ("COMPONENT_NOT_RUNNING/n1/oms_drc_supervisor", None),
            ("HEARTBEAT_MISSING/10.0.0.11", DS_STOPPED),
        ],
    ),
    (
        "oms_console stopped: health failing",
        |s| {
            stop(s, 0, "oms_console");
            health(s, 0, false, true);
        },
        &[
            ("COMPONENT_NOT_RUNNING/n1/oms_console", None),
            (
                "OMS_HEALTH_FAILED/n1",
                Some("COMPONENT_NOT_RUNNING/n1/oms_console"),
            ),
        ],
    ),
    (
        "nginx stopped: health failing",
        |s| {
            stop(s, 0, "nginx");
            health(s, 0, false, true);
        },
        &[
            ("COMPONENT_NOT_RUNNING/n1/nginx", None),
            (
                "OMS_HEALTH_FAILED/n1",
                Some("COMPONENT_NOT_RUNNING/n1/nginx"),
            ),
        ],
    ),
    (
        "other programs explain neither health nor heartbeat",
        |s| {
            stop(s, 0, "oms_drc_cm");
            stop(s, 1, "oms_console");
            health(s, 0, false, true);
            rows_stale(s, "10.0.0.12");
        },
        &[
            ("COMPONENT_NOT_RUNNING/n1/oms_drc_cm", None),
            ("COMPONENT_NOT_RUNNING/n2/oms_console", None),
            ("OMS_HEALTH_FAILED/n1", None),
            ("HEARTBEAT_STALE/10.0.0.12", None),
            (
                "HOST_NOT_ONLINE/10.0.0.12",
                Some("HEARTBEAT_STALE/10.0.0.12"),
            ),
        ],
    ),
    (
        "docker_init.sh not run: no host row",
        |s| {
            health(s, 1, true, false);
            metadb(s)
                .hosts
                .as_mut()
                .expect("rows")
                .retain(|r| r.ip != "10.0.0.12");
        },
        &[
            ("DOCKER_INIT_NOT_RUN/n2", None),
            ("HOST_ROW_MISSING/10.0.0.12", Some("DOCKER_INIT_NOT_RUN/n2")),
        ],
    ),
    (
        "heartbeat missing: host offline",
        |s| {
            rows_stale(s, "10.0.0.12");
            no_heartbeat(s, "10.0.0.12");
        },
        &[
            ("HEARTBEAT_MISSING/10.0.0.12", None),
            (
                "HOST_NOT_ONLINE/10.0.0.12",
                Some("HEARTBEAT_MISSING/10.0.0.12"),
            ),
        ],
    ),
    (
        "a stale heartbeat alone stays a root",
        |s| metadb(s).heartbeats.as_mut().expect("rows")[1].age_s = Some(600),
        &[("HEARTBEAT_STALE/10.0.0.12", None)],
    ),
];
