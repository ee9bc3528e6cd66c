//! The demo behind `scripts/demo.sh`: a real 3-node cluster with two deployment
//! mistakes, then `omswatch status` as an operator would run it: two problems,
//! the duplicated IP's symptoms folded under it, and what to fix first on top.

use std::process::ExitCode;
use std::time::Duration;

use omswatch_tests::bin_path;
use omswatch_tests::cluster::{Cluster, ClusterSpec, find};

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    // Node 2 started with node 1's OMS_HOST_IP; as on a real OMS, its supervisor then
    // reports under node 1's IP, so its own IP has no heartbeat row.
    let spec = ClusterSpec::demo();
    println!(
        "Starting a 3-node OMS-like cluster: MariaDB MetaDB, supervisord + omswatch-agent per node, collector..."
    );
    let cluster = Cluster::start(spec).await?;
    for (i, node) in cluster.net.nodes().iter().enumerate() {
        println!("  {} ip {} (namespace {})", node.hostname, node.ip, node.ns);
        if i == 1 {
            println!(
                "    started with OMS_HOST_IP={} (node 1's!), so {} has no heartbeat row",
                cluster.net.nodes()[0].ip,
                node.ip
            );
        }
    }
    println!("Stopping oms_console on oms-node-3 (supervisorctl stop oms_console)...");
    cluster.supervisors[2].stop_program("oms_console").await?;
    cluster
        .wait_for(
            "the collector to see both mistakes",
            Duration::from_secs(30),
            |s| {
                !find(s, "DUPLICATE_OMS_HOST_IP").is_empty()
                    && !find(s, "HEARTBEAT_MISSING").is_empty()
                    && find(s, "COMPONENT_NOT_RUNNING")
                        .iter()
                        .any(|f| f["evidence"]["program"] == "oms_console")
            },
        )
        .await?;
    let pki = cluster
        .pki
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the demo runs with mutual TLS"))?;
    println!(
        "\nEvery connection is mutual TLS, with certificates minted as `omswatch certs` does, in {}.",
        pki.dir.display()
    );
    println!(
        "$ export OMSWATCH_CA=ca.pem OMSWATCH_CERT=operator-tester.pem OMSWATCH_KEY=operator-tester-key.pem"
    );
    println!("$ omswatch status --collector {}\n", cluster.collector_url);
    let status = tokio::process::Command::new(bin_path("omswatch")?)
        .args(["status", "--collector", &cluster.collector_url])
        .env("OMSWATCH_CA", &pki.ca)
        .env("OMSWATCH_CERT", &pki.operator.cert)
        .env("OMSWATCH_KEY", &pki.operator.key)
        .status()
        .await?;
    let code = status.code().unwrap_or(3);
    println!(
        "\n(omswatch exited {code}: 0 healthy, 1 warnings, 2 critical, 3 collector unreachable)"
    );
    show_metrics(&cluster, pki).await?;
    println!("Cleaning up the demo cluster...");
    drop(cluster);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(3)))
}

/// What Prometheus scrapes from the same collector: the root findings it would page on.
async fn show_metrics(
    cluster: &omswatch_tests::cluster::Cluster,
    pki: &omswatch_tests::cluster::Pki,
) -> anyhow::Result<()> {
    let url = format!("{}/metrics", cluster.http_url);
    println!(
        "\nPrometheus scrapes the same diagnosis (deploy/README.md; alerts page on root=\"true\" only):"
    );
    println!(
        "$ curl --cacert ca.pem -H 'Authorization: Bearer <token>' {url} | grep omswatch_finding_active\n"
    );
    let args = [
        "--cacert".to_string(),
        pki.ca.display().to_string(),
        "-H".to_string(),
        format!("Authorization: Bearer {}", pki.token),
    ];
    let answer = omswatch_tests::curl::get(&url, &args).await?;
    let mut lines: Vec<&str> = answer
        .body
        .lines()
        .filter(|l| l.starts_with("omswatch_finding_active"))
        .collect();
    lines.sort_unstable();
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
