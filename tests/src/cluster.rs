//! A whole OMS-like cluster for end-to-end tests and the demo: a MetaDB (real
//! mariadbd) seeded with `host` and `heart_beat` rows, one network namespace per
//! node with a real supervisord and a real `omswatch-agent`, and a real
//! `omswatch-collector` on the test bridge. Everything is stopped on drop.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::{MariaDb, ProgramSpec, Supervisord, TestNet, bin_path, free_port, oms_programs};

/// The MetaDB login the generated config.yaml uses.
pub const META_USER: &str = "oms_meta";
/// Its password: tests search outputs for it to prove it never leaks.
pub const META_PASSWORD: &str = "Secr3t-oms-meta-pw";
/// `drc_cm_db` of the generated config.yaml.
pub const CM_DB: &str = "oms_cm";
/// `drc_cm_heartbeat_db` of the generated config.yaml.
pub const HEARTBEAT_DB: &str = "oms_cm_heartbeat_0";

/// Which OMS_HOST_IP a node's container is "started" with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OmsHostIp {
    /// Its own address (the correct deployment).
    Own,
    /// Another node's address, by index (the classic copied `docker run` line).
    OfNode(usize),
    /// Not set at all.
    Unset,
}

/// One node of the cluster to build.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Node name (also its host name).
    pub name: String,
    /// OMS_HOST_IP given to the agent.
    pub oms_host_ip: OmsHostIp,
    /// supervisord programs.
    pub programs: Vec<ProgramSpec>,
    /// Listed in config.yaml's cm_nodes.
    pub in_cm_nodes: bool,
    /// host table row status for its IP; `None` = no row.
    pub host_status: Option<String>,
    /// Supervisor heartbeat age in seconds; `None` = no row.
    pub heartbeat_age_s: Option<i64>,
    /// Make its host name resolve to this address instead of its own (`hostname -i` differs).
    pub hosts_ip: Option<Ipv4Addr>,
    /// Start an agent for it.
    pub agent: bool,
}

impl NodeSpec {
    /// A healthy node named `oms-node-<i>` (1-based).
    pub fn healthy(i: usize) -> NodeSpec {
        NodeSpec {
            name: format!("oms-node-{i}"),
            oms_host_ip: OmsHostIp::Own,
            programs: oms_programs(),
            in_cm_nodes: true,
            host_status: Some("ONLINE".into()),
            heartbeat_age_s: Some(0),
            hosts_ip: None,
            agent: true,
        }
    }
}

/// The cluster to build.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Nodes, in order.
    pub nodes: Vec<NodeSpec>,
    /// Agents' reporting interval.
    pub interval: Duration,
    /// Collector tick.
    pub tick: Duration,
    /// Extra cm_nodes entries beyond the nodes' own IPs (host part within the test /24).
    pub extra_cm_nodes: Vec<u8>,
    /// Replace the generated config.yaml by this text (`{port}` is the MetaDB port).
    pub config_text: Option<String>,
}

impl ClusterSpec {
    /// `n` healthy nodes, 1 s intervals.
    pub fn healthy(n: usize) -> ClusterSpec {
        ClusterSpec {
            nodes: (1..=n).map(NodeSpec::healthy).collect(),
            interval: Duration::from_secs(1),
            tick: Duration::from_millis(500),
            extra_cm_nodes: Vec::new(),
            config_text: None,
        }
    }
}

/// A running cluster.
pub struct Cluster {
    /// The MetaDB.
    pub db: MariaDb,
    /// The nodes' network.
    pub net: TestNet,
    /// One supervisord per node.
    pub supervisors: Vec<Supervisord>,
    /// One agent per node (`None` where the spec asked for none or it was killed).
    pub agents: Vec<Option<Child>>,
    /// The collector process.
    pub collector: Child,
    /// The collector's URL.
    pub collector_url: String,
    /// The config.yaml the collector reads.
    pub config_path: PathBuf,
    /// Holds config.yaml and logs.
    pub dir: TempDir,
}

impl Cluster {
    /// Builds and starts everything in `spec`; ready when every agent has reported.
    pub async fn start(spec: ClusterSpec) -> anyhow::Result<Cluster> {
        crate::require_root()?;
        let dir = tempfile::Builder::new()
            .prefix("omswatch-cluster-")
            .tempdir()?;
        let (db, net) = tokio::join!(MariaDb::start(), async { TestNet::new(spec.nodes.len()) });
        let (db, mut net) = (db?, net?);
        for (i, node) in spec.nodes.iter().enumerate() {
            net.set_hostname(i, &node.name)?;
            if let Some(ip) = node.hosts_ip {
                net.set_hosts_ip(i, ip)?;
            }
        }
        seed(&db, &net, &spec).await?;
        let config_path = dir.path().join("config.yaml");
        std::fs::write(&config_path, config_text(&spec, &net, db.port()))?;
        let mut supervisors = Vec::new();
        for (i, node) in spec.nodes.iter().enumerate() {
            supervisors.push(Supervisord::start(&node.programs, Some(net.node(i)?)).await?);
        }
        let port = free_port()?;
        let collector_url = format!("http://{}:{port}", net.bridge_ip());
        let collector = spawn_collector(&dir, &config_path, &net, port, &spec)?;
        let mut cluster = Cluster {
            db,
            net,
            supervisors,
            agents: Vec::new(),
            collector,
            collector_url,
            config_path,
            dir,
        };
        for (i, node) in spec.nodes.iter().enumerate() {
            let agent = if node.agent {
                Some(cluster.spawn_agent(i, node, &spec)?)
            } else {
                None
            };
            cluster.agents.push(agent);
        }
        let expected = spec.nodes.iter().filter(|n| n.agent).count();
        cluster
            .wait_for("every agent reported", Duration::from_secs(30), |s| {
                s["nodes"].as_array().is_some_and(|n| n.len() == expected)
            })
            .await?;
        Ok(cluster)
    }

    fn spawn_agent(&self, i: usize, node: &NodeSpec, spec: &ClusterSpec) -> anyhow::Result<Child> {
        let net = self.net.node(i)?;
        let log = std::fs::File::create(self.dir.path().join(format!("agent-{}.log", node.name)))?;
        let mut command = net.command(bin_path("omswatch-agent")?);
        command
            .arg("--collector")
            .arg(&self.collector_url)
            .args([
                "--node",
                &node.name,
                "--interval",
                &humantime(spec.interval),
                "--probe-every",
                "200ms",
            ])
            .arg("--supervisor-conf")
            .arg(self.supervisors[i].conf_path())
            .args(["--pid1-environ", "/dev/null"])
            .env_remove("OMS_HOST_IP");
        match &node.oms_host_ip {
            OmsHostIp::Own => command.env("OMS_HOST_IP", net.ip.to_string()),
            OmsHostIp::OfNode(j) => command.env("OMS_HOST_IP", self.net.node(*j)?.ip.to_string()),
            OmsHostIp::Unset => &mut command,
        };
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        command.spawn().context("spawning omswatch-agent")
    }

    /// Stops node `i`'s agent (SIGKILL), as when its container dies.
    pub async fn kill_agent(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut agent) = self.agents.get_mut(i).and_then(Option::take) {
            agent.kill().await?;
        }
        Ok(())
    }

    /// Runs `omswatch status --format json`; returns the document and the exit code.
    pub async fn status_json(&self) -> anyhow::Result<(serde_json::Value, i32)> {
        let (stdout, code) = self.omswatch(&["status", "--format", "json"]).await?;
        let doc = serde_json::from_str(&stdout)
            .with_context(|| format!("status is not JSON: {stdout}"))?;
        Ok((doc, code))
    }

    /// Runs the `omswatch` CLI against this cluster's collector; returns stdout and exit code.
    pub async fn omswatch(&self, args: &[&str]) -> anyhow::Result<(String, i32)> {
        let out = Command::new(bin_path("omswatch")?)
            .args(args)
            .args(["--collector", &self.collector_url])
            .output()
            .await?;
        let code = out.status.code().unwrap_or(-1);
        Ok((String::from_utf8_lossy(&out.stdout).into_owned(), code))
    }

    /// Polls the status until `done` holds; the error shows the last status and logs.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> anyhow::Result<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = String::from("(no answer)");
        while tokio::time::Instant::now() < deadline {
            if let Ok((doc, _)) = self.status_json().await {
                if done(&doc) {
                    return Ok(doc);
                }
                last = serde_json::to_string_pretty(&doc)?;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        bail!(
            "timed out after {timeout:?} waiting for {what}; last status:\n{last}\nlogs:\n{}",
            self.logs()
        )
    }

    /// Waits until a finding with `code` names exactly `nodes` (sorted); returns it.
    pub async fn wait_finding(
        &self,
        code: &str,
        nodes: &[&str],
    ) -> anyhow::Result<serde_json::Value> {
        let doc = self
            .wait_for(
                &format!("{code} naming {nodes:?}"),
                Duration::from_secs(30),
                |s| find(s, code).iter().any(|f| names(&f["nodes"]) == nodes),
            )
            .await?;
        Ok(find(&doc, code)
            .into_iter()
            .find(|f| names(&f["nodes"]) == nodes)
            .cloned()
            .unwrap_or_default())
    }

    /// The collector's and agents' logs, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for entry in entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
            {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                out.push_str(&format!("--- {}\n", entry.path().display()));
                out.extend(tail.into_iter().rev().map(|l| format!("{l}\n")));
            }
        }
        out
    }

    /// Everything the collector and agents logged, for secret-leak checks.
    pub fn all_logs(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.path().extension().is_some_and(|x| x == "log") {
                out.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        out
    }
}

/// Findings with `code` in a status document.
pub fn find<'a>(status: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    status["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["code"] == code).collect())
        .unwrap_or_default()
}

/// The codes in a status document.
pub fn codes(status: &serde_json::Value) -> Vec<String> {
    status["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["code"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

async fn seed(db: &MariaDb, net: &TestNet, spec: &ClusterSpec) -> anyhow::Result<()> {
    db.create_user(META_USER, META_PASSWORD).await?;
    db.create_cm_db(CM_DB).await?;
    db.create_heartbeat_db(HEARTBEAT_DB).await?;
    for (i, node) in spec.nodes.iter().enumerate() {
        let ip = net.node(i)?.ip.to_string();
        if let Some(status) = &node.host_status {
            db.insert_host(CM_DB, &ip, status).await?;
        }
        if let Some(age) = node.heartbeat_age_s {
            db.upsert_heartbeat(HEARTBEAT_DB, &ip, age).await?;
        }
    }
    Ok(())
}

/// The region's config.yaml, as the OMS installer would write it.
fn config_text(spec: &ClusterSpec, net: &TestNet, port: u16) -> String {
    if let Some(text) = &spec.config_text {
        return text.replace("{port}", &port.to_string());
    }
    let subnet = net.bridge_ip().octets();
    let mut cm_nodes: Vec<String> = spec
        .nodes
        .iter()
        .zip(net.nodes())
        .filter(|(spec, _)| spec.in_cm_nodes)
        .map(|(_, n)| n.ip.to_string())
        .collect();
    cm_nodes.extend(
        spec.extra_cm_nodes
            .iter()
            .map(|h| format!("{}.{}.{}.{h}", subnet[0], subnet[1], subnet[2])),
    );
    let list: String = cm_nodes.iter().map(|ip| format!("  - {ip}\n")).collect();
    format!(
        "oms_meta_host: 127.0.0.1\noms_meta_port: {port}\noms_meta_user: {META_USER}\n\
         oms_meta_password: \"{META_PASSWORD}\"\ndrc_rm_db: oms_rm\ndrc_cm_db: {CM_DB}\n\
         drc_cm_heartbeat_db: {HEARTBEAT_DB}\ncm_url: http://{}:8088\ncm_location: 0\ncm_region: \"\"\n\
         cm_is_default: true\ncm_nodes:\n{list}tsdb_enabled: false\n",
        cm_nodes.first().map_or("127.0.0.1", String::as_str)
    )
}

fn spawn_collector(
    dir: &TempDir,
    config: &Path,
    net: &TestNet,
    port: u16,
    spec: &ClusterSpec,
) -> anyhow::Result<Child> {
    let log = std::fs::File::create(dir.path().join("collector.log"))?;
    Command::new(bin_path("omswatch-collector")?)
        .args(["--listen", &format!("{}:{port}", net.bridge_ip())])
        .arg("--oms-config")
        .arg(config)
        .args(["--tick", &humantime(spec.tick), "--metadb-timeout", "2s"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("spawning omswatch-collector")
}

fn humantime(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}
