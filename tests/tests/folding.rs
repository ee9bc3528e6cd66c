//! Root causes first, end to end: one mistake on a real cluster is one problem,
//! its symptoms folded under it on the wire (`caused_by`, `explains`) and in the
//! `omswatch status` table (PROBLEMS, "Fix first").
#![allow(missing_docs)]

use std::time::Duration;

use anyhow::bail;
use omswatch_common::proto::v1::{ClusterStatus, Finding};
use omswatch_tests::cluster::{
    CM_DB, Cluster, ClusterSpec, HEARTBEAT_DB, OmsHostIp, proto_finding,
};

type Result = anyhow::Result<()>;

/// Polls the proto status until every (code, subject) is present; returns it.
async fn wait_proto(cluster: &Cluster, wanted: &[(&str, &str)]) -> anyhow::Result<ClusterStatus> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut last = None;
    while tokio::time::Instant::now() < deadline {
        if let Ok(status) = cluster.status_proto().await {
            if wanted
                .iter()
                .all(|(code, subject)| proto_finding(&status, code, subject).is_some())
            {
                return Ok(status);
            }
            last = Some(status);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!(
        "timed out waiting for {wanted:?}; last status:\n{last:#?}\nlogs:\n{}",
        cluster.logs()
    )
}

/// The finding of `code` about `subject`, which must be there.
fn found<'a>(status: &'a ClusterStatus, code: &str, subject: &str) -> &'a Finding {
    proto_finding(status, code, subject)
        .unwrap_or_else(|| panic!("no {code} about {subject} in {status:#?}"))
}

/// Checks on the wire that `symptoms` fold under `root`, and that `root` is a root.
fn assert_folded(root: &Finding, symptoms: &[&Finding]) {
    assert!(
        !root.id.is_empty() && root.caused_by.is_empty(),
        "{root:#?}"
    );
    for s in symptoms {
        assert_eq!(s.caused_by, root.id, "{s:#?} is not under {}", root.id);
        assert!(root.explains.contains(&s.id), "{} lacks {}", root.id, s.id);
        assert!(s.explains.is_empty(), "{s:#?}");
    }
}

/// Whether `line` is a numbered problem: `1. CRITICAL  CODE  [nodes]`.
fn is_problem(line: &str) -> bool {
    line.split_once(". ")
        .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
}

/// The numbered problems of a status table.
fn problem_lines(table: &str) -> Vec<&str> {
    table.lines().filter(|l| is_problem(l)).collect()
}

/// The `explains:` line under the problem of `code`.
fn explains_line<'a>(table: &'a str, code: &str) -> &'a str {
    let mut lines = table
        .lines()
        .skip_while(|l| !(is_problem(l) && l.contains(code)));
    lines.next();
    lines
        .take_while(|l| !is_problem(l))
        .find(|l| l.trim_start().starts_with("explains: "))
        .unwrap_or_else(|| panic!("no explains line under {code}:\n{table}"))
}

#[tokio::test]
async fn a_duplicated_ip_is_one_problem_with_its_symptoms_folded() -> Result {
    let mut spec = ClusterSpec::healthy(2);
    spec.nodes[1].oms_host_ip = OmsHostIp::OfNode(0);
    // As on a real OMS: node 2's supervisor writes under node 1's IP.
    spec.nodes[1].heartbeat_age_s = None;
    let cluster = Cluster::start(spec).await?;
    let (ip1, ip2) = (
        cluster.net.node(0)?.ip.to_string(),
        cluster.net.node(1)?.ip.to_string(),
    );
    let status = wait_proto(
        &cluster,
        &[
            ("DUPLICATE_OMS_HOST_IP", ip1.as_str()),
            ("OMS_HOST_IP_MISMATCH", "oms-node-2"),
            ("CM_NODE_NOT_REPORTING", ip2.as_str()),
            ("HEARTBEAT_MISSING", ip2.as_str()),
        ],
    )
    .await?;
    let root = found(&status, "DUPLICATE_OMS_HOST_IP", &ip1);
    let symptoms = [
        found(&status, "OMS_HOST_IP_MISMATCH", "oms-node-2"),
        found(&status, "CM_NODE_NOT_REPORTING", &ip2),
        found(&status, "HEARTBEAT_MISSING", &ip2),
    ];
    assert_folded(root, &symptoms);
    assert!(
        symptoms[2].message.contains("probably caused by"),
        "{:#?}",
        symptoms[2]
    );
    assert_eq!(
        status
            .findings
            .iter()
            .filter(|f| f.caused_by.is_empty())
            .count(),
        1,
        "one mistake, one root: {status:#?}"
    );

    let (table, code) = cluster.omswatch(&["status"]).await?;
    assert_eq!(code, 2, "{table}");
    let problems = problem_lines(&table);
    assert_eq!(problems.len(), 1, "{table}");
    assert!(
        problems[0].starts_with("1. CRITICAL  DUPLICATE_OMS_HOST_IP"),
        "{table}"
    );
    assert!(
        table.lines().nth(1).is_some_and(
            |l| l.starts_with("Fix first: Recreate the containers of oms-node-1, oms-node-2")
        ),
        "{table}"
    );
    let explains = explains_line(&table, "DUPLICATE_OMS_HOST_IP");
    for s in &symptoms {
        assert!(explains.contains(&s.id), "{explains}");
    }
    assert_eq!(
        table.matches("OMS_HOST_IP_MISMATCH").count(),
        2,
        "the id, then the indented symptom:\n{table}"
    );
    Ok(())
}

#[tokio::test]
async fn a_stopped_supervisor_explains_its_stale_heartbeat() -> Result {
    let mut spec = ClusterSpec::healthy(1);
    // Nothing refreshes the harness's heartbeat row: once oms_drc_supervisor stops,
    // it ages as OMS's would, and is stale after 4s.
    spec.collector_args
        .extend(["--heartbeat-stale", "4s"].map(String::from));
    let cluster = Cluster::start(spec).await?;
    let ip = cluster.net.node(0)?.ip.to_string();
    cluster.supervisors[0]
        .stop_program("oms_drc_supervisor")
        .await?;
    let status = wait_proto(
        &cluster,
        &[
            ("COMPONENT_NOT_RUNNING", "oms-node-1"),
            ("HEARTBEAT_STALE", ip.as_str()),
        ],
    )
    .await?;
    let root = found(&status, "COMPONENT_NOT_RUNNING", "oms-node-1");
    assert_eq!(
        root.evidence.get("program").map(String::as_str),
        Some("oms_drc_supervisor")
    );
    let stale = found(&status, "HEARTBEAT_STALE", &ip);
    let age: i64 = stale
        .evidence
        .get("age_s")
        .map_or("", String::as_str)
        .trim_end_matches('s')
        .parse()?;
    assert!(age > 4, "the row aged by the MetaDB's clock: {stale:#?}");
    assert_folded(root, &[stale]);

    let (table, code) = cluster.omswatch(&["status"]).await?;
    assert_eq!(code, 2, "{table}");
    let problems = problem_lines(&table);
    assert_eq!(problems.len(), 1, "{table}");
    assert!(
        problems[0].contains("COMPONENT_NOT_RUNNING  [oms-node-1]"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("`supervisorctl restart oms_drc_supervisor`")),
        "{table}"
    );
    assert!(
        explains_line(&table, "COMPONENT_NOT_RUNNING").contains(&stale.id),
        "{table}"
    );
    Ok(())
}

#[tokio::test]
async fn a_killed_agent_explains_its_nodes_heartbeat_and_cm_nodes_symptoms() -> Result {
    let mut cluster = Cluster::start(ClusterSpec::healthy(2)).await?;
    let ip = cluster.net.node(1)?.ip.to_string();
    cluster.kill_agent(1).await?;
    // The container is gone: its supervisor writes no heartbeat, and OMS marks the host offline.
    cluster.db.upsert_heartbeat(HEARTBEAT_DB, &ip, 300).await?;
    cluster
        .db
        .exec(&format!(
            "UPDATE {CM_DB}.host SET host_status = 'OFFLINE' WHERE ip = '{ip}'"
        ))
        .await?;
    let status = wait_proto(
        &cluster,
        &[
            ("NODE_SILENT", "oms-node-2"),
            ("CM_NODE_NOT_REPORTING", ip.as_str()),
            ("HEARTBEAT_STALE", ip.as_str()),
            ("HOST_NOT_ONLINE", ip.as_str()),
        ],
    )
    .await?;
    let root = found(&status, "NODE_SILENT", "oms-node-2");
    let symptoms = [
        found(&status, "CM_NODE_NOT_REPORTING", &ip),
        found(&status, "HEARTBEAT_STALE", &ip),
        found(&status, "HOST_NOT_ONLINE", &ip),
    ];
    assert_folded(root, &symptoms);

    let (table, code) = cluster.omswatch(&["status"]).await?;
    assert_eq!(code, 2, "{table}");
    let problems = problem_lines(&table);
    assert_eq!(problems.len(), 1, "{table}");
    assert!(problems[0].contains("NODE_SILENT  [oms-node-2]"), "{table}");
    let explains = explains_line(&table, "NODE_SILENT");
    for s in &symptoms {
        assert!(explains.contains(&s.id), "{explains}");
    }
    Ok(())
}
