//! Notifications end to end, with the real binaries: a real Alertmanager receives the alert of
//! a component stopped on a node (and notifies its own receiver) and resolves it once the
//! component is started again; a webhook receiver that is down for the first 30 s, across a
//! SIGKILL of the collector, then gets every event of the timeline exactly once, signed; and a
//! receiver that hangs delays neither `omswatch status` nor the timeline; a restart reaches
//! a webhook (one body per remediation event) and Alertmanager (an `OmswatchRemediation` alert).
#![allow(missing_docs)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use omswatch_tests::alertmanager::Alertmanager;
use omswatch_tests::cluster::{Cluster, ClusterSpec, META_PASSWORD, TOKEN, codes, find};
use omswatch_tests::free_port;
use omswatch_tests::webhook_receiver::{Blackhole, Received, WebhookReceiver, wait_received};
use serde_json::Value;

type Result = anyhow::Result<()>;

const CODE: &str = "COMPONENT_NOT_RUNNING";
const NODE: &str = "oms-node-2";
const WEBHOOK_SECRET: &str = "webhook-signing-secret-8e31f0";

fn label<'a>(alert: &'a Value, key: &str) -> Option<&'a str> {
    alert["labels"][key].as_str()
}

fn is_stopped(alert: &Value) -> bool {
    label(alert, "alertname") == Some(CODE) && label(alert, "node") == Some(NODE)
}

/// Alertmanager's notifications to its receiver that carry the stopped component's alert in
/// `status` (firing or resolved).
fn notified(received: &[Received], status: &str) -> bool {
    received.iter().filter_map(|r| r.json().ok()).any(|n| {
        n["alerts"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| is_stopped(x) && x["status"] == status))
    })
}

async fn wait_alerts(
    am: &Alertmanager,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> anyhow::Result<Vec<Value>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut last = Vec::new();
    while tokio::time::Instant::now() < deadline {
        if let Ok(alerts) = am.alerts().await {
            if done(&alerts) {
                return Ok(alerts);
            }
            last = alerts;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!(
        "timed out waiting for {what}; Alertmanager's alerts:\n{}\nits log:\n{}",
        serde_json::to_string_pretty(&last)?,
        am.log()
    )
}

#[tokio::test]
async fn alertmanager_receives_a_stopped_component_and_resolves_it_after_the_start() -> Result {
    let am_receiver = WebhookReceiver::start(0).await?;
    let am = Alertmanager::start(&am_receiver.url("/alertmanager")).await?;
    let mut spec = ClusterSpec::healthy(2);
    spec.collector_args
        .extend(["--alertmanager", &am.url, "--cluster-name", "e2e"].map(String::from));
    let cluster = Cluster::start(spec).await?;
    cluster
        .wait_for("a clean cluster", Duration::from_secs(20), |s| {
            codes(s).is_empty()
        })
        .await?;
    cluster.supervisors[1].stop_program("oms_console").await?;
    let alerts = wait_alerts(&am, "the stopped component's alert", |a| {
        a.iter().any(is_stopped)
    })
    .await?;
    let alert = alerts.iter().find(|a| is_stopped(a)).context("alert")?;
    let (status, _) = cluster.status_json().await?;
    let finding = find(&status, CODE)
        .first()
        .copied()
        .cloned()
        .context("finding")?;
    assert_eq!(label(alert, "severity"), Some("critical"), "{alert}");
    assert_eq!(label(alert, "cluster"), Some("e2e"), "{alert}");
    assert_eq!(label(alert, "root"), Some("true"), "{alert}");
    assert_eq!(label(alert, "id"), finding["id"].as_str(), "{alert}");
    assert!(
        label(alert, "region").is_some_and(|r| !r.is_empty()),
        "{alert}"
    );
    assert!(
        alert["annotations"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("oms_console")),
        "{alert}"
    );
    assert!(
        alert["annotations"]["remedy"]
            .as_str()
            .is_some_and(|s| s.contains("supervisorctl")),
        "{alert}"
    );
    assert_eq!(alert["status"]["state"], "active", "{alert}");
    wait_received(
        &am_receiver,
        Duration::from_secs(30),
        "Alertmanager's firing notification",
        |r| notified(r, "firing"),
    )
    .await?;

    cluster.supervisors[1].start_program("oms_console").await?;
    wait_alerts(&am, "the alert resolved", |a| !a.iter().any(is_stopped)).await?;
    wait_received(
        &am_receiver,
        Duration::from_secs(30),
        "Alertmanager's resolved notification",
        |r| notified(r, "resolved"),
    )
    .await?;
    let mut everything = serde_json::to_string(&am.alerts().await?)?;
    for r in am_receiver.received() {
        everything.push_str(&r.body);
    }
    for secret in [META_PASSWORD, TOKEN] {
        assert!(
            !everything.contains(secret),
            "a secret reached Alertmanager"
        );
    }
    Ok(())
}

/// Checks every signature with Python's own hmac module (a receiver written elsewhere).
async fn verify_signatures(received: &[Received]) -> Result {
    let items: Vec<Value> = received
        .iter()
        .map(|r| {
            serde_json::json!({
                "ts": r.header("x-omswatch-timestamp"),
                "sig": r.header("x-omswatch-signature"),
                "body": r.body,
            })
        })
        .collect();
    let script = "import hmac,hashlib,json,sys\n\
                  key=sys.argv[1].encode()\n\
                  bad=[i for i,x in enumerate(json.load(sys.stdin)) if x['sig']!='sha256='+\
                  hmac.new(key,(x['ts']+'.'+x['body']).encode(),hashlib.sha256).hexdigest()]\n\
                  print('ok' if not bad else 'bad %s' % bad)\n";
    let mut child = tokio::process::Command::new("python3")
        .args(["-c", script, WEBHOOK_SECRET])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = child.stdin.take().context("stdin")?;
    tokio::io::AsyncWriteExt::write_all(&mut stdin, serde_json::to_string(&items)?.as_bytes())
        .await?;
    drop(stdin);
    let out = child.wait_with_output().await?;
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.trim(), "ok", "signatures checked by Python's hmac");
    Ok(())
}

#[tokio::test]
async fn a_webhook_receiver_down_for_30s_gets_every_event_once_across_a_collector_sigkill() -> Result
{
    let began = Instant::now();
    let port = free_port()?;
    let secrets = tempfile::tempdir()?;
    let secret_file = secrets.path().join("webhook-secret");
    std::fs::write(&secret_file, format!("{WEBHOOK_SECRET}\n"))?;
    let mut spec = ClusterSpec::healthy(2);
    spec.collector_args.extend([
        "--webhook".into(),
        format!("http://127.0.0.1:{port}/omswatch"),
        "--webhook-secret-file".into(),
        secret_file.display().to_string(),
    ]);
    let mut cluster = Cluster::start(spec).await?;
    cluster
        .wait_for("a clean cluster", Duration::from_secs(20), |s| {
            codes(s).is_empty()
        })
        .await?;
    cluster.supervisors[1].stop_program("oms_console").await?;
    cluster
        .wait_history("raised", |ev| ev.iter().any(|e| e["kind"] == "raised"))
        .await?;
    cluster.restart_collector().await?; // SIGKILL: the outbox must survive it
    cluster.supervisors[1].start_program("oms_console").await?;
    let events = cluster
        .wait_history("cleared after the restart", |ev| {
            ev.iter().any(|e| e["kind"] == "cleared")
                && ev.iter().filter(|e| e["kind"] == "collector").count() >= 2
        })
        .await?;
    assert!(events.len() >= 6, "{events:#?}");
    let down_for = Duration::from_secs(30).saturating_sub(began.elapsed());
    assert!(
        !down_for.is_zero(),
        "the events came within the receiver's 30 s outage"
    );
    tokio::time::sleep(down_for).await;

    let receiver = WebhookReceiver::start(port).await?;
    let history = cluster.history(&["--limit", "5000"]).await?;
    let by_id: HashMap<String, Value> = history
        .iter()
        .filter_map(|e| Some((e["id"].as_str()?.to_string(), e.clone())))
        .collect();
    wait_received(
        &receiver,
        Duration::from_secs(120),
        "every event of the history",
        |r| {
            let got: Vec<&str> = r
                .iter()
                .filter_map(|x| x.header("idempotency-key"))
                .collect();
            by_id.keys().all(|id| got.contains(&id.as_str()))
        },
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await; // room for a repeat to show
    let received = receiver.received();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in &received {
        assert_eq!(r.path, "/omswatch");
        assert_eq!(r.header("content-type"), Some("application/json"));
        let body = r.json()?;
        let id = body["id"].as_str().context("id")?.to_string();
        assert_eq!(r.header("idempotency-key"), Some(id.as_str()), "{body}");
        assert_eq!(
            r.header("x-omswatch-event"),
            body["kind"].as_str(),
            "{body}"
        );
        match by_id.get(&id) {
            Some(event) => assert_eq!(&body, event, "the body is the history's event"),
            None => {
                // Recorded since the history was read (none expected in a quiet cluster).
                let now = cluster.history(&["--limit", "5000"]).await?;
                assert!(
                    now.iter().any(|e| e["id"] == id.as_str()),
                    "unknown event {body}"
                );
            }
        }
        *seen.entry(id).or_default() += 1;
    }
    let repeated: Vec<(&String, &usize)> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        repeated.is_empty(),
        "delivered more than once: {repeated:?}"
    );
    for kind in ["raised", "cleared", "node_state", "collector"] {
        assert!(
            received
                .iter()
                .any(|r| r.body.contains(&format!("\"kind\":\"{kind}\""))),
            "a {kind} event was delivered"
        );
    }
    verify_signatures(&received).await?;
    for r in &received {
        let headers: String = r
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}\n"))
            .collect();
        for secret in [META_PASSWORD, TOKEN, WEBHOOK_SECRET] {
            assert!(
                !r.body.contains(secret) && !headers.contains(secret),
                "a secret in a webhook: {r:?}"
            );
        }
    }
    assert!(
        !cluster
            .all_logs()
            .contains(&format!("127.0.0.1:{port}/omswatch")),
        "the webhook URL is never logged"
    );
    Ok(())
}

#[tokio::test]
async fn a_receiver_that_hangs_delays_neither_status_nor_the_timeline() -> Result {
    let hole = Blackhole::start().await?;
    let mut spec = ClusterSpec::healthy(2);
    spec.collector_args.extend([
        "--webhook".into(),
        hole.url("/hook"),
        "--alertmanager".into(),
        hole.url(""),
    ]);
    let cluster = Cluster::start(spec).await?;
    cluster
        .wait_for("a clean cluster", Duration::from_secs(20), |s| {
            codes(s).is_empty()
        })
        .await?;
    cluster.supervisors[1].stop_program("oms_console").await?;
    let mut latencies = Vec::new();
    let mut raised_after = None;
    for i in 0..20 {
        let start = Instant::now();
        let (status, code) = cluster.status_json().await?;
        latencies.push(start.elapsed());
        if raised_after.is_none() && !find(&status, CODE).is_empty() {
            raised_after = Some(i);
            assert_eq!(code, 2, "critical");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        raised_after.is_some(),
        "the finding showed while the receivers hung"
    );
    cluster
        .wait_history("raised in the timeline", |ev| {
            ev.iter().any(|e| e["kind"] == "raised")
        })
        .await?;
    assert!(hole.accepted() >= 2, "both receivers were called and hung");
    latencies.sort();
    let (median, max) = (
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
    );
    eprintln!(
        "omswatch status while the receivers hang: median {median:?}, max {max:?} over {} calls",
        latencies.len()
    );
    // A status that waited for a receiver would take its 10 s delivery limit.
    assert!(max < Duration::from_secs(3), "status latency {latencies:?}");
    Ok(())
}

/// The remediation events a webhook receiver got, as their bodies.
fn remediation_bodies(received: &[Received]) -> Vec<Value> {
    received
        .iter()
        .filter_map(|r| r.json().ok())
        .filter(|e| e["kind"] == "remediation")
        .collect()
}

#[tokio::test]
async fn a_restart_reaches_a_webhook_and_alertmanager() -> Result {
    let am_receiver = WebhookReceiver::start(0).await?;
    let am = Alertmanager::start(&am_receiver.url("/alertmanager")).await?;
    let hook = WebhookReceiver::start(0).await?;
    let mut spec = ClusterSpec::healthy(2);
    spec.collector_args.extend(
        [
            "--allow-restart",
            "--alertmanager",
            &am.url,
            "--cluster-name",
            "e2e",
            "--webhook",
            &hook.url("/omswatch"),
        ]
        .map(String::from),
    );
    spec.nodes[1].agent_args = vec!["--allow-restart".into()];
    let cluster = Cluster::start(spec).await?;
    cluster.supervisors[1].stop_program("oms_console").await?;
    cluster.wait_finding(CODE, &[NODE]).await?;
    // A caller who may not restart (the read-only token) is recorded and reaches the webhook,
    // but opens no alert: only the operator's request below does.
    let pki = cluster.pki.clone().context("TLS")?;
    let read_only = [
        "--ca".to_string(),
        pki.ca.display().to_string(),
        "--token-file".into(),
        pki.token_file.display().to_string(),
    ];
    let denied = cluster
        .omswatch_with(&["restart", NODE, "oms_console"], &read_only)
        .await?;
    assert_eq!(denied.code, 3, "{denied:?}");
    let run = cluster
        .omswatch_run(&["restart", NODE, "oms_console", "--reason", "notify e2e"])
        .await?;
    assert_eq!(run.code, 0, "{run:?}\n{}", cluster.logs());

    // The webhook: one body per event, requested then running, with who, why and how long.
    let received = wait_received(
        &hook,
        Duration::from_secs(30),
        "the restart's events",
        |r| remediation_bodies(r).len() >= 3,
    )
    .await?;
    let (denials, bodies): (Vec<Value>, Vec<Value>) = remediation_bodies(&received)
        .into_iter()
        .partition(|b| b["result"] == "refused");
    assert_eq!(denials.len(), 1, "{denials:#?}");
    assert!(
        denials[0]["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("token")),
        "{denials:#?}"
    );
    let results: Vec<&str> = bodies.iter().filter_map(|b| b["result"].as_str()).collect();
    assert_eq!(results, ["requested", "running"], "{bodies:#?}");
    let done = &bodies[1];
    assert_eq!(done["actor"], "tester", "{done}");
    assert_eq!(done["program"], "oms_console", "{done}");
    assert_eq!(done["nodes"], serde_json::json!([NODE]), "{done}");
    assert_eq!(done["reason"], "notify e2e", "{done}");
    assert!(done["duration_ms"].as_i64().is_some(), "{done}");
    let request_id = done["request_id"]
        .as_str()
        .context("request_id")?
        .to_string();
    assert_eq!(bodies[0]["request_id"], request_id.as_str());

    // Alertmanager: one short-lived alert for the request, updated to its outcome.
    let is_restart = |a: &Value| label(a, "alertname") == Some("OmswatchRemediation");
    let alerts = wait_alerts(&am, "the restart's alert", |a| {
        a.iter()
            .any(|x| is_restart(x) && x["annotations"]["result"] == "running")
    })
    .await?;
    let restarts: Vec<&Value> = alerts.iter().filter(|a| is_restart(a)).collect();
    assert_eq!(restarts.len(), 1, "one alert per request: {restarts:#?}");
    let alert = restarts[0];
    assert_eq!(label(alert, "node"), Some(NODE), "{alert}");
    assert_eq!(label(alert, "program"), Some("oms_console"), "{alert}");
    assert_eq!(
        label(alert, "request_id"),
        Some(request_id.as_str()),
        "{alert}"
    );
    assert_eq!(label(alert, "severity"), Some("info"), "{alert}");
    assert_eq!(label(alert, "cluster"), Some("e2e"), "{alert}");
    assert_eq!(alert["annotations"]["actor"], "tester", "{alert}");
    assert_eq!(alert["annotations"]["reason"], "notify e2e", "{alert}");
    assert!(
        alert["annotations"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("RUNNING")),
        "{alert}"
    );
    assert_eq!(alert["status"]["state"], "active", "{alert}");
    Ok(())
}
