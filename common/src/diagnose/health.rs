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
                Finding::on_node(
                    Code::OmsHealthFailed,
                    node.name,
                    format!("{}: {} fails: {error}", node.name, health.url),
                )
                .with("url", &health.url)
                .with("error", error)
                .with("http_status", health.http_status),
            );
        }
        if !health.docker_init_ran {
            out.push(
                Finding::on_node(
                    Code::DockerInitNotRun,
                    node.name,
                    format!(
                        "{}: no sign that docker_init.sh ran (looked for {})",
                        node.name, health.docker_init_evidence
                    ),
                )
                .with("evidence", &health.docker_init_evidence),
            );
        }
    }
}
