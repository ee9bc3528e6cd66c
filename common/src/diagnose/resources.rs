//! Runbook step 1 for an online server, and the `no enough host resource`
//! symptom: load, memory and disk of each node, and its clock against the
//! MetaDB's (heartbeat ages are judged by the MetaDB's clock).

use std::collections::BTreeSet;

use super::context::{Context, NodeCtx};
use crate::findings::{Code, Finding};
use crate::proto::v1::Resources;
use crate::snapshot::Thresholds;

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let limits = &ctx.snapshot.thresholds;
    for node in ctx.live() {
        let Some(res) = &node.report.resources else {
            continue;
        };
        clock_skew(ctx, node, res, out);
        if !res.error.is_empty() {
            continue;
        }
        load(node, res, limits, out);
        memory(node, res, limits, out);
        disks(node, res, limits, out);
    }
}

/// The node's offset from the collector at receipt (network latency ignored)
/// minus the MetaDB's offset from the collector at its read. The node's region's
/// clock is preferred; a node of unknown region is judged by any region's.
fn clock_skew(ctx: &Context<'_>, node: &NodeCtx<'_>, res: &Resources, out: &mut Vec<Finding>) {
    if res.clock_unix_ms <= 0 {
        return;
    }
    let clock = node
        .region
        .and_then(|i| ctx.regions.get(i))
        .and_then(|r| r.metadb?.clock)
        .or_else(|| ctx.regions.iter().find_map(|r| r.metadb?.clock));
    let Some(clock) = clock else { return };
    let node_offset = i128::from(res.clock_unix_ms) - i128::from(node.received_at_ms);
    let db_offset = i128::from(clock.db_unix_ms) - i128::from(clock.collector_unix_ms);
    let skew_ms = node_offset - db_offset;
    let threshold_s = ctx.snapshot.thresholds.clock_skew_s.max(0);
    if skew_ms.abs() <= i128::from(threshold_s) * 1000 {
        return;
    }
    let skew_s = format!("{:+.1}", skew_ms as f64 / 1000.0);
    out.push(
        Finding::on_node(
            Code::ClockSkew,
            node.name,
            format!(
                "{}'s clock is {skew_s}s off the MetaDB's (limit {threshold_s}s)",
                node.name
            ),
        )
        .with("skew_s", skew_s)
        .with("threshold_s", threshold_s),
    );
}

fn load(node: &NodeCtx<'_>, res: &Resources, limits: &Thresholds, out: &mut Vec<Finding>) {
    if res.cpus == 0 {
        return;
    }
    let per_cpu = res.load5 / f64::from(res.cpus);
    if per_cpu.is_nan() || per_cpu <= limits.load_per_cpu {
        return;
    }
    let load5 = format!("{:.2}", res.load5);
    out.push(
        Finding::on_node(
            Code::LoadHigh,
            node.name,
            format!(
                "{}: 5-minute load {load5} on {} CPUs is above {} per CPU",
                node.name, res.cpus, limits.load_per_cpu
            ),
        )
        .with("load5", load5)
        .with("cpus", res.cpus)
        .with("threshold", limits.load_per_cpu),
    );
}

fn memory(node: &NodeCtx<'_>, res: &Resources, limits: &Thresholds, out: &mut Vec<Finding>) {
    if res.mem_total_bytes == 0 {
        return;
    }
    let pct = res.mem_available_bytes as f64 / res.mem_total_bytes as f64 * 100.0;
    if pct >= limits.memory_available_min_pct {
        return;
    }
    let available_pct = format!("{pct:.1}");
    out.push(
        Finding::on_node(
            Code::MemoryLow,
            node.name,
            format!(
                "{}: {available_pct}% of memory available (limit {}%)",
                node.name, limits.memory_available_min_pct
            ),
        )
        .with("available_pct", available_pct)
        .with("threshold_pct", limits.memory_available_min_pct)
        .with("available_bytes", res.mem_available_bytes)
        .with("total_bytes", res.mem_total_bytes),
    );
}

fn disks(node: &NodeCtx<'_>, res: &Resources, limits: &Thresholds, out: &mut Vec<Finding>) {
    let mut judged = BTreeSet::new();
    for disk in &res.disks {
        if !disk.error.is_empty() || disk.total_bytes == 0 || !judged.insert(disk.path.as_str()) {
            continue;
        }
        let used = disk.total_bytes.saturating_sub(disk.available_bytes);
        let pct = used as f64 / disk.total_bytes as f64 * 100.0;
        if pct <= limits.disk_used_max_pct {
            continue;
        }
        let used_pct = format!("{pct:.1}");
        out.push(
            Finding::on_node(
                Code::DiskLow,
                node.name,
                format!(
                    "{}: {} is {used_pct}% full (limit {}%)",
                    node.name, disk.path, limits.disk_used_max_pct
                ),
            )
            .with("path", &disk.path)
            .with("used_pct", used_pct)
            .with("threshold_pct", limits.disk_used_max_pct)
            .with("available_bytes", disk.available_bytes),
        );
    }
}
