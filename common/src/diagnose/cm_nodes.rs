//! cm_nodes over all regions: every server listed once, and as many servers
//! listed as agents report.

use std::collections::BTreeMap;

use super::context::Context;
use crate::findings::{Code, Finding};

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    duplicates(ctx, out);
    count(ctx, out);
}

/// An IP listed more than once, within one region's cm_nodes or across regions.
fn duplicates(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut seen: BTreeMap<&str, (usize, Vec<&str>)> = BTreeMap::new();
    for region in &ctx.regions {
        let file = region.config.file.as_str();
        for ip in &region.config.cm_nodes {
            let (count, files) = seen.entry(ip).or_default();
            *count += 1;
            if !files.contains(&file) {
                files.push(file);
            }
        }
    }
    for (ip, (count, files)) in seen.into_iter().filter(|(_, (count, _))| *count > 1) {
        let list = files.join(", ");
        let message = if files.len() == 1 {
            format!("{ip} is listed {count} times in cm_nodes of {list}")
        } else {
            format!("{ip} is in the cm_nodes of several regions: {list}")
        };
        out.push(
            Finding::new(Code::CmNodesDuplicate, message)
                .with("ip", ip)
                .with("files", list)
                .with("count", count),
        );
    }
}

/// The installer's rule: the servers in cm_nodes over all regions are the
/// servers of the deployment. Judged once any agent has reported, against the
/// live ones; each IP counts once (CM_NODES_DUPLICATE reports repeats).
fn count(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    if ctx.regions.is_empty() || ctx.nodes.is_empty() {
        return;
    }
    let listed: usize = ctx.regions.iter().map(|r| r.owned_ips.len()).sum();
    let reporting = ctx.live().count();
    if listed == reporting {
        return;
    }
    let files: Vec<&str> = ctx.regions.iter().map(|r| r.config.file.as_str()).collect();
    out.push(
        Finding::new(
            Code::CmNodesCountMismatch,
            format!(
                "cm_nodes lists {listed} server(s) ({}) but {reporting} live node(s) report",
                files.join(", ")
            ),
        )
        .with("cm_nodes_count", listed)
        .with("reporting_count", reporting)
        .with("files", files.join(", ")),
    );
}
