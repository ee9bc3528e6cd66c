//! The CLI contract: the documented JSON shape, the table, and exit codes
//! 0 (nothing above info) / 1 (warnings) / 2 (critical) / 3 (unreachable, bad usage).
#![allow(missing_docs)]

use std::collections::BTreeSet;
use std::time::Duration;

use omswatch_tests::cluster::{Cluster, ClusterSpec, OmsHostIp, codes};
use omswatch_tests::{bin_path, free_port};

type Result = anyhow::Result<()>;

fn keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn json_matches_the_documented_shape_and_critical_exits_2() -> Result {
    let mut spec = ClusterSpec::healthy(2);
    spec.nodes[1].oms_host_ip = OmsHostIp::OfNode(0);
    let cluster = Cluster::start(spec).await?;
    cluster
        .wait_finding("DUPLICATE_OMS_HOST_IP", &["oms-node-1", "oms-node-2"])
        .await?;
    let (doc, code) = cluster.status_json().await?;
    assert_eq!(code, 2);
    assert!(keys(&doc).is_superset(&set(&["nodes", "findings"])));
    let node_keys = set(&[
        "name",
        "oms_host_ip",
        "hostname_ips",
        "state",
        "components",
        "host_status",
        "heartbeat_age_s",
        "last_report_age_s",
    ]);
    for node in doc["nodes"].as_array().into_iter().flatten() {
        assert!(keys(node).is_superset(&node_keys), "{node}");
        assert!(
            ["ONLINE", "DEGRADED", "DOWN"].contains(&node["state"].as_str().unwrap_or_default())
        );
        assert!(node["hostname_ips"].is_array() && node["components"].is_array());
        for c in node["components"].as_array().into_iter().flatten() {
            assert!(keys(c).is_superset(&set(&["name", "state"])), "{c}");
        }
    }
    let finding_keys = set(&[
        "code",
        "severity",
        "nodes",
        "message",
        "remedy",
        "evidence",
        "id",
        "caused_by",
        "explains",
    ]);
    let findings = doc["findings"].as_array().cloned().unwrap_or_default();
    assert!(!findings.is_empty());
    let rank = |s: &serde_json::Value| match s.as_str() {
        Some("critical") => 2,
        Some("warning") => 1,
        _ => 0,
    };
    for pair in findings.windows(2) {
        assert!(
            rank(&pair[0]["severity"]) >= rank(&pair[1]["severity"]),
            "not most severe first"
        );
    }
    for f in &findings {
        assert!(keys(f).is_superset(&finding_keys), "{f}");
        assert!(f["evidence"].is_object() && f["nodes"].is_array());
        assert!(f["id"].as_str().is_some_and(|id| !id.is_empty()), "{f}");
        assert!(
            f["caused_by"].is_null() || f["caused_by"].is_string(),
            "{f}"
        );
        assert!(f["explains"].is_array(), "{f}");
    }
    // The duplicated IP is the root; what it explains is folded under it by id.
    let root = findings
        .iter()
        .find(|f| f["code"] == "DUPLICATE_OMS_HOST_IP")
        .ok_or_else(|| anyhow::anyhow!("no DUPLICATE_OMS_HOST_IP"))?;
    assert!(root["caused_by"].is_null(), "{root}");
    for symptom in root["explains"].as_array().into_iter().flatten() {
        let folded = findings.iter().find(|f| &f["id"] == symptom);
        assert!(
            folded.is_some_and(|f| f["caused_by"] == root["id"]),
            "{symptom} is not folded under {}",
            root["id"]
        );
    }
    let (table, code) = cluster.omswatch(&["status"]).await?;
    assert_eq!(code, 2);
    assert!(
        table.contains("DUPLICATE_OMS_HOST_IP") && table.contains("fix:"),
        "{table}"
    );
    Ok(())
}

#[tokio::test]
async fn warnings_only_exit_1() -> Result {
    let mut spec = ClusterSpec::healthy(2);
    spec.nodes[1].agent = false; // deployed OMS node, agent missing: a warning, not an outage.
    let cluster = Cluster::start(spec).await?;
    let doc = cluster
        .wait_for(
            "the missing agent, as warnings only",
            Duration::from_secs(20),
            |s| {
                codes(s).contains(&"CM_NODE_NOT_REPORTING".to_string())
                    && s["findings"]
                        .as_array()
                        .is_some_and(|f| f.iter().all(|f| f["severity"] == "warning"))
            },
        )
        .await?;
    let expected = ["CM_NODE_NOT_REPORTING", "CM_NODES_COUNT_MISMATCH"];
    assert!(
        codes(&doc).iter().all(|c| expected.contains(&c.as_str())),
        "{doc}"
    );
    let (_, code) = cluster.status_json().await?;
    assert_eq!(code, 1);
    Ok(())
}

#[tokio::test]
async fn unreachable_collector_and_bad_usage_exit_3() -> Result {
    let port = free_port()?;
    let out = tokio::process::Command::new(bin_path("omswatch")?)
        .args([
            "status",
            "--collector",
            &format!("http://127.0.0.1:{port}"),
            "--timeout",
            "3s",
            "--insecure",
        ])
        .output()
        .await?;
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Connection refused") || stderr.contains("connect"),
        "{stderr}"
    );
    for args in [
        &["status", "--format", "xml"][..],
        &["status", "--no-such-flag"],
        &["frobnicate"],
    ] {
        let out = tokio::process::Command::new(bin_path("omswatch")?)
            .args(args)
            .output()
            .await?;
        assert_eq!(out.status.code(), Some(3), "{args:?}");
    }
    let out = tokio::process::Command::new(bin_path("omswatch")?)
        .args(["explain", "duplicate_oms_host_ip"])
        .output()
        .await?;
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DUPLICATE_OMS_HOST_IP (critical)"));
    Ok(())
}
