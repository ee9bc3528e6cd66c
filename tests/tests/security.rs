//! Issue 4 end to end, with the real binaries over mutual TLS: who may query,
//! hostile config values never reach SQL, and no secret appears in any output.
#![allow(missing_docs)]

use std::time::Duration;

use omswatch_tests::bin_path;
use omswatch_tests::cluster::{
    CM_DB, Cluster, ClusterSpec, ConfigEdit, META_PASSWORD, TOKEN, codes, find,
};
use tokio::process::Command;

type Result = anyhow::Result<()>;

/// Runs `omswatch status --format json` with exactly `tls` as credentials.
async fn status_with(cluster: &Cluster, tls: &[String]) -> anyhow::Result<(i32, String, String)> {
    let out = Command::new(bin_path("omswatch")?)
        .args([
            "status",
            "--format",
            "json",
            "--timeout",
            "5s",
            "--collector",
            &cluster.collector_url,
        ])
        .args(tls)
        .output()
        .await?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok((
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    ))
}

fn pki(cluster: &Cluster) -> anyhow::Result<&omswatch_tests::cluster::Pki> {
    cluster
        .pki
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the cluster runs without TLS"))
}

#[tokio::test]
async fn queries_need_an_operator_certificate_or_token() -> Result {
    let cluster = Cluster::start(ClusterSpec::healthy(1)).await?;
    let pki = pki(&cluster)?;
    let ca = vec!["--ca".to_string(), pki.ca.display().to_string()];

    let (code, _, stderr) = status_with(&cluster, &ca).await?;
    assert_eq!(code, 3, "no credentials: {stderr}");
    assert!(
        stderr.to_lowercase().contains("refused") || stderr.contains("nauthenticated"),
        "{stderr}"
    );

    let node = pki
        .node("oms-node-1")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("node cert"))?;
    let (code, _, stderr) = status_with(&cluster, &pki.client_args(&node)).await?;
    assert_eq!(code, 3, "a node certificate may only report: {stderr}");
    assert!(stderr.to_lowercase().contains("permission"), "{stderr}");

    let token_file = cluster.dir.path().join("my-token");
    std::fs::write(&token_file, format!("{TOKEN}\n"))?;
    let mut with_token = ca.clone();
    with_token.extend(["--token-file".to_string(), token_file.display().to_string()]);
    let (code, stdout, stderr) = status_with(&cluster, &with_token).await?;
    assert_eq!(code, 0, "a valid token: {stderr}");
    assert!(stdout.contains("oms-node-1"));
    assert!(!stderr.contains(TOKEN) && !stdout.contains(TOKEN));

    std::fs::write(&token_file, "not-the-token\n")?;
    let (code, _, stderr) = status_with(&cluster, &with_token).await?;
    assert_eq!(code, 3, "a wrong token: {stderr}");
    assert!(
        !stderr.contains("not-the-token"),
        "the token was echoed: {stderr}"
    );

    let (code, _, stderr) = status_with(&cluster, &pki.client_args(&pki.operator)).await?;
    assert_eq!(code, 0, "operator certificate: {stderr}");
    Ok(())
}

#[tokio::test]
async fn a_plain_text_client_gets_nothing_from_a_tls_collector() -> Result {
    let cluster = Cluster::start(ClusterSpec::healthy(1)).await?;
    let plain = cluster.collector_url.replacen("https://", "http://", 1);
    let out = Command::new(bin_path("omswatch")?)
        .args([
            "status",
            "--timeout",
            "3s",
            "--collector",
            &plain,
            "--insecure",
            "--insecure-allow-remote",
        ])
        .output()
        .await?;
    assert_eq!(out.status.code(), Some(3));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(())
}

#[tokio::test]
async fn a_hostile_drc_cm_db_is_config_invalid_and_no_sql_is_sent() -> Result {
    let hostile = "oms_cm`; DROP DATABASE oms_cm; -- ";
    let mut spec = ClusterSpec::healthy(1);
    spec.region_edits = vec![(0, ConfigEdit::set("drc_cm_db", &format!("\"{hostile}\"")))];
    let cluster = Cluster::start(spec).await?;
    let f = cluster.wait_finding("CONFIG_INVALID", &[]).await?;
    assert_eq!(f["evidence"]["key"], "drc_cm_db");
    let counters = || async {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_select', 'Com_drop_db', 'Com_show_tables')",
        )
        .fetch_all(cluster.db.pool())
        .await?;
        anyhow::Ok(rows)
    };
    let before = counters().await?;
    tokio::time::sleep(Duration::from_secs(2)).await; // four collector ticks
    assert_eq!(
        counters().await?,
        before,
        "the collector sent SQL for an invalid config"
    );
    let exists: Option<(String,)> =
        sqlx::query_as("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?")
            .bind(CM_DB)
            .fetch_optional(cluster.db.pool())
            .await?;
    assert!(exists.is_some(), "{CM_DB} was dropped");
    Ok(())
}

#[tokio::test]
async fn no_secret_in_any_log_output_or_bundle() -> Result {
    let mut spec = ClusterSpec::healthy(2);
    spec.nodes[1].programs.retain(|p| p.name != "oms_console"); // some findings to render
    let cluster = Cluster::start(spec).await?;
    let pki = pki(&cluster)?;
    // A wrong MetaDB password makes the collector log and report a login failure.
    let wrong = "Wr0ng-Passw0rd-zz9";
    let text = std::fs::read_to_string(&cluster.config_path)?.replace(META_PASSWORD, wrong);
    std::fs::write(&cluster.config_path, text)?;
    cluster
        .wait_for("METADB_UNREACHABLE", Duration::from_secs(30), |s| {
            !find(s, "METADB_UNREACHABLE").is_empty()
        })
        .await?;
    let (table, _) = cluster.omswatch(&["status"]).await?;
    let (json, _) = cluster.omswatch(&["status", "--format", "json"]).await?;
    let bundle_path = cluster.dir.path().join("support.tar.gz");
    let (_, code) = cluster
        .omswatch(&["bundle", "-o", &bundle_path.display().to_string()])
        .await?;
    assert_eq!(code, 0);
    let bundle = gunzip(&std::fs::read(&bundle_path)?)?;
    let key_body = |path: &std::path::Path| -> anyhow::Result<String> {
        let pem = std::fs::read_to_string(path)?;
        Ok(pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .take(2)
            .collect())
    };
    let secrets = [
        META_PASSWORD.to_string(),
        wrong.to_string(),
        TOKEN.to_string(),
        key_body(&pki.operator.key)?,
        key_body(&pki.collector.key)?,
    ];
    let outputs = [
        ("logs", cluster.all_logs()),
        ("table", table),
        ("json", json),
        ("bundle", bundle),
    ];
    for (what, text) in &outputs {
        assert!(!text.is_empty(), "{what} is empty");
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret appears in the {what}"
            );
        }
    }
    assert!(
        codes(&serde_json::from_str(&outputs[2].1)?).contains(&"METADB_UNREACHABLE".to_string())
    );
    Ok(())
}

fn gunzip(bytes: &[u8]) -> anyhow::Result<String> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
