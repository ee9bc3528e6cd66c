//! Issue 8 end to end: a real Prometheus scrapes the collector's `/metrics` over TLS with the
//! bearer token, evaluates deploy/prometheus/omswatch-rules.yml, and its own
//! `/api/v1/alerts` shows the duplicated-IP alert firing, with the fix in its annotations,
//! and no page for the duplicate's symptoms.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use omswatch_tests::cluster::{Cluster, ClusterSpec, OmsHostIp};
use omswatch_tests::prometheus::{Prometheus, ScrapeTarget};

fn rules() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus/omswatch-rules.yml")
}

/// The alerts Prometheus holds in `state` ("firing" or "pending").
fn alerts<'a>(doc: &'a serde_json::Value, state: &str) -> Vec<&'a serde_json::Value> {
    doc["data"]["alerts"]
        .as_array()
        .map(|a| a.iter().filter(|x| x["state"] == state).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn prometheus_scrapes_over_tls_with_the_token_and_fires_the_duplicated_ip_alert()
-> anyhow::Result<()> {
    let mut spec = ClusterSpec::healthy(2);
    spec.nodes[1].oms_host_ip = OmsHostIp::OfNode(0);
    let cluster = Cluster::start(spec).await?;
    cluster
        .wait_finding("DUPLICATE_OMS_HOST_IP", &["oms-node-1", "oms-node-2"])
        .await?;
    let pki = cluster.pki.as_ref().context("the cluster runs TLS")?;
    let target = ScrapeTarget {
        address: cluster
            .http_url
            .strip_prefix("https://")
            .context("the HTTP listener speaks TLS")?
            .to_string(),
        ca: pki.ca.clone(),
        token: pki.token.clone(),
    };
    let prometheus = Prometheus::start(&target, &rules()).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let firing = loop {
        let doc = prometheus.api("/api/v1/alerts").await?;
        let dup = alerts(&doc, "firing")
            .into_iter()
            .find(|a| a["labels"]["alertname"] == "OmsDuplicateOmsHostIp")
            .cloned();
        if let Some(alert) = dup {
            break (alert, doc);
        }
        if tokio::time::Instant::now() > deadline {
            let targets = prometheus.api("/api/v1/targets").await?;
            bail!(
                "no firing OmsDuplicateOmsHostIp after 60 s; alerts: {doc}\ntargets: {targets}\nprometheus log:\n{}\ncollector logs:\n{}",
                prometheus.log(),
                cluster.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let (alert, doc) = firing;
    assert_eq!(alert["labels"]["severity"], "critical", "{alert}");
    let summary = alert["annotations"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("oms-node-1") && summary.contains("oms-node-2"),
        "{alert}"
    );
    let description = alert["annotations"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        description.contains("Fix: Recreate the containers"),
        "{alert}"
    );
    // The duplicate's symptoms (root="false") never page.
    for a in alerts(&doc, "firing")
        .into_iter()
        .chain(alerts(&doc, "pending"))
    {
        assert_ne!(
            a["labels"]["code"], "OMS_HOST_IP_MISMATCH",
            "a symptom paged: {a}"
        );
    }
    // It scraped with the token over TLS: the target is up, and the symptom is there as a
    // metric, labelled root="false".
    let up = prometheus
        .api("/api/v1/query?query=up%7Bjob%3D%22omswatch%22%7D")
        .await?;
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up}");
    let symptom = prometheus
        .api("/api/v1/query?query=omswatch_finding_active%7Bcode%3D%22OMS_HOST_IP_MISMATCH%22%7D")
        .await?;
    assert_eq!(
        symptom["data"]["result"][0]["metric"]["root"], "false",
        "{symptom}"
    );
    Ok(())
}
