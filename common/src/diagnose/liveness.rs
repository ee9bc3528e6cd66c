//! NODE_SILENT: an agent that reported before and stopped.

use super::context::Context;
use crate::findings::{Code, Finding};

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for node in ctx.nodes.iter().filter(|n| !n.live) {
        let age_s = node.age_ms / 1000;
        let interval_s = node.interval_ms as f64 / 1000.0;
        out.push(
            Finding::on_node(
                Code::NodeSilent,
                node.name,
                format!(
                    "{} has not reported for {age_s}s (its interval is {interval_s}s)",
                    node.name
                ),
            )
            .with("last_report_age_s", age_s)
            .with("interval_s", interval_s)
            .with("oms_host_ip", node.oms_ip.as_deref().unwrap_or("")),
        );
    }
}
