//! Runbook steps 4 and 5: every cm_nodes IP (checked once, in the first region
//! listing it) has an ONLINE host row and a current supervisor heartbeat. A MetaDB
//! that cannot be read is one finding per cause, and the other checks still answer.

use std::collections::BTreeMap;

use super::context::{Context, RegionCtx};
use crate::findings::{Code, Finding};
use crate::snapshot::MetaDbFailure;

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut failures: BTreeMap<(String, String), Finding> = BTreeMap::new();
    for region in &ctx.regions {
        let Some(view) = region.metadb else { continue };
        match &view.hosts {
            Ok(_) => hosts(ctx, region, out),
            Err(e) => unreachable(&mut failures, region, e),
        }
        match &view.heartbeats {
            Ok(_) => heartbeats(ctx, region, out),
            Err(e) => unreachable(&mut failures, region, e),
        }
    }
    out.extend(failures.into_values());
}

/// Whether a host_status means online: `ONLINE` in any case, or OMS's numeric 1.
pub fn is_online(status: Option<&str>) -> bool {
    status.is_some_and(|s| s.trim().eq_ignore_ascii_case("ONLINE") || s.trim() == "1")
}

fn hosts(ctx: &Context<'_>, region: &RegionCtx<'_>, out: &mut Vec<Finding>) {
    let db = region.config.drc_cm_db.as_str();
    for &cm_ip in &region.owned_ips {
        let mine = region.hosts_of(cm_ip);
        let base = |code, message: String| {
            Finding::new(code, message)
                .nodes(ctx.nodes_at(cm_ip))
                .with("ip", cm_ip)
                .with("db", db)
        };
        if mine.is_empty() {
            out.push(base(
                Code::HostRowMissing,
                format!("{cm_ip} (in cm_nodes) has no row in {db}.host"),
            ));
        } else if !mine.iter().any(|r| is_online(r.host_status.as_deref())) {
            let seen: Vec<&str> = mine
                .iter()
                .map(|r| r.host_status.as_deref().unwrap_or("NULL"))
                .collect();
            out.push(
                base(
                    Code::HostNotOnline,
                    format!("{db}.host says {cm_ip} is {}, not ONLINE", seen.join("/")),
                )
                .with("host_status", seen.join("/")),
            );
        }
    }
}

fn heartbeats(ctx: &Context<'_>, region: &RegionCtx<'_>, out: &mut Vec<Finding>) {
    let db = region.config.drc_cm_heartbeat_db.as_str();
    let threshold = ctx.snapshot.thresholds.heartbeat_stale_s;
    for &cm_ip in &region.owned_ips {
        let newest = region
            .beats_of(cm_ip)
            .iter()
            .min_by_key(|r| r.age_s.unwrap_or(i64::MAX));
        let base = |code, message: String| {
            Finding::new(code, message)
                .nodes(ctx.nodes_at(cm_ip))
                .with("ip", cm_ip)
                .with("db", db)
                .with("threshold_s", threshold)
        };
        match newest {
            None => out.push(base(
                Code::HeartbeatMissing,
                format!("{cm_ip} has no supervisor row in {db}.heart_beat"),
            )),
            Some(row) if row.age_s.is_none_or(|age| age > threshold) => {
                let age = row
                    .age_s
                    .map_or_else(|| "unknown".to_string(), |a| format!("{a}s"));
                let modified = row.gmt_modified.as_deref().unwrap_or("NULL");
                out.push(
                    base(
                        Code::HeartbeatStale,
                        format!("{cm_ip}'s supervisor heartbeat in {db} is {age} old (gmt_modified {modified}; limit {threshold}s)"),
                    )
                    .with("age_s", age)
                    .with("gmt_modified", modified),
                );
            }
            Some(_) => {}
        }
    }
}

fn unreachable(
    failures: &mut BTreeMap<(String, String), Finding>,
    region: &RegionCtx<'_>,
    e: &MetaDbFailure,
) {
    let meta = &region.config.meta;
    let server = meta.to_string();
    let entry = failures
        .entry((server.clone(), e.reason.clone()))
        .or_insert_with(|| {
            Finding::new(
                Code::MetadbUnreachable,
                format!("cannot read the MetaDB {server}: {}", e.reason),
            )
            .with("host", &meta.host)
            .with("port", meta.port)
            .with("user", &meta.user)
            .with("file", &region.config.file)
            .with("reason", &e.reason)
        });
    let targets = match entry.evidence.get("target") {
        Some(t) if !t.split(", ").any(|x| x == e.target) => format!("{t}, {}", e.target),
        Some(t) => t.clone(),
        None => e.target.clone(),
    };
    entry.evidence.insert("target".into(), targets);
}
