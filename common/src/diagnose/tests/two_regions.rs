//! Two regions: one config.yaml each, one MetaDB (shared drc_cm_db), one
//! heartbeat database per region; nodes name their region.

use super::*;

const HZ: [&str; 2] = ["10.0.0.11", "10.0.0.12"];
const SH: [&str; 1] = ["10.0.1.21"];

/// A region's config.yaml: `config()` plus cm_region and its own location,
/// heartbeat database and cm_url.
fn region_config(region: &str, location: u8, default: bool, ips: &[&str]) -> String {
    config(ips)
        .replace(
            "oms_cm_heartbeat_0",
            &format!("oms_cm_heartbeat_{location}"),
        )
        .replace(
            "cm_location: 0",
            &format!("cm_location: {location}\ncm_region: {region}"),
        )
        .replace("cm_is_default: true", &format!("cm_is_default: {default}"))
        .replace("http://10.0.0.11:8088", &format!("http://{}:8088", ips[0]))
}

fn hz() -> String {
    region_config("hz", 0, true, &HZ)
}

pub(super) fn sh() -> String {
    region_config("sh", 1, false, &SH)
}

/// hz: n1, n2; sh: n3. Both regions read the same host table; each has its
/// own heartbeat rows.
pub(super) fn healthy() -> Snapshot {
    let all: Vec<&str> = HZ.iter().chain(SH.iter()).copied().collect();
    let region = |file: &str, text: String, beats: &[&str]| RegionInput {
        config: oms_config::parse(file, &text),
        summary: None,
        metadb: Some(MetaDbView {
            hosts: Ok(all.iter().map(|ip| host(ip, "ONLINE")).collect()),
            heartbeats: Ok(beats.iter().map(|ip| beat(ip, 2)).collect()),
            clock: None,
        }),
    };
    let mut nodes = vec![
        node("n1", Some(HZ[0]), &[HZ[0]]),
        node("n2", Some(HZ[1]), &[HZ[1]]),
        node("n3", Some(SH[0]), &[SH[0]]),
    ];
    for (n, region) in nodes.iter_mut().zip(["hz", "hz", "sh"]) {
        n.report_mut().region = region.into();
    }
    Snapshot {
        now_unix_ms: NOW,
        nodes,
        regions: vec![region("hz.yaml", hz(), &HZ), region("sh.yaml", sh(), &SH)],
        thresholds: Thresholds::default(),
        scope: Scope::Cluster,
    }
}

fn heartbeats(s: &mut Snapshot, region: usize) -> &mut Vec<HeartbeatRow> {
    let view = s.regions[region].metadb.as_mut().expect("metadb");
    view.heartbeats.as_mut().expect("rows")
}

fn sh_with(s: &mut Snapshot, from: &str, to: &str) {
    set_config(s, 1, "sh.yaml", &sh().replace(from, to));
}

pub(super) const CASES: &[Case] = &[
    ("two healthy regions", |_| {}, &[]),
    (
        "a node of sh whose ip only hz lists",
        |s| s.nodes[1].report_mut().region = "sh".into(),
        &[
            (Code::NodeNotInCmNodes, &["n2"]),
            (Code::CmNodeNotReporting, &["n2"]),
        ],
    ),
    (
        "a heartbeat in the other region's database does not count",
        |s| {
            let row = heartbeats(s, 1).remove(0);
            heartbeats(s, 0).push(row);
        },
        &[(Code::HeartbeatMissing, &["n3"])],
    ),
    (
        "cm_region missing with two regions",
        |s| sh_with(s, "cm_region: sh\n", ""),
        &[(Code::ConfigKeyMissing, &[])],
    ),
    (
        "two regions share cm_location",
        |s| sh_with(s, "cm_location: 1", "cm_location: 0"),
        &[(Code::CmLocationInvalid, &[])],
    ),
    (
        "two regions share a heartbeat database",
        |s| sh_with(s, "oms_cm_heartbeat_1", "oms_CM_heartbeat_0"),
        &[(Code::HeartbeatDbShared, &[])],
    ),
    (
        "two default regions",
        |s| sh_with(s, "cm_is_default: false", "cm_is_default: true"),
        &[(Code::DefaultRegionCount, &[])],
    ),
    (
        "an ip in both regions is CM_NODES_DUPLICATE only",
        |s| sh_with(s, "  - 10.0.1.21\n", "  - 10.0.1.21\n  - 10.0.0.12\n"),
        &[(Code::CmNodesDuplicate, &[])],
    ),
    (
        "a shared host table is judged once",
        |s| {
            for r in &mut s.regions {
                let view = r.metadb.as_mut().expect("metadb");
                view.hosts
                    .as_mut()
                    .expect("rows")
                    .push(host("10.0.9.9", "ONLINE"));
            }
        },
        &[(Code::HostRowUnknown, &[])],
    ),
];

#[test]
fn findings_name_the_right_region() {
    let mut s = healthy();
    s.nodes[1].report_mut().region = "sh".into();
    let f = finding(&s, Code::NodeNotInCmNodes);
    assert_eq!(f.evidence["file"], "sh.yaml");
    assert_eq!(
        finding(&s, Code::CmNodeNotReporting).evidence["file"],
        "hz.yaml"
    );
    let mut s = healthy();
    heartbeats(&mut s, 1).clear();
    let f = finding(&s, Code::HeartbeatMissing);
    assert_eq!(
        (&*f.evidence["ip"], &*f.evidence["db"]),
        ("10.0.1.21", "oms_cm_heartbeat_1")
    );
    let d = diagnose(&healthy());
    let regions: Vec<&str> = d.nodes.iter().map(|n| n.region.as_str()).collect();
    assert_eq!(regions, ["hz", "hz", "sh"]);
}

#[test]
fn shared_and_duplicate_evidence_lists_the_files() {
    let mut s = healthy();
    sh_with(&mut s, "cm_is_default: false", "cm_is_default: true");
    assert_eq!(
        finding(&s, Code::DefaultRegionCount).evidence["defaults"],
        "hz.yaml, sh.yaml"
    );
    let mut s = healthy();
    sh_with(&mut s, "oms_cm_heartbeat_1", "oms_cm_heartbeat_0");
    let f = finding(&s, Code::HeartbeatDbShared);
    assert_eq!(
        (&*f.evidence["files"], &*f.evidence["db"]),
        ("hz.yaml, sh.yaml", "oms_cm_heartbeat_0")
    );
    let mut s = healthy();
    sh_with(&mut s, "  - 10.0.1.21\n", "  - 10.0.1.21\n  - 10.0.0.12\n");
    assert_eq!(
        finding(&s, Code::CmNodesDuplicate).evidence["files"],
        "hz.yaml, sh.yaml"
    );
}
