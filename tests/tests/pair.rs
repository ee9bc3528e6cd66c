//! A pair of collectors on one MariaDB store, end to end with the real binaries over mutual
//! TLS: agents report to both; the collector holding the webhooks lease is SIGKILLed while a
//! component on a node is stopped and started again around the kill. `omswatch status` and
//! `omswatch history` given both URLs still answer (and say which did); no event is missing
//! or doubled in the history; the webhook receiver gets each event once (the lease moved to
//! the live collector); the killed collector, started again, catches up: its status shows
//! every node and its history the events recorded while it was dead.
#![allow(missing_docs)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use anyhow::{Context, bail};
use omswatch_tests::cluster::{Cluster, ClusterSpec, StoreKind, TOKEN, codes};
use omswatch_tests::curl;
use omswatch_tests::free_port;
use omswatch_tests::webhook_receiver::{WebhookReceiver, wait_received};
use serde_json::Value;

type Result = anyhow::Result<()>;

const CODE: &str = "COMPONENT_NOT_RUNNING";
const NODE: &str = "oms-node-2";
/// Generous: a loaded 2-core machine, agents reconnecting with backoff, a lease expiring.
const LONG: Duration = Duration::from_secs(120);

/// Whether the collector at `http_url` holds the webhooks lease (its metric), if it answers.
async fn sends_webhooks(cluster: &Cluster, http_url: &str) -> Option<bool> {
    let pki = cluster.pki.as_ref()?;
    let args = [
        "--cacert".to_string(),
        pki.ca.display().to_string(),
        "-H".to_string(),
        format!("Authorization: Bearer {TOKEN}"),
    ];
    let answer = curl::get(&format!("{http_url}/metrics"), &args)
        .await
        .ok()?;
    let line = answer
        .body
        .lines()
        .find(|l| l.starts_with("omswatch_webhook_sender "))?;
    Some(line.trim_end().ends_with(" 1"))
}

/// Waits until exactly the collector at `want` of `urls` holds the lease; `None` = either.
async fn wait_holder(
    cluster: &Cluster,
    urls: [&str; 2],
    want: Option<usize>,
) -> anyhow::Result<usize> {
    let deadline = tokio::time::Instant::now() + LONG;
    while tokio::time::Instant::now() < deadline {
        let held = [
            sends_webhooks(cluster, urls[0]).await,
            sends_webhooks(cluster, urls[1]).await,
        ];
        let holder = match held {
            [Some(true), Some(false) | None] => Some(0),
            [Some(false) | None, Some(true)] => Some(1),
            _ => None,
        };
        if let Some(h) = holder.filter(|h| want.is_none_or(|w| w == *h)) {
            return Ok(h);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!(
        "no single webhook sender {want:?} among {urls:?}; logs:\n{}",
        cluster.logs()
    )
}

fn is(event: &Value, kind: &str) -> bool {
    event["kind"] == kind && event["code"] == CODE && event["nodes"][0] == NODE
}

/// The ids of `events`.
fn ids(events: &[Value]) -> BTreeSet<String> {
    events
        .iter()
        .filter_map(|e| e["id"].as_str().map(String::from))
        .collect()
}

/// Checks that the timeline holds each change once: the stopped component raised and
/// cleared once each, every other finding's raises and clears alternate, and each node's
/// states alternate (never the same state twice in a row, which an echo would make).
fn each_change_once(events: &[Value]) -> Result {
    let mut chronological = events.to_vec();
    chronological.sort_by_key(|e| e["at_unix_ms"].as_i64());
    let mut counts: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let mut last_state: HashMap<String, String> = HashMap::new();
    let mut last_finding: HashMap<String, String> = HashMap::new();
    for e in &chronological {
        let kind = e["kind"].as_str().unwrap_or_default().to_string();
        let node = e["nodes"][0].as_str().unwrap_or_default().to_string();
        match kind.as_str() {
            "raised" | "cleared" => {
                let code = e["code"].as_str().unwrap_or_default().to_string();
                *counts
                    .entry((code.clone(), node.clone(), kind.clone()))
                    .or_default() += 1;
                let id = e["finding_id"].as_str().unwrap_or_default().to_string();
                if last_finding.insert(id.clone(), kind.clone()).as_ref() == Some(&kind) {
                    bail!("{id} {kind} twice in a row: {chronological:#?}");
                }
            }
            "node_state" => {
                let to = e["to"].as_str().unwrap_or_default().to_string();
                if last_state.insert(node.clone(), to.clone()).as_ref() == Some(&to) {
                    bail!("{node} became {to} twice in a row: {chronological:#?}");
                }
            }
            _ => {}
        }
    }
    for kind in ["raised", "cleared"] {
        let n = counts.get(&(CODE.into(), NODE.into(), kind.into()));
        if n != Some(&1) {
            bail!("{CODE} on {NODE} {kind} {n:?} times, want once: {counts:?}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_pair_answers_through_a_sigkill_and_records_each_event_once() -> Result {
    let port = free_port()?;
    let receiver = WebhookReceiver::start(port).await?;
    let mut spec = ClusterSpec::healthy(2);
    spec.store = StoreKind::MariaDb;
    spec.pair = true;
    spec.collector_args.extend([
        "--webhook".to_string(),
        format!("http://127.0.0.1:{port}/omswatch"),
    ]);
    let mut cluster = Cluster::start(spec).await?;
    let peer = cluster.peer()?;
    let grpc = [cluster.collector_url.clone(), peer.url.clone()];
    let http = [cluster.http_url.clone(), peer.http_url.clone()];
    for url in &grpc {
        cluster
            .wait_at(url, "a clean cluster", LONG, |s, _| codes(s).is_empty())
            .await?;
    }
    // Kill the collector that sends the webhooks, so the lease has to move; the CLI is
    // given it first, so it has to ask the next.
    let holder = wait_holder(&cluster, [&http[0], &http[1]], None).await?;
    let (dead, live) = (grpc[holder].clone(), grpc[1 - holder].clone());
    let both = format!("{dead},{live}");
    cluster.supervisors[1].stop_program("oms_console").await?;
    cluster
        .wait_at(&both, "the stop raised", LONG, |_, ev| {
            ev.iter().any(|e| is(e, "raised"))
        })
        .await?;
    if holder == 0 {
        cluster.kill_collector();
    } else {
        cluster.kill_peer()?;
    }
    cluster.supervisors[1].start_program("oms_console").await?;
    let (_, while_dead) = cluster
        .wait_at(
            &both,
            "the start cleared, one collector dead",
            LONG,
            |s, ev| codes(s).is_empty() && ev.iter().any(|e| is(e, "cleared")),
        )
        .await?;

    // Both URLs, the first dead: the live one answers, and stderr says so.
    let (status, run) = cluster.status_at(&both).await?;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        status["nodes"].as_array().map(Vec::len),
        Some(2),
        "{status}"
    );
    assert!(
        run.stderr.contains(&format!("answered by {live}")) && run.stderr.contains(&dead),
        "{run:?}"
    );
    let (_, run) = cluster.history_at(&both).await?;
    assert!(
        run.stderr.contains(&format!("answered by {live}")),
        "{run:?}"
    );
    // The lease moved to the live collector.
    wait_holder(&cluster, [&http[0], &http[1]], Some(1 - holder)).await?;

    // The killed collector, started again, catches up from the store.
    if holder == 0 {
        cluster.start_collector()?;
    } else {
        cluster.start_peer()?;
    }
    let cleared = ids(&while_dead);
    let (status, caught_up) = cluster
        .wait_at(&dead, "the restarted collector caught up", LONG, |s, ev| {
            let nodes = s["nodes"].as_array().map_or(0, Vec::len);
            nodes == 2 && codes(s).is_empty() && ids(ev).is_superset(&cleared)
        })
        .await?;
    assert!(
        status["nodes"]
            .as_array()
            .context("nodes")?
            .iter()
            .all(|n| n["state"] == "ONLINE"),
        "{status}"
    );
    let (from_live, _) = cluster.history_at(&live).await?;
    // Quiet cluster now: both collectors read one timeline.
    let (from_dead, _) = cluster.history_at(&dead).await?;
    assert_eq!(ids(&from_dead), ids(&from_live), "one timeline");
    assert!(ids(&from_dead).is_superset(&ids(&caught_up)));
    each_change_once(&from_live)?;

    // Every event of the history reached the receiver, each once.
    let want = ids(&from_live);
    wait_received(&receiver, LONG, "every event of the history", |r| {
        let got: BTreeSet<String> = r
            .iter()
            .filter_map(|x| x.header("idempotency-key").map(String::from))
            .collect();
        got.is_superset(&want)
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await; // room for a repeat to show
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for r in receiver.received() {
        let id = r.header("idempotency-key").context("idempotency-key")?;
        *seen.entry(id.to_string()).or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "delivered more than once: {repeated:?}"
    );
    let (now, _) = cluster.history_at(&live).await?;
    let unknown: Vec<_> = seen.keys().filter(|id| !ids(&now).contains(*id)).collect();
    assert!(
        unknown.is_empty(),
        "delivered, not in the history: {unknown:?}"
    );
    Ok(())
}
