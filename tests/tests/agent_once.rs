//! `omswatch-agent --once` end to end: inside a namespaced node with a real
//! supervisord, started with another server's OMS_HOST_IP, the node's own
//! runbook answer names OMS_HOST_IP_MISMATCH with its fix and exits 2; the
//! report itself is JSON with `--format json`.
#![allow(missing_docs)]

use omswatch_tests::cluster::{Cluster, ClusterSpec};

type Result = anyhow::Result<()>;

/// Two nodes, no agent running: the operator checks by hand.
async fn cluster() -> anyhow::Result<Cluster> {
    let mut spec = ClusterSpec::healthy(2);
    for node in &mut spec.nodes {
        node.agent = false;
    }
    Cluster::start(spec).await
}

#[tokio::test]
async fn once_in_a_node_started_with_another_servers_ip_says_so_and_exits_2() -> Result {
    let cluster = cluster().await?;
    let (own, other) = (
        cluster.net.node(1)?.ip.to_string(),
        cluster.net.node(0)?.ip.to_string(),
    );
    let run = cluster.agent_once(1, Some(&other), &[]).await?;
    let text = &run.stdout;
    eprintln!("{text}");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        text.starts_with("omswatch-agent --once on oms-node-2: "),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "OMS_HOST_IP  {other} (from the agent's environment): NOT among `hostname -i`'s addresses"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("hostname -i  {own}")), "{text}");
    assert!(text.contains("CRITICAL  OMS_HOST_IP_MISMATCH"), "{text}");
    assert!(
        text.contains(&format!(
            "fix: On oms-node-2, make OMS_HOST_IP ({other}) and `hostname -i` ({own}) agree"
        )),
        "{text}"
    );
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("Fix first: On oms-node-2, make OMS_HOST_IP")),
        "{text}"
    );
    // The node's programs as its supervisord sees them, all running.
    for program in ["nginx", "oms_console", "oms_drc_cm", "oms_drc_supervisor"] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(program) && l.contains("RUNNING")),
            "{program} not RUNNING in\n{text}"
        );
    }
    // Nothing about the other server, which this node cannot see.
    assert!(!text.contains("CM_NODE_NOT_REPORTING"), "{text}");

    let json = cluster
        .agent_once(1, Some(&other), &["--format", "json"])
        .await?;
    assert_eq!(json.code, 2, "{json:?}");
    let report: serde_json::Value = serde_json::from_str(&json.stdout)
        .map_err(|e| anyhow::anyhow!("not JSON ({e}): {json:?}"))?;
    assert_eq!(report["node"], "oms-node-2");
    assert_eq!(report["identity"]["oms_host_ip"], other.as_str());
    assert_eq!(report["identity"]["hostname_ips"][0], own.as_str());
    assert_eq!(report["supervisor"]["reachable"], true);
    Ok(())
}

#[tokio::test]
async fn once_on_a_well_started_node_has_no_critical_finding() -> Result {
    let cluster = cluster().await?;
    let own = cluster.net.node(0)?.ip.to_string();
    // This machine's own load and disks are not the node's: neutral limits are not
    // flags of --once, so only critical findings are ruled out here.
    let run = cluster.agent_once(0, Some(&own), &[]).await?;
    assert!(run.code < 2, "{run:?}");
    assert!(run.stdout.contains("matches `hostname -i`"), "{run:?}");
    assert!(!run.stdout.contains("CRITICAL"), "{run:?}");
    Ok(())
}
