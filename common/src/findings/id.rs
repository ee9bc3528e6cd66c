//! Finding ids: one name per problem, stable across ticks, so a timeline, an
//! alert or a person can follow it from one status to the next.
//!
//! An id is the code, then the values that identify the problem, joined by `/`:
//! `COMPONENT_NOT_RUNNING/oms-node-3/oms_console`, `HEARTBEAT_STALE/10.0.0.13`,
//! `CM_NODES_COUNT_MISMATCH`. The values come from the evidence named by
//! [`subject`] (never the message, ages or times), so the same problem keeps its
//! id while its figures change. Each value keeps `A-Z a-z 0-9 . _ - : @`;
//! every other byte is percent-encoded (`/` is `%2F`), so ids are safe in URLs,
//! metric labels and file names and two different values never share an id. A
//! list value (several files, MetaDB tables) is joined by `,`; an empty value
//! is left out. Should two findings of one diagnosis still share an id, the
//! later ones get `~2`, `~3`... (`~` appears nowhere else).

use super::{Code, Finding};

/// One identifying value of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The evidence value of this key.
    Key(&'static str),
    /// The evidence value of this key, a `, `-separated list.
    List(&'static str),
    /// `host:port` of the MetaDB (evidence `host` and `port`).
    Server,
    /// The `db.table` of each `user@host:port/db.table` in evidence `target`.
    Tables,
}

/// What identifies a finding of `code` beyond the code itself.
pub fn subject(code: Code) -> &'static [Part] {
    use Code::*;
    use Part::*;
    match code {
        OmsHostIpMissing
        | OmsHostIpMismatch
        | NodeNotInCmNodes
        | NodeSilent
        | SupervisorUnreachable
        | NodeConfigUnreadable
        | ClockSkew
        | LoadHigh
        | MemoryLow
        | OmsHealthFailed
        | DockerInitNotRun => &[Key("node")],
        DuplicateOmsHostIp | CmNodeNotReporting | HostRowMissing | HostNotOnline
        | HeartbeatMissing | HeartbeatStale | CmNodesDuplicate => &[Key("ip")],
        ComponentNotRunning => &[Key("node"), Key("program")],
        ConfigDrift => &[Key("node"), Key("key")],
        DiskLow => &[Key("node"), Key("path")],
        MetadbUnreachable => &[Server, Tables],
        ConfigInvalid | ConfigKeyMissing => &[Key("file"), Key("key")],
        CmUrlInvalid | CmUrlPortMismatch => &[Key("file")],
        CmLocationInvalid => &[Key("cm_location"), List("files")],
        HeartbeatDbShared => &[Key("db")],
        HostRowUnknown | HostRowDuplicate | HeartbeatFromUnknownIp => &[Key("db"), Key("ip")],
        DefaultRegionCount | CmNodesCountMismatch => &[],
    }
}

/// The id of `finding` before de-duplication: its code and its subject's values.
pub fn base_id(finding: &Finding) -> String {
    let ev = |key: &str| finding.evidence.get(key).map_or("", String::as_str);
    let mut id = finding.code.as_str().to_string();
    for part in subject(finding.code) {
        let value = match part {
            Part::Key(key) => encode(ev(key)),
            Part::List(key) => list(ev(key).split(", ")),
            Part::Server => match (ev("host"), ev("port")) {
                ("", _) => String::new(),
                (host, "") => encode(host),
                (host, port) => format!("{}:{}", encode(host), encode(port)),
            },
            Part::Tables => list(
                ev("target")
                    .split(", ")
                    .map(|t| t.rsplit_once('/').map_or(t, |(_, table)| table)),
            ),
        };
        if !value.is_empty() {
            id.push('/');
            id.push_str(&value);
        }
    }
    id
}

/// Sets every finding's `id`: [`base_id`], with `~N` on its N-th repeat.
pub fn assign(findings: &mut [Finding]) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for f in findings {
        let base = base_id(f);
        let count = seen.entry(base.clone()).or_default();
        *count += 1;
        f.id = if *count == 1 {
            base
        } else {
            format!("{base}~{count}")
        };
    }
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.filter(|s| !s.is_empty()).map(encode).collect();
    items.join(",")
}

/// Percent-encodes every byte outside `A-Z a-z 0-9 . _ - : @`.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"._-:@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_as_code_and_subject() {
        let f = Finding::on_node(Code::ComponentNotRunning, "oms-node-3", "x")
            .with("program", "oms_console")
            .with("state", "STOPPED");
        assert_eq!(base_id(&f), "COMPONENT_NOT_RUNNING/oms-node-3/oms_console");
        let f = Finding::new(Code::CmNodesCountMismatch, "x").with("files", "a.yaml");
        assert_eq!(base_id(&f), "CM_NODES_COUNT_MISMATCH");
        let f = Finding::new(Code::MetadbUnreachable, "x")
            .with("host", "10.0.0.5")
            .with("port", 2881)
            .with(
                "target",
                "u@10.0.0.5:2881/oms_cm.host, u@10.0.0.5:2881/oms_hb.heart_beat",
            );
        assert_eq!(
            base_id(&f),
            "METADB_UNREACHABLE/10.0.0.5:2881/oms_cm.host,oms_hb.heart_beat"
        );
    }

    #[test]
    fn other_bytes_are_percent_encoded_and_empty_values_left_out() {
        let f = Finding::new(Code::ConfigInvalid, "x")
            .with("file", "/etc/oms/config 1.yaml")
            .with("key", "");
        assert_eq!(base_id(&f), "CONFIG_INVALID/%2Fetc%2Foms%2Fconfig%201.yaml");
        let f = Finding::on_node(Code::NodeSilent, "n~1/é", "x");
        assert_eq!(base_id(&f), "NODE_SILENT/n%7E1%2F%C3%A9");
        let f = Finding::new(Code::CmLocationInvalid, "x")
            .with("cm_location", 0)
            .with("files", "a.yaml, b,c.yaml");
        assert_eq!(base_id(&f), "CM_LOCATION_INVALID/0/a.yaml,b%2Cc.yaml");
    }

    #[test]
    fn repeats_get_a_counter() {
        let mut v = vec![
            Finding::on_node(Code::LoadHigh, "n1", "a"),
            Finding::on_node(Code::LoadHigh, "n1", "b"),
            Finding::on_node(Code::LoadHigh, "n2", "c"),
            Finding::on_node(Code::LoadHigh, "n1", "d"),
        ];
        assign(&mut v);
        let ids: Vec<&str> = v.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "LOAD_HIGH/n1",
                "LOAD_HIGH/n1~2",
                "LOAD_HIGH/n2",
                "LOAD_HIGH/n1~3"
            ]
        );
    }
}
