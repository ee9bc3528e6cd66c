//! MetaDB rows that cm_nodes does not explain.

use super::*;

fn add_host(s: &mut Snapshot, row: HostRow) {
    metadb(s).hosts.as_mut().expect("rows").push(row);
}

fn add_beat(s: &mut Snapshot, row: HeartbeatRow) {
    metadb(s).heartbeats.as_mut().expect("rows").push(row);
}

pub(super) const CASES: &[Case] = &[
    (
        "host row for an unknown ip",
        |s| add_host(s, host("10.0.0.99", "ONLINE")),
        &[(Code::HostRowUnknown, &[])],
    ),
    (
        "unknown host row names the node that resolves to it",
        |s| {
            add_host(s, host("10.0.0.99", "OFFLINE"));
            s.nodes[1]
                .report_mut()
                .identity
                .as_mut()
                .expect("id")
                .hostname_ips = vec!["10.0.0.12".into(), "10.0.0.99".into()];
        },
        &[(Code::HostRowUnknown, &["n2"])],
    ),
    (
        "host row with an empty ip",
        |s| add_host(s, host(" ", "ONLINE")),
        &[(Code::HostRowUnknown, &[])],
    ),
    (
        "two host rows for one ip",
        |s| add_host(s, host("::ffff:10.0.0.12", "OFFLINE")),
        &[(Code::HostRowDuplicate, &["n2"])],
    ),
    (
        "current heartbeat from an unknown ip",
        |s| add_beat(s, beat("10.0.0.99", 3)),
        &[(Code::HeartbeatFromUnknownIp, &[])],
    ),
    (
        "heartbeat of unknown age from an unknown ip",
        |s| {
            add_beat(
                s,
                HeartbeatRow {
                    age_s: None,
                    ..beat("10.0.0.99", 0)
                },
            )
        },
        &[(Code::HeartbeatFromUnknownIp, &[])],
    ),
    (
        "a stale heartbeat from an unknown ip is history",
        |s| add_beat(s, beat("10.0.0.99", 3600)),
        &[],
    ),
    (
        "unreadable tables are METADB_UNREACHABLE only",
        |s| {
            add_host(s, host("10.0.0.99", "ONLINE"));
            metadb(s).hosts = Err(failure());
        },
        &[(Code::MetadbUnreachable, &[])],
    ),
];

#[test]
fn row_findings_carry_ip_db_and_count() {
    let mut s = healthy();
    add_host(&mut s, host("10.0.0.12", "ONLINE"));
    add_host(&mut s, host("10.0.0.12 ", "ONLINE"));
    let f = finding(&s, Code::HostRowDuplicate);
    assert_eq!(
        (
            &*f.evidence["ip"],
            &*f.evidence["db"],
            &*f.evidence["count"]
        ),
        ("10.0.0.12", "oms_cm", "3")
    );
    add_beat(&mut s, beat("10.0.0.99", 1));
    let f = finding(&s, Code::HeartbeatFromUnknownIp);
    assert_eq!(
        (&*f.evidence["ip"], &*f.evidence["db"]),
        ("10.0.0.99", "oms_cm_heartbeat_0")
    );
    add_host(&mut s, host("", "ONLINE"));
    assert_eq!(finding(&s, Code::HostRowUnknown).evidence["ip"], "(empty)");
}
