//! Restarts in Alertmanager: each remediation event of the timeline (requested, refused,
//! and how it ended) becomes a short-lived `OmswatchRemediation` alert, one per restart
//! request (its events update the same alert: the labels carry the request's id), firing
//! for [`FIRES_FOR_MS`] after its last event and then resolving by itself. A separate
//! alert rather than annotations on the node's COMPONENT_NOT_RUNNING alert: a refused or
//! failed restart has no such alert to annotate, and an annotation would vanish when the
//! finding clears, which is exactly when a restart worked. Pure: the clock is an argument.

use std::collections::BTreeMap;

use super::alerts::{Alert, Labels};
use crate::store::events::{Event, EventKind};

/// The alertname of a restart's alert.
pub const ALERTNAME: &str = "OmswatchRemediation";
/// How long a restart's alert fires after its last event (then it is sent resolved).
pub const FIRES_FOR_MS: i64 = 10 * 60 * 1000;

/// The alert of remediation `event` in `cluster`; `None` for any other kind of event.
/// Labels: `alertname`, `severity` (always `info`: a label that changed with the result
/// would split one request into two alerts), `cluster`, `node`, `program`, `request_id`.
/// Annotations: `summary` (the timeline's message), `result` (requested, refused,
/// running, not_running, failed, no_answer), `actor`, and `reason`, `duration_ms` when known.
pub fn alert_of(event: &Event, cluster: &str) -> Option<Alert> {
    if event.kind != EventKind::Remediation.as_str() {
        return None;
    }
    let result = event.result.clone().unwrap_or_default();
    let mut labels = Labels::from([
        ("alertname".to_string(), ALERTNAME.to_string()),
        ("severity".to_string(), "info".to_string()),
        ("cluster".to_string(), cluster.to_string()),
    ]);
    let optional = [
        ("node", event.nodes.first().cloned()),
        ("program", event.program.clone()),
        ("request_id", event.request_id.clone()),
    ];
    for (name, value) in optional {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            labels.insert(name.to_string(), value);
        }
    }
    let mut annotations = BTreeMap::from([
        (
            "summary".to_string(),
            event.message.clone().unwrap_or_default(),
        ),
        ("result".to_string(), result),
        ("actor".to_string(), event.actor.clone().unwrap_or_default()),
    ]);
    if let Some(reason) = event.reason.clone().filter(|r| !r.is_empty()) {
        annotations.insert("reason".into(), reason);
    }
    if let Some(ms) = event.duration_ms {
        annotations.insert("duration_ms".into(), ms.to_string());
    }
    Some(Alert {
        labels,
        annotations,
        starts_at_unix_ms: event.at_unix_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(result: &str) -> Event {
        Event {
            id: "e1".into(),
            at_unix_ms: 5_000,
            kind: "remediation".into(),
            nodes: vec!["oms-node-2".into()],
            message: Some("token:oncall restarted oms_console on oms-node-2".into()),
            actor: Some("token:oncall".into()),
            program: Some("oms_console".into()),
            result: Some(result.into()),
            duration_ms: Some(2100),
            reason: Some("down after the upgrade".into()),
            request_id: Some("r1".into()),
            ..Event::default()
        }
    }

    #[test]
    fn a_restart_event_is_an_alert_per_request() {
        let alert = alert_of(&event("running"), "hz").expect("a remediation");
        let label = |k: &str| alert.labels.get(k).map(String::as_str);
        assert_eq!(label("alertname"), Some(ALERTNAME));
        assert_eq!(label("severity"), Some("info"));
        assert_eq!(label("node"), Some("oms-node-2"));
        assert_eq!(label("program"), Some("oms_console"));
        assert_eq!(label("request_id"), Some("r1"));
        assert_eq!(label("result"), None, "a request's events are one alert");
        let note = |k: &str| alert.annotations.get(k).map(String::as_str);
        assert_eq!(note("actor"), Some("token:oncall"));
        assert_eq!(note("result"), Some("running"));
        assert_eq!(note("reason"), Some("down after the upgrade"));
        assert_eq!(note("duration_ms"), Some("2100"));
        assert_eq!(alert.starts_at_unix_ms, 5_000);
        let refused = alert_of(&event("refused"), "hz").expect("a remediation");
        assert_eq!(refused.labels, alert.labels, "the same alert, updated");
        assert_eq!(refused.annotations["result"], "refused");
        let raised = Event {
            kind: "raised".into(),
            ..event("running")
        };
        assert_eq!(alert_of(&raised, "hz"), None);
    }
}
