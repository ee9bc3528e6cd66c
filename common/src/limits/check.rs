//! The collector's check of what a peer may send in one report, against the
//! numbers of [`crate::limits`] (the agent clips to the same ones with
//! [`clip()`](super::clip())). The aggregator keeps every node's latest report
//! and the diagnosis, status and bundles render them, so a report is bounded
//! field by field before it gets there; a refused report names the field and
//! the limit, and ends only its own stream.

use std::net::IpAddr;

use super::{
    MAX_CONFIG_LINES, MAX_DISKS, MAX_HOSTNAME, MAX_IP, MAX_IPS, MAX_LABEL, MAX_MAP_ENTRIES,
    MAX_NODE_NAME, MAX_PROGRAMS, MAX_REDACTED_TEXT, MAX_TEXT,
};
use crate::proto::v1::{
    Identity, NodeConfig, NodeReport, Resources, RestartOutcome, SupervisorStatus,
};

/// One way a report breaks the limits; the text names the field and the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// The node name is empty.
    #[error("report without a node name: start the agent with --node NAME")]
    NoNodeName,
    /// A string is too long.
    #[error("{field} is {len} bytes long; the limit is {limit}")]
    TooLong {
        /// The field, e.g. `supervisor.programs[3].description`.
        field: String,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A name holds control characters (they would corrupt logs and tables).
    #[error("{field} {value} contains control characters; names must be printable")]
    NotPrintable {
        /// The field.
        field: String,
        /// The value, escaped and shortened for display.
        value: String,
    },
    /// A list or map has too many entries.
    #[error("{field} has {count} entries; the limit is {limit}")]
    TooMany {
        /// The field.
        field: String,
        /// Entries sent.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// An address that must parse does not.
    #[error("{field} {value} is not an IP address")]
    NotAnIp {
        /// The field.
        field: String,
        /// The value, escaped and shortened for display.
        value: String,
    },
}

/// A peer-supplied string made safe for a log line or a status message:
/// escaped (no control characters reach a terminal) and cut at 64 characters.
pub fn shown(value: &str) -> String {
    const MAX_SHOWN: usize = 64;
    match value.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

/// Checks every field of `report` against the limits above.
pub fn check(report: &NodeReport) -> Result<(), Violation> {
    node_name(&report.node)?;
    len("agent_version", &report.agent_version, MAX_LABEL)?;
    label("region", &report.region)?;
    if let Some(identity) = &report.identity {
        check_identity(identity)?;
    }
    if let Some(supervisor) = &report.supervisor {
        check_supervisor(supervisor)?;
    }
    if let Some(config) = &report.config {
        check_config(config)?;
    }
    if let Some(resources) = &report.resources {
        check_resources(resources)?;
    }
    if let Some(health) = &report.health {
        len("health.url", &health.url, MAX_TEXT)?;
        len("health.error", &health.error, MAX_TEXT)?;
        len(
            "health.docker_init_evidence",
            &health.docker_init_evidence,
            MAX_TEXT,
        )?;
    }
    if let Some(outcome) = &report.restart {
        check_restart(outcome)?;
    }
    if let Some(policy) = &report.restart_policy {
        count(
            "restart_policy.programs",
            policy.programs.len(),
            MAX_PROGRAMS,
        )?;
        for (i, program) in policy.programs.iter().enumerate() {
            label(|| format!("restart_policy.programs[{i}]"), program)?;
        }
    }
    Ok(())
}

/// A restart's answer: its id, program and result are labels (logged and
/// matched), its message free text.
fn check_restart(o: &RestartOutcome) -> Result<(), Violation> {
    label("restart.command_id", &o.command_id)?;
    label("restart.program", &o.program)?;
    label("restart.result", &o.result)?;
    len("restart.message", &o.message, MAX_TEXT)?;
    len("restart.via", &o.via, MAX_TEXT)
}

fn node_name(name: &str) -> Result<(), Violation> {
    if name.trim().is_empty() {
        return Err(Violation::NoNodeName);
    }
    len("node", name, MAX_NODE_NAME)?;
    printable("node", name)
}

fn check_identity(id: &Identity) -> Result<(), Violation> {
    len("identity.hostname", &id.hostname, MAX_HOSTNAME)?;
    printable("identity.hostname", &id.hostname)?;
    len("identity.hostname_error", &id.hostname_error, MAX_TEXT)?;
    ips("identity.hostname_ips", &id.hostname_ips)?;
    ips("identity.interface_ips", &id.interface_ips)?;
    // OMS_HOST_IP is the raw environment value and may legitimately be wrong
    // (a host name, a typo): that is the misconfiguration the diagnosis reports
    // as OMS_HOST_IP_MISMATCH, with the fix. Refusing the report would hide the
    // node instead, so only its size and printability are enforced here.
    if let Some(ip) = &id.oms_host_ip {
        len("identity.oms_host_ip", ip, MAX_IP)?;
        printable("identity.oms_host_ip", ip)?;
    }
    label("identity.oms_host_ip_source", &id.oms_host_ip_source)
}

/// Resolver and interface addresses come from the agent's own system calls, so
/// anything but an address means a broken or forged agent.
fn ips(field: &str, list: &[String]) -> Result<(), Violation> {
    count(field, list.len(), MAX_IPS)?;
    for (i, ip) in list.iter().enumerate() {
        let field = || format!("{field}[{i}]");
        len(field, ip, MAX_IP)?;
        if ip.trim().parse::<IpAddr>().is_err() {
            return Err(Violation::NotAnIp {
                field: field(),
                value: shown(ip),
            });
        }
    }
    Ok(())
}

fn check_supervisor(s: &SupervisorStatus) -> Result<(), Violation> {
    len("supervisor.error", &s.error, MAX_TEXT)?;
    len("supervisor.source", &s.source, MAX_TEXT)?;
    count("supervisor.programs", s.programs.len(), MAX_PROGRAMS)?;
    for (i, p) in s.programs.iter().enumerate() {
        let field = |name: &'static str| move || format!("supervisor.programs[{i}].{name}");
        label(field("name"), &p.name)?;
        label(field("group"), &p.group)?;
        label(field("state"), &p.state)?;
        len(field("spawn_error"), &p.spawn_error, MAX_TEXT)?;
        len(field("description"), &p.description, MAX_TEXT)?;
        len(field("config_file"), &p.config_file, MAX_TEXT)?;
    }
    Ok(())
}

fn check_config(c: &NodeConfig) -> Result<(), Violation> {
    len("config.path", &c.path, MAX_TEXT)?;
    len("config.error", &c.error, MAX_TEXT)?;
    len("config.redacted_text", &c.redacted_text, MAX_REDACTED_TEXT)?;
    count("config.values", c.values.len(), MAX_MAP_ENTRIES)?;
    count(
        "config.secret_digests",
        c.secret_digests.len(),
        MAX_MAP_ENTRIES,
    )?;
    // One line number per key, secret or not.
    count("config.lines", c.lines.len(), MAX_CONFIG_LINES)?;
    for (key, value) in &c.values {
        label("config.values key", key)?;
        len(|| format!("config.values[{}]", shown(key)), value, MAX_TEXT)?;
    }
    for (key, digest) in &c.secret_digests {
        label("config.secret_digests key", key)?;
        len(
            || format!("config.secret_digests[{}]", shown(key)),
            digest,
            MAX_LABEL,
        )?;
    }
    c.lines
        .keys()
        .try_for_each(|key| label("config.lines key", key))
}

fn check_resources(r: &Resources) -> Result<(), Violation> {
    len("resources.error", &r.error, MAX_TEXT)?;
    count("resources.disks", r.disks.len(), MAX_DISKS)?;
    for (i, disk) in r.disks.iter().enumerate() {
        len(
            || format!("resources.disks[{i}].path"),
            &disk.path,
            MAX_TEXT,
        )?;
        len(
            || format!("resources.disks[{i}].error"),
            &disk.error,
            MAX_TEXT,
        )?;
    }
    Ok(())
}

/// A field's name in a refusal. Built only when a report is refused, so that checking an
/// accepted report allocates nothing: a literal, or a closure for an indexed field.
trait Field: Copy {
    fn name(self) -> String;
}

impl Field for &str {
    fn name(self) -> String {
        self.to_string()
    }
}

impl<F: Fn() -> String + Copy> Field for F {
    fn name(self) -> String {
        self()
    }
}

/// A short, printable label.
fn label(field: impl Field, value: &str) -> Result<(), Violation> {
    len(field, value, MAX_LABEL)?;
    printable(field, value)
}

fn len(field: impl Field, value: &str, limit: usize) -> Result<(), Violation> {
    if value.len() > limit {
        return Err(Violation::TooLong {
            field: field.name(),
            len: value.len(),
            limit,
        });
    }
    Ok(())
}

fn printable(field: impl Field, value: &str) -> Result<(), Violation> {
    // Bytes, not chars: ASCII controls are single bytes; C1 controls (U+0080..U+009F) are
    // 0xC2 0x80..0x9F in UTF-8, so only values with such a lead byte are decoded.
    if value.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2)
        && value.chars().any(char::is_control)
    {
        return Err(Violation::NotPrintable {
            field: field.name(),
            value: shown(value),
        });
    }
    Ok(())
}

fn count(field: &str, count: usize, limit: usize) -> Result<(), Violation> {
    if count > limit {
        return Err(Violation::TooMany {
            field: field.name(),
            count,
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
