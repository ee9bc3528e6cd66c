use super::*;

fn history() -> pb::History {
    pb::History {
        events: vec![
            pb::TimelineEvent {
                id: "a".into(),
                at_unix_ms: 1_780_000_000_000,
                kind: "raised".into(),
                code: Some("COMPONENT_NOT_RUNNING".into()),
                severity: Some("critical".into()),
                nodes: vec!["oms-node-2".into()],
                message: Some("oms-node-2: oms_console is STOPPED\x1b[2J".into()),
                evidence: [("program".to_string(), "oms_console".to_string())].into(),
                collector: "watch:9470".into(),
                ..Default::default()
            },
            pb::TimelineEvent {
                id: "b".into(),
                at_unix_ms: 1_780_000_000_001,
                kind: "node_state".into(),
                nodes: vec!["oms-node-2".into()],
                from: Some("ONLINE".into()),
                to: Some("DOWN".into()),
                collector: "watch:9470".into(),
                ..Default::default()
            },
        ],
        truncated: false,
    }
}

#[test]
fn json_has_the_documented_keys_with_nulls() {
    let doc: serde_json::Value = serde_json::from_str(&document(&history())).expect("json");
    let raised = &doc["events"][0];
    for key in [
        "at",
        "at_unix_ms",
        "kind",
        "code",
        "severity",
        "nodes",
        "message",
        "from",
        "to",
    ] {
        assert!(raised.get(key).is_some(), "missing {key}: {raised}");
    }
    assert_eq!(raised["at"], "2026-05-28T20:26:40.000Z");
    assert_eq!(raised["kind"], "raised");
    assert!(raised["from"].is_null() && raised["to"].is_null());
    let state = &doc["events"][1];
    assert!(state["code"].is_null() && state["severity"].is_null() && state["message"].is_null());
    assert_eq!(
        (state["from"].as_str(), state["to"].as_str()),
        (Some("ONLINE"), Some("DOWN"))
    );
    assert_eq!(doc["truncated"], false);
}

#[test]
fn a_webhook_body_is_one_event_with_its_id() {
    let h = history();
    let body: serde_json::Value = serde_json::from_str(&event_body(&h.events[0])).expect("json");
    let doc: serde_json::Value = serde_json::from_str(&document(&h)).expect("json");
    assert_eq!(body, doc["events"][0], "the same shape as a history event");
    assert_eq!(body["id"], "a");
    assert!(!event_body(&h.events[0]).contains('\n'), "compact");
}
