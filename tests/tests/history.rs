//! The timeline end to end, with the real binaries: a component stopped and
//! started on one node is raised and cleared with the node's state changes;
//! `omswatch history` shows the same events after the collector is killed with
//! SIGKILL and restarted, and the restart adds no storm of events. With the
//! SQLite default, then with a MariaDB store (`--store mysql://...`, password in a file).
#![allow(missing_docs)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use omswatch_tests::cluster::{
    Cluster, ClusterSpec, META_PASSWORD, STORE_PASSWORD, StoreKind, codes, find,
};
use serde_json::Value;

const CODE: &str = "COMPONENT_NOT_RUNNING";
const NODE: &str = "oms-node-2";

fn is(e: &Value, kind: &str) -> bool {
    e["kind"] == kind && e["code"] == CODE && e["nodes"] == serde_json::json!([NODE])
}

fn went(e: &Value, from: &str, to: &str) -> bool {
    e["kind"] == "node_state"
        && e["nodes"] == serde_json::json!([NODE])
        && e["from"] == from
        && e["to"] == to
}

fn ids(events: &[Value]) -> HashSet<String> {
    events
        .iter()
        .filter_map(|e| e["id"].as_str().map(String::from))
        .collect()
}

async fn stop_start_and_kill(store: StoreKind) -> anyhow::Result<()> {
    let spec = ClusterSpec {
        store,
        ..ClusterSpec::healthy(2)
    };
    let mut cluster = Cluster::start(spec).await?;
    cluster
        .wait_for("a clean cluster", Duration::from_secs(20), |s| {
            codes(s).is_empty()
        })
        .await?;
    // The timeline records at its ticks: wait until it has seen both nodes ONLINE, else a stop
    // right after the start shows node 2 first seen DOWN, never ONLINE -> DOWN.
    cluster
        .wait_history("both nodes ONLINE in the timeline", |ev| {
            let online = |e: &&Value| e["kind"] == "node_state" && e["to"] == "ONLINE";
            ev.iter().filter(online).count() >= 2
        })
        .await?;
    cluster.supervisors[1].stop_program("oms_console").await?;
    cluster
        .wait_history("raised and DOWN", |ev| {
            ev.iter().any(|e| is(e, "raised")) && ev.iter().any(|e| went(e, "ONLINE", "DOWN"))
        })
        .await?;
    let (status, _) = cluster.status_json().await?;
    let since = find(&status, CODE)[0]["since_unix_ms"].as_i64();
    let generated = status["generated_at_unix_ms"].as_i64();
    assert!(
        since.is_some_and(|s| Some(s) <= generated),
        "the status says since when the finding is active: {status}"
    );
    assert_eq!(status["store"]["up"], true, "{status}");
    let (table, _) = cluster.omswatch(&["status"]).await?;
    assert!(
        table.contains(&format!("{CODE}  [{NODE}]  for ")),
        "{table}"
    );
    cluster.supervisors[1].start_program("oms_console").await?;
    let before = cluster
        .wait_history("cleared and ONLINE", |ev| {
            ev.iter().any(|e| is(e, "cleared")) && ev.iter().any(|e| went(e, "DOWN", "ONLINE"))
        })
        .await?;
    let raised = before.iter().position(|e| is(e, "raised"));
    let cleared = before.iter().position(|e| is(e, "cleared"));
    assert!(raised < cleared, "oldest first: {before:#?}");

    cluster.restart_collector().await?; // SIGKILL: only what the store holds survives
    let restarted = cluster
        .wait_history("the restart", |ev| {
            ev.iter().filter(|e| e["kind"] == "collector").count() >= 2
        })
        .await?;
    let start = restarted
        .iter()
        .rev()
        .find(|e| e["kind"] == "collector")
        .cloned();
    assert!(
        start
            .as_ref()
            .and_then(|e| e["message"].as_str())
            .is_some_and(|m| m.contains("killed")),
        "the start says the previous run was killed: {start:?}"
    );
    assert!(
        ids(&before).is_subset(&ids(&restarted)),
        "every event survived the kill"
    );
    // Past the restart grace (agents reconnect within a second here) nothing new is recorded:
    // no NODE_SILENT raised and cleared for every node, no DOWN/ONLINE flapping.
    cluster
        .wait_for("agents back", Duration::from_secs(20), |s| {
            codes(s).is_empty()
        })
        .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = cluster.history(&[]).await?;
    let new: Vec<&Value> = after
        .iter()
        .filter(|e| !ids(&restarted).contains(e["id"].as_str().unwrap_or_default()))
        .collect();
    assert!(new.is_empty(), "the restart recorded no events: {new:#?}");

    let coded = cluster.history(&["--code", CODE, "--node", NODE]).await?;
    let kinds: Vec<&str> = coded.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["raised", "cleared"], "{coded:#?}");
    let (table, code) = cluster.omswatch(&["history", "--node", NODE]).await?;
    assert_eq!(code, 0, "{table}");
    assert!(
        table.contains("ONLINE -> DOWN") && table.contains("DOWN -> ONLINE"),
        "{table}"
    );
    let (json, _) = cluster
        .omswatch(&["history", "--format", "json", "--limit", "5000"])
        .await?;
    for secret in [META_PASSWORD, STORE_PASSWORD] {
        assert!(!json.contains(secret), "a secret in the history");
        assert!(!cluster.all_logs().contains(secret), "a secret in the logs");
    }
    Ok(())
}

#[tokio::test]
async fn history_of_a_stopped_component_survives_a_sigkill_with_sqlite() -> anyhow::Result<()> {
    stop_start_and_kill(StoreKind::Sqlite).await
}

#[tokio::test]
async fn history_of_a_stopped_component_survives_a_sigkill_with_mariadb() -> anyhow::Result<()> {
    stop_start_and_kill(StoreKind::MariaDb).await
}

#[tokio::test]
async fn a_collector_killed_a_second_after_its_agents_connected_restarts_with_every_node()
-> anyhow::Result<()> {
    let mut cluster = Cluster::start(ClusterSpec::healthy(3)).await?;
    let connected = Instant::now(); // every agent has reported by now
    for i in 0..3 {
        cluster.kill_agent(i).await?; // only the store can bring them back
    }
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(connected.elapsed())).await;
    cluster.restart_collector().await?;
    let doc = cluster
        .wait_for(
            "the nodes restored from the store",
            Duration::from_secs(15),
            |s| s["nodes"].as_array().is_some_and(|n| !n.is_empty()),
        )
        .await?;
    let names: Vec<&str> = doc["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(names, ["oms-node-1", "oms-node-2", "oms-node-3"], "{doc}");
    Ok(())
}
