//! The files of one node's directory: what `supervisorctl status`, `hostname -i`,
//! `env | grep OMS_HOST_IP` and the health checks would have shown on it.

use std::fmt::Write;

use omswatch_common::proto::v1 as pb;

use super::text::{aligned, utc};

/// `supervisor.txt`: a `supervisorctl status`-like table, plus what it hides.
pub fn supervisor(report: &pb::NodeReport) -> String {
    let Some(sup) = &report.supervisor else {
        return "The agent reported nothing about supervisord.\n".to_string();
    };
    let mut out = String::new();
    if sup.reachable {
        let _ = writeln!(out, "supervisord answered ({})\n", sup.source);
    } else {
        let _ = writeln!(
            out,
            "supervisord UNREACHABLE ({}): {}\n",
            sup.source, sup.error
        );
    }
    let header = [
        "NAME",
        "STATE",
        "PID",
        "DESCRIPTION",
        "SPAWN ERROR",
        "AUTOSTART",
    ];
    let rows = sup.programs.iter().map(|p| {
        vec![
            p.name.clone(),
            p.state.clone(),
            if p.pid == 0 {
                "-".into()
            } else {
                p.pid.to_string()
            },
            p.description.clone(),
            dash(&p.spawn_error),
            p.autostart.map_or_else(|| "?".into(), |a| a.to_string()),
        ]
    });
    out.push_str(&aligned(&header, rows));
    out
}

/// `identity.txt`: the runbook's step 3 (`hostname -i` vs OMS_HOST_IP).
pub fn identity(report: &pb::NodeReport) -> String {
    let id = report.identity.clone().unwrap_or_default();
    let oms_host_ip = match &id.oms_host_ip {
        Some(ip) => format!("{ip} (read from {})", dash(&id.oms_host_ip_source)),
        None => "(unset in the agent's and PID 1's environment)".into(),
    };
    let rows = [
        ("node", report.node.clone()),
        ("region", dash(&report.region)),
        ("hostname", id.hostname),
        ("hostname -i", id.hostname_ips.join(" ")),
        ("hostname -i error", dash(&id.hostname_error)),
        ("interface IPs", id.interface_ips.join(" ")),
        ("OMS_HOST_IP", oms_host_ip),
        ("agent version", report.agent_version.clone()),
        ("report interval", format!("{} ms", report.interval_ms)),
        ("report seq", report.seq.to_string()),
        ("report sent at", utc(report.sent_at_unix_ms)),
    ];
    pairs(&rows)
}

/// `health.txt`: OMS's health endpoint, docker_init.sh and host resources;
/// `None` when the report carries neither.
pub fn health(report: &pb::NodeReport) -> Option<String> {
    if report.health.is_none() && report.resources.is_none() {
        return None;
    }
    let mut out = String::new();
    if let Some(h) = &report.health {
        out.push_str(&oms_health(h));
    }
    if let Some(r) = &report.resources {
        out.push('\n');
        out.push_str(&resources(r));
    }
    Some(out)
}

fn oms_health(h: &pb::OmsHealth) -> String {
    if !h.probed {
        return "OMS health: not probed (disabled on the agent)\n".to_string();
    }
    let rows = [
        ("OMS health URL", h.url.clone()),
        ("reachable", h.reachable.to_string()),
        ("HTTP status", h.http_status.to_string()),
        ("healthy", h.healthy.to_string()),
        ("error", dash(&h.error)),
        ("docker_init.sh ran", h.docker_init_ran.to_string()),
        ("docker_init evidence", dash(&h.docker_init_evidence)),
    ];
    pairs(&rows)
}

fn resources(r: &pb::Resources) -> String {
    if !r.error.is_empty() {
        return format!("resources: could not be read: {}\n", r.error);
    }
    let gib = |b: u64| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64);
    let mut rows = vec![
        ("CPUs", r.cpus.to_string()),
        (
            "load 1/5/15",
            format!("{:.2} {:.2} {:.2}", r.load1, r.load5, r.load15),
        ),
        (
            "memory",
            format!(
                "{} available of {}",
                gib(r.mem_available_bytes),
                gib(r.mem_total_bytes)
            ),
        ),
        ("node clock", utc(r.clock_unix_ms)),
    ];
    for d in &r.disks {
        let value = if d.error.is_empty() {
            format!(
                "{} available of {}",
                gib(d.available_bytes),
                gib(d.total_bytes)
            )
        } else {
            format!("error: {}", d.error)
        };
        rows.push(("disk", format!("{}: {value}", d.path)));
    }
    pairs(&rows)
}

/// `label: value` lines, labels padded to one column.
fn pairs(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    rows.iter()
        .map(|(k, v)| format!("{:<width$} {v}\n", format!("{k}:")))
        .collect()
}

fn dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supervisor_table_lists_every_program_with_its_error() {
        let report = pb::NodeReport {
            supervisor: Some(pb::SupervisorStatus {
                reachable: true,
                source: "xmlrpc unix:///tmp/supervisor.sock".into(),
                programs: vec![
                    pb::Program {
                        name: "oms_console".into(),
                        state: "RUNNING".into(),
                        pid: 42,
                        description: "pid 42, uptime 0:01:00".into(),
                        autostart: Some(true),
                        ..Default::default()
                    },
                    pb::Program {
                        name: "oms_drc_cm".into(),
                        state: "FATAL".into(),
                        spawn_error: "Exited too quickly".into(),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        let text = supervisor(&report);
        let console = text
            .lines()
            .find(|l| l.starts_with("oms_console"))
            .unwrap_or_default();
        assert_eq!(
            console.split_whitespace().take(3).collect::<Vec<_>>(),
            ["oms_console", "RUNNING", "42"]
        );
        assert!(text.contains("Exited too quickly"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("oms_drc_cm") && l.ends_with('?')),
            "{text}"
        );
    }

    #[test]
    fn identity_says_where_oms_host_ip_came_from_or_that_it_is_unset() {
        let mut report = pb::NodeReport {
            identity: Some(pb::Identity {
                oms_host_ip: Some("10.0.0.1".into()),
                oms_host_ip_source: "env".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(identity(&report).contains("10.0.0.1 (read from env)"));
        report.identity = None;
        assert!(identity(&report).contains("(unset"));
        assert_eq!(health(&report), None);
    }
}
