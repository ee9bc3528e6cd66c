use omswatch_common::diagnose::{NodeState, NodeView};
use omswatch_common::findings::Code;

use super::*;

fn node(name: &str, region: &str) -> NodeView {
    NodeView {
        name: name.into(),
        region: region.into(),
        hostname: name.into(),
        oms_host_ip: None,
        hostname_ips: Vec::new(),
        state: NodeState::Down,
        components: Vec::new(),
        host_status: None,
        heartbeat_age_s: None,
        last_report_age_s: 0,
    }
}

fn diagnosis() -> Diagnosis {
    let mut stopped = Finding::on_node(
        Code::ComponentNotRunning,
        "oms-node-2",
        "oms-node-2: oms_console is STOPPED",
    )
    .with("program", "oms_console");
    stopped.id = "COMPONENT_NOT_RUNNING [oms-node-2] program=oms_console".into();
    let mut unreachable =
        Finding::new(Code::MetadbUnreachable, "cannot reach the MetaDB").with("region", "hz");
    unreachable.id = "METADB_UNREACHABLE server=x".into();
    let mut silent = Finding::new(Code::NodeSilent, "two nodes silent").nodes(["n1", "n3"]);
    silent.id = "NODE_SILENT [n1,n3]".into();
    silent.caused_by = Some(unreachable.id.clone());
    Diagnosis {
        nodes: vec![node("oms-node-2", "hz"), node("n1", "sh"), node("n3", "")],
        findings: vec![stopped, unreachable, silent],
    }
}

fn label<'a>(a: &'a Alert, key: &str) -> Option<&'a str> {
    a.labels.get(key).map(String::as_str)
}

#[test]
fn one_alert_per_finding_and_named_node_with_the_documented_labels() {
    let since = |f: &Finding| (f.code == Code::ComponentNotRunning).then_some(1_000);
    let alerts = alerts_of(&diagnosis(), "prod", &since, 5_000);
    assert_eq!(alerts.len(), 4, "{alerts:#?}");
    let stopped = &alerts[0];
    assert_eq!(label(stopped, "alertname"), Some("COMPONENT_NOT_RUNNING"));
    assert_eq!(label(stopped, "severity"), Some("critical"));
    assert_eq!(label(stopped, "node"), Some("oms-node-2"));
    assert_eq!(label(stopped, "region"), Some("hz"));
    assert_eq!(label(stopped, "cluster"), Some("prod"));
    assert_eq!(label(stopped, "root"), Some("true"));
    assert_eq!(
        label(stopped, "id"),
        Some("COMPONENT_NOT_RUNNING [oms-node-2] program=oms_console")
    );
    assert_eq!(
        stopped.starts_at_unix_ms, 1_000,
        "the timeline's raise time"
    );
    assert_eq!(
        stopped.annotations["summary"],
        "oms-node-2: oms_console is STOPPED"
    );
    assert!(stopped.annotations["remedy"].contains("oms_console"));
    let cluster_wide = &alerts[1];
    assert_eq!(label(cluster_wide, "node"), None, "no empty node label");
    assert_eq!(
        label(cluster_wide, "region"),
        Some("hz"),
        "from its evidence"
    );
    assert_eq!(cluster_wide.starts_at_unix_ms, 5_000);
    let symptoms: Vec<&Alert> = alerts[2..].iter().collect();
    assert!(symptoms.iter().all(|a| label(a, "root") == Some("false")));
    assert_eq!(label(symptoms[0], "node"), Some("n1"));
    assert_eq!(label(symptoms[0], "region"), Some("sh"));
    assert_eq!(label(symptoms[1], "node"), Some("n3"));
    assert_eq!(
        label(symptoms[1], "region"),
        None,
        "unknown region: no label"
    );
}

#[test]
fn the_cluster_is_the_setting_else_the_first_cm_region_else_omswatch() {
    let empty = Snapshot {
        now_unix_ms: 0,
        nodes: Vec::new(),
        regions: Vec::new(),
        thresholds: Default::default(),
        scope: Default::default(),
    };
    assert_eq!(cluster_of(Some("prod"), &empty), "prod");
    assert_eq!(cluster_of(None, &empty), DEFAULT_CLUSTER);
}

#[test]
fn the_book_sends_firing_alerts_ahead_and_resolved_ones_once_cleared() {
    let alerts = alerts_of(&diagnosis(), "prod", &|_| None, 1_000);
    let mut book = Book::default();
    assert!(book.is_empty());
    assert!(book.update(alerts.clone(), 1_000), "new alerts: push now");
    assert!(
        !book.update(alerts_of(&diagnosis(), "prod", &|_| None, 2_000), 2_000),
        "the same alerts: nothing new"
    );
    let sent = serde_json::to_value(book.postable(3_000, 120_000)).expect("json");
    assert_eq!(sent.as_array().map(Vec::len), Some(4));
    assert_eq!(
        sent[0]["startsAt"], "1970-01-01T00:00:01.000Z",
        "first start kept"
    );
    assert_eq!(
        sent[0]["endsAt"], "1970-01-01T00:02:03.000Z",
        "now + 4 resends"
    );
    assert!(sent[0]["labels"]["alertname"].is_string());
    assert!(sent[0]["annotations"]["summary"].is_string());

    // The stopped component is started again: its alert resolves at 4 s.
    let rest: Vec<Alert> = alerts[1..].to_vec();
    assert!(
        book.update(rest.clone(), 4_000),
        "a resolved alert: push now"
    );
    assert_eq!(book.firing(), 3);
    let sent = serde_json::to_value(book.postable(5_000, 120_000)).expect("json");
    let resolved: Vec<&serde_json::Value> = sent
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["labels"]["alertname"] == "COMPONENT_NOT_RUNNING")
        .collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(
        resolved[0]["endsAt"], "1970-01-01T00:00:04.000Z",
        "ended when cleared"
    );
    book.prune(4_000 + RESOLVED_KEEP_MS - 1);
    assert_eq!(book.postable(0, 0).len(), 4, "kept for 15 minutes");
    book.prune(4_000 + RESOLVED_KEEP_MS);
    assert_eq!(book.postable(0, 0).len(), 3, "then forgotten");

    // It fires again: a new alert with a new start.
    assert!(book.update(alerts_of(&diagnosis(), "prod", &|_| None, 9_000), 9_000));
    let again = serde_json::to_value(book.postable(9_000, 1)).expect("json");
    let start = again
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["labels"]["alertname"] == "COMPONENT_NOT_RUNNING")
        .map(|a| a["startsAt"].clone());
    assert_eq!(start, Some("1970-01-01T00:00:09.000Z".into()));
    assert!(book.update(Vec::new(), 10_000));
    assert_eq!(book.firing(), 0);
    assert!(!book.is_empty(), "resolved ones are still sent");
}

#[test]
fn an_events_alert_fires_until_it_ends_keeps_its_start_and_is_forgotten() {
    let alert = |at: i64, result: &str| Alert {
        labels: Labels::from([
            ("alertname".to_string(), "OmswatchRemediation".to_string()),
            ("request_id".to_string(), "r1".to_string()),
        ]),
        annotations: BTreeMap::from([("result".to_string(), result.to_string())]),
        starts_at_unix_ms: at,
    };
    let mut book = Book::default();
    book.event(alert(1_000, "requested"), 61_000);
    book.event(alert(3_000, "running"), 63_000);
    assert_eq!(book.firing(), 0, "not a finding");
    let sent = serde_json::to_value(book.postable(3_000, 120_000)).expect("json");
    assert_eq!(
        sent.as_array().map(Vec::len),
        Some(1),
        "one alert per request: {sent}"
    );
    assert_eq!(sent[0]["startsAt"], "1970-01-01T00:00:01.000Z");
    assert_eq!(sent[0]["endsAt"], "1970-01-01T00:01:03.000Z");
    assert_eq!(sent[0]["annotations"]["result"], "running");
    book.prune(63_000 + RESOLVED_KEEP_MS - 1);
    assert!(!book.is_empty(), "sent resolved for a while");
    book.prune(63_000 + RESOLVED_KEEP_MS);
    assert!(book.is_empty());
}
