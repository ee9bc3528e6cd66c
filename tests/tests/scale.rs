//! A collector with 10,000 nodes answers `omswatch status` (issue 11): 10,000 simulated agents,
//! each its own connection and Report stream (the load generator's), report to a real
//! `omswatch-collector`; the status (~6 MB, over tonic's 4 MiB default) is then decoded by the
//! CLI's own client, the real `omswatch` binary, as JSON with every node, and as a table that
//! summarises the cluster within 100 lines. Not timed: speed is in BENCHMARKS.md
//! (scripts/bench-scale.sh).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use omswatch_tests::loadgen::agents::{Pace, Swarm};
use omswatch_tests::loadgen::server;
use omswatch_tests::loadgen::stats::Tally;
use tokio::process::Command;
use tokio::sync::watch;

const NODES: usize = 10_000;

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_nodes_answer_the_cli_in_json_and_a_short_table() -> anyhow::Result<()> {
    let limit = server::raise_open_files_limit();
    ensure!(
        limit > NODES as u64 + 500,
        "the open-files limit ({limit}) is too low for {NODES} streams: raise `ulimit -Hn`"
    );
    let dir = tempfile::Builder::new()
        .prefix("omswatch-scale-")
        .tempdir()?;
    let (_collector, addr) = server::collector(dir.path()).await?;
    let url = format!("http://{addr}");
    let tally = Arc::new(Tally::default());
    let (stop, stopped) = watch::channel(false);
    let swarm = Swarm {
        target: url.clone(),
        agents: NODES,
        first: 0,
        size: 2400,
        pace: Pace::Every(Duration::from_secs(5)),
        ramp: Duration::from_secs(20),
    };
    let mut agents = swarm.start(&tally, &stopped);
    // Every agent connects and reports once; generous, since the machine may be busy.
    let deadline = Instant::now() + Duration::from_secs(240);
    let doc = loop {
        let (doc, code) = status_json(&url).await?;
        let nodes = doc["nodes"].as_array().map_or(0, Vec::len);
        if nodes == NODES {
            ensure!((0..=2).contains(&code), "omswatch status exited {code}");
            break doc;
        }
        ensure!(
            Instant::now() < deadline,
            "{nodes} of {NODES} nodes after 240 s; agents (sent, acked, failed): {:?}",
            tally.counts()
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
    };
    let names: std::collections::BTreeSet<&str> = doc["nodes"]
        .as_array()
        .context("nodes")?
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    ensure!(names.len() == NODES, "{} distinct names", names.len());
    ensure!(names.contains("load-00000") && names.contains("load-09999"));

    let table = cli(&url, &["--format", "table"]).await?;
    let lines: Vec<&str> = table.0.lines().collect();
    ensure!(lines.len() <= 100, "{} lines:\n{}", lines.len(), table.0);
    ensure!(
        table.0.contains("10000 nodes") && table.0.contains("NODES BY STATE"),
        "{}",
        table.0
    );
    let all = cli(&url, &["--format", "table", "--all"]).await?;
    ensure!(all.0.lines().count() > NODES, "--all lists every node");

    let _ = stop.send(true);
    while agents.join_next().await.is_some() {}
    Ok(())
}

/// `omswatch status --format json`: the document and the exit code.
async fn status_json(url: &str) -> anyhow::Result<(serde_json::Value, i32)> {
    let (stdout, code) = cli(url, &["--format", "json"]).await?;
    let doc = serde_json::from_str(&stdout)
        .with_context(|| format!("omswatch status exited {code} without JSON"))?;
    Ok((doc, code))
}

/// `omswatch status ARGS` against the plain-text collector at `url`: stdout and exit code.
async fn cli(url: &str, args: &[&str]) -> anyhow::Result<(String, i32)> {
    let out = Command::new(omswatch_tests::bins::bin_path("omswatch")?)
        .args([
            "status",
            "--insecure",
            "--timeout",
            "60s",
            "--collector",
            url,
        ])
        .args(args)
        .output()
        .await?;
    let code = out.status.code().unwrap_or(-1);
    ensure!(
        (0..=2).contains(&code),
        "omswatch status {args:?} exited {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((String::from_utf8(out.stdout)?, code))
}
