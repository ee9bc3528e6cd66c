//! `omswatch restart` end to end, over mutual TLS, with the real binaries: a collector
//! started with `--allow-restart`, agents started with `--allow-restart` (or not) through
//! the spec's agent arguments, a real supervisord per node. A stopped oms_console comes
//! back (exit 0) and the timeline shows who did it; every refusal names the switch or
//! rule and leaves the program's pid as it was, checked through supervisorctl.
#![allow(missing_docs)]

use std::time::Duration;

use omswatch_tests::ProgramSpec;
use omswatch_tests::cluster::{CliRun, Cluster, ClusterSpec, codes};
use serde_json::Value;

const PROGRAM: &str = "oms_console";

fn allow_restart() -> Vec<String> {
    vec!["--allow-restart".into()]
}

/// The collector allows restarts; nodes' agents as given.
fn spec(nodes: usize, agents_allow: &[bool]) -> ClusterSpec {
    let mut spec = ClusterSpec::healthy(nodes);
    spec.collector_args.extend(allow_restart());
    for (node, allow) in spec.nodes.iter_mut().zip(agents_allow) {
        if *allow {
            node.agent_args = allow_restart();
        }
    }
    spec
}

async fn restart(cluster: &Cluster, node: &str, program: &str) -> anyhow::Result<CliRun> {
    cluster
        .omswatch_run(&["restart", node, program, "--reason", "e2e test"])
        .await
}

/// Asks until the node's stream is open at the collector (after a restart of either).
async fn restart_once_connected(
    cluster: &Cluster,
    node: &str,
    program: &str,
) -> anyhow::Result<CliRun> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let run = restart(cluster, node, program).await?;
        let waiting = run.stderr.contains("no open report stream")
            || run.stderr.contains("has not reported yet")
            || run.stderr.contains("Is omswatch-collector running");
        if !waiting || tokio::time::Instant::now() > deadline {
            return Ok(run);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Asserts a refusal (exit 3) whose text holds `expected`, and that node `i`'s
/// `program` still runs with `pid`.
async fn refused(
    cluster: &Cluster,
    run: &CliRun,
    expected: &str,
    (i, program, pid): (usize, &str, u32),
) -> anyhow::Result<()> {
    assert_eq!(run.code, 3, "{run:?}\n{}", cluster.logs());
    assert!(run.stderr.contains(expected), "want {expected:?}: {run:?}");
    assert_eq!(
        cluster.supervisors[i].program_pid(program).await?,
        pid,
        "{program} on node {i} was touched by a refused restart"
    );
    Ok(())
}

async fn pid(cluster: &Cluster, i: usize, program: &str) -> anyhow::Result<u32> {
    cluster.supervisors[i].program_pid(program).await
}

fn remediations(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["kind"] == "remediation")
        .collect()
}

#[tokio::test]
async fn a_stopped_program_is_restarted_and_audited_once_a_minute() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(spec(3, &[true, true, true])).await?;
    cluster
        .wait_for("a clean cluster", Duration::from_secs(20), |s| {
            codes(s).is_empty()
        })
        .await?;
    cluster.supervisors[2].stop_program(PROGRAM).await?;
    cluster
        .wait_finding("COMPONENT_NOT_RUNNING", &["oms-node-3"])
        .await?;
    let run = restart(&cluster, "oms-node-3", PROGRAM).await?;
    assert_eq!(run.code, 0, "{run:?}\n{}", cluster.logs());
    assert!(
        run.stdout
            .contains("tester restarted oms_console on oms-node-3: RUNNING after"),
        "{run:?}"
    );
    assert_eq!(
        cluster.supervisors[2].program_state(PROGRAM).await?,
        "RUNNING"
    );
    let pid = cluster.supervisors[2].program_pid(PROGRAM).await?;

    let events = cluster.history(&["--kind", "remediation"]).await?;
    let results: Vec<&str> = events.iter().filter_map(|e| e["result"].as_str()).collect();
    assert_eq!(results, ["requested", "running"], "{events:#?}");
    let done = &events[1];
    assert_eq!(done["actor"], "tester");
    assert_eq!(done["program"], PROGRAM);
    assert_eq!(done["nodes"], serde_json::json!(["oms-node-3"]));
    assert_eq!(done["reason"], "e2e test");
    assert!(
        done["code"].is_null() && done["duration_ms"].as_i64().is_some(),
        "{done}"
    );
    let (table, code) = cluster
        .omswatch(&["history", "--kind", "remediation"])
        .await?;
    assert_eq!(code, 0);
    assert!(table.contains("restart oms_console: running"), "{table}");

    let again = restart(&cluster, "oms-node-3", PROGRAM).await?;
    refused(
        &cluster,
        &again,
        "one restart per node and program per minute",
        (2, PROGRAM, pid),
    )
    .await?;
    // A restarted collector has forgotten the minute; the agent has not.
    cluster.restart_collector().await?;
    let agent_side = restart_once_connected(&cluster, "oms-node-3", PROGRAM).await?;
    refused(
        &cluster,
        &agent_side,
        "restarted on this node",
        (2, PROGRAM, pid),
    )
    .await?;

    let node_cert = cluster
        .pki
        .as_ref()
        .and_then(|p| p.node("oms-node-3"))
        .cloned();
    let as_node = cluster.client_tls_args(node_cert.as_ref());
    let run = cluster
        .omswatch_with(&["restart", "oms-node-3", PROGRAM], &as_node)
        .await?;
    refused(
        &cluster,
        &run,
        "node oms-node-3 may not restart",
        (2, PROGRAM, pid),
    )
    .await?;
    let pki = cluster.pki.clone().expect("TLS");
    let read_only = vec![
        "--ca".to_string(),
        pki.ca.display().to_string(),
        "--token-file".into(),
        pki.token_file.display().to_string(),
    ];
    let run = cluster
        .omswatch_with(&["restart", "oms-node-3", PROGRAM], &read_only)
        .await?;
    refused(&cluster, &run, "scopes=read;", (2, PROGRAM, pid)).await?;

    let events = cluster.history(&["--kind", "remediation"]).await?;
    let actors: Vec<&str> = remediations(&events)
        .iter()
        .filter(|e| e["result"] == "refused")
        .filter_map(|e| e["actor"].as_str())
        .collect();
    // Two minutes, a node, a token (and any "not connected" while the agent reconnected).
    assert!(actors.len() >= 4, "{events:#?}");
    assert!(actors.contains(&"node oms-node-3"), "{actors:?}");
    assert!(actors.iter().any(|a| a.starts_with("token#")), "{actors:?}");
    assert!(!serde_json::to_string(&events)?.contains(&pki.token));
    Ok(())
}

#[tokio::test]
async fn every_switch_that_is_off_refuses_and_changes_nothing() -> anyhow::Result<()> {
    let mut spec = spec(2, &[false, true]);
    spec.nodes[1].programs.extend([
        ProgramSpec::sleeper("sshd"),
        ProgramSpec::sleeper("omswatch-agent"),
    ]);
    let mut cluster = Cluster::start(spec).await?;
    let console_1 = pid(&cluster, 0, PROGRAM).await?;
    let run = restart(&cluster, "oms-node-1", PROGRAM).await?;
    refused(
        &cluster,
        &run,
        "the agent on oms-node-1 refused: restarts are off on this node: start omswatch-agent with --allow-restart",
        (0, PROGRAM, console_1),
    )
    .await?;
    let sshd = pid(&cluster, 1, "sshd").await?;
    let run = restart(&cluster, "oms-node-2", "sshd").await?;
    refused(
        &cluster,
        &run,
        "not in this agent's --restart-programs",
        (1, "sshd", sshd),
    )
    .await?;
    let itself = pid(&cluster, 1, "omswatch-agent").await?;
    let run = restart(&cluster, "oms-node-2", "omswatch-agent").await?;
    refused(
        &cluster,
        &run,
        "omswatch's own agent",
        (1, "omswatch-agent", itself),
    )
    .await?;
    let run = restart(&cluster, "oms-node-2", "no_such_program").await?;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("has no program no_such_program"),
        "{run:?}"
    );

    cluster.kill_agent(0).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let run = loop {
        let run = restart(&cluster, "oms-node-1", PROGRAM).await?;
        if run.stderr.contains("no open report stream") || tokio::time::Instant::now() > deadline {
            break run;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    refused(
        &cluster,
        &run,
        "oms-node-1 has no open report stream",
        (0, PROGRAM, console_1),
    )
    .await?;

    cluster
        .restart_collector_with(|args| args.retain(|a| a != "--allow-restart"))
        .await?;
    let console_2 = pid(&cluster, 1, PROGRAM).await?;
    let run = restart_once_connected(&cluster, "oms-node-2", PROGRAM).await?;
    refused(
        &cluster,
        &run,
        "restarts are off on this collector: start omswatch-collector with --allow-restart",
        (1, PROGRAM, console_2),
    )
    .await?;
    let events = cluster.history(&["--kind", "remediation"]).await?;
    let results: Vec<&str> = remediations(&events)
        .iter()
        .filter_map(|e| e["result"].as_str())
        .collect();
    assert!(
        results.iter().filter(|r| **r == "refused").count() >= 6,
        "every refusal is recorded: {events:#?}"
    );
    Ok(())
}
