//! Restarts against a real collector in this process, over mutual TLS, with a stand-in
//! agent that reads the commands on its report stream and answers as it is told: who
//! may (operator certificate, token scopes, node certificates), the collector's switch,
//! not connected, an agent too old to answer, an agent's refusal, a full restart and a
//! second one within the minute, the HTTP door, and the audit of each in the timeline.

mod support;

use omswatch_collector::settings::Settings;
use omswatch_common::identity::Role;
use omswatch_common::identity::mint::Pem;
use omswatch_common::proto::v1::query_client::QueryClient;
use omswatch_common::proto::v1::{
    HistoryRequest, NodeReport, Program, RestartCommand, RestartOutcome, RestartReply,
    RestartRequest, SupervisorStatus, TimelineEvent,
};
use omswatch_tests::curl;
use support::{Agent, Collector, Pki, TOKEN, channel, report};
use tonic::{Code, Request, Status};

const NODE: &str = "oms-a";
const PROGRAM: &str = "oms_console";
/// A token the token file grants `restart`.
const RESTARTER: &str = "restarter-token-0123456789abcdef";

fn settings(pki: &Pki, allow: bool) -> Settings {
    std::fs::write(
        pki.path("tokens"),
        format!("{TOKEN}\n{RESTARTER} name=ci scopes=read,restart\n"),
    )
    .expect("tokens");
    Settings {
        allow_restart: allow,
        ..pki.settings()
    }
}

fn with_program(seq: u64, state: &str, pid: u32) -> NodeReport {
    NodeReport {
        supervisor: Some(SupervisorStatus {
            reachable: true,
            programs: vec![Program {
                name: PROGRAM.into(),
                group: PROGRAM.into(),
                state: state.into(),
                pid,
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..report(NODE, seq)
    }
}

/// An agent for NODE that has reported once, its program RUNNING.
async fn agent(pki: &Pki, collector: &Collector) -> Agent {
    let node = pki.issue(Role::Node, NODE);
    let ch = channel(pki, collector.addr, Some(&node))
        .await
        .expect("tls");
    let mut agent = Agent::open(ch).await.expect("stream");
    agent
        .send(with_program(1, "RUNNING", 100))
        .await
        .expect("ack");
    agent
}

async fn restart_as(
    pki: &Pki,
    collector: &Collector,
    client: Option<&Pem>,
    token: Option<&str>,
    wait_ms: u32,
) -> Result<RestartReply, Status> {
    let ch = channel(pki, collector.addr, client).await?;
    let mut request = Request::new(RestartRequest {
        node: NODE.into(),
        program: PROGRAM.into(),
        reason: "console down".into(),
        wait_ms,
    });
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("ascii");
        request.metadata_mut().insert("authorization", value);
    }
    QueryClient::new(ch)
        .restart(request)
        .await
        .map(tonic::Response::into_inner)
}

async fn remediation_events(pki: &Pki, collector: &Collector) -> Vec<TimelineEvent> {
    let operator = pki.issue(Role::Operator, "auditor");
    let ch = channel(pki, collector.addr, Some(&operator))
        .await
        .expect("tls");
    QueryClient::new(ch)
        .get_history(HistoryRequest {
            kind: "remediation".into(),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .events
}

/// The next command on the agent's stream.
async fn command(agent: &mut Agent) -> RestartCommand {
    loop {
        let ack = agent.next_ack().await.expect("a message");
        if let Some(command) = ack.restart {
            return command;
        }
    }
}

fn answer(seq: u64, command: &RestartCommand, result: &str, state: &str, pid: u32) -> NodeReport {
    NodeReport {
        restart: Some(RestartOutcome {
            command_id: command.id.clone(),
            program: command.program.clone(),
            result: result.into(),
            message: format!("{result} by the stand-in"),
            ..Default::default()
        }),
        ..with_program(seq, state, pid)
    }
}

#[tokio::test]
async fn who_may_restart_and_the_collector_switch_are_checked_and_recorded() {
    let pki = Pki::new();
    let off = Collector::start(settings(&pki, false)).await;
    let _agent = agent(&pki, &off).await;
    let alice = pki.issue(Role::Operator, "alice");
    let refused = restart_as(&pki, &off, Some(&alice), None, 0)
        .await
        .expect_err("off");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("--allow-restart"), "{refused:?}");
    let events = remediation_events(&pki, &off).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(
        (
            event.actor.as_deref(),
            event.result.as_deref(),
            event.program.as_deref()
        ),
        (Some("alice"), Some("refused"), Some(PROGRAM))
    );
    assert_eq!(event.nodes, [NODE]);
    assert_eq!(event.reason.as_deref(), Some("console down"));
    assert!(event.code.is_none());
    drop(off);

    let pki = Pki::new();
    let on = Collector::start(settings(&pki, true)).await;
    let _agent = agent(&pki, &on).await;
    let reader = restart_as(&pki, &on, None, Some(TOKEN), 0)
        .await
        .expect_err("read only");
    assert_eq!(reader.code(), Code::PermissionDenied, "{reader:?}");
    assert!(
        reader.message().contains("scopes=read;") && reader.message().contains("add restart"),
        "{reader:?}"
    );
    let node = pki.issue(Role::Node, NODE);
    let as_node = restart_as(&pki, &on, Some(&node), None, 0)
        .await
        .expect_err("a node");
    assert_eq!(as_node.code(), Code::PermissionDenied, "{as_node:?}");
    assert!(
        as_node.message().contains("node oms-a may not restart"),
        "{as_node:?}"
    );
    let nobody = restart_as(&pki, &on, None, None, 0)
        .await
        .expect_err("nobody");
    assert_eq!(nobody.code(), Code::Unauthenticated, "{nobody:?}");
    let events = remediation_events(&pki, &on).await;
    let actors: Vec<_> = events.iter().filter_map(|e| e.actor.clone()).collect();
    assert_eq!(
        actors.len(),
        2,
        "the unauthenticated call is not recorded: {events:#?}"
    );
    assert!(
        actors[0].starts_with("token#") && !actors[0].contains(TOKEN),
        "{actors:?}"
    );
    assert_eq!(actors[1], "node oms-a");
    assert!(
        events
            .iter()
            .all(|e| e.result.as_deref() == Some("refused"))
    );
}

#[tokio::test]
async fn a_node_without_a_stream_or_an_agent_that_does_not_answer_is_refused() {
    let pki = Pki::new();
    let collector = Collector::start(settings(&pki, true)).await;
    let alice = pki.issue(Role::Operator, "alice");
    let absent = restart_as(&pki, &collector, Some(&alice), None, 0)
        .await
        .expect_err("absent");
    assert_eq!(absent.code(), Code::Unavailable, "{absent:?}");
    assert!(
        absent.message().contains("no open report stream"),
        "{absent:?}"
    );

    let mut old = agent(&pki, &collector).await;
    let call = restart_as(&pki, &collector, Some(&alice), None, 2_000);
    let (result, command) = tokio::join!(call, command(&mut old));
    assert_eq!(command.program, PROGRAM);
    let silent = result.expect_err("no answer");
    assert_eq!(silent.code(), Code::Unavailable, "{silent:?}");
    assert!(silent.message().contains("may be too old"), "{silent:?}");
    let events = remediation_events(&pki, &collector).await;
    let results: Vec<_> = events.iter().filter_map(|e| e.result.clone()).collect();
    assert_eq!(
        results,
        ["refused", "requested", "no_answer"],
        "{events:#?}"
    );
}

#[tokio::test]
async fn a_restart_runs_once_a_minute_and_an_agent_refusal_changes_nothing() {
    let pki = Pki::new();
    let collector = Collector::start(settings(&pki, true)).await;
    let mut agent = agent(&pki, &collector).await;
    let alice = pki.issue(Role::Operator, "alice");

    // The agent refuses: nothing ran, so the minute is not used up.
    let call = restart_as(&pki, &collector, Some(&alice), None, 10_000);
    let refuse = async {
        let command = command(&mut agent).await;
        let now = omswatch_common::telemetry::now_unix_ms();
        assert!(
            (command.expires_at_unix_ms - now - 30_000).abs() < 5_000,
            "the expiry is 30 s ahead of the node's clock: {command:?}"
        );
        agent
            .queue(answer(2, &command, "refused", "RUNNING", 100))
            .await;
    };
    let (refused, ()) = tokio::join!(call, refuse);
    let refused = refused.expect_err("the agent refused");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("refused by the stand-in"),
        "{refused:?}"
    );

    // Accepted, then restarted with the program RUNNING on a new pid.
    let call = restart_as(&pki, &collector, None, Some(RESTARTER), 10_000);
    let run = async {
        let command = command(&mut agent).await;
        agent
            .queue(answer(3, &command, "accepted", "STOPPING", 100))
            .await;
        agent
            .queue(answer(4, &command, "restarted", "RUNNING", 200))
            .await;
    };
    let (done, ()) = tokio::join!(call, run);
    let done = done.expect("restarted");
    assert_eq!(
        (done.result.as_str(), done.state.as_str()),
        ("running", "RUNNING")
    );
    assert_eq!(done.actor, "token:ci");
    assert!(
        done.message
            .starts_with("token:ci restarted oms_console on oms-a: RUNNING after"),
        "{done:?}"
    );

    let again = restart_as(&pki, &collector, Some(&alice), None, 10_000)
        .await
        .expect_err("too soon");
    assert_eq!(again.code(), Code::ResourceExhausted, "{again:?}");
    assert!(
        again
            .message()
            .contains("by token:ci: one restart per node and program per minute"),
        "{again:?}"
    );

    let events = remediation_events(&pki, &collector).await;
    let results: Vec<_> = events.iter().filter_map(|e| e.result.clone()).collect();
    assert_eq!(
        results,
        ["requested", "refused", "requested", "running", "refused"],
        "{events:#?}"
    );
    let running = &events[3];
    assert!(running.duration_ms.is_some_and(|ms| ms >= 0));
    assert_eq!(
        running.request_id, events[2].request_id,
        "one request, two events"
    );
    let status = support::status_as(&pki, collector.addr, Some(&alice))
        .await
        .expect("status");
    assert!(
        status.nodes.iter().any(|n| n.name == NODE),
        "the answers fed the state too"
    );
}

#[tokio::test]
async fn post_api_v1_restart_is_the_same_restart() {
    let pki = Pki::new();
    let collector = Collector::start_with_http(settings(&pki, true)).await;
    let mut agent = agent(&pki, &collector).await;
    let url = format!("https://{}/api/v1/restart", collector.http.expect("http"));
    let ca = vec![
        "--cacert".to_string(),
        pki.path("ca.pem").display().to_string(),
    ];
    let json = |body: &str| {
        vec![
            "-H".to_string(),
            "Content-Type: application/json".into(),
            "--data".into(),
            body.to_string(),
        ]
    };
    let bearer = |t: &str| vec!["-H".to_string(), format!("Authorization: Bearer {t}")];
    let body =
        format!(r#"{{"node":"{NODE}","program":"{PROGRAM}","reason":"page","wait_ms":8000}}"#);

    let reader = curl::get(&url, &[ca.clone(), bearer(TOKEN), json(&body)].concat())
        .await
        .expect("curl");
    assert_eq!(reader.code, 403, "{reader:?}");
    let doc: serde_json::Value = serde_json::from_str(&reader.body).expect("json");
    assert_eq!(
        (doc["result"].as_str(), doc["refusal"].as_str()),
        (Some("refused"), Some("forbidden"))
    );
    let nobody = curl::get(&url, &[ca.clone(), json(&body)].concat())
        .await
        .expect("curl");
    assert_eq!(nobody.code, 401, "{nobody:?}");
    let form = curl::get(
        &url,
        &[
            ca.clone(),
            bearer(RESTARTER),
            vec!["--data".into(), "node=x".into()],
        ]
        .concat(),
    )
    .await
    .expect("curl");
    assert_eq!(form.code, 415, "a form post is refused: {form:?}");

    let args = [ca.clone(), bearer(RESTARTER), json(&body)].concat();
    let call = curl::get(&url, &args);
    let run = async {
        let command = command(&mut agent).await;
        agent
            .queue(answer(2, &command, "accepted", "STOPPING", 100))
            .await;
        agent
            .queue(answer(3, &command, "start_failed", "FATAL", 0))
            .await;
    };
    let (answered, ()) = tokio::join!(call, run);
    let answered = answered.expect("curl");
    assert_eq!(answered.code, 200, "{answered:?}");
    let doc: serde_json::Value = serde_json::from_str(&answered.body).expect("json");
    assert_eq!(doc["result"], "not_running", "{doc}");
    assert_eq!(doc["state"], "FATAL", "{doc}");
    assert_eq!(doc["actor"], "token:ci", "{doc}");
    assert!(
        doc["message"].as_str().is_some_and(
            |m| m.contains("not RUNNING") && m.contains("start_failed by the stand-in")
        ),
        "{doc}"
    );
    assert!(!answered.body.contains(RESTARTER));
}
