//! The collector's HTTP listener with the real binaries: `GET /api/v1/status` is the JSON of
//! `omswatch status --format json`, `GET /api/v1/history` the JSON of `omswatch history
//! --format json` for the same filters, the metric families carry their documented labels, a
//! forgotten node vanishes at the next scrape, and no secret appears in any endpoint.
#![allow(missing_docs)]

use std::time::Duration;

use omswatch_tests::cluster::{Cluster, ClusterSpec, META_PASSWORD, TOKEN};
use omswatch_tests::curl::{self, Answer};

type Result = anyhow::Result<()>;

/// GETs `path` of the cluster's HTTP listener with the CA and `extra` curl flags.
async fn get(cluster: &Cluster, path: &str, extra: &[&str]) -> anyhow::Result<Answer> {
    let pki = cluster
        .pki
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the cluster runs TLS"))?;
    let mut args = vec!["--cacert".to_string(), pki.ca.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    curl::get(&format!("{}{path}", cluster.http_url), &args).await
}

async fn with_token(cluster: &Cluster, path: &str, extra: &[&str]) -> anyhow::Result<Answer> {
    let auth = format!("Authorization: Bearer {TOKEN}");
    let args: Vec<&str> = ["-H", auth.as_str()]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    get(cluster, path, &args).await
}

/// The document with its clock-dependent numbers blanked (diagnosis time, ages in seconds):
/// two renderings a moment apart differ only there.
fn mask_times(json: &str) -> String {
    json.lines()
        .map(|line| {
            let key = line.trim_start().split(':').next().unwrap_or_default();
            match key {
                "\"generated_at_unix_ms\"" | "\"last_report_age_s\"" | "\"heartbeat_age_s\"" => {
                    format!("{key}: <time>")
                }
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn status_api_is_byte_for_byte_the_cli_json() -> Result {
    let cluster = Cluster::start(ClusterSpec::healthy(2)).await?;
    cluster
        .wait_for("both nodes ONLINE", Duration::from_secs(30), |s| {
            s["nodes"]
                .as_array()
                .is_some_and(|n| n.len() == 2 && n.iter().all(|n| n["state"] == "ONLINE"))
        })
        .await?;
    // The two are read a moment apart: only the clock-dependent numbers may differ.
    let mut last = String::new();
    for _ in 0..5 {
        let (cli, code) = cluster.omswatch(&["status", "--format", "json"]).await?;
        let api = with_token(&cluster, "/api/v1/status", &[]).await?;
        assert_eq!((code, api.code), (0, 200), "{api:?}");
        assert_eq!(
            api.header("content-type").as_deref(),
            Some("application/json")
        );
        if mask_times(&api.body) == mask_times(&cli) {
            assert!(api.body.ends_with("}\n") && cli.ends_with("}\n"));
            return Ok(());
        }
        last = format!("api:\n{}\ncli:\n{cli}", api.body);
    }
    anyhow::bail!("GET /api/v1/status differs from `omswatch status --format json`:\n{last}")
}

#[tokio::test]
async fn history_api_is_byte_for_byte_the_cli_json_for_the_same_filters() -> Result {
    let cluster = Cluster::start(ClusterSpec::healthy(2)).await?;
    cluster.supervisors[1].stop_program("oms_console").await?;
    // The component's own events: a start-up raises and clears other codes first.
    let of_component = |kind: &'static str| {
        move |ev: &[serde_json::Value]| {
            ev.iter()
                .any(|e| e["kind"] == kind && e["code"] == "COMPONENT_NOT_RUNNING")
        }
    };
    cluster
        .wait_history("raised", of_component("raised"))
        .await?;
    cluster.supervisors[1].start_program("oms_console").await?;
    cluster
        .wait_history("cleared", of_component("cleared"))
        .await?;
    let until = omswatch_common::views::history_json::rfc3339(
        omswatch_common::telemetry::now_unix_ms() + 60_000,
    );
    let cases: [(&[&str], String); 6] = [
        (&[], String::new()),
        (&["--node", "oms-node-2"], "node=oms-node-2".into()),
        (
            &["--code", "component_not_running"],
            "code=component_not_running".into(),
        ),
        (
            &["--since", "1h", "--limit", "3"],
            "since=1h&limit=3".into(),
        ),
        (
            &["--until", until.as_str()],
            format!("until={}", until.replace(':', "%3A")),
        ),
        (
            &["--node", "oms-node-1", "--code", "COMPONENT_NOT_RUNNING"],
            "node=oms-node-1&code=COMPONENT_NOT_RUNNING".into(),
        ),
    ];
    for (flags, params) in cases {
        let mut args = vec!["history", "--format", "json"];
        args.extend_from_slice(flags);
        let (cli, code) = cluster.omswatch(&args).await?;
        let api = with_token(&cluster, &format!("/api/v1/history?{params}"), &[]).await?;
        assert_eq!((code, api.code), (0, 200), "{flags:?}: {api:?}");
        assert_eq!(
            api.header("content-type").as_deref(),
            Some("application/json")
        );
        assert_eq!(api.body, cli, "{flags:?} vs ?{params}");
        let doc: serde_json::Value = serde_json::from_str(&api.body)?;
        assert!(doc["events"].is_array(), "{doc}");
    }
    let kinds: Vec<String> = serde_json::from_str::<serde_json::Value>(
        &with_token(&cluster, "/api/v1/history?code=COMPONENT_NOT_RUNNING", &[])
            .await?
            .body,
    )?["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["kind"].as_str().map(String::from))
        .collect();
    assert_eq!(kinds, ["raised", "cleared"]);
    for bad in [
        "limit=0",
        "since=soon",
        "code=NOPE",
        "node=a%20b",
        "colour=red",
    ] {
        let answer = with_token(&cluster, &format!("/api/v1/history?{bad}"), &[]).await?;
        assert_eq!(answer.code, 400, "{bad}: {answer:?}");
    }
    assert_eq!(get(&cluster, "/api/v1/history", &[]).await?.code, 401);
    Ok(())
}

#[tokio::test]
async fn metric_families_carry_their_labels_and_a_forgotten_node_vanishes() -> Result {
    let mut cluster = Cluster::start(ClusterSpec::healthy(2)).await?;
    let metrics = with_token(&cluster, "/metrics", &[]).await?;
    assert_eq!(metrics.code, 200, "{metrics:?}");
    let body = &metrics.body;
    for want in [
        "omswatch_node_state{node=\"oms-node-1\",region=",
        "state=\"ONLINE\"} 1",
        "omswatch_component_up{node=\"oms-node-2\",program=\"oms_console\"} 1",
        "omswatch_findings{severity=\"critical\"}",
        "omswatch_heartbeat_age_seconds{node=\"oms-node-1\",ip=\"",
        "omswatch_report_age_seconds{node=\"oms-node-2\"}",
        "omswatch_metadb_up{region=",
        "omswatch_reports_received_total ",
        "omswatch_reports_refused_total{reason=\"credentials\"} 0",
        "omswatch_agents_connected 2",
        "omswatch_build_info{version=\"",
        "omswatch_store_up 1",
        "omswatch_connections_open ",
        "omswatch_connections_accepted_total ",
        "omswatch_connections_refused_total{reason=\"max_connections_per_peer\"} 0",
        "omswatch_connections_closed_idle_total ",
        "omswatch_webhook_deliveries_total{result=\"delivered\"} 0",
        "omswatch_webhook_sender 0",
        "omswatch_alertmanager_posts_total{result=\"error\"} 0",
    ] {
        assert!(body.contains(want), "{want} not in:\n{body}");
    }
    cluster.kill_agent(1).await?;
    cluster.wait_finding("NODE_SILENT", &["oms-node-2"]).await?;
    let silent = with_token(&cluster, "/metrics", &[]).await?.body;
    assert!(
        silent.contains(
            "omswatch_finding_active{code=\"NODE_SILENT\",severity=\"critical\",node=\"oms-node-2\",root=\"true\"} 1"
        ),
        "{silent}"
    );
    let (out, code) = cluster.omswatch(&["forget", "oms-node-2"]).await?;
    assert_eq!(code, 0, "{out}");
    let after = with_token(&cluster, "/metrics", &[]).await?.body;
    assert!(
        !after.contains("oms-node-2"),
        "a forgotten node is gone:\n{after}"
    );
    assert!(after.contains("node=\"oms-node-1\""), "{after}");
    Ok(())
}

#[tokio::test]
async fn no_secret_in_any_endpoint_and_health_is_open() -> Result {
    let cluster = Cluster::start(ClusterSpec::healthy(1)).await?;
    let mut answers = Vec::new();
    for path in [
        "/metrics",
        "/api/v1/status",
        "/api/v1/history",
        "/-/healthy",
        "/-/ready",
    ] {
        answers.push(with_token(&cluster, path, &[]).await?);
        answers.push(get(&cluster, path, &[]).await?);
    }
    answers.push(
        with_token(
            &cluster,
            "/metrics",
            &["-H", "Accept: application/openmetrics-text"],
        )
        .await?,
    );
    for answer in &answers {
        for secret in [META_PASSWORD, TOKEN] {
            assert!(
                !answer.body.contains(secret) && !answer.headers.contains(secret),
                "a secret leaked: {answer:?}"
            );
        }
    }
    assert_eq!(get(&cluster, "/-/healthy", &[]).await?.code, 200);
    assert_eq!(get(&cluster, "/-/ready", &[]).await?.code, 200);
    assert_eq!(get(&cluster, "/metrics", &[]).await?.code, 401);
    Ok(())
}
