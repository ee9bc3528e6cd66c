//! The installer's config.yaml rules on one region: keys, cm_location, cm_url,
//! cm_nodes, the default region.

use super::*;

const IPS: [&str; 2] = ["10.0.0.11", "10.0.0.12"];

fn with(s: &mut Snapshot, from: &str, to: &str) {
    set_config(s, 0, "config.yaml", &config(&IPS).replace(from, to));
}

/// One node, one cm_nodes IP, rows for it only.
fn single(s: &mut Snapshot) {
    *s = cluster(&["10.0.0.11"]);
}

pub(super) const CASES: &[Case] = &[
    (
        "cm_location missing",
        |s| with(s, "cm_location: 0\n", ""),
        &[(Code::ConfigKeyMissing, &[])],
    ),
    (
        "cm_location empty",
        |s| with(s, "cm_location: 0\n", "cm_location: ''\n"),
        &[(Code::ConfigKeyMissing, &[])],
    ),
    (
        "cm_is_default missing is one finding, not also DEFAULT_REGION_COUNT",
        |s| with(s, "cm_is_default: true\n", ""),
        &[(Code::ConfigKeyMissing, &[])],
    ),
    (
        "cm_region may be empty with one region",
        |s| with(s, "cm_location: 0\n", "cm_location: 0\ncm_region: ''\n"),
        &[],
    ),
    (
        "no default region",
        |s| with(s, "cm_is_default: true", "cm_is_default: false"),
        &[(Code::DefaultRegionCount, &[])],
    ),
    (
        "cm_location out of range",
        |s| with(s, "cm_location: 0", "cm_location: 128"),
        &[(Code::CmLocationInvalid, &[])],
    ),
    (
        "cm_location not a number",
        |s| with(s, "cm_location: 0", "cm_location: hz"),
        &[(Code::CmLocationInvalid, &[])],
    ),
    (
        "cm_location 127 is valid",
        |s| with(s, "cm_location: 0", "cm_location: 127"),
        &[],
    ),
    (
        "an ip twice in cm_nodes is CM_NODES_DUPLICATE only",
        |s| set_config(s, 0, "config.yaml", &config(&[IPS[0], IPS[1], IPS[1]])),
        &[(Code::CmNodesDuplicate, &[])],
    ),
    (
        "cm_url on loopback with two nodes",
        |s| with(s, "http://10.0.0.11:8088", "http://127.0.0.1:8088"),
        &[(Code::CmUrlInvalid, &[])],
    ),
    (
        "cm_url on localhost with two nodes",
        |s| with(s, "http://10.0.0.11:8088", "http://localhost:8088/"),
        &[(Code::CmUrlInvalid, &[])],
    ),
    (
        "cm_url on loopback with one node is fine",
        |s| {
            single(s);
            let text = config(&["10.0.0.11"]).replace("10.0.0.11:8088", "127.0.0.1:8088");
            set_config(s, 0, "config.yaml", &text);
        },
        &[],
    ),
    (
        "cm_url without scheme",
        |s| with(s, "http://10.0.0.11:8088", "10.0.0.11:8088"),
        &[(Code::CmUrlInvalid, &[])],
    ),
    (
        "cm_url with a bad port is invalid, not a port mismatch",
        |s| with(s, "http://10.0.0.11:8088", "http://10.0.0.11:80880"),
        &[(Code::CmUrlInvalid, &[])],
    ),
    (
        "cm_url port differs from cm_server_port",
        |s| with(s, "http://10.0.0.11:8088", "http://10.0.0.11:9088"),
        &[(Code::CmUrlPortMismatch, &[])],
    ),
    (
        "https cm_url defaults to 443",
        |s| with(s, "http://10.0.0.11:8088", "https://vip.example"),
        &[(Code::CmUrlPortMismatch, &[])],
    ),
    (
        "cm_url port equal to a changed cm_server_port",
        |s| {
            with(
                s,
                "http://10.0.0.11:8088",
                "http://10.0.0.11:9088\ncm_server_port: 9088",
            )
        },
        &[],
    ),
    (
        "http cm_url on port 80 with cm_server_port 80",
        |s| with(s, "http://10.0.0.11:8088", "http://vip\ncm_server_port: 80"),
        &[],
    ),
    (
        "no node ever reported: cm_nodes count is not judged",
        |s| s.nodes.clear(),
        &[
            (Code::CmNodeNotReporting, &[]),
            (Code::CmNodeNotReporting, &[]),
        ],
    ),
    (
        "a second reporting node that cm_nodes lacks",
        |s| {
            single(s);
            s.nodes.push(node("n2", Some("10.0.0.12"), &["10.0.0.12"]));
        },
        &[
            (Code::NodeNotInCmNodes, &["n2"]),
            (Code::CmNodesCountMismatch, &[]),
        ],
    ),
];

#[test]
fn config_key_missing_names_key_file_and_hint() {
    let mut s = healthy();
    with(&mut s, "cm_location: 0\n", "");
    let f = finding(&s, Code::ConfigKeyMissing);
    assert_eq!(f.evidence["key"], "cm_location");
    assert_eq!(f.evidence["file"], "config.yaml");
    assert!(
        f.remedy().contains("Add `cm_location` to config.yaml ("),
        "{}",
        f.remedy()
    );
}

#[test]
fn cm_url_invalid_names_the_line_and_the_port() {
    let mut s = healthy();
    with(&mut s, "http://10.0.0.11:8088", "http://127.0.0.1:8088");
    let f = finding(&s, Code::CmUrlInvalid);
    assert_eq!(f.evidence["line"], "7");
    assert_eq!(f.evidence["cm_url"], "http://127.0.0.1:8088");
    assert!(
        f.remedy().contains("`http://<VIP or server IP>:8088`"),
        "{}",
        f.remedy()
    );
}

#[test]
fn port_mismatch_shows_both_ports() {
    let mut s = healthy();
    with(&mut s, "http://10.0.0.11:8088", "https://vip.example");
    let f = finding(&s, Code::CmUrlPortMismatch);
    assert_eq!(f.evidence["url_port"], "443");
    assert_eq!(f.evidence["cm_server_port"], "8088");
}

#[test]
fn duplicates_and_counts_carry_their_numbers() {
    let mut s = healthy();
    set_config(&mut s, 0, "config.yaml", &config(&[IPS[0], IPS[1], IPS[1]]));
    let f = finding(&s, Code::CmNodesDuplicate);
    assert_eq!(f.evidence["ip"], "10.0.0.12");
    assert_eq!(f.evidence["files"], "config.yaml");
    let mut s = healthy();
    s.nodes.pop();
    let f = finding(&s, Code::CmNodesCountMismatch);
    assert_eq!(
        (
            &*f.evidence["cm_nodes_count"],
            &*f.evidence["reporting_count"]
        ),
        ("2", "1")
    );
    let mut s = healthy();
    with(&mut s, "cm_is_default: true", "cm_is_default: false");
    assert_eq!(
        finding(&s, Code::DefaultRegionCount).evidence["defaults"],
        "none"
    );
}
