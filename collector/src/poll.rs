//! The poller: every tick it re-reads each region's config.yaml, reads the
//! MetaDB ([`crate::metadb`]), hands both to the aggregator ([`crate::state`]),
//! logs the findings that appeared or cleared, and hands the diagnosis to the
//! timeline ([`crate::store::timeline`], which records it without making this
//! task wait). One task, started by [`crate::server::run`]; a MetaDB that hangs
//! delays only this task, never ingest or queries.

use std::collections::BTreeSet;

use omswatch_common::diagnose::diagnose;
use omswatch_common::findings::Finding;
use omswatch_common::oms_config;
use omswatch_common::snapshot::RegionInput;

use crate::metadb::MetaDbReader;
use crate::settings::Settings;
use crate::state::StateHandle;
use crate::store::timeline::{Observation, TimelineHandle};

/// Every tick: re-read each config.yaml (edits are picked up without a restart),
/// read the MetaDB, hand both to the aggregator, log what changed and hand the
/// diagnosis to the timeline.
pub async fn run(settings: Settings, state: StateHandle, timeline: TimelineHandle) {
    let mut reader = MetaDbReader::new(settings.metadb_timeout, settings.metadb_tls.clone());
    let mut ticker = tokio::time::interval(settings.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous = BTreeSet::new();
    let mut first_tick = true;
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
        let diagnosis = diagnose(&snapshot);
        previous = log_changes(previous, &diagnosis.findings);
        timeline.observe(Observation::of(&snapshot, &diagnosis));
    }
}

/// Logs findings that appeared or cleared since the last tick; returns the new set.
fn log_changes(previous: BTreeSet<String>, findings: &[Finding]) -> BTreeSet<String> {
    let current: BTreeSet<String> = findings.iter().map(identity).collect();
    for f in findings.iter().filter(|f| !previous.contains(&identity(f))) {
        tracing::warn!(code = %f.code, severity = %f.severity(), nodes = ?f.nodes, "finding raised: {}", f.message);
    }
    for gone in previous.difference(&current) {
        tracing::info!(finding = %gone, "finding cleared");
    }
    current
}

/// What makes a finding "the same" across ticks: code, nodes and subject, not ages.
fn identity(f: &Finding) -> String {
    let subject = ["ip", "program", "file", "key", "target"]
        .iter()
        .filter_map(|k| f.evidence.get(*k).map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" ");
    format!("{} [{}] {subject}", f.code, f.nodes.join(","))
}
