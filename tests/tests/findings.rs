//! One end-to-end test per finding code: real mariadbd, real supervisord, agents
//! in their own network namespaces, the real collector and the real `omswatch` CLI.
#![allow(missing_docs)]

use std::time::Duration;

use omswatch_tests::ProgramSpec;
use omswatch_tests::cluster::{
    Cluster, ClusterSpec, HEARTBEAT_DB, META_PASSWORD, NodeSpec, OmsHostIp, codes, find,
};

type Result = anyhow::Result<()>;

fn with_node(n: usize, i: usize, change: impl FnOnce(&mut NodeSpec)) -> ClusterSpec {
    let mut spec = ClusterSpec::healthy(n);
    change(&mut spec.nodes[i]);
    spec
}

#[tokio::test]
async fn healthy_cluster_has_no_findings_and_exits_0() -> Result {
    let cluster = Cluster::start(ClusterSpec::healthy(2)).await?;
    let doc = cluster
        .wait_for("all nodes ONLINE", Duration::from_secs(20), |s| {
            s["nodes"]
                .as_array()
                .is_some_and(|n| n.iter().all(|n| n["state"] == "ONLINE"))
        })
        .await?;
    assert_eq!(codes(&doc), Vec::<String>::new());
    let node = &doc["nodes"][0];
    assert_eq!(node["host_status"], "ONLINE");
    assert!(
        node["heartbeat_age_s"]
            .as_i64()
            .is_some_and(|a| (0..60).contains(&a)),
        "{node}"
    );
    assert_eq!(node["components"].as_array().map(Vec::len), Some(4));
    let (_, code) = cluster.status_json().await?;
    assert_eq!(code, 0);
    let (table, code) = cluster.omswatch(&["status"]).await?;
    assert_eq!(code, 0);
    assert!(table.contains("No findings"), "{table}");
    assert!(
        !cluster.all_logs().contains(META_PASSWORD),
        "the MetaDB password leaked into a log"
    );
    Ok(())
}

#[tokio::test]
async fn duplicate_oms_host_ip_names_every_node() -> Result {
    let mut spec = ClusterSpec::healthy(3);
    spec.nodes[1].oms_host_ip = OmsHostIp::OfNode(0);
    spec.nodes[2].oms_host_ip = OmsHostIp::OfNode(0);
    let cluster = Cluster::start(spec).await?;
    let f = cluster
        .wait_finding(
            "DUPLICATE_OMS_HOST_IP",
            &["oms-node-1", "oms-node-2", "oms-node-3"],
        )
        .await?;
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["evidence"]["ip"], cluster.net.node(0)?.ip.to_string());
    assert!(
        f["remedy"]
            .as_str()
            .is_some_and(|r| r.contains("OMS_HOST_IP")),
        "{f}"
    );
    Ok(())
}

#[tokio::test]
async fn oms_host_ip_missing() -> Result {
    let cluster = Cluster::start(with_node(1, 0, |n| n.oms_host_ip = OmsHostIp::Unset)).await?;
    let f = cluster
        .wait_finding("OMS_HOST_IP_MISSING", &["oms-node-1"])
        .await?;
    assert_eq!(
        f["evidence"]["hostname_ips"],
        cluster.net.node(0)?.ip.to_string()
    );
    let (doc, _) = cluster.status_json().await?;
    assert!(doc["nodes"][0]["oms_host_ip"].is_null(), "{doc}");
    Ok(())
}

#[tokio::test]
async fn oms_host_ip_mismatch_when_hostname_resolves_elsewhere() -> Result {
    let elsewhere = "10.231.255.254".parse()?;
    let cluster = Cluster::start(with_node(1, 0, |n| n.hosts_ip = Some(elsewhere))).await?;
    let f = cluster
        .wait_finding("OMS_HOST_IP_MISMATCH", &["oms-node-1"])
        .await?;
    assert_eq!(f["evidence"]["hostname_ips"], "10.231.255.254");
    assert_eq!(
        f["evidence"]["oms_host_ip"],
        cluster.net.node(0)?.ip.to_string()
    );
    Ok(())
}

#[tokio::test]
async fn node_not_in_cm_nodes() -> Result {
    let cluster = Cluster::start(with_node(2, 1, |n| n.in_cm_nodes = false)).await?;
    let f = cluster
        .wait_finding("NODE_NOT_IN_CM_NODES", &["oms-node-2"])
        .await?;
    assert_eq!(
        f["evidence"]["file"],
        cluster.config_path.display().to_string()
    );
    Ok(())
}

#[tokio::test]
async fn cm_node_not_reporting() -> Result {
    let mut spec = ClusterSpec::healthy(1);
    spec.extra_cm_nodes = vec![99];
    let cluster = Cluster::start(spec).await?;
    let f = cluster.wait_finding("CM_NODE_NOT_REPORTING", &[]).await?;
    assert!(
        f["evidence"]["ip"]
            .as_str()
            .is_some_and(|ip| ip.ends_with(".99")),
        "{f}"
    );
    assert_eq!(f["severity"], "warning");
    // The extra IP has no host row or heartbeat either: the MetaDB checks see it too.
    let (doc, code) = cluster.status_json().await?;
    assert!(codes(&doc).contains(&"HOST_ROW_MISSING".to_string()));
    assert_eq!(code, 2);
    Ok(())
}

#[tokio::test]
async fn node_silent_after_its_agent_dies() -> Result {
    let mut cluster = Cluster::start(ClusterSpec::healthy(2)).await?;
    cluster.kill_agent(1).await?;
    let f = cluster.wait_finding("NODE_SILENT", &["oms-node-2"]).await?;
    assert!(
        f["evidence"]["last_report_age_s"]
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .is_some_and(|a| a >= 3)
    );
    let (doc, _) = cluster.status_json().await?;
    let node = doc["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["name"] == "oms-node-2"))
        .cloned();
    assert_eq!(node.map(|n| n["state"].clone()), Some("DOWN".into()));
    Ok(())
}

#[tokio::test]
async fn host_row_missing() -> Result {
    let cluster = Cluster::start(with_node(2, 1, |n| n.host_status = None)).await?;
    cluster
        .wait_finding("HOST_ROW_MISSING", &["oms-node-2"])
        .await?;
    Ok(())
}

#[tokio::test]
async fn host_not_online() -> Result {
    let cluster =
        Cluster::start(with_node(2, 0, |n| n.host_status = Some("OFFLINE".into()))).await?;
    let f = cluster
        .wait_finding("HOST_NOT_ONLINE", &["oms-node-1"])
        .await?;
    assert_eq!(f["evidence"]["host_status"], "OFFLINE");
    Ok(())
}

#[tokio::test]
async fn heartbeat_missing() -> Result {
    let cluster = Cluster::start(with_node(2, 1, |n| n.heartbeat_age_s = None)).await?;
    cluster
        .wait_finding("HEARTBEAT_MISSING", &["oms-node-2"])
        .await?;
    Ok(())
}

#[tokio::test]
async fn heartbeat_stale_by_the_databases_clock() -> Result {
    let cluster = Cluster::start(with_node(1, 0, |n| n.heartbeat_age_s = Some(300))).await?;
    let f = cluster
        .wait_finding("HEARTBEAT_STALE", &["oms-node-1"])
        .await?;
    let age: i64 = f["evidence"]["age_s"]
        .as_str()
        .unwrap_or_default()
        .trim_end_matches('s')
        .parse()?;
    assert!((300..400).contains(&age), "{f}");
    // A fresh heartbeat clears it.
    cluster
        .db
        .upsert_heartbeat(HEARTBEAT_DB, &cluster.net.node(0)?.ip.to_string(), 0)
        .await?;
    cluster
        .wait_for("HEARTBEAT_STALE cleared", Duration::from_secs(20), |s| {
            find(s, "HEARTBEAT_STALE").is_empty()
        })
        .await?;
    Ok(())
}

#[tokio::test]
async fn component_not_running_when_a_program_exits() -> Result {
    let cluster = Cluster::start(with_node(1, 0, |n| {
        n.programs.retain(|p| p.name != "oms_drc_cm");
        n.programs.push(ProgramSpec::failing("oms_drc_cm"));
    }))
    .await?;
    let f = cluster
        .wait_finding("COMPONENT_NOT_RUNNING", &["oms-node-1"])
        .await?;
    assert_eq!(f["evidence"]["program"], "oms_drc_cm");
    assert!(
        f["remedy"]
            .as_str()
            .is_some_and(|r| r.contains("supervisorctl restart oms_drc_cm")),
        "{f}"
    );
    // Stopping a running program is seen too, and the node is DOWN.
    cluster.supervisors[0].stop_program("oms_console").await?;
    let doc = cluster
        .wait_for(
            "oms_console STOPPED reported",
            Duration::from_secs(20),
            |s| {
                find(s, "COMPONENT_NOT_RUNNING")
                    .iter()
                    .any(|f| f["evidence"]["program"] == "oms_console")
            },
        )
        .await?;
    assert_eq!(doc["nodes"][0]["state"], "DOWN");
    Ok(())
}

#[tokio::test]
async fn supervisor_unreachable_when_supervisord_dies() -> Result {
    let mut cluster = Cluster::start(ClusterSpec::healthy(1)).await?;
    cluster.supervisors[0].kill().await?;
    let f = cluster
        .wait_finding("SUPERVISOR_UNREACHABLE", &["oms-node-1"])
        .await?;
    assert!(
        f["evidence"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{f}"
    );
    Ok(())
}

#[tokio::test]
async fn metadb_unreachable_mid_run_and_the_rest_still_answers() -> Result {
    let mut cluster = Cluster::start(ClusterSpec::healthy(2)).await?;
    cluster
        .wait_for("ONLINE", Duration::from_secs(20), |s| codes(s).is_empty())
        .await?;
    cluster.db.stop().await?;
    let doc = cluster
        .wait_for("METADB_UNREACHABLE", Duration::from_secs(30), |s| {
            !find(s, "METADB_UNREACHABLE").is_empty()
        })
        .await?;
    assert_eq!(
        doc["nodes"].as_array().map(Vec::len),
        Some(2),
        "nodes still listed: {doc}"
    );
    let f = find(&doc, "METADB_UNREACHABLE")[0].clone();
    assert!(
        !f.to_string().contains(META_PASSWORD),
        "password in the finding: {f}"
    );
    assert_eq!(f["evidence"]["user"], omswatch_tests::cluster::META_USER);
    // The database coming back clears the finding.
    cluster.db.restart().await?;
    cluster
        .wait_for("METADB_UNREACHABLE cleared", Duration::from_secs(30), |s| {
            find(s, "METADB_UNREACHABLE").is_empty()
        })
        .await?;
    Ok(())
}

#[tokio::test]
async fn config_invalid_names_file_key_and_line() -> Result {
    let mut spec = ClusterSpec::healthy(1);
    spec.config_text = Some(
        "oms_meta_host: 127.0.0.1\noms_meta_port: {port}\noms_meta_user: oms_meta\ndrc_cm_db: oms_cm\n\
         drc_cm_heartbeat_db: oms_cm_heartbeat_0\ncm_url: http://x:8088\ncm_nodes:\n  - 10.0.0.1\n bad: [oops\n"
            .into(),
    );
    let cluster = Cluster::start(spec).await?;
    let f = cluster.wait_finding("CONFIG_INVALID", &[]).await?;
    assert_eq!(
        f["evidence"]["file"],
        cluster.config_path.display().to_string()
    );
    assert_eq!(f["evidence"]["key"], "cm_nodes");
    let line: usize = f["evidence"]["line"].as_str().unwrap_or_default().parse()?;
    assert!((8..=9).contains(&line), "{f}");
    // Fixing the YAML but dropping a required key: CONFIG_INVALID for that key, picked up without a restart.
    let text = std::fs::read_to_string(&cluster.config_path)?
        .replace(" bad: [oops\n", "")
        .replace("cm_url: http://x:8088\n", "");
    std::fs::write(&cluster.config_path, text)?;
    let doc = cluster
        .wait_for("CONFIG_INVALID for cm_url", Duration::from_secs(20), |s| {
            find(s, "CONFIG_INVALID")
                .iter()
                .any(|f| f["evidence"]["key"] == "cm_url")
        })
        .await?;
    assert_eq!(
        doc["nodes"].as_array().map(Vec::len),
        Some(1),
        "the status still answers"
    );
    Ok(())
}
