//! The store's contract, on both back-ends: an SQLite file and a real MariaDB
//! (the harness's throwaway mariadbd). The timeline records each change once
//! (also with two collectors on one MySQL store), a restart neither re-raises
//! nor forgets, reports are written within the flush delay, retention prunes,
//! a state file is imported once.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use omswatch_collector::store::events::{Event, HistoryFilter};
use omswatch_collector::store::timeline::{
    self, FindingRecord, NodeRecord, Observation, TimelineHandle,
};
use omswatch_collector::store::writer::{self, ReportSink};
use omswatch_collector::store::{Store, StoreLocation};
use omswatch_common::proto::v1::NodeReport;
use omswatch_common::secret::Secret;
use omswatch_common::snapshot::NodeObservation;
use omswatch_tests::MariaDb;

const STORE_PASSWORD: &str = "store-pw-7c1d9e";

async fn sqlite(dir: &tempfile::TempDir) -> Store {
    let location = StoreLocation::Sqlite(dir.path().join("omswatch.db"));
    Store::open(location, None, "test:1")
        .await
        .expect("open sqlite")
}

async fn mariadb_store(db: &MariaDb, name: &str) -> Store {
    let url = format!("mysql://omswatch@127.0.0.1:{}/omswatch_store", db.port());
    let location = StoreLocation::parse(&url).expect("url");
    Store::open(location, Some(&Secret::new(STORE_PASSWORD)), name)
        .await
        .expect("open mariadb store")
}

async fn mariadb() -> MariaDb {
    let db = MariaDb::start().await.expect("mariadbd");
    db.create_store_db("omswatch_store", "omswatch", STORE_PASSWORD)
        .await
        .expect("store db");
    db
}

fn stopped(node: &str) -> FindingRecord {
    FindingRecord {
        id: format!("COMPONENT_NOT_RUNNING [{node}] program=oms_console"),
        code: "COMPONENT_NOT_RUNNING".into(),
        severity: "critical".into(),
        nodes: vec![node.into()],
        message: format!("{node}: oms_console is STOPPED"),
        evidence: BTreeMap::from([("program".into(), "oms_console".into())]),
    }
}

fn tick(at: i64, findings: Vec<FindingRecord>, states: &[(&str, &str)]) -> Observation {
    Observation {
        at_unix_ms: at,
        findings,
        nodes: states
            .iter()
            .map(|(name, state)| NodeRecord {
                name: name.to_string(),
                state: state.to_string(),
                region: "hz".into(),
                received_at_unix_ms: at,
                interval_ms: 1000,
            })
            .collect(),
    }
}

/// The events (kind, what) of the store, oldest first.
async fn kinds(store: &Store) -> Vec<(String, String)> {
    let (events, _) = store
        .history(&HistoryFilter::default())
        .await
        .expect("history");
    events
        .into_iter()
        .filter(|e| e.kind != "collector")
        .map(|e| {
            let what = e.code.or(e.to).unwrap_or_default();
            (e.kind, what)
        })
        .collect()
}

/// Waits until the store holds `n` timeline events (not counting collector events).
async fn settle(store: &Store, n: usize) -> Vec<(String, String)> {
    for _ in 0..250 {
        let now = kinds(store).await;
        if now.len() >= n {
            tokio::time::sleep(Duration::from_millis(100)).await;
            return kinds(store).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kinds(store).await
}

async fn start(store: &Store) -> (TimelineHandle, tokio::task::JoinHandle<()>) {
    timeline::start(store.clone(), &[], 3)
        .await
        .expect("timeline")
}

/// Stop, raise, clear on node n2, seen by every timeline in `timelines`.
async fn stop_and_start(timelines: &[&TimelineHandle], store: &Store) -> Vec<(String, String)> {
    let online = [("n1", "ONLINE"), ("n2", "ONLINE")];
    let down = [("n1", "ONLINE"), ("n2", "DOWN")];
    for (i, (findings, states)) in [
        (vec![], &online),
        (vec![stopped("n2")], &down),
        (vec![], &online),
    ]
    .into_iter()
    .enumerate()
    {
        for t in timelines {
            t.observe(tick(1_000 + i as i64 * 1_000, findings.clone(), states));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    settle(store, 6).await
}

fn expected() -> Vec<(String, String)> {
    [
        ("node_state", "ONLINE"),
        ("node_state", "ONLINE"),
        ("raised", "COMPONENT_NOT_RUNNING"),
        ("node_state", "DOWN"),
        ("cleared", "COMPONENT_NOT_RUNNING"),
        ("node_state", "ONLINE"),
    ]
    .map(|(k, w)| (k.to_string(), w.to_string()))
    .to_vec()
}

#[tokio::test]
async fn sqlite_records_each_change_once_and_a_restart_does_not_raise_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = sqlite(&dir).await;
    let (t, task) = start(&store).await;
    assert_eq!(stop_and_start(&[&t], &store).await, expected());
    t.observe(tick(
        5_000,
        vec![stopped("n2")],
        &[("n1", "ONLINE"), ("n2", "DOWN")],
    ));
    settle(&store, 8).await;
    // The collector stops while n2's finding is active (raised at 5000).
    task.abort();
    let _ = task.await;
    store.close().await;
    drop(store);
    let store = sqlite(&dir).await;
    let (t, _task) = start(&store).await;
    t.observe(tick(
        9_000,
        vec![stopped("n2")],
        &[("n1", "ONLINE"), ("n2", "DOWN")],
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = kinds(&store).await;
    assert_eq!(
        after.len(),
        8,
        "nothing raised again after the restart: {after:?}"
    );
    t.observe(tick(10_000, vec![], &[("n1", "ONLINE"), ("n2", "ONLINE")]));
    let (events, _) = settle_events(&store, 10).await;
    assert_eq!(events.len(), 10, "{events:?}");
    let cleared = &events[8];
    assert_eq!(
        (cleared.kind.as_str(), cleared.raised_at_unix_ms),
        ("cleared", Some(5_000))
    );
    assert_eq!(events[9].from.as_deref(), Some("DOWN"));
}

async fn settle_events(store: &Store, n: usize) -> (Vec<Event>, bool) {
    settle(store, n).await;
    let (events, truncated) = store
        .history(&HistoryFilter::default())
        .await
        .expect("history");
    (
        events
            .into_iter()
            .filter(|e| e.kind != "collector")
            .collect(),
        truncated,
    )
}

#[tokio::test]
async fn mariadb_pair_records_each_change_once() {
    let db = mariadb().await;
    let a = mariadb_store(&db, "a:9470").await;
    let b = mariadb_store(&db, "b:9470").await;
    let (ta, _task_a) = start(&a).await;
    let (tb, _task_b) = start(&b).await;
    // Each change once. Events of one tick share its time, and which collector of the pair
    // wrote which of them first is a race: their order within a tick is not part of the claim
    // (the single-collector tests pin the order).
    let sorted = |mut v: Vec<(String, String)>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(stop_and_start(&[&ta, &tb], &a).await),
        sorted(expected())
    );
    // Both collectors read the same timeline.
    assert_eq!(sorted(kinds(&b).await), sorted(expected()));
}

#[tokio::test]
async fn history_filters_by_node_code_time_and_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = sqlite(&dir).await;
    let (t, _task) = start(&store).await;
    stop_and_start(&[&t], &store).await;
    let only = |node: Option<&str>, code: Option<&str>, since, limit| HistoryFilter {
        node: node.map(String::from),
        code: code.map(String::from),
        since_unix_ms: since,
        limit,
        ..Default::default()
    };
    let (n2, _) = store
        .history(&only(Some("n2"), None, None, 0))
        .await
        .expect("node");
    assert_eq!(
        n2.len(),
        5,
        "first seen, raised, DOWN, cleared, ONLINE: {n2:?}"
    );
    let (n_, _) = store
        .history(&only(Some("n_"), None, None, 0))
        .await
        .expect("wildcard");
    assert!(n_.is_empty(), "LIKE wildcards are escaped: {n_:?}");
    let code = Some("COMPONENT_NOT_RUNNING");
    let (coded, _) = store
        .history(&only(None, code, None, 0))
        .await
        .expect("code");
    assert_eq!(
        coded.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["raised", "cleared"]
    );
    let (late, _) = store
        .history(&only(None, None, Some(3_000), 0))
        .await
        .expect("since");
    assert_eq!(late.len(), 2, "{late:?}");
    let (newest, truncated) = store
        .history(&only(None, None, None, 2))
        .await
        .expect("limit");
    assert!(truncated);
    assert_eq!(newest.last().map(|e| e.kind.as_str()), Some("node_state"));
    assert!(newest[0].at_unix_ms <= newest[1].at_unix_ms, "oldest first");
}

fn observation(node: &str, at: i64) -> NodeObservation {
    NodeObservation {
        report: NodeReport {
            node: node.into(),
            interval_ms: 1000,
            seq: 1,
            ..Default::default()
        }
        .into(),
        received_at_unix_ms: at,
    }
}

#[tokio::test]
async fn reports_are_written_within_a_second_and_forgotten_nodes_removed() {
    for backend in ["sqlite", "mariadb"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = if backend == "mariadb" {
            Some(mariadb().await)
        } else {
            None
        };
        let store = match &db {
            Some(db) => mariadb_store(db, "w:1").await,
            None => sqlite(&dir).await,
        };
        let sink = ReportSink::default();
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(writer::run(store.clone(), sink.clone(), stopping));
        for (i, n) in ["a", "b", "c"].iter().enumerate() {
            sink.save(&observation(n, 100 + i as i64));
        }
        tokio::time::sleep(writer::FLUSH_DELAY * 4).await;
        let names = |nodes: Vec<NodeObservation>| -> Vec<String> {
            nodes.into_iter().map(|n| n.report.node.clone()).collect()
        };
        assert_eq!(
            names(store.load_nodes().await.expect("load")),
            ["a", "b", "c"],
            "{backend}"
        );
        sink.forget("b");
        sink.save(&observation("a", 900));
        stop.send_replace(true); // the writer writes what is pending before it ends
        task.await.expect("writer");
        let nodes = store.load_nodes().await.expect("load");
        assert_eq!(
            nodes
                .iter()
                .map(|n| (n.report.node.as_str(), n.received_at_unix_ms))
                .collect::<Vec<_>>(),
            [("a", 900), ("c", 102)],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn retention_prunes_old_events_in_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = sqlite(&dir).await;
    let event = |id: usize, at: i64| Event {
        id: format!("{at:012x}-{id:08x}"),
        at_unix_ms: at,
        kind: "collector".into(),
        collector: "test:1".into(),
        ..Event::default()
    };
    for i in 0..1_203 {
        store
            .record(&event(i, 1_000 + i as i64))
            .await
            .expect("old");
    }
    for i in 0..5 {
        store.record(&event(i, 50_000)).await.expect("new");
    }
    assert_eq!(store.prune(10_000).await.expect("prune"), 1_203);
    assert_eq!(store.event_count().await.expect("count"), 5);
    assert_eq!(store.prune(10_000).await.expect("again"), 0);
}

#[tokio::test]
async fn a_state_file_is_imported_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.pb");
    omswatch_collector::persist::save(&file, &[observation("old", 42)]).expect("save");
    let store = sqlite(&dir).await;
    assert_eq!(
        store.import_state_file(&file).await.expect("import"),
        Some(1)
    );
    let nodes = store.load_nodes().await.expect("load");
    assert_eq!(
        (nodes[0].report.node.as_str(), nodes[0].received_at_unix_ms),
        ("old", 42)
    );
    omswatch_collector::persist::save(&file, &[observation("other", 43)]).expect("save");
    assert_eq!(store.import_state_file(&file).await.expect("again"), None);
    assert_eq!(store.load_nodes().await.expect("load").len(), 1);
}
