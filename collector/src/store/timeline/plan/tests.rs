use super::*;
use omswatch_common::findings::{Code, Finding};

fn finding(code: Code, node: &str) -> FindingRecord {
    FindingRecord::of(&Finding::on_node(
        code,
        node,
        format!("{node}: {}", code.as_str()),
    ))
}

fn node(name: &str, state: &str) -> NodeRecord {
    NodeRecord {
        name: name.into(),
        state: state.into(),
        region: "hz".into(),
        received_at_unix_ms: 0,
        interval_ms: 1000,
    }
}

fn active(records: &[FindingRecord]) -> HashMap<String, ActiveFinding> {
    records
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                ActiveFinding {
                    record: r.clone(),
                    raised_at_unix_ms: 1,
                },
            )
        })
        .collect()
}

fn states(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect()
}

#[test]
fn identity_ignores_ages_and_messages_but_not_the_subject() {
    let a =
        Finding::on_node(Code::NodeSilent, "n1", "silent for 10s").with("last_report_age_s", 10);
    let b =
        Finding::on_node(Code::NodeSilent, "n1", "silent for 15s").with("last_report_age_s", 15);
    assert_eq!(finding_identity(&a), finding_identity(&b));
    let p1 = Finding::on_node(Code::ComponentNotRunning, "n1", "x").with("program", "nginx");
    let p2 = Finding::on_node(Code::ComponentNotRunning, "n1", "x").with("program", "oms_console");
    assert_ne!(finding_identity(&p1), finding_identity(&p2));
}

#[test]
fn nothing_changes_nothing_is_planned() {
    let f = finding(Code::NodeSilent, "n1");
    let now = Observation {
        at_unix_ms: 5,
        findings: vec![f.clone()],
        nodes: vec![node("n1", "DOWN")],
    };
    assert!(plan(&active(&[f]), &states(&[("n1", "DOWN")]), &now).is_empty());
}

#[test]
fn a_stopped_component_raises_and_its_restart_clears() {
    let f = finding(Code::ComponentNotRunning, "n2");
    let down = Observation {
        at_unix_ms: 5,
        findings: vec![f.clone()],
        nodes: vec![node("n1", "ONLINE"), node("n2", "DOWN")],
    };
    let online = states(&[("n1", "ONLINE"), ("n2", "ONLINE")]);
    assert_eq!(
        plan(&HashMap::new(), &online, &down),
        vec![
            Transition::Raise(f.clone()),
            Transition::NodeState {
                node: "n2".into(),
                from: Some("ONLINE".into()),
                to: "DOWN".into(),
                region: "hz".into()
            }
        ]
    );
    let up = Observation {
        at_unix_ms: 9,
        findings: vec![],
        nodes: vec![node("n1", "ONLINE"), node("n2", "ONLINE")],
    };
    let was = active(&[f]);
    let planned = plan(&was, &states(&[("n1", "ONLINE"), ("n2", "DOWN")]), &up);
    assert!(
        matches!(&planned[0], Transition::Clear(a) if a.record.code == "COMPONENT_NOT_RUNNING")
    );
    assert!(matches!(&planned[1], Transition::NodeState { to, .. } if to == "ONLINE"));
    assert_eq!(planned.len(), 2);
}

#[test]
fn new_nodes_appear_and_forgotten_ones_go_without_events() {
    let now = Observation {
        at_unix_ms: 5,
        findings: vec![],
        nodes: vec![node("new", "ONLINE")],
    };
    assert_eq!(
        plan(&HashMap::new(), &states(&[("old", "DOWN")]), &now),
        vec![
            Transition::NodeState {
                node: "new".into(),
                from: None,
                to: "ONLINE".into(),
                region: "hz".into()
            },
            Transition::NodeGone("old".into())
        ]
    );
}

#[test]
fn a_finding_listed_twice_is_raised_once() {
    let f = finding(Code::NodeSilent, "n1");
    let now = Observation {
        at_unix_ms: 5,
        findings: vec![f.clone(), f.clone()],
        nodes: vec![],
    };
    assert_eq!(
        plan(&HashMap::new(), &HashMap::new(), &now),
        vec![Transition::Raise(f)]
    );
}
