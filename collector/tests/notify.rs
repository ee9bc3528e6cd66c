//! Webhook delivery against real stores and a real HTTP receiver: retries and refusals are
//! recorded in the outbox (SQLite), and two collectors sharing one MariaDB store deliver every
//! event once, the second taking over when the first dies (the lease expires by the
//! database's clock).
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use omswatch_collector::notify::lease::LeaseTiming;
use omswatch_collector::notify::stats::NotifyStats;
use omswatch_collector::notify::{self, Notify};
use omswatch_collector::settings::Settings;
use omswatch_collector::store::events::Event;
use omswatch_collector::store::{Store, StoreLocation};
use omswatch_common::secret::Secret;
use omswatch_tests::MariaDb;
use omswatch_tests::webhook_receiver::{Received, WebhookReceiver, wait_received};

const STORE_PASSWORD: &str = "store-pw-notify-4b2a";

/// A short lease, so a takeover happens within seconds.
const FAST: LeaseTiming = LeaseTiming {
    ttl: Duration::from_secs(3),
    renew_every: Duration::from_millis(300),
    delivery_timeout: Duration::from_secs(1),
};

fn settings(receiver: &WebhookReceiver) -> Settings {
    Settings {
        webhooks: vec![receiver.url("/hook")],
        ..Settings::default()
    }
}

async fn open(
    location: StoreLocation,
    password: Option<&Secret>,
    name: &str,
    s: &Settings,
) -> Store {
    let store = Store::open(location, password, name)
        .await
        .expect("open store");
    store.set_webhook_targets(notify::webhook_targets(s));
    store
}

fn start(store: &Store, s: &Settings) -> (Notify, NotifyStats) {
    let stats = NotifyStats::default();
    let prepared = notify::prepare(s).expect("prepare");
    (Notify::start(prepared, store, stats.clone(), FAST), stats)
}

/// Records `n` node_state events through `store`, ids `<tag>-<i>` (ids sort by time first).
async fn record(store: &Store, tag: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let at = omswatch_common::telemetry::now_unix_ms();
        let id = format!("{at:012x}-{tag}-{i:04}");
        let event = Event {
            id: id.clone(),
            at_unix_ms: at,
            kind: "node_state".into(),
            nodes: vec![format!("oms-node-{i}")],
            message: Some(format!("oms-node-{i} is DOWN (was ONLINE)")),
            from: Some("ONLINE".into()),
            to: Some("DOWN".into()),
            collector: store.collector().to_string(),
            evidence: BTreeMap::new(),
            ..Event::default()
        };
        store.record(&event).await.expect("record");
        ids.push(id);
    }
    ids
}

fn ids_of(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .filter(|r| r.status == 200)
        .filter_map(|r| r.header("idempotency-key").map(String::from))
        .collect()
}

fn count(received: &[Received], id: &str) -> usize {
    ids_of(received).iter().filter(|k| *k == id).count()
}

#[tokio::test]
async fn a_5xx_is_retried_and_a_4xx_refused_for_good_with_its_error_kept() {
    // 503 for the first two requests; then 404 for events naming oms-node-1, 200 for the rest.
    let receiver = WebhookReceiver::start_with(
        0,
        Arc::new(|r: &Received, n: usize| match n {
            0 | 1 => 503,
            _ if r.body.contains("\"oms-node-1\"") => 404,
            _ => 200,
        }),
    )
    .await
    .expect("receiver");
    let s = settings(&receiver);
    let dir = tempfile::tempdir().expect("dir");
    let location = StoreLocation::Sqlite(dir.path().join("omswatch.db"));
    let store = open(location, None, "test:1", &s).await;
    let ids = record(&store, "a", 3).await;
    let (notify, stats) = start(&store, &s);
    let received = wait_received(&receiver, Duration::from_secs(30), "every event", |r| {
        [&ids[0], &ids[2]].iter().all(|id| count(r, id) == 1) && r.iter().any(|x| x.status == 404)
    })
    .await
    .expect("delivered");
    assert_eq!(received[0].status, 503);
    assert_eq!(
        received[0].header("idempotency-key"),
        received[1].header("idempotency-key"),
        "the oldest event is retried first: in order"
    );
    assert_eq!(received[1].header("x-omswatch-attempt"), Some("2"));
    let body = received[2].json().expect("json");
    assert_eq!(body["id"], ids[0].as_str(), "the id is in the body too");
    assert_eq!(body["kind"], "node_state");
    notify.stop().await;
    let refused = store.outbox_rows(&ids[1]).await.expect("rows");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].1, "failed", "{refused:?}");
    assert!(
        refused[0]
            .3
            .as_deref()
            .is_some_and(|e| e.contains("HTTP 404")),
        "{refused:?}"
    );
    let delivered = store.outbox_rows(&ids[0]).await.expect("rows");
    assert_eq!((delivered[0].1.as_str(), delivered[0].2), ("delivered", 3));
    let counts = stats.counts();
    assert_eq!(counts.deliveries, [2, 2, 1], "delivered, retry, failed");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        receiver.received().len(),
        5,
        "nothing sent after the verdicts"
    );
}

#[tokio::test]
async fn two_collectors_on_one_mariadb_store_deliver_each_event_once_across_a_takeover() {
    let db = MariaDb::start().await.expect("mariadbd");
    db.create_store_db("omswatch_store", "omswatch", STORE_PASSWORD)
        .await
        .expect("store db");
    let receiver = WebhookReceiver::start(0).await.expect("receiver");
    let s = settings(&receiver);
    let url = format!("mysql://omswatch@127.0.0.1:{}/omswatch_store", db.port());
    let password = Secret::new(STORE_PASSWORD);
    let location = || StoreLocation::parse(&url).expect("url");
    let a = open(location(), Some(&password), "watch-a:9470", &s).await;
    let b = open(location(), Some(&password), "watch-b:9470", &s).await;
    let (notify_a, stats_a) = start(&a, &s);
    let (notify_b, stats_b) = start(&b, &s);
    let mut ids = record(&a, "a", 10).await;
    ids.extend(record(&b, "b", 10).await);
    wait_received(&receiver, Duration::from_secs(30), "20 events", |r| {
        ids.iter().all(|id| count(r, id) >= 1)
    })
    .await
    .expect("delivered");
    let (held_a, held_b) = (stats_a.counts().lease_held, stats_b.counts().lease_held);
    assert!(
        held_a != held_b,
        "exactly one holds the lease: a {held_a}, b {held_b}"
    );
    let (sender, survivor, survivor_stats, survivor_store) = if held_a {
        (notify_a, notify_b, stats_b, b.clone())
    } else {
        (notify_b, notify_a, stats_a, a.clone())
    };
    assert_eq!(
        survivor_stats.counts().deliveries[0],
        0,
        "the other sent nothing"
    );

    // The sender dies without giving the lease up; the survivor takes over once it expires.
    sender.abandon();
    let died = tokio::time::Instant::now();
    let more = record(&survivor_store, "c", 5).await;
    wait_received(&receiver, Duration::from_secs(30), "5 more events", |r| {
        more.iter().all(|id| count(r, id) >= 1)
    })
    .await
    .expect("taken over");
    let took = died.elapsed();
    assert!(survivor_stats.counts().lease_held);
    assert!(
        took >= FAST.ttl - Duration::from_millis(500),
        "not before the lease expired: {took:?}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = receiver.received();
    for id in ids.iter().chain(&more) {
        assert_eq!(count(&received, id), 1, "{id} delivered once");
    }
    assert_eq!(received.len(), 25, "nothing else was sent");
    survivor.stop().await;
}
