//! Builds NodeReports from the probes, and decides when one is worth sending
//! before the interval is up: when what an operator would see has changed.

use std::time::{SystemTime, UNIX_EPOCH};

use omswatch_common::proto::v1::{Identity, NodeReport, SupervisorStatus};

use crate::probe::identity::{self, IdentitySources};
use crate::probe::supervisor::SupervisorProbe;

/// Everything needed to build a report.
pub struct Reporter {
    /// Node name in reports.
    pub node: String,
    /// Region, when configured.
    pub region: String,
    /// The reporting interval announced to the collector.
    pub interval_ms: u32,
    /// Identity sources.
    pub identity: IdentitySources,
    /// The supervisord probe.
    pub supervisor: SupervisorProbe,
    seq: u64,
}

impl Reporter {
    /// A reporter for `node`.
    pub fn new(
        node: String,
        region: String,
        interval_ms: u32,
        identity: IdentitySources,
        supervisor: SupervisorProbe,
    ) -> Self {
        Self {
            node,
            region,
            interval_ms,
            identity,
            supervisor,
            seq: 0,
        }
    }

    /// Runs every probe and builds the next report.
    pub async fn build(&mut self) -> NodeReport {
        let (identity, supervisor) =
            tokio::join!(identity::probe(&self.identity), self.supervisor.probe());
        self.seq += 1;
        NodeReport {
            node: self.node.clone(),
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            interval_ms: self.interval_ms,
            sent_at_unix_ms: now_unix_ms(),
            seq: self.seq,
            identity: Some(identity),
            supervisor: Some(supervisor),
            region: self.region.clone(),
            config: None,
            resources: None,
            health: None,
        }
    }
}

/// What of a report matters for the diagnosis: identity and program states, not
/// uptimes, timestamps or sequence numbers (those change every second).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    identity: Identity,
    reachable: bool,
    error: String,
    programs: Vec<(String, String, u32, String)>,
}

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
        Self {
            identity: report.identity.clone().unwrap_or_default(),
            reachable,
            error,
            programs: programs
                .into_iter()
                .map(|p| (p.name, p.state, p.pid, p.spawn_error))
                .collect(),
        }
    }
}

fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use omswatch_common::proto::v1::Program;

    fn report(state: &str, description: &str, seq: u64) -> NodeReport {
        NodeReport {
            seq,
            supervisor: Some(SupervisorStatus {
                reachable: true,
                programs: vec![Program {
                    name: "oms_console".into(),
                    state: state.into(),
                    description: description.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn uptime_and_seq_do_not_count_as_change_but_state_does() {
        let a = report("RUNNING", "pid 1, uptime 0:00:01", 1);
        let b = report("RUNNING", "pid 1, uptime 0:00:02", 2);
        let c = report("STOPPED", "Not started", 3);
        assert_eq!(Fingerprint::of(&a), Fingerprint::of(&b));
        assert_ne!(Fingerprint::of(&b), Fingerprint::of(&c));
    }
}
