//! Everything the collector knows at one instant: the diagnosis's only input.
//!
//! The collector's I/O shells fill it (agent reports, parsed config.yaml files,
//! MetaDB rows); [`crate::diagnose::diagnose`] reads it and does no I/O.

use std::sync::Arc;

use crate::oms_config::{ConfigIssue, RegionConfig};
use crate::proto::v1::{NodeConfig, NodeReport};

/// The collector's knowledge at `now_unix_ms`.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The collector's clock (Unix milliseconds); report ages are measured against it.
    pub now_unix_ms: i64,
    /// The latest report of every node that ever reported.
    pub nodes: Vec<NodeObservation>,
    /// One entry per config.yaml given to the collector.
    pub regions: Vec<RegionInput>,
    /// Tunable limits.
    pub thresholds: Thresholds,
    /// What the snapshot covers, and so which rules may speak (see
    /// [`Scope::judges`]).
    pub scope: Scope,
}

/// What a snapshot covers. Findings that only the whole picture can justify are
/// left out of a partial one: without agents, a server that sends no report is
/// not a finding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// The collector's: every region's config.yaml, the MetaDB, and the reports of
    /// the agents that are meant to run on every OMS server.
    #[default]
    Cluster,
    /// `omswatch check`'s: the regions' config.yaml files and the MetaDB, no agent
    /// at all (steps 4 and 5 of the runbook and the installer's rules).
    NoAgents,
    /// `omswatch-agent --once`'s: one node's report and its own config.yaml, no
    /// MetaDB, no other node nor region (steps 2 and 3 of the runbook).
    OneNode,
}

/// The latest report of one node.
#[derive(Debug, Clone)]
pub struct NodeObservation {
    /// The report as received (validated by ingest), shared: a snapshot, the store's writer
    /// and the aggregator hold the same report, so a snapshot of 10,000 nodes copies
    /// pointers, not reports (change one with `Arc::make_mut`).
    pub report: Arc<NodeReport>,
    /// When the collector received it (collector clock, Unix milliseconds).
    pub received_at_unix_ms: i64,
}

impl NodeObservation {
    /// The report to change in place (a copy if a snapshot still shares it).
    pub fn report_mut(&mut self) -> &mut NodeReport {
        Arc::make_mut(&mut self.report)
    }
}

/// One region: its config.yaml and what its MetaDB said.
#[derive(Debug, Clone)]
pub struct RegionInput {
    /// The parsed config, or every problem found in it.
    pub config: Result<RegionConfig, Vec<ConfigIssue>>,
    /// The collector's copy summarised as agents summarise theirs (for drift
    /// checks and bundles); `None` when the file could not be read.
    pub summary: Option<NodeConfig>,
    /// The MetaDB rows of this region; `None` before the first read.
    pub metadb: Option<MetaDbView>,
}

/// What one read of a region's MetaDB returned.
#[derive(Debug, Clone)]
pub struct MetaDbView {
    /// `SELECT ip, host_status FROM <drc_cm_db>.host`.
    pub hosts: Result<Vec<HostRow>, MetaDbFailure>,
    /// `heart_beat` rows with `task_name='supervisor'`.
    pub heartbeats: Result<Vec<HeartbeatRow>, MetaDbFailure>,
    /// The MetaDB's clock at the read, for clock-skew checks; `None` when unread.
    pub clock: Option<DbClock>,
}

/// The MetaDB's clock against the collector's, taken at one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbClock {
    /// `NOW()` of the MetaDB (Unix milliseconds).
    pub db_unix_ms: i64,
    /// The collector's clock when the answer arrived (Unix milliseconds).
    pub collector_unix_ms: i64,
}

/// A row of `<drc_cm_db>.host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRow {
    /// `ip`, as stored.
    pub ip: String,
    /// `host_status` as text (OMS may store text or a number), `None` when NULL.
    pub host_status: Option<String>,
}

/// A supervisor row of `<drc_cm_heartbeat_db>.heart_beat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatRow {
    /// `host_ip`, as stored.
    pub host_ip: String,
    /// `task_type`.
    pub task_type: Option<String>,
    /// `gmt_created`, as text.
    pub gmt_created: Option<String>,
    /// `gmt_modified`, as text.
    pub gmt_modified: Option<String>,
    /// Seconds since `gmt_modified` by the MetaDB's own clock.
    pub age_s: Option<i64>,
}

/// Why a MetaDB read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaDbFailure {
    /// What was read: `user@host:port/db.table`.
    pub target: String,
    /// The database's or network's answer (never a password).
    pub reason: String,
}

/// Limits that decide findings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A heartbeat older than this is stale (runbook: gmt_modified must be current).
    pub heartbeat_stale_s: i64,
    /// A node is silent after this many of its own reporting intervals.
    pub silent_intervals: u32,
    /// Largest tolerated difference between a node's clock and the MetaDB's.
    pub clock_skew_s: i64,
    /// Largest tolerated 5-minute load average per CPU.
    pub load_per_cpu: f64,
    /// Smallest tolerated available memory, percent of total.
    pub memory_available_min_pct: f64,
    /// Largest tolerated use of a filesystem holding an OMS path, percent.
    pub disk_used_max_pct: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            heartbeat_stale_s: 60,
            silent_intervals: 3,
            clock_skew_s: 10,
            load_per_cpu: 2.0,
            memory_available_min_pct: 10.0,
            disk_used_max_pct: 90.0,
        }
    }
}
