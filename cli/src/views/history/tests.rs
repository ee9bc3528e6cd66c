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
fn table_lists_oldest_first_with_state_changes_and_safe_text() {
    let text = table(&history(), "https://c:9470");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("TIME (UTC)"), "{text}");
    assert!(
        lines[1].contains("raised") && lines[1].contains("COMPONENT_NOT_RUNNING"),
        "{text}"
    );
    assert!(
        lines[2].contains("ONLINE -> DOWN") && lines[2].contains("oms-node-2"),
        "{text}"
    );
    assert!(
        lines[3].contains("remediation")
            && lines[3].contains("restart oms_console: running")
            && lines[3].contains("alice restarted oms_console on oms-node-2: RUNNING after 2.1 s"),
        "{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "control characters are escaped: {text}"
    );
    let empty = table(&pb::History::default(), "c");
    assert!(empty.contains("No events"), "{empty}");
}
