use std::collections::HashMap;

use askama::Template;

use super::*;
use crate::page::render::{Chrome, LiveTemplate, PageTemplate};

fn node(name: &str, state: &str, region: &str) -> pb::NodeStatus {
    pb::NodeStatus {
        name: name.into(),
        state: state.into(),
        region: region.into(),
        oms_host_ip: Some("10.0.0.11".into()),
        hostname_ips: vec!["10.0.0.11".into()],
        components: vec![
            pb::ComponentState {
                name: "nginx".into(),
                state: "RUNNING".into(),
            },
            pb::ComponentState {
                name: "oms_console".into(),
                state: "STOPPED".into(),
            },
        ],
        host_status: Some("ONLINE".into()),
        heartbeat_age_s: Some(3),
        last_report_age_s: Some(1),
        ..Default::default()
    }
}

fn finding(code: &str, severity: &str, id: &str, caused_by: &str) -> pb::Finding {
    pb::Finding {
        code: code.into(),
        severity: severity.into(),
        id: id.into(),
        caused_by: caused_by.into(),
        message: format!("{code} seen"),
        remedy: format!("fix {code}"),
        ..Default::default()
    }
}

fn demo_status() -> pb::ClusterStatus {
    let dup = "DUPLICATE_OMS_HOST_IP/10.0.0.11";
    let mut root = finding("DUPLICATE_OMS_HOST_IP", "critical", dup, "");
    root.nodes = vec!["n1".into(), "n2".into()];
    root.remedy = "Recreate the containers: `docker run -e OMS_HOST_IP=<ip>`; then wait.".into();
    let mut mismatch = finding("OMS_HOST_IP_MISMATCH", "critical", "M/n2", dup);
    mismatch.nodes = vec!["n2".into()];
    mismatch.message = format!("n2: wrong IP (caused by {dup})");
    let mut stopped = finding("COMPONENT_NOT_RUNNING", "critical", "C/n3/oms_console", "");
    stopped.nodes = vec!["n3".into()];
    stopped.evidence = HashMap::from([("program".to_string(), "oms_console".to_string())]);
    stopped.since_unix_ms = Some(1_000);
    pb::ClusterStatus {
        nodes: vec![
            node("n1", "ONLINE", ""),
            node("n2", "DEGRADED", ""),
            node("n3", "DOWN", ""),
        ],
        findings: vec![root, mismatch, stopped],
        generated_at_unix_ms: 1_000 + 12 * 60_000,
        collector_version: "0.1.0".into(),
        store: None,
    }
}

#[test]
fn the_verdict_leads_with_the_first_problems_fix() {
    let live = live(&demo_status(), Timeline::default());
    assert_eq!(live.verdict.level, "critical");
    assert_eq!(live.verdict.label, "Critical");
    assert!(
        live.verdict
            .summary
            .starts_with("3 nodes (1 down) · 2 problems (2 critical, 0 warning)"),
        "{}",
        live.verdict.summary
    );
    // The component problem takes a node down: it comes first, as in the CLI.
    assert_eq!(live.problems[0].code, "COMPONENT_NOT_RUNNING");
    assert_eq!(
        live.verdict.fix_first,
        Some(segments("fix COMPONENT_NOT_RUNNING"))
    );
    assert_eq!(live.problems[0].active_for.as_deref(), Some("12 min"));
    assert_eq!(
        live.problems[0].restart,
        Some(RestartTarget {
            node: "n3".into(),
            program: "oms_console".into(),
            button: Button::Hidden,
        })
    );
    // A viewer who may restart: offered where every switch is on, else disabled with why.
    let mut read_only = live.clone();
    offer_restarts(&mut read_only, false, |_, _| None);
    assert_eq!(read_only.problems[0].restart, live.problems[0].restart);
    let mut offered = live.clone();
    offer_restarts(&mut offered, true, |node, program| {
        assert_eq!((node, program), ("n3", "oms_console"));
        None
    });
    let button = |l: &Live| l.problems[0].restart.clone().map(|t| t.button);
    assert_eq!(button(&offered), Some(Button::Offered));
    let mut off = live.clone();
    offer_restarts(&mut off, true, |_, _| Some("agent restarts off".into()));
    assert_eq!(
        button(&off),
        Some(Button::Disabled("agent restarts off".into()))
    );
    let dup = &live.problems[1];
    assert_eq!(
        (dup.subject.as_str(), dup.restart.clone()),
        ("n1, n2", None)
    );
    assert_eq!(dup.symptoms.len(), 1);
    assert_eq!(
        dup.symptoms[0].message,
        segments("n2: wrong IP"),
        "the cause goes without saying"
    );
    assert_eq!(live.title, "Critical · 2 problems · omswatch");
}

#[test]
fn nodes_show_what_is_not_running_and_regions_get_a_table_each() {
    let live_one = live(&demo_status(), Timeline::default());
    assert_eq!(live_one.regions.len(), 1);
    assert_eq!(live_one.regions[0].name, None);
    let row = &live_one.regions[0].nodes[2];
    assert_eq!(
        (row.state_class, row.components.as_str()),
        ("down", "1/2 running")
    );
    assert_eq!(row.not_running, ["oms_console STOPPED"]);
    assert_eq!(row.heartbeat.as_deref(), Some("3 s ago"));

    let mut status = demo_status();
    status.nodes[1].region = "sh".into();
    status.nodes[2].region = "hz".into();
    let names: Vec<Option<String>> = live(&status, Timeline::default())
        .regions
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        names,
        [
            Some("(unknown region)".into()),
            Some("hz".into()),
            Some("sh".into())
        ]
    );
}

#[test]
fn a_healthy_cluster_says_so_and_has_nothing_to_fix() {
    let status = pb::ClusterStatus {
        nodes: vec![node("n1", "ONLINE", "")],
        ..Default::default()
    };
    let live = live(&status, Timeline::default());
    assert_eq!(
        (live.verdict.level, live.verdict.label),
        ("healthy", "Healthy")
    );
    assert_eq!(live.verdict.fix_first, None);
    assert!(
        live.verdict.summary.contains("every check"),
        "{}",
        live.verdict.summary
    );
    assert_eq!(live.title, "Healthy · omswatch");
}

#[test]
fn remedies_are_cut_into_text_and_commands() {
    let seg = |text: &str, command| Segment {
        text: text.into(),
        command,
    };
    assert_eq!(
        segments("On n3: `supervisorctl restart x`, then `ls`."),
        [
            seg("On n3: ", false),
            seg("supervisorctl restart x", true),
            seg(", then ", false),
            seg("ls", true),
            seg(".", false)
        ]
    );
    assert_eq!(segments("plain"), [seg("plain", false)]);
    assert_eq!(
        segments("odd `one` and `unclosed"),
        [
            seg("odd ", false),
            seg("one", true),
            seg(" and `unclosed", false)
        ]
    );
    assert_eq!(segments("``"), Vec::<Segment>::new());
}

#[test]
fn durations_read_in_two_units_at_most() {
    assert_eq!(duration(45), "45 s");
    assert_eq!(duration(12 * 60 + 59), "12 min");
    assert_eq!(duration(3 * 3600 + 5 * 60), "3 h 5 min");
    assert_eq!(duration(2 * 86_400 + 4 * 3600), "2 d 4 h");
    assert_eq!(duration(-5), "0 s");
}

#[test]
fn the_timeline_is_newest_first() {
    let event = |at: i64, kind: &str, to: Option<&str>| pb::TimelineEvent {
        at_unix_ms: at,
        kind: kind.into(),
        code: Some("NODE_SILENT".into()),
        severity: Some("critical".into()),
        nodes: vec!["n1".into()],
        to: to.map(String::from),
        ..Default::default()
    };
    let events = [
        event(1_000, "raised", None),
        event(2_000, "node_state", Some("DOWN")),
        event(3_000, "cleared", None),
    ];
    let timeline = Timeline::of(&events, true, 63_000);
    let kinds: Vec<(&str, &str, &str)> = timeline
        .rows
        .iter()
        .map(|r| (r.kind.as_str(), r.what.as_str(), r.tone))
        .collect();
    assert_eq!(
        kinds,
        [
            ("cleared", "NODE_SILENT", "ok"),
            ("node state", "new → DOWN", "critical"),
            ("raised", "NODE_SILENT", "critical")
        ]
    );
    assert_eq!(timeline.rows[0].ago, "1 min ago");
    assert_eq!(timeline.rows[2].at.text, "1970-01-01 00:00:01 UTC");
    assert!(timeline.truncated);
}

/// What an agent may send as its name, a message or evidence, and must never become markup.
const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&";

fn hostile_status() -> pb::ClusterStatus {
    let mut status = demo_status();
    status.nodes[0].name = HOSTILE.into();
    status.nodes[0].oms_host_ip = Some(HOSTILE.into());
    status.nodes[0].components[1].name = HOSTILE.into();
    status.nodes[0].region = HOSTILE.into();
    for f in &mut status.findings {
        f.message = HOSTILE.into();
        f.remedy = format!("run `{HOSTILE}` now {HOSTILE}");
        f.nodes = vec![HOSTILE.into()];
        f.evidence.insert("program".into(), HOSTILE.into());
    }
    status.store = Some(pb::StoreStatus {
        location: HOSTILE.into(),
        up: false,
        error: HOSTILE.into(),
    });
    status
}

#[test]
fn peer_supplied_text_is_escaped_everywhere() {
    let event = pb::TimelineEvent {
        kind: HOSTILE.into(),
        code: Some(HOSTILE.into()),
        nodes: vec![HOSTILE.into()],
        message: Some(HOSTILE.into()),
        ..Default::default()
    };
    let live = live(&hostile_status(), Timeline::of(&[event], false, 0));
    let chrome = Chrome::new(HOSTILE.into(), Some(HOSTILE.into()), true);
    let page = PageTemplate {
        live: &live,
        chrome: &chrome,
        csrf: Some(HOSTILE),
    }
    .render()
    .expect("renders");
    let fragment = LiveTemplate {
        live: &live,
        csrf: None,
    }
    .render()
    .expect("renders");
    for html in [&page, &fragment] {
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("\"'&"), "quotes and ampersands escaped");
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{html}"
        );
    }
    // The only scripts are the page's own file.
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert!(page.contains("<script src=\"assets/omswatch."), "{page}");
}

#[test]
fn the_restart_button_its_confirm_and_outcome_pages_escape_peer_text() {
    use crate::page::render::{RestartConfirmTemplate, RestartOutcomeTemplate};
    use crate::page::restart::{Asked, Outcome};

    let render = |button: Option<String>| {
        let mut live = live(&hostile_status(), Timeline::default());
        offer_restarts(&mut live, true, |_, _| button.clone());
        LiveTemplate {
            live: &live,
            csrf: Some("c"),
        }
        .render()
        .expect("renders")
    };
    let offered = render(None);
    assert!(
        offered.contains(
            "<form method=\"get\" action=\"restart\" class=\"problem-actions restart-form\""
        ),
        "{offered}"
    );
    let disabled = render(Some(HOSTILE.into()));
    assert!(disabled.contains("disabled"), "{disabled}");
    let asked = Asked {
        node: HOSTILE.into(),
        program: HOSTILE.into(),
    };
    let confirm = RestartConfirmTemplate::new(&asked, HOSTILE, HOSTILE.into())
        .render()
        .expect("renders");
    assert!(
        confirm.contains("<form method=\"post\" action=\"restart\""),
        "{confirm}"
    );
    let outcome = Outcome {
        result: "not_running",
        headline: HOSTILE.into(),
        message: HOSTILE.into(),
        refusal: None,
        state: Some(HOSTILE.into()),
        spawn_error: Some(HOSTILE.into()),
        actor: Some(HOSTILE.into()),
        duration: Some(HOSTILE.into()),
    };
    let ended = RestartOutcomeTemplate::new(&asked, &outcome)
        .render()
        .expect("renders");
    for html in [&offered, &disabled, &confirm, &ended] {
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("\"'&"), "quotes and ampersands escaped");
        assert_eq!(
            html.matches("<script").count(),
            html.matches("<script src=\"assets/omswatch.").count(),
            "no script but the page's own file: {html}"
        );
    }
}
