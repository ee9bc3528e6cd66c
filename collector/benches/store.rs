//! Store write cost per tick at 3 and 1,000 nodes: the report writer's batch
//! (every node reported once in the tick, the worst case) into SQLite and into
//! a throwaway MariaDB, against the old state file (encode every node, write,
//! fsync, rename each tick) measured in the same run as the baseline.
//!
//! Run as root (MariaDB is the test harness's own mariadbd):
//! `cargo bench -p omswatch-collector --bench store`
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use omswatch_collector::store::reports::NodeWrite;
use omswatch_collector::store::{Store, StoreLocation};
use omswatch_common::proto::v1::{Identity, NodeConfig, NodeReport, Program, SupervisorStatus};
use omswatch_common::secret::Secret;
use omswatch_common::snapshot::NodeObservation;
use prost::Message;

const ROUNDS: usize = 15;

/// A report of about 2.4 KB, as a real agent sends.
fn report(i: usize) -> NodeReport {
    let programs = ["nginx", "oms_console", "oms_drc_cm", "oms_drc_supervisor"]
        .map(|p| Program {
            name: p.into(),
            state: "RUNNING".into(),
            pid: 1000 + i as u32,
            description: format!("pid {}, uptime 1 day, 2:03:04", 1000 + i),
            config_file: "/etc/supervisor/conf.d/oms.ini".into(),
            ..Default::default()
        })
        .to_vec();
    NodeReport {
        node: format!("oms-node-{i}"),
        interval_ms: 5000,
        seq: 7,
        identity: Some(Identity {
            hostname: format!("oms-node-{i}"),
            hostname_ips: vec![format!("10.0.{}.{}", i / 250, i % 250)],
            ..Default::default()
        }),
        supervisor: Some(SupervisorStatus {
            reachable: true,
            programs,
            ..Default::default()
        }),
        config: Some(NodeConfig {
            redacted_text: "key: value # a config.yaml line of typical length\n".repeat(30),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn nodes(n: usize, round: usize) -> Vec<NodeObservation> {
    (0..n)
        .map(|i| NodeObservation {
            report: report(i).into(),
            received_at_unix_ms: 1_800_000_000_000 + round as i64,
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn store_tick(store: &Store, n: usize) -> Duration {
    let mut samples = Vec::new();
    for round in 0..ROUNDS {
        let writes: Vec<(String, NodeWrite)> = nodes(n, round)
            .into_iter()
            .map(|o| (o.report.node.clone(), NodeWrite::Save(Box::new(o))))
            .collect();
        let start = Instant::now();
        store.write_nodes(&writes).await.expect("write");
        samples.push(start.elapsed());
    }
    median(samples)
}

fn state_file_tick(dir: &std::path::Path, n: usize) -> Duration {
    let path = dir.join("state.pb");
    let samples = (0..ROUNDS)
        .map(|round| {
            let nodes = nodes(n, round);
            let start = Instant::now();
            omswatch_collector::persist::save(&path, &nodes).expect("save");
            start.elapsed()
        })
        .collect();
    median(samples)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Store::open(
        StoreLocation::Sqlite(dir.path().join("bench.db")),
        None,
        "bench:1",
    )
    .await
    .expect("sqlite store");
    let db = omswatch_tests::MariaDb::start().await;
    let mariadb = match &db {
        Ok(db) => {
            db.create_store_db("bench", "bench", "bench-password-1")
                .await
                .expect("db");
            let url = format!("mysql://bench@127.0.0.1:{}/bench", db.port());
            let location = StoreLocation::parse(&url).expect("url");
            Some(
                Store::open(location, Some(&Secret::new("bench-password-1")), "bench:1")
                    .await
                    .expect("mariadb store"),
            )
        }
        Err(e) => {
            println!("mariadb: not measured ({e})");
            None
        }
    };
    println!(
        "report size: {} bytes; medians of {ROUNDS} ticks",
        report(1).encoded_len()
    );
    println!(
        "| nodes | state file (baseline) | SQLite store | × baseline | MariaDB store | × baseline |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for n in [3, 1000] {
        let baseline = state_file_tick(dir.path(), n);
        let lite = store_tick(&sqlite, n).await;
        let (maria, maria_ratio) = match &mariadb {
            Some(store) => {
                let d = store_tick(store, n).await;
                (
                    ms(d),
                    format!("{:.2}", d.as_secs_f64() / baseline.as_secs_f64()),
                )
            }
            None => ("-".into(), "-".into()),
        };
        println!(
            "| {n} | {} | {} | {:.2} | {maria} | {maria_ratio} |",
            ms(baseline),
            ms(lite),
            lite.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}
