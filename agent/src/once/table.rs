//! The `--once` table: what the runbook asks of one container, answered from
//! one report, then the problems found (root causes, most severe first, with
//! their fixes; the order of [`omswatch_common::findings::problems`], as
//! `omswatch status` prints them). Plain text; node-supplied text is escaped so
//! a program's description cannot drive the terminal.

use std::fmt::Write;

use omswatch_common::diagnose::Diagnosis;
use omswatch_common::findings::problems::{self, Problem};
use omswatch_common::proto::v1::{self as pb, NodeReport};

/// config.yaml keys shown, in the runbook's order; secrets are never shown.
const CONFIG_KEYS: &[&str] = &[
    "cm_region",
    "cm_location",
    "cm_is_default",
    "cm_url",
    "cm_nodes",
    "drc_cm_db",
    "drc_cm_heartbeat_db",
    "oms_meta_host",
    "oms_meta_port",
    "oms_meta_user",
    "nginx_server_port",
];

/// The whole answer.
pub(super) fn render(report: &NodeReport, diagnosis: &Diagnosis) -> String {
    let status = omswatch_common::wire::cluster_status(
        diagnosis,
        report.sent_at_unix_ms,
        &report.agent_version,
    );
    let problems = problems::problems(&status.findings);
    let mut out = format!(
        "omswatch-agent --once on {}: {}\n",
        safe(&report.node),
        problems::summary(&problems)
    );
    if let Some(first) = problems.first() {
        let _ = writeln!(out, "Fix first: {}", safe(&first.root.remedy));
    }
    out.push_str(&programs(report.supervisor.as_ref()));
    out.push_str(&identity(report.identity.as_ref()));
    out.push_str(&config(report.config.as_ref()));
    out.push_str(&health(report.health.as_ref()));
    out.push_str(&resources(report.resources.as_ref()));
    out.push('\n');
    if problems.is_empty() {
        out.push_str("No findings: every check this node can make passes.\n");
    } else {
        out.push_str(
            "PROBLEMS (root causes, most severe first; `omswatch explain CODE` tells more)\n",
        );
        for (i, p) in problems.iter().enumerate() {
            out.push_str(&problem(i + 1, p));
        }
    }
    out.push_str(
        "\nThe MetaDB's host and heartbeat rows and the other servers: `omswatch check` or a collector.\n",
    );
    out
}

/// `  label  value` lines under a heading, values aligned.
fn section(heading: &str, rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = format!("\n{heading}\n");
    for (label, value) in rows {
        let _ = writeln!(out, "  {label:<width$}  {value}");
    }
    out
}

fn programs(supervisor: Option<&pb::SupervisorStatus>) -> String {
    let Some(s) = supervisor else {
        return section("PROGRAMS", &[("supervisord", "not probed".into())]);
    };
    if !s.reachable {
        let error = format!("unreachable: {}", safe(&s.error));
        return section("PROGRAMS", &[("supervisord", error)]);
    }
    let rows: Vec<[String; 4]> = s
        .programs
        .iter()
        .map(|p| {
            let autostart = p.autostart.map_or("?".into(), |a| a.to_string());
            let detail = if p.spawn_error.is_empty() {
                &p.description
            } else {
                &p.spawn_error
            };
            [safe(&p.name), safe(&p.state), autostart, safe(detail)]
        })
        .collect();
    let mut widths = [7, 5, 9, 0];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row).take(3) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = format!("\nPROGRAMS (supervisord: {})\n", safe(&s.source));
    let line = |cells: [&str; 4]| {
        let [a, b, c, d] = cells;
        let text = format!(
            "  {a:<w0$}  {b:<w1$}  {c:<w2$}  {d}",
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        text.trim_end().to_string() + "\n"
    };
    out.push_str(&line(["PROGRAM", "STATE", "AUTOSTART", "DETAIL"]));
    for [a, b, c, d] in &rows {
        out.push_str(&line([a, b, c, d]));
    }
    if rows.is_empty() {
        out.push_str("  (supervisord manages no program)\n");
    }
    out
}

fn identity(identity: Option<&pb::Identity>) -> String {
    let Some(id) = identity else {
        return section("IDENTITY", &[("identity", "not probed".into())]);
    };
    let resolved = if id.hostname_ips.is_empty() {
        format!("(cannot resolve: {})", safe(&id.hostname_error))
    } else {
        safe(&id.hostname_ips.join(", "))
    };
    let oms = match id.oms_host_ip.as_deref().map(str::trim) {
        None | Some("") => {
            "(unset: neither the agent's environment nor /proc/1/environ has it)".to_string()
        }
        Some(ip) => {
            let from = match id.oms_host_ip_source.as_str() {
                "env" => "the agent's environment".to_string(),
                "" => "unknown".to_string(),
                other => safe(other),
            };
            let agrees = if id.hostname_ips.iter().any(|h| h.trim() == ip) {
                "matches `hostname -i`"
            } else {
                "NOT among `hostname -i`'s addresses"
            };
            format!("{} (from {from}): {agrees}", safe(ip))
        }
    };
    section(
        "IDENTITY (runbook step 3)",
        &[
            ("host name", safe(&id.hostname)),
            ("hostname -i", resolved),
            ("OMS_HOST_IP", oms),
            ("interfaces", safe(&id.interface_ips.join(", "))),
        ],
    )
}

fn config(config: Option<&pb::NodeConfig>) -> String {
    let Some(c) = config else {
        return section("CONFIG", &[("config.yaml", "not probed".into())]);
    };
    let heading = format!("CONFIG {}", safe(&c.path));
    if !c.error.is_empty() {
        return section(&heading, &[("error", safe(&c.error))]);
    }
    let mut rows: Vec<(&str, String)> = CONFIG_KEYS
        .iter()
        .filter_map(|k| {
            let value = c.values.get(*k)?;
            Some((
                *k,
                if value.is_empty() {
                    "(empty)".into()
                } else {
                    safe(value)
                },
            ))
        })
        .collect();
    if c.secret_digests.contains_key("oms_meta_password") {
        rows.push(("oms_meta_password", "set (never shown)".into()));
    }
    section(&heading, &rows)
}

fn health(health: Option<&pb::OmsHealth>) -> String {
    let Some(h) = health.filter(|h| h.probed) else {
        return section(
            "HEALTH",
            &[("/oms/health", "not probed (--no-health)".into())],
        );
    };
    let page = match (h.reachable, h.healthy) {
        (_, true) => format!("healthy (HTTP {}, {})", h.http_status, safe(&h.url)),
        (true, false) => format!(
            "NOT healthy (HTTP {}, {}): {}",
            h.http_status,
            safe(&h.url),
            safe(&h.error)
        ),
        (false, false) => format!("unreachable ({}): {}", safe(&h.url), safe(&h.error)),
    };
    let init = if h.docker_init_ran {
        format!("ran ({})", safe(&h.docker_init_evidence))
    } else {
        format!("NO log found ({})", safe(&h.docker_init_evidence))
    };
    section("HEALTH", &[("/oms/health", page), ("docker_init.sh", init)])
}

fn resources(resources: Option<&pb::Resources>) -> String {
    let Some(r) = resources else {
        return section("RESOURCES", &[("resources", "not probed".into())]);
    };
    if !r.error.is_empty() {
        return section("RESOURCES", &[("error", safe(&r.error))]);
    }
    let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
    let mut rows = vec![
        (
            "load",
            format!(
                "{:.2} {:.2} {:.2} on {} CPUs",
                r.load1, r.load5, r.load15, r.cpus
            ),
        ),
        (
            "memory",
            format!(
                "{:.1} GiB of {:.1} GiB available ({:.0}%)",
                gib(r.mem_available_bytes),
                gib(r.mem_total_bytes),
                percent(r.mem_available_bytes, r.mem_total_bytes)
            ),
        ),
    ];
    for d in &r.disks {
        let text = if d.error.is_empty() {
            let used = d.total_bytes.saturating_sub(d.available_bytes);
            format!(
                "{}: {:.0}% used of {:.1} GiB",
                safe(&d.path),
                percent(used, d.total_bytes),
                gib(d.total_bytes)
            )
        } else {
            format!("{}: {}", safe(&d.path), safe(&d.error))
        };
        rows.push(("disk", text));
    }
    section("RESOURCES", &rows)
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    }
}

/// One root cause, its fix, and its symptoms indented.
fn problem(number: usize, p: &Problem<'_>) -> String {
    let root = p.root;
    let mut out = format!(
        "\n{number}. {}\n   {}\n   fix: {}\n",
        headline(root),
        safe(&root.message),
        safe(&root.remedy)
    );
    if !p.symptoms.is_empty() {
        let ids: Vec<String> = p.symptoms.iter().map(|s| safe(&s.id)).collect();
        let _ = writeln!(out, "   explains: {}", ids.join(", "));
        for s in &p.symptoms {
            let message = problems::under_root(&s.message, &root.id);
            let _ = writeln!(out, "     {}\n       {}", headline(s), safe(&message));
        }
    }
    out
}

fn headline(f: &pb::Finding) -> String {
    format!("{:<8}  {}", f.severity.to_uppercase(), f.code)
}

/// `text` with control characters and invisible direction overrides escaped.
fn safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            let invisible = matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}');
            if c.is_control() || invisible {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
