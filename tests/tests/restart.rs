//! Nothing is lost on a collector restart: a node that died while the collector
//! was down is still reported, from the store; a forgotten node is gone from it.
#![allow(missing_docs)]

use std::time::Duration;

use omswatch_tests::cluster::{Cluster, ClusterSpec, codes};

#[tokio::test]
async fn a_node_that_died_across_a_collector_restart_is_still_silent() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(ClusterSpec::healthy(2)).await?;
    cluster
        .wait_for("a clean cluster", Duration::from_secs(20), |s| {
            codes(s).is_empty()
        })
        .await?;
    // Reports reach the store within the writer's flush delay (200 ms); give it that.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    cluster.kill_agent(1).await?;
    cluster.restart_collector().await?; // SIGKILL: only what was saved on a tick survives
    let f = cluster.wait_finding("NODE_SILENT", &["oms-node-2"]).await?;
    assert_eq!(f["evidence"]["node"], "oms-node-2");
    let (doc, _) = cluster.status_json().await?;
    let names: Vec<&str> = doc["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(names, ["oms-node-1", "oms-node-2"], "{doc}");
    let node1 = &doc["nodes"][0];
    assert_eq!(
        node1["state"], "ONLINE",
        "node 1's agent reconnected: {doc}"
    );
    assert!(cluster.all_logs().contains("restored nodes from the store"));
    Ok(())
}

#[tokio::test]
async fn a_decommissioned_node_can_be_forgotten_but_a_live_one_cannot() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(ClusterSpec::healthy(2)).await?;
    let (out, code) = cluster.omswatch(&["forget", "oms-node-1"]).await?;
    assert_eq!(code, 3, "a live node is refused: {out}");
    let (_, code) = cluster.omswatch(&["forget", "no-such-node"]).await?;
    assert_eq!(code, 3);
    cluster.kill_agent(1).await?;
    cluster.wait_finding("NODE_SILENT", &["oms-node-2"]).await?;
    let (out, code) = cluster.omswatch(&["forget", "oms-node-2"]).await?;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("forgot oms-node-2"), "{out}");
    let doc = cluster
        .wait_for("oms-node-2 gone", Duration::from_secs(10), |s| {
            s["nodes"].as_array().is_some_and(|n| n.len() == 1)
                && !codes(s).contains(&"NODE_SILENT".to_string())
        })
        .await?;
    assert_eq!(doc["nodes"][0]["name"], "oms-node-1");
    // Forgotten for good: a restart restores from the store without it.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    cluster.restart_collector().await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (doc, _) = cluster.status_json().await?;
    assert!(!doc.to_string().contains("\"oms-node-2\""), "{doc}");
    Ok(())
}
