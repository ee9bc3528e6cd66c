//! Runbook step 2: supervisord reachable and every program RUNNING.

use super::context::Context;
use crate::findings::{Code, Finding};

/// States that pass on their own within seconds; flagging them would flap.
const TRANSITIONAL: &[&str] = &["STARTING", "STOPPING"];

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for node in ctx.live() {
        let Some(sup) = &node.report.supervisor else {
            continue;
        };
        if !sup.reachable {
            out.push(
                Finding::new(
                    Code::SupervisorUnreachable,
                    format!("{}: cannot ask supervisord: {}", node.name, sup.error),
                )
                .nodes([node.name])
                .with("node", node.name)
                .with("error", &sup.error)
                .with("source", &sup.source),
            );
            continue;
        }
        for p in &sup.programs {
            if p.state == "RUNNING" || TRANSITIONAL.contains(&p.state.as_str()) {
                continue;
            }
            let detail = if p.spawn_error.is_empty() {
                p.description.clone()
            } else {
                p.spawn_error.clone()
            };
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(" ({detail})")
            };
            out.push(
                Finding::new(
                    Code::ComponentNotRunning,
                    format!("{}: {} is {}{detail}", node.name, p.name, p.state),
                )
                .nodes([node.name])
                .with("node", node.name)
                .with("program", &p.name)
                .with("state", &p.state)
                .with("description", &p.description)
                .with("exit_status", p.exit_status),
            );
        }
    }
}
