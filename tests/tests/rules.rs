//! End-to-end tests of the runbook's deeper rules (issue 3): config.yaml rules,
//! several regions, drift, MetaDB cross-checks, clock, resources, OMS health and
//! components left with autostart=false. Real mariadbd, supervisord, namespaces.
#![allow(missing_docs)]

use std::time::Duration;

use anyhow::Context;
use omswatch_tests::cluster::{
    CM_DB, Cluster, ClusterSpec, ConfigEdit, HEARTBEAT_DB, codes, find, heartbeat_db,
    oms_programs_serving_health,
};
use omswatch_tests::{ProgramSpec, TrackedChild, is_gone};

type Result = anyhow::Result<()>;

fn edited(n: usize, edits: &[ConfigEdit]) -> ClusterSpec {
    let mut spec = ClusterSpec::healthy(n);
    spec.region_edits = edits.iter().map(|e| (0, e.clone())).collect();
    spec
}

/// Two regions, `per_region` nodes each, node names oms-node-1.. in order.
fn two_regions(per_region: usize) -> ClusterSpec {
    let mut spec = ClusterSpec::healthy(2 * per_region);
    spec.regions = 2;
    for (i, node) in spec.nodes.iter_mut().enumerate() {
        node.region = i / per_region;
    }
    spec
}

fn ip(cluster: &Cluster, i: usize) -> anyhow::Result<String> {
    Ok(cluster.net.node(i)?.ip.to_string())
}

#[tokio::test]
async fn config_key_missing() -> Result {
    let cluster = Cluster::start(edited(1, &[ConfigEdit::remove("cm_location")])).await?;
    let f = cluster.wait_finding("CONFIG_KEY_MISSING", &[]).await?;
    assert_eq!(f["evidence"]["key"], "cm_location");
    assert_eq!(
        f["evidence"]["file"],
        cluster.config_path.display().to_string()
    );
    Ok(())
}

#[tokio::test]
async fn cm_url_loopback_in_a_multi_node_region_then_port_mismatch_after_a_live_edit() -> Result {
    let cluster = Cluster::start(edited(
        2,
        &[ConfigEdit::set("cm_url", "http://127.0.0.1:8088")],
    ))
    .await?;
    let f = cluster.wait_finding("CM_URL_INVALID", &[]).await?;
    assert_eq!(f["evidence"]["cm_url"], "http://127.0.0.1:8088");
    // The collector re-reads config.yaml every tick: fixing the host but not the port shows at once.
    let text = std::fs::read_to_string(&cluster.config_path)?;
    let fixed = text.replace(
        "http://127.0.0.1:8088",
        &format!("http://{}:8099", ip(&cluster, 0)?),
    );
    std::fs::write(&cluster.config_path, fixed)?;
    let f = cluster.wait_finding("CM_URL_PORT_MISMATCH", &[]).await?;
    assert_eq!(f["evidence"]["url_port"], "8099");
    assert_eq!(f["evidence"]["cm_server_port"], "8088");
    let (doc, _) = cluster.status_json().await?;
    assert!(find(&doc, "CM_URL_INVALID").is_empty(), "{doc}");
    Ok(())
}

#[tokio::test]
async fn cm_location_out_of_range() -> Result {
    let cluster = Cluster::start(edited(1, &[ConfigEdit::set("cm_location", "128")])).await?;
    let f = cluster.wait_finding("CM_LOCATION_INVALID", &[]).await?;
    assert_eq!(f["evidence"]["cm_location"], "128");
    Ok(())
}

#[tokio::test]
async fn cm_nodes_duplicate_across_regions_shared_heartbeat_db_and_two_defaults() -> Result {
    let mut spec = two_regions(1);
    spec.region_edits = vec![
        (
            1,
            ConfigEdit::replace("cm_nodes:\n", "cm_nodes:\n  - {ip0}\n"),
        ),
        (1, ConfigEdit::set("drc_cm_heartbeat_db", HEARTBEAT_DB)),
        (1, ConfigEdit::set("cm_is_default", "true")),
    ];
    let cluster = Cluster::start(spec).await?;
    let f = cluster.wait_finding("CM_NODES_DUPLICATE", &[]).await?;
    assert_eq!(f["evidence"]["ip"], ip(&cluster, 0)?);
    let f = cluster.wait_finding("HEARTBEAT_DB_SHARED", &[]).await?;
    assert_eq!(f["evidence"]["db"], HEARTBEAT_DB);
    cluster.wait_finding("DEFAULT_REGION_COUNT", &[]).await?;
    Ok(())
}

#[tokio::test]
async fn cm_nodes_count_differs_from_reporting_nodes() -> Result {
    let mut spec = ClusterSpec::healthy(2);
    spec.extra_cm_nodes = vec![77];
    let cluster = Cluster::start(spec).await?;
    let f = cluster.wait_finding("CM_NODES_COUNT_MISMATCH", &[]).await?;
    assert_eq!(f["evidence"]["cm_nodes_count"], "3");
    assert_eq!(f["evidence"]["reporting_count"], "2");
    Ok(())
}

#[tokio::test]
async fn two_regions_are_checked_per_region_with_drift() -> Result {
    let mut spec = two_regions(2);
    spec.nodes[3].heartbeat_age_s = None; // region 1's heartbeat database lacks oms-node-4
    spec.nodes[2].config_edits = vec![ConfigEdit::set("cm_url", "http://10.231.254.254:8088")];
    let cluster = Cluster::start(spec).await?;
    cluster
        .wait_finding("HEARTBEAT_MISSING", &["oms-node-4"])
        .await?;
    let f = cluster
        .wait_finding("CONFIG_DRIFT", &["oms-node-3"])
        .await?;
    assert_eq!(f["evidence"]["key"], "cm_url");
    assert_eq!(f["evidence"]["node_value"], "http://10.231.254.254:8088");
    let (doc, _) = cluster.status_json().await?;
    let regions: Vec<(String, String)> = doc["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            (
                n["name"].as_str().unwrap_or("").into(),
                n["region"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert!(
        regions.contains(&("oms-node-1".into(), "region_0".into())),
        "{regions:?}"
    );
    assert!(
        regions.contains(&("oms-node-4".into(), "region_1".into())),
        "{regions:?}"
    );
    // Per-region checks: nothing about region 0's nodes, no cross-region confusion.
    for code in [
        "NODE_NOT_IN_CM_NODES",
        "CM_NODE_NOT_REPORTING",
        "HOST_ROW_MISSING",
    ] {
        assert!(find(&doc, code).is_empty(), "unexpected {code}: {doc}");
    }
    // The heartbeat of region 1 lives in its own database.
    cluster
        .db
        .upsert_heartbeat(&heartbeat_db(1), &ip(&cluster, 3)?, 0)
        .await?;
    cluster
        .wait_for("HEARTBEAT_MISSING cleared", Duration::from_secs(20), |s| {
            find(s, "HEARTBEAT_MISSING").is_empty()
        })
        .await?;
    Ok(())
}

#[tokio::test]
async fn node_config_unreadable() -> Result {
    let mut spec = ClusterSpec::healthy(1);
    spec.nodes[0].config_edits = vec![ConfigEdit::replace("cm_nodes:\n", "cm_nodes: [\n")];
    let cluster = Cluster::start(spec).await?;
    let f = cluster
        .wait_finding("NODE_CONFIG_UNREADABLE", &["oms-node-1"])
        .await?;
    assert!(
        f["evidence"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("YAML")),
        "{f}"
    );
    Ok(())
}

#[tokio::test]
async fn metadb_rows_outside_cm_nodes_and_duplicates() -> Result {
    let cluster = Cluster::start(ClusterSpec::healthy(1)).await?;
    let stranger = "10.231.254.200";
    cluster.db.insert_host(CM_DB, stranger, "ONLINE").await?;
    cluster
        .db
        .insert_host(CM_DB, &ip(&cluster, 0)?, "ONLINE")
        .await?;
    cluster
        .db
        .upsert_heartbeat(HEARTBEAT_DB, stranger, 0)
        .await?;
    let f = cluster.wait_finding("HOST_ROW_UNKNOWN", &[]).await?;
    assert_eq!(f["evidence"]["ip"], stranger);
    let f = cluster
        .wait_finding("HOST_ROW_DUPLICATE", &["oms-node-1"])
        .await?;
    assert_eq!(f["evidence"]["count"], "2");
    let f = cluster
        .wait_finding("HEARTBEAT_FROM_UNKNOWN_IP", &[])
        .await?;
    assert_eq!(f["evidence"]["ip"], stranger);
    assert_eq!(f["severity"], "critical");
    Ok(())
}

#[tokio::test]
async fn clock_skew_of_a_node_without_ntp() -> Result {
    let mut spec = ClusterSpec::healthy(2);
    spec.nodes[1].clock_offset = Some("+90s".into());
    let cluster = Cluster::start(spec).await?;
    let f = cluster.wait_finding("CLOCK_SKEW", &["oms-node-2"]).await?;
    let skew: f64 = f["evidence"]["skew_s"]
        .as_str()
        .unwrap_or_default()
        .parse()?;
    assert!((80.0..100.0).contains(&skew), "{f}");
    let (doc, _) = cluster.status_json().await?;
    assert!(
        find(&doc, "CLOCK_SKEW")
            .iter()
            .all(|f| f["nodes"][0] == "oms-node-2"),
        "node 1 is in sync: {doc}"
    );
    // The skewed agent runs as itself, under no forking wrapper, and the dropped cluster leaves
    // nothing behind, all reaped (issue 13: `faketime`'s child outlived its test).
    let skewed = cluster.agents[1].as_ref().context("agent of oms-node-2")?;
    let agent = skewed.id().context("agent pid")?;
    let exe = std::fs::read_link(format!("/proc/{agent}/exe"))?;
    assert!(exe.ends_with("omswatch-agent"), "{}", exe.display());
    assert_eq!(skewed.pids(), [agent]);
    let pids = cluster.pids();
    let started = 2 + 1 + 2 * (1 + 4) + 1; // agents, collector, supervisords + programs, mariadbd
    assert!(pids.len() >= started, "{pids:?}");
    drop(cluster);
    let left: Vec<u32> = pids.into_iter().filter(|pid| !is_gone(*pid)).collect();
    assert!(left.is_empty(), "running or unreaped after drop: {left:?}");
    Ok(())
}

#[tokio::test]
async fn resources_over_thresholds() -> Result {
    let mut spec = ClusterSpec::healthy(1);
    // Thresholds every real machine exceeds: the values come from the node's real /proc and statvfs.
    spec.collector_args = [
        "--load-per-cpu",
        "0.000001",
        "--memory-available-min-pct",
        "100",
        "--disk-used-max-pct",
        "0",
    ]
    .map(String::from)
    .to_vec();
    // Make sure the 5-minute load is not 0.00 on an idle machine.
    let mut busy = TrackedChild::spawn(
        tokio::process::Command::new("sh").args(["-c", "while :; do :; done"]),
    )?;
    let cluster = Cluster::start(spec).await?;
    let f = cluster.wait_finding("MEMORY_LOW", &["oms-node-1"]).await?;
    assert!(
        f["evidence"]["available_pct"]
            .as_str()
            .and_then(|p| p.parse::<f64>().ok())
            .is_some_and(|p| p < 100.0)
    );
    let f = cluster.wait_finding("DISK_LOW", &["oms-node-1"]).await?;
    assert!(
        f["evidence"]["path"]
            .as_str()
            .is_some_and(|p| p.contains("logs-oms-node-1")),
        "{f}"
    );
    cluster.wait_finding("LOAD_HIGH", &["oms-node-1"]).await?;
    busy.kill();
    Ok(())
}

#[tokio::test]
async fn oms_health_endpoint_unhealthy_and_docker_init_not_run() -> Result {
    let mut spec = ClusterSpec::healthy(2);
    spec.nodes[0].programs = oms_programs_serving_health(false);
    spec.nodes[1].docker_init_ran = false;
    let cluster = Cluster::start(spec).await?;
    let f = cluster
        .wait_finding("OMS_HEALTH_FAILED", &["oms-node-1"])
        .await?;
    assert!(
        f["evidence"]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(":8089/oms/health")),
        "{f}"
    );
    cluster
        .wait_finding("DOCKER_INIT_NOT_RUN", &["oms-node-2"])
        .await?;
    // Stopping nginx makes node 2's health fail too (connection refused).
    cluster.supervisors[1].stop_program("nginx").await?;
    cluster
        .wait_finding("OMS_HEALTH_FAILED", &["oms-node-2"])
        .await?;
    Ok(())
}

#[tokio::test]
async fn stopped_component_with_autostart_false_says_so() -> Result {
    let mut spec = ClusterSpec::healthy(1);
    for p in spec.nodes[0]
        .programs
        .iter_mut()
        .filter(|p| p.name == "oms_console")
    {
        *p = ProgramSpec {
            autostart: false,
            ..p.clone()
        };
    }
    let cluster = Cluster::start(spec).await?;
    let f = cluster
        .wait_finding("COMPONENT_NOT_RUNNING", &["oms-node-1"])
        .await?;
    assert_eq!(f["evidence"]["program"], "oms_console");
    assert!(
        f["remedy"]
            .as_str()
            .is_some_and(|r| r.contains("autostart=false")),
        "{f}"
    );
    Ok(())
}

#[tokio::test]
async fn a_healthy_two_region_cluster_is_clean() -> Result {
    let cluster = Cluster::start(two_regions(1)).await?;
    let doc = cluster
        .wait_for("no findings", Duration::from_secs(20), |s| {
            codes(s).is_empty()
        })
        .await;
    assert!(doc.is_ok(), "{doc:?}");
    Ok(())
}
