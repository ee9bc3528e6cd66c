//! The agent's clipping of a report to the collector's limits ([`crate::limits`])
//! before it is sent. The collector refuses a report that breaks any limit, and the
//! refusal repeats on every reconnect, so one overlong spawn error or one
//! config.yaml with too many keys would hide the whole node. Clipped, the
//! report goes through and says what was cut: strings end in [`CUT`], dropped
//! entries are counted in the nearest error field.

use std::collections::HashMap;
use std::net::IpAddr;

use super::{
    MAX_DISKS, MAX_HOSTNAME, MAX_IP, MAX_IPS, MAX_LABEL, MAX_MAP_ENTRIES, MAX_PROGRAMS,
    MAX_REDACTED_TEXT, MAX_TEXT,
};
use crate::proto::v1::{
    Identity, NodeConfig, NodeReport, OmsHealth, Program, Resources, RestartOutcome,
    SupervisorStatus,
};

/// Ends a string cut to fit its limit, so nobody takes it for the whole value.
pub const CUT: &str = "…(cut by omswatch-agent)";

/// Brings every field of `report` within the limits. The node name is left as
/// it is: it must equal the certificate's, so cutting it would only trade one
/// refusal for another; the agent checks it at start-up instead (its
/// `node_name::check`).
pub fn clip(report: &mut NodeReport) {
    printable(&mut report.agent_version, MAX_LABEL);
    printable(&mut report.region, MAX_LABEL);
    if let Some(identity) = &mut report.identity {
        clip_identity(identity);
    }
    if let Some(supervisor) = &mut report.supervisor {
        clip_supervisor(supervisor);
    }
    if let Some(config) = &mut report.config {
        clip_config(config);
    }
    if let Some(resources) = &mut report.resources {
        clip_resources(resources);
    }
    if let Some(health) = &mut report.health {
        clip_health(health);
    }
    if let Some(outcome) = &mut report.restart {
        clip_restart(outcome);
    }
    if let Some(policy) = &mut report.restart_policy {
        policy.programs.truncate(MAX_PROGRAMS);
        for program in &mut policy.programs {
            printable(program, MAX_LABEL);
        }
    }
}

/// A restart's answer: supervisord's fault strings are free text of any length.
fn clip_restart(o: &mut RestartOutcome) {
    printable(&mut o.command_id, MAX_LABEL);
    printable(&mut o.program, MAX_LABEL);
    printable(&mut o.result, MAX_LABEL);
    printable(&mut o.message, MAX_TEXT);
    printable(&mut o.via, MAX_TEXT);
}

fn clip_identity(id: &mut Identity) {
    printable(&mut id.hostname, MAX_HOSTNAME);
    let dropped = ips(&mut id.hostname_ips) + ips(&mut id.interface_ips);
    if dropped > 0 {
        note(
            &mut id.hostname_error,
            &format!(
                "{dropped} addresses not reported (not an IP address, or over {MAX_IPS} in a list)"
            ),
        );
    }
    printable(&mut id.hostname_error, MAX_TEXT);
    // OMS_HOST_IP is kept as the node has it, wrong or not: the diagnosis shows
    // a mismatch with the fix. Escaping and the cut marker never make it an
    // address, so a clipped value still shows as a mismatch.
    if let Some(ip) = &mut id.oms_host_ip {
        printable(ip, MAX_IP);
    }
    printable(&mut id.oms_host_ip_source, MAX_LABEL);
}

/// Keeps the entries of `list` that are IP addresses, trimmed, up to
/// [`MAX_IPS`]; returns how many were dropped. The collector refuses anything
/// else, and the agent's own system calls only yield addresses.
fn ips(list: &mut Vec<String>) -> usize {
    let before = list.len();
    list.retain(|ip| ip.trim().parse::<IpAddr>().is_ok());
    for ip in list.iter_mut() {
        if ip.trim().len() != ip.len() {
            *ip = ip.trim().to_string();
        }
    }
    list.truncate(MAX_IPS);
    before - list.len()
}

fn clip_supervisor(s: &mut SupervisorStatus) {
    let count = s.programs.len();
    if count > MAX_PROGRAMS {
        s.programs.truncate(MAX_PROGRAMS);
        note(&mut s.error, &dropped("programs", count, MAX_PROGRAMS));
    }
    printable(&mut s.error, MAX_TEXT);
    printable(&mut s.source, MAX_TEXT);
    s.programs.iter_mut().for_each(clip_program);
}

fn clip_program(p: &mut Program) {
    printable(&mut p.name, MAX_LABEL);
    printable(&mut p.group, MAX_LABEL);
    printable(&mut p.state, MAX_LABEL);
    printable(&mut p.spawn_error, MAX_TEXT);
    printable(&mut p.description, MAX_TEXT);
    printable(&mut p.config_file, MAX_TEXT);
}

/// Values and the redacted text are only cut, never escaped: the collector
/// compares a node's values with its own copy of config.yaml, summarised by the
/// same code, and the redacted text is a file whose line breaks are its layout.
fn clip_config(c: &mut NodeConfig) {
    drop_extra_keys(c);
    printable(&mut c.path, MAX_TEXT);
    printable(&mut c.error, MAX_TEXT);
    cut(&mut c.redacted_text, MAX_REDACTED_TEXT);
    c.values = clip_map(std::mem::take(&mut c.values), MAX_TEXT);
    c.secret_digests = clip_map(std::mem::take(&mut c.secret_digests), MAX_LABEL);
    c.lines = std::mem::take(&mut c.lines)
        .into_iter()
        .map(|(mut key, line)| {
            printable(&mut key, MAX_LABEL);
            (key, line)
        })
        .collect();
}

/// Drops the keys beyond [`MAX_MAP_ENTRIES`] values and as many secrets, with
/// a note in the config's error, and the line of every key not kept.
fn drop_extra_keys(c: &mut NodeConfig) {
    let keys = c.values.len() + c.secret_digests.len();
    if c.values.len() > MAX_MAP_ENTRIES || c.secret_digests.len() > MAX_MAP_ENTRIES {
        first_in_file(&mut c.values, &c.lines);
        first_in_file(&mut c.secret_digests, &c.lines);
        let kept = c.values.len() + c.secret_digests.len();
        note(
            &mut c.error,
            &format!(
                "config.yaml has {keys} top-level keys; only the first {kept} in the file were \
                 reported (omswatch reports at most {MAX_MAP_ENTRIES} values and \
                 {MAX_MAP_ENTRIES} secrets)"
            ),
        );
    }
    // A line per kept key and no more: within MAX_CONFIG_LINES.
    let (values, digests) = (&c.values, &c.secret_digests);
    c.lines
        .retain(|key, _| values.contains_key(key) || digests.contains_key(key));
}

/// Keeps the [`MAX_MAP_ENTRIES`] keys of `map` that come first in the file
/// (by `lines`; keys without a line last, by name), so what is dropped is
/// the file's tail, as with the redacted text.
fn first_in_file(map: &mut HashMap<String, String>, lines: &HashMap<String, u32>) {
    if map.len() <= MAX_MAP_ENTRIES {
        return;
    }
    let mut keys: Vec<(u32, String)> = map
        .keys()
        .map(|k| (lines.get(k).copied().unwrap_or(u32::MAX), k.clone()))
        .collect();
    keys.sort_unstable();
    for (_, key) in keys.into_iter().skip(MAX_MAP_ENTRIES) {
        map.remove(&key);
    }
}

/// `map` with its keys made printable labels and its values cut to `limit`.
fn clip_map(map: HashMap<String, String>, limit: usize) -> HashMap<String, String> {
    map.into_iter()
        .map(|(mut key, mut value)| {
            printable(&mut key, MAX_LABEL);
            cut(&mut value, limit);
            (key, value)
        })
        .collect()
}

fn clip_resources(r: &mut Resources) {
    let count = r.disks.len();
    if count > MAX_DISKS {
        r.disks.truncate(MAX_DISKS);
        note(&mut r.error, &dropped("filesystems", count, MAX_DISKS));
    }
    printable(&mut r.error, MAX_TEXT);
    for disk in &mut r.disks {
        printable(&mut disk.path, MAX_TEXT);
        printable(&mut disk.error, MAX_TEXT);
    }
}

fn clip_health(h: &mut OmsHealth) {
    printable(&mut h.url, MAX_TEXT);
    printable(&mut h.error, MAX_TEXT);
    printable(&mut h.docker_init_evidence, MAX_TEXT);
}

/// The note for a list cut from `count` to `limit` entries.
fn dropped(what: &str, count: usize, limit: usize) -> String {
    format!(
        "{count} {what}; only the first {limit} reported (the collector's limit), {} dropped",
        count - limit
    )
}

/// Puts `note` in front of `error`, where a later cut cannot reach it.
fn note(error: &mut String, note: &str) {
    *error = match error.as_str() {
        "" => format!("omswatch-agent: {note}"),
        old => format!("omswatch-agent: {note}; {old}"),
    };
}

/// A name, label or free text (errors, descriptions, paths): control
/// characters escaped, then cut to `limit`. The collector refuses them in
/// names, and anywhere they would corrupt logs and tables; escaped, a
/// multi-line error stays one readable line.
fn printable(value: &mut String, limit: usize) {
    escape_controls(value);
    cut(value, limit);
}

/// Replaces each control character by its escape (`\n`, `\u{1b}`): printable,
/// and it still shows what was there, e.g. the `\r` of an env file saved on Windows.
fn escape_controls(value: &mut String) {
    if !value.chars().any(char::is_control) {
        return;
    }
    let mut escaped = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if c.is_control() {
            escaped.extend(c.escape_debug());
        } else {
            escaped.push(c);
        }
    }
    *value = escaped;
}

/// Cuts `value` on a char boundary so that, with [`CUT`] appended, it fits
/// within `limit` bytes.
fn cut(value: &mut String, limit: usize) {
    if value.len() <= limit {
        return;
    }
    // A limit too small for the marker (none is) gets a plain cut.
    let room = limit.checked_sub(CUT.len()).unwrap_or(limit);
    let keep = (0..=room)
        .rev()
        .find(|&i| value.is_char_boundary(i))
        .unwrap_or(0);
    value.truncate(keep);
    if value.len() + CUT.len() <= limit {
        value.push_str(CUT);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
