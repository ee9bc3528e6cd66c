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
            pb::TimelineEvent {
                id: "c".into(),
                at_unix_ms: 1_780_000_002_100,
                kind: "remediation".into(),
                nodes: vec!["oms-node-2".into()],
                message: Some(
                    "alice restarted oms_console on oms-node-2: RUNNING after 2.1 s".into(),
                ),
                collector: "watch:9470".into(),
                actor: Some("alice".into()),
                program: Some("oms_console".into()),
                result: Some("running".into()),
                duration_ms: Some(2100),
                reason: Some("console down".into()),
                request_id: Some("r1".into()),
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
    assert!(state["actor"].is_null() && state["result"].is_null());
    let restart = &doc["events"][2];
    assert!(restart["code"].is_null(), "{restart}");
    assert_eq!(restart["kind"], "remediation");
    assert_eq!(restart["nodes"], serde_json::json!(["oms-node-2"]));
    for (key, value) in [
        ("actor", serde_json::json!("alice")),
        ("program", serde_json::json!("oms_console")),
        ("result", serde_json::json!("running")),
        ("duration_ms", serde_json::json!(2100)),
        ("reason", serde_json::json!("console down")),
        ("request_id", serde_json::json!("r1")),
    ] {
        assert_eq!(restart[key], value, "{key}: {restart}");
    }
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
