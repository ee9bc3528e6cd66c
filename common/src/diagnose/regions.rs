//! Runbook step 4's other half: every node is in cm_nodes and every cm_nodes IP
//! has a node reporting it.

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
        let (listed, file, where_) = match node.region {
            Some(i) => {
                let config = ctx.regions[i].config;
                (
                    config.cm_nodes.contains(ip),
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
                Finding::new(
                    Code::NodeNotInCmNodes,
                    format!("{}: OMS_HOST_IP {ip} is not in {where_}", node.name),
                )
                .nodes([node.name])
                .with("node", node.name)
                .with("oms_host_ip", ip)
                .with("file", file),
            );
        }
    }
}

fn not_reporting(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for region in &ctx.regions {
        for ip in &region.config.cm_nodes {
            if ctx.live().any(|n| n.oms_ip.as_deref() == Some(ip)) {
                continue;
            }
            let near = ctx.nodes_at(ip);
            let hint = if near.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} resolves to it but reports another OMS_HOST_IP)",
                    near.join(", ")
                )
            };
            out.push(
                Finding::new(
                    Code::CmNodeNotReporting,
                    format!("{ip} is in cm_nodes of {} but no live agent reports it as OMS_HOST_IP{hint}", region.config.file),
                )
                .nodes(near)
                .with("ip", ip)
                .with("file", &region.config.file),
            );
        }
    }
}
