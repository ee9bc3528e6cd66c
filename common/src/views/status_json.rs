//! The documented JSON shape of `omswatch status --format json` (docs/STATUS_JSON.md), in
//! one home: the CLI prints it and the collector's `GET /api/v1/status` answers it, both
//! through [`document`], so the two can never drift apart. Scripts depend on it: fields are
//! only ever added.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::proto::v1 as pb;

/// The whole document.
#[derive(Debug, Serialize)]
pub struct StatusJson {
    /// One entry per node.
    pub nodes: Vec<NodeJson>,
    /// Findings, most severe first.
    pub findings: Vec<FindingJson>,
    /// When the collector diagnosed (Unix milliseconds).
    pub generated_at_unix_ms: i64,
    /// The collector's version.
    pub collector_version: String,
    /// The collector's store; null from a collector without one.
    pub store: Option<StoreJson>,
}

/// The collector's store and whether it is written now.
#[derive(Debug, Serialize)]
pub struct StoreJson {
    /// sqlite:///path or mysql://user@host:port/db.
    pub location: String,
    /// False while writes fail.
    pub up: bool,
    /// The last failure, null when up.
    pub error: Option<String>,
}

/// One node.
#[derive(Debug, Serialize)]
pub struct NodeJson {
    /// Node name.
    pub name: String,
    /// OMS_HOST_IP, null when unset.
    pub oms_host_ip: Option<String>,
    /// `hostname -i` addresses.
    pub hostname_ips: Vec<String>,
    /// ONLINE, DEGRADED or DOWN.
    pub state: String,
    /// Supervisor programs.
    pub components: Vec<ComponentJson>,
    /// host_status in the host table, null when no row.
    pub host_status: Option<String>,
    /// Heartbeat age by the MetaDB clock, null when no row.
    pub heartbeat_age_s: Option<i64>,
    /// Seconds since the last report.
    pub last_report_age_s: Option<i64>,
    /// Region label, empty when unknown.
    pub region: String,
    /// Host name.
    pub hostname: String,
}

/// One supervisor program.
#[derive(Debug, Serialize)]
pub struct ComponentJson {
    /// Program name.
    pub name: String,
    /// State name.
    pub state: String,
}

/// One finding.
#[derive(Debug, Serialize)]
pub struct FindingJson {
    /// Stable code.
    pub code: String,
    /// critical, warning or info.
    pub severity: String,
    /// Nodes concerned.
    pub nodes: Vec<String>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub remedy: String,
    /// Facts behind it.
    pub evidence: BTreeMap<String, String>,
    /// Stable name of the problem (code and subject), the same across ticks.
    pub id: String,
    /// The id of the root cause this finding is folded under; null for a root.
    pub caused_by: Option<String>,
    /// For a root: the ids of the symptoms folded under it; empty for a symptom.
    pub explains: Vec<String>,
    /// Since when it has been active (Unix milliseconds), from the timeline;
    /// null until it is recorded (it appeared since the collector's last tick).
    pub since_unix_ms: Option<i64>,
}

/// The bytes `omswatch status --format json` prints and `GET /api/v1/status` answers:
/// [`render`] and a final newline.
pub fn document(status: &pb::ClusterStatus) -> String {
    let mut text = render(status);
    text.push('\n');
    text
}

/// The JSON document of a status (pretty-printed, no final newline).
pub fn render(status: &pb::ClusterStatus) -> String {
    let doc = StatusJson {
        nodes: status.nodes.iter().map(node).collect(),
        findings: status.findings.iter().map(finding).collect(),
        generated_at_unix_ms: status.generated_at_unix_ms,
        collector_version: status.collector_version.clone(),
        store: status.store.as_ref().map(|s| StoreJson {
            location: s.location.clone(),
            up: s.up,
            error: Some(s.error.clone()).filter(|e| !e.is_empty()),
        }),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn node(n: &pb::NodeStatus) -> NodeJson {
    NodeJson {
        name: n.name.clone(),
        oms_host_ip: n.oms_host_ip.clone(),
        hostname_ips: n.hostname_ips.clone(),
        state: n.state.clone(),
        components: n
            .components
            .iter()
            .map(|c| ComponentJson {
                name: c.name.clone(),
                state: c.state.clone(),
            })
            .collect(),
        host_status: n.host_status.clone(),
        heartbeat_age_s: n.heartbeat_age_s,
        last_report_age_s: n.last_report_age_s,
        region: n.region.clone(),
        hostname: n.hostname.clone(),
    }
}

fn finding(f: &pb::Finding) -> FindingJson {
    FindingJson {
        code: f.code.clone(),
        severity: f.severity.clone(),
        nodes: f.nodes.clone(),
        message: f.message.clone(),
        remedy: f.remedy.clone(),
        evidence: f
            .evidence
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        id: f.id.clone(),
        // The wire has no null: "" is "no cause".
        caused_by: Some(f.caused_by.clone()).filter(|c| !c.is_empty()),
        explains: f.explains.clone(),
        since_unix_ms: f.since_unix_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_carry_id_caused_by_and_explains() {
        let status = pb::ClusterStatus {
            findings: vec![
                pb::Finding {
                    code: "DUPLICATE_OMS_HOST_IP".into(),
                    id: "DUPLICATE_OMS_HOST_IP/10.0.0.11".into(),
                    explains: vec!["OMS_HOST_IP_MISMATCH/n2".into()],
                    ..Default::default()
                },
                pb::Finding {
                    code: "OMS_HOST_IP_MISMATCH".into(),
                    id: "OMS_HOST_IP_MISMATCH/n2".into(),
                    caused_by: "DUPLICATE_OMS_HOST_IP/10.0.0.11".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let text = document(&status);
        assert!(text.ends_with("}\n"), "{text}");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
        let (root, symptom) = (&doc["findings"][0], &doc["findings"][1]);
        assert_eq!(root["id"], "DUPLICATE_OMS_HOST_IP/10.0.0.11");
        assert!(root["caused_by"].is_null(), "{root}");
        assert_eq!(
            root["explains"],
            serde_json::json!(["OMS_HOST_IP_MISMATCH/n2"])
        );
        assert_eq!(symptom["caused_by"], "DUPLICATE_OMS_HOST_IP/10.0.0.11");
        assert_eq!(symptom["explains"], serde_json::json!([]));
    }
}
