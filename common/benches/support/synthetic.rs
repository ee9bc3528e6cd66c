//! The synthetic cluster the benchmarks measure: N nodes in one region, four programs each,
//! host rows and heartbeats; every tenth node has a stopped component and one a duplicated
//! OMS_HOST_IP, so rules produce findings. Shared by `common/benches/diagnose.rs` and
//! `collector/benches/scrape.rs` (both include it with `#[path]`), so both measure the same cluster.

use omswatch_common::oms_config;
use omswatch_common::proto::v1::{Identity, NodeReport, Program, Resources, SupervisorStatus};
use omswatch_common::snapshot::{
    HeartbeatRow, HostRow, MetaDbView, NodeObservation, RegionInput, Scope, Snapshot, Thresholds,
};

pub const NOW: i64 = 1_800_000_000_000;

fn ip(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

/// N nodes in one region; every tenth has a problem so rules produce findings.
pub fn snapshot(n: usize) -> Snapshot {
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
                }
                .into(),
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
