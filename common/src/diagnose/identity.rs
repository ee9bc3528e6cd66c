//! Runbook step 3: OMS_HOST_IP set, equal to `hostname -i`, and unique across nodes.

use std::collections::BTreeMap;

use super::context::{Context, NodeCtx};
use crate::findings::{Code, Finding};

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for node in ctx.live() {
        match &node.oms_ip {
            None => out.push(missing(node)),
            Some(ip) if !node.hostname_ips.contains(ip) => out.push(mismatch(node, ip)),
            Some(_) => {}
        }
    }
    duplicates(ctx, out);
}

fn missing(node: &NodeCtx<'_>) -> Finding {
    Finding::on_node(
        Code::OmsHostIpMissing,
        node.name,
        format!("{} runs without OMS_HOST_IP", node.name),
    )
    .with("hostname_ips", node.hostname_ips.join(", "))
}

fn mismatch(node: &NodeCtx<'_>, ip: &str) -> Finding {
    let identity = node.report.identity.clone().unwrap_or_default();
    let seen = if node.hostname_ips.is_empty() {
        format!("`hostname -i` failed: {}", identity.hostname_error)
    } else {
        format!("`hostname -i` prints {}", node.hostname_ips.join(" "))
    };
    Finding::on_node(
        Code::OmsHostIpMismatch,
        node.name,
        format!(
            "{}: OMS_HOST_IP is {ip} but {seen} (host name {})",
            node.name, identity.hostname
        ),
    )
    .with("oms_host_ip", ip)
    .with("hostname", identity.hostname)
    .with("hostname_ips", node.hostname_ips.join(" "))
    .with("hostname_error", identity.hostname_error)
}

fn duplicates(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut by_ip: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in ctx.live() {
        if let Some(ip) = &node.oms_ip {
            by_ip.entry(ip).or_default().push(node.name);
        }
    }
    for (ip, mut names) in by_ip.into_iter().filter(|(_, names)| names.len() > 1) {
        names.sort_unstable();
        let list = names.join(", ");
        out.push(
            Finding::new(
                Code::DuplicateOmsHostIp,
                format!("{} nodes report OMS_HOST_IP {ip}: {list}", names.len()),
            )
            .nodes(names.iter().copied())
            .with("ip", ip)
            .with("nodes", list),
        );
    }
}
