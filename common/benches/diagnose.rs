//! How the diagnosis scales with cluster size: every rule over N nodes.
//!
//! Baseline: the 3-node cluster of the demo, measured in the same run; figures
//! are medians of repeated runs, reported as ratios to it because this machine
//! is noisy. Run: `cargo bench -p omswatch-common --bench diagnose`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use omswatch_common::diagnose::diagnose;
use omswatch_common::oms_config;
use omswatch_common::proto::v1::{Identity, NodeReport, Program, Resources, SupervisorStatus};
use omswatch_common::snapshot::{
    HeartbeatRow, HostRow, MetaDbView, NodeObservation, RegionInput, Scope, Snapshot, Thresholds,
};

const NOW: i64 = 1_800_000_000_000;

fn ip(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

/// N nodes in one region; every tenth has a problem so rules produce findings.
fn snapshot(n: usize) -> Snapshot {
    let programs: Vec<Program> = ["nginx", "oms_console", "oms_drc_cm", "oms_drc_supervisor"]
        .map(|p| Program {
            name: p.into(),
            state: "RUNNING".into(),
            ..Default::default()
        })
        .to_vec();
    let nodes = (0..n)
        .map(|i| {
            let mut supervisor = SupervisorStatus {
                reachable: true,
                programs: programs.clone(),
                ..Default::default()
            };
            if i % 10 == 0 {
                supervisor.programs[1].state = "STOPPED".into();
            }
            NodeObservation {
                report: NodeReport {
                    node: format!("node-{i}"),
                    interval_ms: 5000,
                    identity: Some(Identity {
                        hostname: format!("node-{i}"),
                        hostname_ips: vec![ip(i)],
                        oms_host_ip: Some(ip(if i % 10 == 1 { 0 } else { i })),
                        ..Default::default()
                    }),
                    supervisor: Some(supervisor),
                    resources: Some(Resources {
                        cpus: 8,
                        load5: 1.0,
                        clock_unix_ms: NOW,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                received_at_unix_ms: NOW - 500,
            }
        })
        .collect();
    let list: String = (0..n).map(|i| format!("  - {}\n", ip(i))).collect();
    let text = format!(
        "oms_meta_host: 10.0.0.5\noms_meta_port: 2881\noms_meta_user: u\ndrc_cm_db: oms_cm\n\
         drc_cm_heartbeat_db: oms_cm_heartbeat_0\ncm_url: http://10.0.0.1:8088\ncm_location: 0\ncm_is_default: true\ncm_nodes:\n{list}"
    );
    let metadb = MetaDbView {
        hosts: Ok((0..n)
            .map(|i| HostRow {
                ip: ip(i),
                host_status: Some("ONLINE".into()),
            })
            .collect()),
        heartbeats: Ok((0..n)
            .map(|i| HeartbeatRow {
                host_ip: ip(i),
                task_type: None,
                gmt_created: None,
                gmt_modified: None,
                age_s: Some(3),
            })
            .collect()),
        clock: None,
    };
    Snapshot {
        now_unix_ms: NOW,
        nodes,
        regions: vec![RegionInput {
            config: oms_config::parse("config.yaml", &text),
            summary: Some(oms_config::summary::summarize("config.yaml", &text)),
            metadb: Some(metadb),
        }],
        thresholds: Thresholds::default(),
        scope: Scope::Cluster,
    }
}

/// Median time of one diagnosis over enough repetitions to take ~0.5 s.
fn median(n: usize) -> (Duration, usize) {
    let s = snapshot(n);
    let findings = diagnose(&s).findings.len();
    let reps = (3000 / n).clamp(5, 1000);
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            black_box(diagnose(black_box(&s)));
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], findings)
}

fn main() {
    let (baseline, _) = median(3);
    println!("diagnose(): median per call; baseline = 3 nodes ({baseline:?})");
    println!(
        "{:>6}  {:>12}  {:>9}  {:>12}  {:>8}",
        "nodes", "median", "x base", "per node", "findings"
    );
    for n in [3, 30, 300, 1000, 3000] {
        let (t, findings) = median(n);
        let ratio = t.as_secs_f64() / baseline.as_secs_f64();
        let per_node = t / u32::try_from(n).unwrap_or(u32::MAX);
        println!("{n:>6}  {t:>12.2?}  {ratio:>9.1}  {per_node:>12.2?}  {findings:>8}");
    }
}
