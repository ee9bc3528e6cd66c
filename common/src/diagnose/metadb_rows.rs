//! MetaDB rows that cm_nodes does not explain: host rows for IPs no region
//! lists or listed twice, and supervisor heartbeats from unknown IPs (the mark
//! of a container started with a wrong OMS_HOST_IP). Regions that share a
//! database read the same rows; each table is judged once.

use std::collections::{BTreeMap, BTreeSet};

use super::context::{Context, RegionCtx};
use crate::findings::{Code, Finding};
use crate::ip;
use crate::oms_config::DbName;

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    host_rows(ctx, out);
    heartbeat_rows(ctx, out);
}

/// One table: MetaDB server and database name (case-insensitive).
fn table(region: &RegionCtx<'_>, db: &DbName) -> (String, u16, String) {
    let meta = &region.config.meta;
    (
        meta.host.to_ascii_lowercase(),
        meta.port,
        db.as_str().to_ascii_lowercase(),
    )
}

fn shown(ip: &str) -> &str {
    if ip.is_empty() { "(empty)" } else { ip }
}

fn host_rows(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut judged = BTreeSet::new();
    for region in &ctx.regions {
        let Some(Ok(rows)) = region.metadb.map(|v| v.hosts.as_ref()) else {
            continue;
        };
        let db = &region.config.drc_cm_db;
        if !judged.insert(table(region, db)) {
            continue;
        }
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for row in rows {
            *counts.entry(ip::normalize(&row.ip)).or_default() += 1;
        }
        for (ip, count) in counts {
            let ip_shown = shown(&ip);
            let nodes = ctx.nodes_at(&ip);
            if !ctx.in_any_cm_nodes(&ip) {
                out.push(
                    Finding::new(
                        Code::HostRowUnknown,
                        format!(
                            "{db}.host has a row for {ip_shown}, which no region's cm_nodes lists"
                        ),
                    )
                    .nodes(nodes.iter().cloned())
                    .with("ip", ip_shown)
                    .with("db", db),
                );
            }
            if count > 1 {
                out.push(
                    Finding::new(
                        Code::HostRowDuplicate,
                        format!("{db}.host has {count} rows for {ip_shown}"),
                    )
                    .nodes(nodes)
                    .with("ip", ip_shown)
                    .with("db", db)
                    .with("count", count),
                );
            }
        }
    }
}

/// Rows known to be stale are left out: a removed server's last heartbeat is
/// history, not a running container.
fn heartbeat_rows(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let threshold = ctx.snapshot.thresholds.heartbeat_stale_s;
    let mut judged = BTreeSet::new();
    for region in &ctx.regions {
        let Some(Ok(rows)) = region.metadb.map(|v| v.heartbeats.as_ref()) else {
            continue;
        };
        let db = &region.config.drc_cm_heartbeat_db;
        if !judged.insert(table(region, db)) {
            continue;
        }
        // Per unknown IP, its youngest row's age (`None`: unknown).
        let mut unknown: BTreeMap<String, Option<i64>> = BTreeMap::new();
        for row in rows
            .iter()
            .filter(|r| r.age_s.is_none_or(|a| a <= threshold))
        {
            let ip = ip::normalize(&row.host_ip);
            if ctx.in_any_cm_nodes(&ip) {
                continue;
            }
            let age = unknown.entry(ip).or_insert(row.age_s);
            *age = match (*age, row.age_s) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        for (ip, age) in unknown {
            let nodes = ctx
                .live()
                .filter(|n| !ip.is_empty() && n.oms_ip.as_deref() == Some(ip.as_str()))
                .map(|n| n.name);
            let ip_shown = shown(&ip);
            let (age_s, how_old) = match age {
                Some(a) => (a.to_string(), format!("{a}s old")),
                None => ("unknown".to_string(), "age unknown".to_string()),
            };
            out.push(
                Finding::new(
                    Code::HeartbeatFromUnknownIp,
                    format!("{db}.heart_beat has a supervisor row from {ip_shown} ({how_old}), which no region's cm_nodes lists"),
                )
                .nodes(nodes)
                .with("ip", ip_shown)
                .with("db", db)
                .with("age_s", age_s),
            );
        }
    }
}
