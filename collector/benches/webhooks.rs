//! What webhooks cost: recording a timeline event with its outbox rows (two receivers) against
//! recording it without (the baseline, same run, same SQLite store kind), and how fast the
//! sender drains a backlog into a real HTTP receiver on loopback (the at-least-once path: read
//! the outbox, POST, mark the row delivered).
//!
//! `cargo bench -p omswatch-collector --bench webhooks`
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use omswatch_collector::notify::lease::LeaseTiming;
use omswatch_collector::notify::stats::NotifyStats;
use omswatch_collector::notify::{self, Notify};
use omswatch_collector::settings::Settings;
use omswatch_collector::store::events::Event;
use omswatch_collector::store::{Store, StoreLocation};
use omswatch_tests::webhook_receiver::WebhookReceiver;

const EVENTS: usize = 500;

fn event(store: &Store, i: usize) -> Event {
    let at = omswatch_common::telemetry::now_unix_ms();
    Event {
        id: format!("{at:012x}-bench-{i:06}"),
        at_unix_ms: at,
        kind: "raised".into(),
        code: Some("COMPONENT_NOT_RUNNING".into()),
        severity: Some("critical".into()),
        nodes: vec![format!("oms-node-{}", i % 100)],
        message: Some(format!("oms-node-{}: oms_console is STOPPED", i % 100)),
        evidence: [("program".to_string(), "oms_console".to_string())].into(),
        finding_id: Some(format!("COMPONENT_NOT_RUNNING [oms-node-{}]", i % 100)),
        collector: store.collector().to_string(),
        ..Event::default()
    }
}

/// Median time to record one event, over [`EVENTS`] events.
async fn record_cost(store: &Store) -> Duration {
    let mut times = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let e = event(store, i);
        let start = Instant::now();
        store.record(&e).await.expect("record");
        times.push(start.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

async fn store_with(dir: &tempfile::TempDir, name: &str, settings: &Settings) -> Store {
    let location = StoreLocation::Sqlite(dir.path().join(format!("{name}.db")));
    let store = Store::open(location, None, "bench:1").await.expect("open");
    store.set_webhook_targets(notify::webhook_targets(settings));
    store
}

#[tokio::main]
async fn main() {
    let receiver = WebhookReceiver::start(0).await.expect("receiver");
    let dir = tempfile::tempdir().expect("dir");
    let none = store_with(&dir, "none", &Settings::default()).await;
    let two = Settings {
        webhooks: vec![receiver.url("/a"), receiver.url("/b")],
        ..Settings::default()
    };
    let with_two = store_with(&dir, "two", &two).await;
    let baseline = record_cost(&none).await;
    let outbox = record_cost(&with_two).await;

    let one = Settings {
        webhooks: vec![receiver.url("/drain")],
        ..Settings::default()
    };
    let backlog = store_with(&dir, "drain", &one).await;
    for i in 0..EVENTS {
        backlog.record(&event(&backlog, i)).await.expect("record");
    }
    let start = Instant::now();
    let prepared = notify::prepare(&one).expect("prepare");
    let sender = Notify::start(
        prepared,
        &backlog,
        NotifyStats::default(),
        LeaseTiming::default(),
    );
    while receiver
        .received()
        .iter()
        .filter(|r| r.path == "/drain")
        .count()
        < EVENTS
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let drained = start.elapsed();
    sender.stop().await;
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    println!(
        "| event recorded (SQLite) | no webhook (baseline) | 2 webhooks (outbox rows in the event's transaction) | × baseline |"
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| median of {EVENTS} | {} | {} | {:.2} |",
        ms(baseline),
        ms(outbox),
        outbox.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "\nbacklog of {EVENTS} events drained to a loopback receiver in {} ({:.0} events/s: read, POST, mark delivered)",
        ms(drained),
        EVENTS as f64 / drained.as_secs_f64()
    );
}
