//! The poller: every tick it re-reads each region's config.yaml that changed
//! ([`crate::configs`], parsed on a blocking thread), reads the
//! MetaDB ([`omswatch_metadb`]), hands both to the aggregator ([`crate::state`]),
//! logs the findings that appeared or cleared, and hands the diagnosis to the
//! timeline ([`crate::store::timeline`], which records it without making this
//! task wait) and, once the timeline records, to the Alertmanager push
//! ([`crate::notify::alertmanager`], which never makes it wait either). One task, started by [`crate::server::run`]; a MetaDB that hangs
//! delays only this task, never ingest or queries.

use std::collections::BTreeSet;

use omswatch_common::diagnose::diagnose;
use omswatch_common::findings::Finding;
use omswatch_common::snapshot::RegionInput;
use omswatch_metadb::MetaDbReader;

use crate::configs::ConfigFiles;
use crate::notify::alertmanager::AlertFeed;
use crate::settings::Settings;
use crate::state::StateHandle;
use crate::store::timeline::{Observation, TimelineHandle};

/// Every tick: re-read each changed config.yaml (edits are picked up without a restart),
/// read the MetaDB, hand both to the aggregator, log what changed and hand the
/// diagnosis to the timeline.
pub async fn run(
    settings: Settings,
    state: StateHandle,
    timeline: TimelineHandle,
    alerts: AlertFeed,
) {
    let mut reader = MetaDbReader::new(settings.metadb_timeout, settings.metadb_tls.clone());
    let mut ticker = tokio::time::interval(settings.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous = BTreeSet::new();
    let mut first_tick = true;
    let mut configs = ConfigFiles::new(&settings.oms_configs);
    loop {
        ticker.tick().await;
        let mut regions: Vec<RegionInput> = configs
            .load()
            .await
            .into_iter()
            .map(|(config, summary)| RegionInput {
                config,
                summary,
                metadb: None,
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
        // At 10,000 nodes a diagnosis takes tens of milliseconds: on a blocking thread, so
        // the runtime's workers keep acking reports meanwhile.
        let (timeline, alerts) = (timeline.clone(), alerts.clone());
        let judged = tokio::task::spawn_blocking(move || {
            let diagnosis = diagnose(&snapshot);
            let current = log_changes(previous, &diagnosis.findings);
            if timeline.recording() {
                alerts.publish(&snapshot, &diagnosis, &|f| timeline.since(f));
            }
            timeline.observe(Observation::of(&snapshot, &diagnosis));
            current
        });
        let Ok(current) = judged.await else {
            return; // the runtime is shutting down.
        };
        previous = current;
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
