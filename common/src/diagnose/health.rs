//! OMS's own view of itself: the /oms/health endpoint and the mark that
//! docker_init.sh ran (the runbook's first precondition).

use super::context::Context;
use crate::findings::{Code, Finding};

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for node in ctx.live() {
        let Some(health) = &node.report.health else {
            continue;
        };
        if !health.probed {
            continue; // the probe is off: the other fields mean nothing
        }
        if !health.healthy {
            let error = if health.error.is_empty() {
                "data.healthy is not true"
            } else {
                health.error.as_str()
            };
            out.push(
                Finding::new(
                    Code::OmsHealthFailed,
                    format!("{}: {} fails: {error}", node.name, health.url),
                )
                .nodes([node.name])
                .with("node", node.name)
                .with("url", &health.url)
                .with("error", error)
                .with("http_status", health.http_status),
            );
        }
        if !health.docker_init_ran {
            out.push(
                Finding::new(
                    Code::DockerInitNotRun,
                    format!(
                        "{}: no sign that docker_init.sh ran (looked for {})",
                        node.name, health.docker_init_evidence
                    ),
                )
                .nodes([node.name])
                .with("node", node.name)
                .with("evidence", &health.docker_init_evidence),
            );
        }
    }
}
