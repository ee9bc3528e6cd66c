//! Builds NodeReports from the probes, and decides when one is worth sending
//! before the interval is up: when what an operator would see has changed.

use std::collections::BTreeMap;

use omswatch_common::proto::v1::{
    Identity, NodeConfig, NodeReport, OmsHealth, Program, SupervisorStatus,
};

use crate::probe::health::HealthProbe;
use crate::probe::identity::IdentityProbe;
use crate::probe::node_config::{self, ConfigProbe};
use crate::probe::resources::ResourceProbe;
use crate::probe::supervisor::SupervisorProbe;

/// Where each probe looks.
pub struct Probes {
    /// Host name, its addresses, interfaces, OMS_HOST_IP.
    pub identity: IdentityProbe,
    /// The supervisord probe.
    pub supervisor: SupervisorProbe,
    /// The node's config.yaml.
    pub oms_config: ConfigProbe,
    /// Load, memory, CPUs and the OMS paths' disks.
    pub resources: ResourceProbe,
    /// OMS's health endpoint and docker_init log.
    pub health: HealthProbe,
}

/// Everything needed to build a report.
pub struct Reporter {
    /// Node name in reports.
    pub node: String,
    /// Region given on the command line; empty = `cm_region` of the node's config.yaml.
    pub region: String,
    /// The reporting interval announced to the collector.
    pub interval_ms: u32,
    /// The probes.
    pub probes: Probes,
    /// What this agent lets a collector restart, advertised in every report.
    pub restart_policy: Option<omswatch_common::proto::v1::RestartPolicy>,
    seq: u64,
}

impl Reporter {
    /// A reporter for `node`.
    pub fn new(node: String, region: String, interval_ms: u32, probes: Probes) -> Self {
        Self {
            node,
            region,
            interval_ms,
            probes,
            restart_policy: None,
            seq: 0,
        }
    }

    /// Runs every probe and builds the next report, clipped to the collector's limits
    /// ([`omswatch_common::limits::clip()`]). config.yaml is read first: it tells the health probe its port; the
    /// others run together.
    pub async fn build(&mut self) -> NodeReport {
        let probes = &self.probes;
        let config = probes.oms_config.probe().await;
        let nginx_server_port = node_config::nginx_server_port(&config);
        let (identity, supervisor, resources, health) = tokio::join!(
            probes.identity.probe(),
            probes.supervisor.probe(),
            probes.resources.probe(),
            probes.health.probe(nginx_server_port),
        );
        let region = match self.region.trim() {
            "" => node_config::region(&config).unwrap_or_default().to_owned(),
            given => given.to_owned(),
        };
        self.seq += 1;
        let mut report = NodeReport {
            node: self.node.clone(),
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            interval_ms: self.interval_ms,
            sent_at_unix_ms: omswatch_common::telemetry::now_unix_ms(),
            seq: self.seq,
            identity: Some(identity),
            supervisor: Some(supervisor),
            region,
            config: Some(config),
            resources: Some(resources),
            health: Some(health),
            restart: None,
            restart_policy: self.restart_policy.clone(),
        };
        // Clipped here rather than at sending, so `--once` prints what is sent
        // and change detection compares what the collector will see.
        omswatch_common::limits::clip(&mut report);
        report
    }
}

/// What of a report matters for the diagnosis: identity, program states and autostart, the
/// config's values and digests, OMS's health. Not uptimes, timestamps, sequence numbers, load,
/// memory or disk space: those change every second and go out every interval anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    identity: Identity,
    reachable: bool,
    error: String,
    programs: Vec<ProgramPrint>,
    config: ConfigPrint,
    health: HealthPrint,
}

/// A program's name, state, pid, spawn error and autostart.
type ProgramPrint = (String, String, u32, String, Option<bool>);

/// config.yaml's values, secret digests and read error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ConfigPrint {
    values: BTreeMap<String, String>,
    secret_digests: BTreeMap<String, String>,
    error: String,
}

/// Health: probed, reachable, healthy, HTTP status, docker_init ran.
type HealthPrint = (bool, bool, bool, u32, bool);

impl Fingerprint {
    /// The fingerprint of `report`.
    pub fn of(report: &NodeReport) -> Self {
        let supervisor = report.supervisor.clone().unwrap_or_default();
        let SupervisorStatus {
            reachable,
            error,
            programs,
            ..
        } = supervisor;
        let config = report.config.clone().unwrap_or_default();
        let NodeConfig {
            values,
            secret_digests,
            error: config_error,
            ..
        } = config;
        let health = report.health.clone().unwrap_or_default();
        let OmsHealth {
            probed,
            reachable: health_reachable,
            healthy,
            http_status,
            docker_init_ran,
            ..
        } = health;
        Self {
            identity: report.identity.clone().unwrap_or_default(),
            reachable,
            error,
            programs: programs
                .into_iter()
                .map(|p: Program| (p.name, p.state, p.pid, p.spawn_error, p.autostart))
                .collect(),
            config: ConfigPrint {
                values: values.into_iter().collect(),
                secret_digests: secret_digests.into_iter().collect(),
                error: config_error,
            },
            health: (
                probed,
                health_reachable,
                healthy,
                http_status,
                docker_init_ran,
            ),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
