//! `omswatch check` end to end: two regions' config.yaml files and a real
//! MariaDB as MetaDB, no agent, no collector, no certificate. See
//! `omswatch_tests::deployment` for the mistakes seeded.
#![allow(missing_docs)]

use std::collections::BTreeSet;
use std::time::Duration;

use omswatch_tests::cluster::META_PASSWORD;
use omswatch_tests::deployment::{CheckRun, Deployment, HZ, SH, UNKNOWN};

type Result = anyhow::Result<()>;

const NODE_SIDE: &str =
    "node-side checks need `omswatch-agent --once` on each server or a collector";

fn json(run: &CheckRun) -> anyhow::Result<serde_json::Value> {
    serde_json::from_str(&run.stdout)
        .map_err(|e| anyhow::anyhow!("not JSON ({e}): {}\nstderr: {}", run.stdout, run.stderr))
}

fn codes(doc: &serde_json::Value) -> BTreeSet<String> {
    doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["code"].as_str().map(String::from))
        .collect()
}

/// The finding of `code` whose evidence `key` is `value`.
fn finding<'a>(
    doc: &'a serde_json::Value,
    code: &str,
    key: &str,
    value: &str,
) -> Option<&'a serde_json::Value> {
    doc["findings"]
        .as_array()?
        .iter()
        .find(|f| f["code"] == code && f["evidence"][key] == value)
}

fn no_secret(run: &CheckRun) {
    assert!(
        !run.stdout.contains(META_PASSWORD) && !run.stderr.contains(META_PASSWORD),
        "the MetaDB password was printed:\n{}\n{}",
        run.stdout,
        run.stderr
    );
}

#[tokio::test]
async fn check_finds_the_cluster_wide_mistakes_without_any_agent() -> Result {
    let deployment = Deployment::start().await?;
    let run = deployment.check(&["--format", "json"]).await?;
    eprintln!("omswatch check --format json took {:?}", run.elapsed);
    assert_eq!(run.code, 2, "{run:?}");
    no_secret(&run);
    assert!(run.stderr.contains(NODE_SIDE), "{run:?}");
    let doc = json(&run)?;
    for (code, ip) in [
        ("HOST_NOT_ONLINE", HZ[1]),
        ("HEARTBEAT_STALE", SH[0]),
        ("HEARTBEAT_MISSING", SH[1]),
        ("HOST_ROW_UNKNOWN", UNKNOWN),
    ] {
        assert!(
            finding(&doc, code, "ip", ip).is_some(),
            "no {code} for {ip}: {doc:#}"
        );
    }
    let sh = deployment.configs[1].display().to_string();
    let cm_url = finding(&doc, "CM_URL_INVALID", "file", &sh)
        .unwrap_or_else(|| panic!("no CM_URL_INVALID in {sh}: {doc:#}"));
    assert_eq!(
        cm_url["evidence"]["line"],
        deployment.line_of(1, "cm_url")?.to_string(),
        "placed at cm_url's line: {cm_url:#}"
    );
    // Nothing is concluded from agents that were never meant to be there.
    let all = codes(&doc);
    for code in [
        "CM_NODE_NOT_REPORTING",
        "CM_NODES_COUNT_MISMATCH",
        "METADB_UNREACHABLE",
    ] {
        assert!(!all.contains(code), "{code} in {all:?}");
    }
    assert_eq!(doc["nodes"].as_array().map(Vec::len), Some(0), "{doc:#}");

    // No root needed: the table as user nobody.
    let table = deployment.check_as_nobody(&[]).await?;
    eprintln!(
        "omswatch check (table) took {:?}:\n{}",
        table.elapsed, table.stdout
    );
    assert_eq!(table.code, 2, "{table:?}");
    no_secret(&table);
    let text = &table.stdout;
    assert!(
        text.starts_with("omswatch check of 2 config.yaml files: "),
        "{text}"
    );
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("Fix first: ")),
        "{text}"
    );
    assert!(
        text.contains(NODE_SIDE) && text.contains("PROBLEMS"),
        "{text}"
    );
    for code in [
        "HOST_NOT_ONLINE",
        "HEARTBEAT_STALE",
        "HEARTBEAT_MISSING",
        "HOST_ROW_UNKNOWN",
    ] {
        assert!(text.contains(code), "{code} missing:\n{text}");
    }
    Ok(())
}

#[tokio::test]
async fn a_down_metadb_is_unreachable_and_the_config_is_still_checked() -> Result {
    let mut deployment = Deployment::start().await?;
    deployment.db.stop().await?;
    let run = deployment
        .check(&["--format", "json", "--metadb-timeout", "3s"])
        .await?;
    assert_eq!(run.code, 2, "{run:?}");
    no_secret(&run);
    let doc = json(&run)?;
    let down = doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["code"] == "METADB_UNREACHABLE")
        .unwrap_or_else(|| panic!("no METADB_UNREACHABLE: {doc:#}"));
    assert!(
        down["message"]
            .as_str()
            .is_some_and(|m| m.contains("cannot connect")),
        "{down:#}"
    );
    let all = codes(&doc);
    assert!(
        all.contains("CM_URL_INVALID"),
        "the config rules still answer: {all:?}"
    );
    // Rows that were not read say nothing.
    for code in ["HOST_NOT_ONLINE", "HEARTBEAT_MISSING", "HOST_ROW_UNKNOWN"] {
        assert!(!all.contains(code), "{code} from unread rows: {all:?}");
    }
    assert!(
        run.elapsed < Duration::from_secs(3),
        "refused at once: {:?}",
        run.elapsed
    );
    Ok(())
}

#[tokio::test]
async fn a_metadb_that_never_answers_costs_one_timeout() -> Result {
    let deployment = Deployment::start().await?;
    // A MetaDB host that accepts TCP and then says nothing (a dropped route, a hung server).
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = silent.local_addr()?.port();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            sockets.push(socket);
        }
    });
    for config in &deployment.configs {
        let text = std::fs::read_to_string(config)?;
        let port_line = format!("oms_meta_port: {}", deployment.db.port());
        std::fs::write(
            config,
            text.replace(&port_line, &format!("oms_meta_port: {port}")),
        )?;
    }
    let run = deployment
        .check(&["--format", "json", "--metadb-timeout", "1s"])
        .await?;
    held.abort();
    eprintln!("omswatch check with a silent MetaDB took {:?}", run.elapsed);
    assert_eq!(run.code, 2, "{run:?}");
    let doc = json(&run)?;
    let all = codes(&doc);
    assert!(
        all.contains("METADB_UNREACHABLE") && all.contains("CM_URL_INVALID"),
        "{all:?}"
    );
    // Both regions are read at once, within the one timeout (generous slack for a loaded machine).
    assert!(
        run.elapsed < Duration::from_secs(4),
        "took {:?}",
        run.elapsed
    );
    Ok(())
}
