//! Two collectors on one MySQL store when one sees a change late: after the other
//! recorded the change and its reversal, the late one's view would record both
//! again; the events' dedupe key keeps it to once (`store/timeline/echo.rs`).
//! A collector's own changes, and a real change long after, are still recorded.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use omswatch_collector::store::events::HistoryFilter;
use omswatch_collector::store::timeline::echo::ECHO_WINDOW_MS;
use omswatch_collector::store::timeline::{self, FindingRecord, NodeRecord, Observation};
use omswatch_collector::store::{Store, StoreLocation};
use omswatch_common::secret::Secret;
use omswatch_tests::MariaDb;

const STORE_PASSWORD: &str = "store-pw-4b7e21";

async fn store(db: &MariaDb, name: &str) -> Store {
    let url = format!("mysql://omswatch@127.0.0.1:{}/omswatch_store", db.port());
    let location = StoreLocation::parse(&url).expect("url");
    Store::open(location, Some(&Secret::new(STORE_PASSWORD)), name)
        .await
        .expect("open mariadb store")
}

fn stopped() -> FindingRecord {
    FindingRecord {
        id: "COMPONENT_NOT_RUNNING [n2] program=oms_console".into(),
        code: "COMPONENT_NOT_RUNNING".into(),
        severity: "critical".into(),
        nodes: vec!["n2".into()],
        message: "n2: oms_console is STOPPED".into(),
        evidence: BTreeMap::from([("program".into(), "oms_console".into())]),
    }
}

/// A tick at `at`: n2's program stopped (n2 DOWN) or not (ONLINE).
fn tick(at: i64, down: bool) -> Observation {
    ticked(at, down, &[])
}

/// A tick at `at`, with `more` nodes ONLINE.
fn ticked(at: i64, down: bool, more: &[&str]) -> Observation {
    let node = |name: &str, state: &str| NodeRecord {
        name: name.into(),
        state: state.into(),
        region: "hz".into(),
        received_at_unix_ms: at,
        interval_ms: 1000,
    };
    Observation {
        at_unix_ms: at,
        findings: if down { vec![stopped()] } else { vec![] },
        nodes: [
            node("n1", "ONLINE"),
            node("n2", if down { "DOWN" } else { "ONLINE" }),
        ]
        .into_iter()
        .chain(more.iter().map(|name| node(name, "ONLINE")))
        .collect(),
    }
}

/// (kind, code or new state, writer) of every timeline event, oldest first.
async fn events(store: &Store) -> Vec<(String, String, String)> {
    let (events, _) = store
        .history(&HistoryFilter::default())
        .await
        .expect("history");
    events
        .into_iter()
        .filter(|e| e.kind != "collector")
        .map(|e| (e.kind, e.code.or(e.to).unwrap_or_default(), e.collector))
        .collect()
}

/// Waits (generously) until `store` holds at least `n` timeline events.
async fn settle(store: &Store, n: usize) -> Vec<(String, String, String)> {
    for _ in 0..600 {
        if events(store).await.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Anything recorded in excess shows up by now too: each task records in order.
    tokio::time::sleep(Duration::from_millis(300)).await;
    events(store).await
}

fn change(kind: &str, what: &str, by: &str) -> (String, String, String) {
    (kind.into(), what.into(), by.into())
}

#[tokio::test]
async fn a_late_collector_does_not_echo_what_the_other_recorded() {
    let db = MariaDb::start().await.expect("mariadbd");
    db.create_store_db("omswatch_store", "omswatch", STORE_PASSWORD)
        .await
        .expect("store db");
    let a = store(&db, "a:9470").await;
    let b = store(&db, "b:9470").await;
    let (ta, _task_a) = timeline::start(a.clone(), &[], 3).await.expect("a");
    let (tb, _task_b) = timeline::start(b.clone(), &[], 3).await.expect("b");
    // A sees n2's program stop and start again.
    for (at, down) in [(1_000, false), (2_000, true), (3_000, false)] {
        ta.observe(tick(at, down));
    }
    let first = settle(&a, 6).await;
    assert_eq!(first.len(), 6, "{first:?}");
    // B, lagging, sees the stop only now, then the start: the same change, already told.
    tb.observe(tick(3_500, true));
    tb.observe(tick(4_500, false));
    // Then n3 appears: an event of B's own, which tells the test B is through.
    tb.observe(ticked(5_000, false, &["n3"]));
    let through = settle(&a, 7).await;
    assert_eq!(
        through[6..],
        [change("node_state", "ONLINE", "b:9470")],
        "B's late view recorded nothing but n3: {through:?}"
    );
    // A's own program flaps again moments later: a change of its own, recorded.
    ta.observe(ticked(6_000, true, &["n3"]));
    ta.observe(ticked(7_000, false, &["n3"]));
    settle(&a, 11).await;
    // Long after, B is first to see a new stop: a new change, recorded by B.
    let later = 7_000 + ECHO_WINDOW_MS + 5_000;
    tb.observe(ticked(later, true, &["n3"]));
    let b_first = settle(&a, 13).await;
    ta.observe(ticked(later + 500, true, &["n3"]));
    let all = settle(&a, 13).await;
    assert_eq!(all, b_first, "A, later, adds nothing: {all:?}");
    let mut want = through.clone();
    want.extend([
        change("raised", "COMPONENT_NOT_RUNNING", "a:9470"),
        change("node_state", "DOWN", "a:9470"),
        change("cleared", "COMPONENT_NOT_RUNNING", "a:9470"),
        change("node_state", "ONLINE", "a:9470"),
    ]);
    let (head, tail) = all.split_at(all.len().min(11));
    assert_eq!(head, want.as_slice(), "A's own flap, recorded: {all:?}");
    let mut tail = tail.to_vec();
    tail.sort();
    assert_eq!(
        tail,
        [
            change("node_state", "DOWN", "b:9470"),
            change("raised", "COMPONENT_NOT_RUNNING", "b:9470"),
        ],
        "the new stop once, by B: {all:?}"
    );
}
