//! A node's own config.yaml as its agent reports it: unreadable, or drifting
//! from the collector's copy or from the region's other nodes.

use super::*;
use crate::oms_config::summary::summarize;
use crate::proto::v1::NodeConfig;

const PATH: &str = "/home/admin/conf/config.yaml";
const IPS: [&str; 2] = ["10.0.0.11", "10.0.0.12"];

/// Node `i` reports `text` as its config.yaml.
fn node_config(s: &mut Snapshot, i: usize, text: &str) {
    s.nodes[i].report_mut().config = Some(summarize(PATH, text));
}

/// Every node reports the collector's file; the collector's copy is summarised.
fn same_configs(s: &mut Snapshot) {
    let text = config(&IPS);
    s.regions[0].summary = Some(summarize("config.yaml", &text));
    for i in 0..s.nodes.len() {
        node_config(s, i, &text);
    }
}

pub(super) const CASES: &[Case] = &[
    ("same config everywhere", same_configs, &[]),
    (
        "node config unreadable",
        |s| {
            s.nodes[0].report_mut().config = Some(NodeConfig {
                path: PATH.into(),
                error: "No such file or directory".into(),
                ..Default::default()
            })
        },
        &[(Code::NodeConfigUnreadable, &["n1"])],
    ),
    (
        "an unreadable node config is not also drift",
        |s| {
            same_configs(s);
            s.nodes[1].report_mut().config = Some(summarize(PATH, "cm_nodes: [\n"));
        },
        &[(Code::NodeConfigUnreadable, &["n2"])],
    ),
    (
        "cm_url drifts from the collector's copy",
        |s| {
            same_configs(s);
            node_config(
                s,
                1,
                &config(&IPS).replace("10.0.0.11:8088", "10.0.0.12:8088"),
            );
        },
        &[(Code::ConfigDrift, &["n2"])],
    ),
    (
        "password and missing key drift, one finding per key",
        |s| {
            same_configs(s);
            let text = config(&IPS)
                .replace("oms_meta_password: pw", "oms_meta_password: other")
                .replace("drc_cm_db: oms_cm\n", "");
            node_config(s, 0, &text);
        },
        &[(Code::ConfigDrift, &["n1"]), (Code::ConfigDrift, &["n1"])],
    ),
    (
        "cm_nodes order does not matter",
        |s| {
            same_configs(s);
            node_config(s, 1, &config(&[IPS[1], IPS[0]]));
        },
        &[],
    ),
    (
        "keys outside the list may differ",
        |s| {
            same_configs(s);
            node_config(s, 1, &format!("{}tsdb_enabled: true\n", config(&IPS)));
        },
        &[],
    ),
    (
        "without the collector's copy, the majority is expected",
        |s| {
            *s = cluster(&["10.0.0.11", "10.0.0.12", "10.0.0.13"]);
            let text = config(&["10.0.0.11", "10.0.0.12", "10.0.0.13"]);
            for i in 0..3 {
                node_config(s, i, &text);
            }
            node_config(
                s,
                2,
                &text.replace("oms_cm_heartbeat_0", "oms_cm_heartbeat_9"),
            );
        },
        &[(Code::ConfigDrift, &["n3"])],
    ),
    (
        "without the collector's copy and no majority, every node is named",
        |s| {
            node_config(s, 0, &config(&IPS));
            node_config(
                s,
                1,
                &config(&IPS).replace("oms_meta_user: oms", "oms_meta_user: x"),
            );
        },
        &[(Code::ConfigDrift, &["n1"]), (Code::ConfigDrift, &["n2"])],
    ),
];

#[test]
fn drift_evidence_names_key_values_file_and_line_but_never_a_secret() {
    let mut s = healthy();
    same_configs(&mut s);
    let text = config(&IPS).replace("oms_meta_password: pw", "oms_meta_password: other");
    node_config(&mut s, 1, &text);
    let f = finding(&s, Code::ConfigDrift);
    assert_eq!(f.evidence["key"], "oms_meta_password");
    assert_eq!(f.evidence["file"], "config.yaml");
    assert_eq!(f.evidence["line"], "4");
    let all = format!("{f:?} {}", f.remedy());
    let digests = [&s.nodes[1], &s.nodes[0]].map(|n| {
        n.report.config.as_ref().expect("cfg").secret_digests["oms_meta_password"].clone()
    });
    for secret in ["other", &digests[0], &digests[1]] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    node_config(
        &mut s,
        1,
        &config(&IPS).replace("http://10.0.0.11:8088", "http://x:8088"),
    );
    let f = finding(&s, Code::ConfigDrift);
    assert_eq!(
        (
            &*f.evidence["node_value"],
            &*f.evidence["expected_value"],
            &*f.evidence["line"]
        ),
        ("http://x:8088", "http://10.0.0.11:8088", "7")
    );
    node_config(&mut s, 1, &config(&IPS).replace("drc_cm_db: oms_cm\n", ""));
    let f = finding(&s, Code::ConfigDrift);
    assert_eq!(f.evidence["node_value"], "(absent)");
    assert!(!f.evidence.contains_key("line"));
}
