//! Runbook step 2: supervisord reachable and every program RUNNING (and, for a
//! program left STOPPED with autostart=false, why it stays so).

use super::context::Context;
use crate::findings::{Code, Finding};
use crate::proto::v1::Program;

/// States that pass on their own within seconds; flagging them would flap.
const TRANSITIONAL: &[&str] = &["STARTING", "STOPPING"];

/// Why a STOPPED program with autostart=false stays stopped, and the fix.
fn autostart_hint(p: &Program) -> String {
    let place = if p.config_file.trim().is_empty() {
        format!("its [program:{}] section", p.name)
    } else {
        p.config_file.clone()
    };
    format!(
        " It has autostart=false in {place}, so supervisord leaves it stopped after every restart \
         (as some upgrades leave oms_console): set autostart=true there, then `supervisorctl update`."
    )
}

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for node in ctx.live() {
        let Some(sup) = &node.report.supervisor else {
            continue;
        };
        if !sup.reachable {
            out.push(
                Finding::on_node(
                    Code::SupervisorUnreachable,
                    node.name,
                    format!("{}: cannot ask supervisord: {}", node.name, sup.error),
                )
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
            let mut finding = Finding::on_node(
                Code::ComponentNotRunning,
                node.name,
                format!("{}: {} is {}{detail}", node.name, p.name, p.state),
            )
            .with("program", &p.name)
            .with("state", &p.state)
            .with("description", &p.description)
            .with("exit_status", p.exit_status);
            if p.state == "STOPPED" && p.autostart == Some(false) {
                finding = finding
                    .with("autostart", "false")
                    .with("autostart_hint", autostart_hint(p));
            }
            out.push(finding);
        }
    }
}
