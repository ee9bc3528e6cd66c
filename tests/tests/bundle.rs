//! `omswatch bundle` end to end: a real cluster, the real CLI, the archive
//! unpacked and read back. The MetaDB password must appear in no file of it.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::process::Output;
use std::time::Duration;

use anyhow::{Context, ensure};
use omswatch_tests::cluster::{Cluster, ClusterSpec, ConfigEdit, META_PASSWORD, codes, find};
use omswatch_tests::{bin_path, free_port};
use tokio::process::Command;

type Result = anyhow::Result<()>;

/// An unpacked bundle: path relative to the top directory → (mode, contents).
struct Unpacked {
    top: String,
    files: BTreeMap<String, (u32, String)>,
}

impl Unpacked {
    fn file(&self, rel: &str) -> anyhow::Result<&str> {
        self.files
            .get(rel)
            .map(|(_, text)| text.as_str())
            .with_context(|| format!("{rel} not in the bundle: {:?}", self.files.keys()))
    }

    /// The one file under `dir` whose name is `name` (region dirs are named by the config file).
    fn one(&self, dir: &str, name: &str) -> anyhow::Result<&str> {
        let hits: Vec<&String> = self
            .files
            .keys()
            .filter(|p| p.starts_with(dir) && p.ends_with(&format!("/{name}")))
            .collect();
        ensure!(hits.len() == 1, "one {dir}*/{name} expected, got {hits:?}");
        self.file(hits[0])
    }
}

fn gunzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut raw)?;
    Ok(raw)
}

fn unpack(gz: &[u8]) -> anyhow::Result<Unpacked> {
    let raw = gunzip(gz)?;
    ensure!(
        !String::from_utf8_lossy(&raw).contains(META_PASSWORD),
        "the MetaDB password is in the raw tar"
    );
    let mut top = None;
    let mut files = BTreeMap::new();
    for entry in tar::Archive::new(raw.as_slice()).entries()? {
        let mut entry = entry?;
        let path = entry.path()?.display().to_string();
        let (dir, rel) = path
            .split_once('/')
            .context("entry outside a top directory")?;
        ensure!(
            *top.get_or_insert_with(|| dir.to_string()) == dir,
            "two top dirs: {path}"
        );
        ensure!(!rel.split('/').any(|c| c == ".."), "escaping path {path}");
        if entry.header().entry_type().is_file() {
            let mode = entry.header().mode()?;
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            files.insert(rel.to_string(), (mode, text));
        }
    }
    let top = top.context("empty archive")?;
    Ok(Unpacked { top, files })
}

/// Runs `omswatch bundle ARGS --collector URL`, keeping stdout as bytes and stderr.
async fn bundle(collector: &str, args: &[&str]) -> anyhow::Result<Output> {
    Ok(Command::new(bin_path("omswatch")?)
        .arg("bundle")
        .args(args)
        .args(["--collector", collector])
        .output()
        .await?)
}

#[tokio::test]
async fn bundle_holds_everything_the_runbook_asks_for() -> Result {
    let mut spec = ClusterSpec::healthy(2);
    spec.nodes[1].heartbeat_age_s = Some(300);
    let cluster = Cluster::start(spec).await?;
    cluster.supervisors[1].stop_program("oms_console").await?;
    cluster
        .wait_for(
            "oms_console STOPPED and a stale heartbeat",
            Duration::from_secs(30),
            |s| {
                find(s, "COMPONENT_NOT_RUNNING")
                    .iter()
                    .any(|f| f["evidence"]["program"] == "oms_console")
                    && !find(s, "HEARTBEAT_STALE").is_empty()
            },
        )
        .await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("support.tar.gz");
    let (_, code) = cluster
        .omswatch(&["bundle", "-o", &path.display().to_string()])
        .await?;
    assert_eq!(code, 0, "{}", cluster.logs());
    assert_eq!(std::fs::metadata(&path)?.mode() & 0o777, 0o600);
    let b = unpack(&std::fs::read(&path)?)?;
    assert!(b.top.starts_with("omswatch-bundle-"), "{}", b.top);
    for (rel, (mode, text)) in &b.files {
        assert_eq!(*mode, 0o644, "{rel}");
        assert!(
            !text.contains(META_PASSWORD),
            "the MetaDB password is in {rel}"
        );
    }
    check_status_and_summary(&b)?;
    check_metadb(&b, &cluster)?;
    for (i, node) in ["oms-node-1", "oms-node-2"].iter().enumerate() {
        check_node(&b, node, &cluster.net.node(i)?.ip.to_string())?;
    }
    Ok(())
}

fn check_status_and_summary(b: &Unpacked) -> Result {
    let status: serde_json::Value = serde_json::from_str(b.file("status.json")?)?;
    let found = codes(&status);
    for code in ["COMPONENT_NOT_RUNNING", "HEARTBEAT_STALE"] {
        assert!(found.iter().any(|c| c == code), "{code} not in {found:?}");
    }
    let summary = b.file("summary.txt")?;
    for code in &found {
        assert!(
            summary.contains(code.as_str()),
            "{code} not in summary.txt:\n{summary}"
        );
    }
    for part in [
        "UTC",
        "fix:",
        "cm_nodes",
        "nodes/oms-node-2/supervisor.txt",
        "status.json",
    ] {
        assert!(
            summary.contains(part),
            "{part:?} not in summary.txt:\n{summary}"
        );
    }
    assert!(b.file("findings.txt")?.contains("HEARTBEAT_STALE"));
    assert!(
        b.file("versions.txt")?
            .contains("omswatch-agent on oms-node-1")
    );
    Ok(())
}

fn check_metadb(b: &Unpacked, cluster: &Cluster) -> Result {
    let hosts = b.one("metadb/", "host.tsv")?;
    let beats = b.one("metadb/", "heart_beat.tsv")?;
    assert!(hosts.starts_with("ip\thost_status\n"), "{hosts}");
    assert!(
        beats.starts_with("host_ip\ttask_type\tgmt_created\tgmt_modified\tage_s\n"),
        "{beats}"
    );
    for i in 0..2 {
        let ip = cluster.net.node(i)?.ip.to_string();
        assert!(
            hosts.contains(&format!("{ip}\tONLINE")),
            "{ip} not in host.tsv:\n{hosts}"
        );
        assert!(
            beats.contains(&format!("{ip}\t")),
            "{ip} not in heart_beat.tsv:\n{beats}"
        );
    }
    let config = b.one("metadb/", "config.yaml")?;
    assert!(
        config.contains("oms_meta_password: \"<redacted>\""),
        "{config}"
    );
    assert!(config.contains("cm_nodes:"), "{config}");
    Ok(())
}

fn check_node(b: &Unpacked, node: &str, ip: &str) -> Result {
    let dir = format!("nodes/{node}");
    let supervisor = b.file(&format!("{dir}/supervisor.txt"))?;
    assert!(supervisor.contains("oms_console"), "{supervisor}");
    let identity = b.file(&format!("{dir}/identity.txt"))?;
    assert!(
        identity
            .lines()
            .any(|l| l.starts_with("OMS_HOST_IP:") && l.contains(ip)),
        "{identity}"
    );
    let report = b.file(&format!("{dir}/report.txt"))?;
    assert!(report.contains("NodeReport"), "{report}");
    if report.contains("config: Some(") {
        let config = b.file(&format!("{dir}/config.yaml"))?;
        assert!(config.contains("\"<redacted>\""), "{config}");
    }
    if report.contains("health: Some(") || report.contains("resources: Some(") {
        b.file(&format!("{dir}/health.txt"))?;
    }
    Ok(())
}

#[tokio::test]
async fn a_commented_out_password_is_redacted_at_its_source_and_streams_to_stdout() -> Result {
    let mut spec = ClusterSpec::healthy(1);
    let commented = format!("# oms_meta_password: {META_PASSWORD}\noms_meta_user:");
    spec.region_edits
        .push((0, ConfigEdit::replace("oms_meta_user:", &commented)));
    let cluster = Cluster::start(spec).await?;
    let operator = cluster.pki.as_ref().map(|p| p.operator.clone());
    let mut args = vec!["-o".to_string(), "-".to_string()];
    args.extend(cluster.client_tls_args(operator.as_ref()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = bundle(&cluster.collector_url, &args).await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(META_PASSWORD), "{stderr}");
    // The config summaries redact commented-out secrets themselves, so the
    // bundle's last-chance scan (unit-tested in bundle_archive) finds nothing left.
    assert!(
        !stderr.contains("was not redacted at its source"),
        "{stderr}"
    );
    assert!(
        stderr.contains("wrote the support bundle to stdout"),
        "{stderr}"
    );
    let b = unpack(&out.stdout)?;
    let config = b.one("metadb/", "config.yaml")?;
    assert!(
        config.contains("# oms_meta_password: \"<redacted>\"\n"),
        "{config}"
    );
    for (rel, (_, text)) in &b.files {
        assert!(
            !text.contains(META_PASSWORD),
            "the MetaDB password is in {rel}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn bundle_exits_3_and_writes_nothing_when_the_collector_is_unreachable() -> Result {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("b.tar.gz");
    let url = format!("http://127.0.0.1:{}", free_port()?);
    let path_arg = path.display().to_string();
    let out = bundle(&url, &["-o", &path_arg, "--timeout", "2s", "--insecure"]).await?;
    assert_eq!(out.status.code(), Some(3));
    assert!(!path.exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot get the bundle"));
    let usage = bundle(&url, &["--insecure"]).await?;
    assert_eq!(usage.status.code(), Some(3), "no -o is bad usage");
    Ok(())
}
