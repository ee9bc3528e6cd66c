//! Domain → wire: the diagnosis as a proto `ClusterStatus`, the one shape every
//! view renders (the collector's `GetStatus` and bundles, `omswatch check`).
//! Remedies are filled here from the catalogue, the one source of their text.

use crate::diagnose::{Diagnosis, NodeView};
use crate::findings::Finding;
use crate::proto::v1 as pb;

/// The wire form of a diagnosis made at `now_unix_ms` by `version` (the
/// collector's, or the `omswatch` CLI's for `omswatch check`).
pub fn cluster_status(diagnosis: &Diagnosis, now_unix_ms: i64, version: &str) -> pb::ClusterStatus {
    pb::ClusterStatus {
        nodes: diagnosis.nodes.iter().map(node).collect(),
        findings: diagnosis.findings.iter().map(finding).collect(),
        generated_at_unix_ms: now_unix_ms,
        collector_version: version.to_string(),
        store: None,
    }
}

fn node(view: &NodeView) -> pb::NodeStatus {
    pb::NodeStatus {
        name: view.name.clone(),
        oms_host_ip: view.oms_host_ip.clone(),
        hostname_ips: view.hostname_ips.clone(),
        state: view.state.as_str().to_string(),
        components: view
            .components
            .iter()
            .map(|(name, state)| pb::ComponentState {
                name: name.clone(),
                state: state.clone(),
            })
            .collect(),
        host_status: view.host_status.clone(),
        heartbeat_age_s: view.heartbeat_age_s,
        last_report_age_s: Some(view.last_report_age_s),
        region: view.region.clone(),
        hostname: view.hostname.clone(),
    }
}

fn finding(f: &Finding) -> pb::Finding {
    pb::Finding {
        code: f.code.as_str().to_string(),
        severity: f.severity().as_str().to_string(),
        nodes: f.nodes.clone(),
        message: f.message.clone(),
        remedy: f.remedy(),
        evidence: f
            .evidence
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        id: f.id.clone(),
        caused_by: f.caused_by.clone().unwrap_or_default(),
        explains: f.explains.clone(),
        // From the collector's timeline, which this pure conversion does not know.
        since_unix_ms: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Code;

    #[test]
    fn findings_carry_id_root_and_folded_symptoms() {
        let mut root = Finding::on_node(Code::ComponentNotRunning, "n1", "n1: x is STOPPED")
            .with("program", "oms_drc_supervisor");
        root.id = "COMPONENT_NOT_RUNNING/n1/oms_drc_supervisor".into();
        root.explains = vec!["HEARTBEAT_STALE/10.0.0.11".into()];
        let mut symptom = Finding::new(Code::HeartbeatStale, "stale").with("ip", "10.0.0.11");
        symptom.id = "HEARTBEAT_STALE/10.0.0.11".into();
        symptom.caused_by = Some(root.id.clone());
        let diagnosis = Diagnosis {
            nodes: Vec::new(),
            findings: vec![root, symptom],
        };
        let status = cluster_status(&diagnosis, 1, "test");
        let (r, s) = (&status.findings[0], &status.findings[1]);
        assert_eq!(r.id, "COMPONENT_NOT_RUNNING/n1/oms_drc_supervisor");
        assert_eq!(
            (r.caused_by.as_str(), r.explains.as_slice()),
            ("", &[s.id.clone()][..])
        );
        assert_eq!(s.caused_by, r.id);
        assert!(s.explains.is_empty());
    }
}
