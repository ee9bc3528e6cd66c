//! `omswatch check`: the cluster-wide half of the runbook with nothing deployed.
//! Each region's config.yaml and the MetaDB it names are read once, with the
//! collector's own reader ([`omswatch_metadb`]), and diagnosed by the same pure
//! core in its no-agents scope ([`Scope::NoAgents`]): steps 4 and 5 (host rows,
//! heartbeats), the installer's config.yaml rules and the MetaDB rows no
//! cm_nodes explains. What only agents can see is left out and said so
//! ([`NODE_SIDE`]). No collector, no certificate, nothing written.

use std::path::PathBuf;
use std::time::Duration;

use omswatch_common::diagnose::diagnose;
use omswatch_common::oms_config;
use omswatch_common::proto::v1::ClusterStatus;
use omswatch_common::snapshot::{RegionInput, Scope, Snapshot, Thresholds};
use omswatch_common::telemetry::now_unix_ms;
use omswatch_metadb::{MetaDbReader, MetaDbTls, unanswered};
use tokio::task::JoinSet;

use crate::views::{self, Format};

/// What `check` cannot see, said once in its output.
pub const NODE_SIDE: &str =
    "node-side checks need `omswatch-agent --once` on each server or a collector";

/// What to check, and how long the MetaDB may take.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// One config.yaml per region.
    pub configs: Vec<PathBuf>,
    /// The whole MetaDB read (every region at once) gives up after this long.
    pub metadb_timeout: Duration,
    /// TLS towards the MetaDB.
    pub metadb_tls: MetaDbTls,
    /// A supervisor heartbeat older than this is stale.
    pub heartbeat_stale: Duration,
}

/// `omswatch check`: checks, prints in `format` (the note on what it cannot
/// see goes to stderr with JSON), and returns the exit code of `status`.
pub async fn print(options: &CheckOptions, format: Format) -> u8 {
    if let Err(e) = options.metadb_tls.validate() {
        eprintln!("omswatch: {e}");
        return views::EXIT_UNUSABLE;
    }
    let status = run(options).await;
    match format {
        Format::Table => {
            let files = options.configs.len();
            let title = format!(
                "omswatch check of {files} config.yaml file{}",
                if files == 1 { "" } else { "s" }
            );
            let no_nodes = format!("No agent reports here: {NODE_SIDE}.");
            let heading = views::table::Heading {
                title: &title,
                no_nodes: &no_nodes,
            };
            print!("{}", views::table::render_with(&status, &heading));
        }
        Format::Json => {
            print!("{}", omswatch_common::views::status_json::document(&status));
            eprintln!("omswatch: {NODE_SIDE}");
        }
    }
    views::exit_code(&status)
}

/// Reads every config.yaml and, once, the MetaDB of each valid one; diagnoses
/// without agents. An unreadable file or MetaDB is a finding, never an error.
pub async fn run(options: &CheckOptions) -> ClusterStatus {
    let mut regions: Vec<RegionInput> = options
        .configs
        .iter()
        .map(|path| {
            let (config, summary) = oms_config::load(path);
            RegionInput {
                config,
                summary,
                metadb: None,
            }
        })
        .collect();
    read_metadb(&mut regions, options.metadb_timeout, &options.metadb_tls).await;
    let snapshot = Snapshot {
        now_unix_ms: now_unix_ms(),
        nodes: Vec::new(),
        regions,
        thresholds: Thresholds {
            heartbeat_stale_s: i64::try_from(options.heartbeat_stale.as_secs()).unwrap_or(i64::MAX),
            ..Thresholds::default()
        },
        scope: Scope::NoAgents,
    };
    omswatch_common::wire::cluster_status(
        &diagnose(&snapshot),
        snapshot.now_unix_ms,
        crate::VERSION,
    )
}

/// Reads every valid region's MetaDB at once, each with its own reader (so one
/// slow region cannot delay the others), all within `timeout`: a region not
/// answered by then reads as unreachable, and the rest is still checked.
async fn read_metadb(regions: &mut [RegionInput], timeout: Duration, tls: &MetaDbTls) {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut reads = JoinSet::new();
    for (i, region) in regions.iter().enumerate() {
        if let Ok(config) = &region.config {
            let (config, tls) = (config.clone(), tls.clone());
            reads.spawn(async move { (i, MetaDbReader::new(timeout, tls).read(&config).await) });
        }
    }
    let mut stopped = None;
    loop {
        match tokio::time::timeout_at(deadline, reads.join_next()).await {
            Ok(Some(Ok((i, view)))) => regions[i].metadb = Some(view),
            Ok(Some(Err(e))) => stopped = Some(format!("the read stopped: {e}")),
            Ok(None) => break,
            Err(_) => {
                reads.abort_all();
                break;
            }
        }
    }
    let reason = stopped.unwrap_or_else(|| {
        format!(
            "cannot connect: no complete answer within {}",
            humantime::format_duration(timeout)
        )
    });
    for region in regions.iter_mut().filter(|r| r.metadb.is_none()) {
        if let Ok(config) = &region.config {
            region.metadb = Some(unanswered(config, &reason));
        }
    }
}
