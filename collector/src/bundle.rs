//! The raw material of `omswatch bundle`: the status, every node's last report
//! and each region's MetaDB rows and redacted config. Secrets never reach it:
//! reports carry digests only, and configs are redacted before they are stored.

use omswatch_common::proto::v1 as pb;
use omswatch_common::snapshot::{MetaDbView, RegionInput, Snapshot};

/// The bundle of one snapshot and its `status` (as GetStatus answers it).
pub fn bundle(snapshot: &Snapshot, status: pb::ClusterStatus) -> pb::Bundle {
    pb::Bundle {
        status: Some(status),
        reports: snapshot
            .nodes
            .iter()
            .map(|n| pb::NodeReport::clone(&n.report))
            .collect(),
        regions: snapshot.regions.iter().map(region_rows).collect(),
        generated_at_unix_ms: snapshot.now_unix_ms,
    }
}

fn region_rows(region: &RegionInput) -> pb::RegionRows {
    let (file, label) = match &region.config {
        Ok(config) => (config.file.clone(), config.label()),
        Err(issues) => (
            issues.first().map(|i| i.file.clone()).unwrap_or_default(),
            String::new(),
        ),
    };
    let mut rows = pb::RegionRows {
        file,
        region: label,
        redacted_config: region
            .summary
            .as_ref()
            .map(|s| s.redacted_text.clone())
            .unwrap_or_default(),
        ..Default::default()
    };
    if let Some(view) = &region.metadb {
        fill_rows(&mut rows, view);
    }
    rows
}

fn fill_rows(rows: &mut pb::RegionRows, view: &MetaDbView) {
    match &view.hosts {
        Ok(hosts) => {
            rows.hosts = hosts
                .iter()
                .map(|h| pb::HostRowMsg {
                    ip: h.ip.clone(),
                    host_status: h.host_status.clone(),
                })
                .collect();
        }
        Err(e) => rows.hosts_error = format!("{}: {}", e.target, e.reason),
    }
    match &view.heartbeats {
        Ok(beats) => {
            rows.heartbeats = beats
                .iter()
                .map(|b| pb::HeartbeatRowMsg {
                    host_ip: b.host_ip.clone(),
                    task_type: b.task_type.clone(),
                    gmt_created: b.gmt_created.clone(),
                    gmt_modified: b.gmt_modified.clone(),
                    age_s: b.age_s,
                })
                .collect();
        }
        Err(e) => rows.heartbeats_error = format!("{}: {}", e.target, e.reason),
    }
}
