//! The poller: every tick it re-reads each region's config.yaml, reads the
//! MetaDB ([`omswatch_metadb`]), hands both to the aggregator ([`crate::state`]),
//! logs the findings that appeared or cleared, and writes the state file
//! ([`crate::persist`]). One task, started by [`crate::server::run`]; a MetaDB
//! that hangs delays only this task, never ingest or queries.

use std::collections::BTreeSet;

use omswatch_common::diagnose::diagnose;
use omswatch_common::findings::Finding;
use omswatch_common::oms_config;
use omswatch_common::snapshot::RegionInput;
use omswatch_metadb::MetaDbReader;

use crate::settings::Settings;
use crate::state::StateHandle;

/// Every tick: re-read each config.yaml (edits are picked up without a restart),
/// read the MetaDB, hand both to the aggregator, and log what changed.
pub async fn run(settings: Settings, state: StateHandle) {
    let mut reader = MetaDbReader::new(settings.metadb_timeout, settings.metadb_tls.clone());
    let mut ticker = tokio::time::interval(settings.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous = BTreeSet::new();
    let mut first_tick = true;
    let mut save_error: Option<String> = None;
    loop {
        ticker.tick().await;
        let mut regions: Vec<RegionInput> = settings
            .oms_configs
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
        // On the first tick, publish the configs before the (slower) MetaDB reads, so
        // config findings show at once even while the MetaDB hangs.
        if first_tick && state.set_regions(regions.clone()).await.is_err() {
            return;
        }
        first_tick = false;
        for region in &mut regions {
            if let Ok(config) = &region.config {
                region.metadb = Some(reader.read(config).await);
            }
        }
        let valid: Vec<_> = regions
            .iter()
            .filter_map(|r| r.config.as_ref().ok())
            .collect();
        reader.retain(&valid);
        if state.set_regions(regions).await.is_err() {
            return;
        }
        let Ok(snapshot) = state.snapshot().await else {
            return;
        };
        previous = log_changes(previous, &diagnose(&snapshot).findings);
        if let Some(path) = &settings.state_file {
            save_error = keep(path, &snapshot.nodes, save_error);
        }
    }
}

/// Saves the nodes; logs a failure once (not every tick) and its recovery.
fn keep(
    path: &std::path::Path,
    nodes: &[omswatch_common::snapshot::NodeObservation],
    last: Option<String>,
) -> Option<String> {
    match (crate::persist::save(path, nodes), last) {
        (Ok(()), Some(_)) => {
            tracing::info!(file = %path.display(), "the state file is written again");
            None
        }
        (Ok(()), None) => None,
        (Err(e), last) => {
            let text = e.to_string();
            if last.as_deref() != Some(text.as_str()) {
                tracing::error!(error = %text, "cannot write the state file: a restart would forget nodes");
            }
            Some(text)
        }
    }
}

/// Logs findings that appeared or cleared since the last tick, by their stable
/// id (code and subject, not ages); returns the new set of ids.
fn log_changes(previous: BTreeSet<String>, findings: &[Finding]) -> BTreeSet<String> {
    let current: BTreeSet<String> = findings.iter().map(|f| f.id.clone()).collect();
    for f in findings.iter().filter(|f| !previous.contains(&f.id)) {
        tracing::warn!(id = %f.id, code = %f.code, severity = %f.severity(), nodes = ?f.nodes, caused_by = ?f.caused_by, "finding raised: {}", f.message);
    }
    for gone in previous.difference(&current) {
        tracing::info!(finding = %gone, "finding cleared");
    }
    current
}
