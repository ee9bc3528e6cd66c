//! A whole OMS-like cluster for end-to-end tests and the demo: a MetaDB (real
//! mariadbd) seeded with `host` and `heart_beat` rows, one network namespace per
//! node with a real supervisord and a real `omswatch-agent`, and a real
//! `omswatch-collector` on the test bridge. Everything is stopped on drop, agents first,
//! and every process is reaped (see [`TrackedChild`]).

mod files;
mod history;
mod launch;
mod once;
mod pair;
mod pki;
mod query;
mod remediation;
mod spec;

pub use files::{CM_DB, HEARTBEAT_DB, META_PASSWORD, META_USER, heartbeat_db};
pub use history::brief;
pub use once::OnceRun;
pub use pair::Peer;
pub use pki::{CertFiles, Pki, TOKEN};
pub use query::proto_finding;
pub use remediation::CliRun;
pub use spec::{
    ClusterSpec, ConfigEdit, NodeSpec, OmsHostIp, StoreKind, neutral_resource_thresholds,
    nginx_script, oms_programs_serving_health,
};

/// The password of the collector's MariaDB store (`StoreKind::MariaDb`), kept in a file.
pub const STORE_PASSWORD: &str = "omswatch-store-pw-3f9a";
/// The user and database of that store.
pub const STORE_USER_DB: (&str, &str) = ("omswatch", "omswatch_store");

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::process::Command;

use crate::host_lock::{HostLock, owned_temp_dir, sweep_temp_dirs};
use crate::{MariaDb, Supervisord, TestNet, TrackedChild, bin_path, free_port};
use launch::{agent_command, collector_args, launch_collector, millis};

/// A running cluster.
pub struct Cluster {
    /// The MetaDB.
    pub db: MariaDb,
    /// The nodes' network.
    pub net: TestNet,
    /// One supervisord per node.
    pub supervisors: Vec<Supervisord>,
    /// One agent per node (`None` where the spec asked for none or it was killed).
    pub agents: Vec<Option<TrackedChild>>,
    /// The collector process.
    pub collector: TrackedChild,
    /// Its arguments, to restart it the same way.
    collector_args: Vec<String>,
    /// The collector's URL.
    pub collector_url: String,
    /// The collector's HTTP listener (`/metrics`, `/api/v1/status`), no trailing slash.
    pub http_url: String,
    /// The second collector of a pair ([`ClusterSpec::pair`]), on the same store.
    pub peer: Option<Peer>,
    /// The config.yaml the collector reads (region 0's).
    pub config_path: PathBuf,
    /// Every region's config.yaml, by region index.
    pub region_configs: Vec<PathBuf>,
    /// Each node's own copy of its region's config.yaml (what its agent reads).
    pub node_configs: Vec<PathBuf>,
    /// The certificates, unless the spec asked for plain text.
    pub pki: Option<Pki>,
    /// Holds config.yaml, logs and the PKI; removed on drop.
    pub dir: TempDir,
    /// Marks `dir` as in use (see [`owned_temp_dir`]); released after it.
    _dir_lock: HostLock,
}

/// Prefix of the clusters' temp dirs.
pub const DIR_PREFIX: &str = "omswatch-cluster-";

impl Cluster {
    /// Builds and starts everything in `spec`; ready when every agent has reported.
    pub async fn start(spec: ClusterSpec) -> anyhow::Result<Cluster> {
        crate::require_root()?;
        sweep_temp_dirs(DIR_PREFIX);
        let (dir, dir_lock) = owned_temp_dir(DIR_PREFIX)?;
        let (db, net) = tokio::join!(MariaDb::start(), async { TestNet::new(spec.nodes.len()) });
        let (db, mut net) = (db?, net?);
        for (i, node) in spec.nodes.iter().enumerate() {
            net.set_hostname(i, &node.name)?;
            if let Some(ip) = node.hosts_ip {
                net.set_hosts_ip(i, ip)?;
            }
        }
        seed(&db, &net, &spec).await?;
        let region_configs = files::write_region_configs(dir.path(), &spec, &net, db.port())?;
        let mut node_configs = Vec::new();
        for node in &spec.nodes {
            let region = region_configs
                .get(node.region)
                .context("node region out of range")?;
            node_configs.push(files::write_node_config(
                dir.path(),
                region,
                &node.name,
                &node.config_edits,
                &net,
            )?);
        }
        let mut supervisors = Vec::new();
        for (i, node) in spec.nodes.iter().enumerate() {
            supervisors.push(Supervisord::start(&node.programs, Some(net.node(i)?)).await?);
        }
        let port = free_port()?;
        let pki = if spec.tls {
            let names: Vec<String> = spec.nodes.iter().map(|n| n.name.clone()).collect();
            Some(Pki::create(
                &dir.path().join("pki"),
                net.bridge_ip().into(),
                &names,
            )?)
        } else {
            None
        };
        let scheme = if pki.is_some() { "https" } else { "http" };
        let collector_url = format!("{scheme}://{}:{port}", net.bridge_ip());
        let http_port = free_port()?;
        // The HTTP listener speaks TLS exactly when gRPC does, on the same certificate.
        let http_url = format!("{scheme}://{}:{http_port}", net.bridge_ip());
        let ports = (port, http_port);
        let mut collector_args = collector_args(&region_configs, &net, ports, &spec, pki.as_ref());
        collector_args.extend(history::store_args(&db, &dir, spec.store).await?);
        let collector = launch_collector(&dir, &collector_args)?;
        let peer = match spec.pair {
            true => Some(Peer::launch(&dir, &collector_args, &net, scheme)?),
            false => None,
        };
        let config_path = region_configs[0].clone();
        let mut cluster = Cluster {
            db,
            net,
            supervisors,
            agents: Vec::new(),
            collector,
            collector_args,
            collector_url,
            http_url,
            peer,
            config_path,
            region_configs,
            node_configs,
            pki,
            dir,
            _dir_lock: dir_lock,
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
        cluster.wait_peer_nodes(expected).await?;
        Ok(cluster)
    }

    fn spawn_agent(
        &self,
        i: usize,
        node: &NodeSpec,
        spec: &ClusterSpec,
    ) -> anyhow::Result<TrackedChild> {
        let net = self.net.node(i)?;
        let log = std::fs::File::create(self.dir.path().join(format!("agent-{}.log", node.name)))?;
        let logs = files::write_log_dir(self.dir.path(), &node.name, node.docker_init_ran)?;
        let mut command = agent_command(net, node.clock_offset.as_deref())?;
        let collectors = match &self.peer {
            Some(peer) => format!("{},{}", self.collector_url, peer.url),
            None => self.collector_url.clone(),
        };
        command
            .arg("--collector")
            .arg(&collectors)
            .args([
                "--node",
                &node.name,
                "--interval",
                &millis(spec.interval),
                "--probe-every",
                "200ms",
            ])
            .arg("--supervisor-conf")
            .arg(self.supervisors[i].conf_path())
            .args(["--pid1-environ", "/dev/null"])
            .arg("--oms-config")
            .arg(&self.node_configs[i])
            .arg("--docker-init-log-dir")
            .arg(&logs)
            .arg("--disk-path")
            .arg(&logs)
            .args(self.client_tls_args(self.pki.as_ref().and_then(|p| p.node(&node.name))))
            .args(&node.agent_args)
            .env_remove("OMS_HOST_IP")
            // Debug logs in tests: the leak checks then cover the chattiest output.
            .env(
                "RUST_LOG",
                "info,omswatch_agent=debug,omswatch_common=debug",
            );
        match &node.oms_host_ip {
            OmsHostIp::Own => command.env("OMS_HOST_IP", net.ip.to_string()),
            OmsHostIp::OfNode(j) => command.env("OMS_HOST_IP", self.net.node(*j)?.ip.to_string()),
            OmsHostIp::Unset => &mut command,
        };
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        TrackedChild::spawn(&mut command).context("spawning omswatch-agent")
    }

    /// Kills the collector (SIGKILL: no graceful stop) and starts it again with
    /// the same arguments and store.
    pub async fn restart_collector(&mut self) -> anyhow::Result<()> {
        self.collector.kill();
        self.collector = launch_collector(&self.dir, &self.collector_args)?;
        Ok(())
    }

    /// Stops node `i`'s agent (SIGKILL), as when its container dies.
    pub async fn kill_agent(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut agent) = self.agents.get_mut(i).and_then(Option::take) {
            agent.kill();
        }
        Ok(())
    }

    /// Every live process this cluster started: agents, collector, supervisords and their
    /// programs, mariadbd (what its drop must leave dead and reaped).
    pub fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self
            .agents
            .iter()
            .flatten()
            .chain([&self.collector])
            .chain(self.peer.iter().map(|p| &p.collector))
            .flat_map(TrackedChild::pids)
            .collect();
        pids.extend(self.supervisors.iter().flat_map(Supervisord::pids));
        pids.extend(self.db.pids());
        pids
    }

    /// Runs `omswatch status --format json`; returns the document and the exit code.
    pub async fn status_json(&self) -> anyhow::Result<(serde_json::Value, i32)> {
        let (stdout, code) = self.omswatch(&["status", "--format", "json"]).await?;
        let doc = serde_json::from_str(&stdout)
            .with_context(|| format!("status is not JSON: {stdout}"))?;
        Ok((doc, code))
    }

    /// TLS flags for a client presenting `cert` (plain-text flags without a PKI).
    pub fn client_tls_args(&self, cert: Option<&CertFiles>) -> Vec<String> {
        match (&self.pki, cert) {
            (Some(pki), Some(cert)) => pki.client_args(cert),
            (Some(pki), None) => vec!["--ca".into(), pki.ca.display().to_string()],
            (None, _) => vec!["--insecure".into(), "--insecure-allow-remote".into()],
        }
    }

    /// Runs the `omswatch` CLI against this cluster's collector as the operator;
    /// returns stdout and exit code.
    pub async fn omswatch(&self, args: &[&str]) -> anyhow::Result<(String, i32)> {
        let operator = self.pki.as_ref().map(|p| p.operator.clone());
        let out = Command::new(bin_path("omswatch")?)
            .args(args)
            .args(["--collector", &self.collector_url])
            .args(self.client_tls_args(operator.as_ref()))
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
    for r in 0..spec.regions.max(1) {
        db.create_heartbeat_db(&heartbeat_db(r)).await?;
    }
    for (i, node) in spec.nodes.iter().enumerate() {
        let ip = net.node(i)?.ip.to_string();
        if let Some(status) = &node.host_status {
            db.insert_host(CM_DB, &ip, status).await?;
        }
        if let Some(age) = node.heartbeat_age_s {
            db.upsert_heartbeat(&heartbeat_db(node.region), &ip, age)
                .await?;
        }
    }
    Ok(())
}

impl Drop for Cluster {
    /// Agents first (they would log the collector's absence), then the collector and the
    /// supervisords; the database and the network go with the fields afterwards.
    fn drop(&mut self) {
        self.agents.clear();
        self.collector.kill();
        if let Some(peer) = &mut self.peer {
            peer.collector.kill();
        }
        self.supervisors.clear();
    }
}
