//! Runbook step 4's other half, per region: every node is in its region's
//! cm_nodes, and every cm_nodes IP has a node of that region reporting it.

use super::context::Context;
use crate::findings::{Code, Finding};

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    if ctx.regions.is_empty() {
        return; // no valid config.yaml: CONFIG_INVALID already says why.
    }
    not_in_cm_nodes(ctx, out);
    not_reporting(ctx, out);
}

fn not_in_cm_nodes(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for node in ctx.live() {
        let Some(ip) = &node.oms_ip else { continue };
        let (listed, file, where_) = match node.region.and_then(|i| ctx.regions.get(i)) {
            Some(region) => {
                let config = region.config;
                (
                    node.region
                        .is_some_and(|r| ctx.regions_listing(ip).contains(&r)),
                    config.file.clone(),
                    format!("cm_nodes of {}", config.file),
                )
            }
            None => (
                false,
                ctx.regions[0].config.file.clone(),
                "any region's cm_nodes".to_string(),
            ),
        };
        if !listed {
            out.push(
                Finding::on_node(
                    Code::NodeNotInCmNodes,
                    node.name,
                    format!("{}: OMS_HOST_IP {ip} is not in {where_}", node.name),
                )
                .with("oms_host_ip", ip)
                .with("file", file),
            );
        }
    }
}

/// An IP counts as reported when a live node of a region listing it (or of no
/// known region) reports it as OMS_HOST_IP; a node of another region does not.
fn not_reporting(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for region in &ctx.regions {
        for &ip in &region.owned_ips {
            let listing = ctx.regions_listing(ip);
            let reported = ctx
                .claiming(ip)
                .any(|n| n.region.is_none_or(|r| listing.contains(&r)));
            if reported {
                continue;
            }
            let near = ctx.nodes_at(ip);
            let hint = if near.is_empty() {
                String::new()
            } else if ctx.claiming(ip).next().is_some() {
                format!(
                    " ({} reports it but belongs to another region)",
                    near.join(", ")
                )
            } else {
                format!(
                    " ({} resolves to it but reports another OMS_HOST_IP)",
                    near.join(", ")
                )
            };
            out.push(
                Finding::new(
                    Code::CmNodeNotReporting,
                    format!("{ip} is in cm_nodes of {} but no live agent of that region reports it as OMS_HOST_IP{hint}", region.config.file),
                )
                .nodes(near)
                .with("ip", ip)
                .with("file", &region.config.file),
            );
        }
    }
}
