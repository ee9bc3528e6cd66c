//! The report a simulated agent sends: shaped like a real OMS node's (identity, a dozen
//! supervisord programs, config summary, disks), padded to the size asked for, so the
//! collector's decoding, checks and diagnosis see what they see in production.

use omswatch_common::proto::v1::{
    DiskUsage, Identity, NodeConfig, NodeReport, OmsHealth, Program, Resources, SupervisorStatus,
};
use prost::Message;

const PROGRAMS: [&str; 12] = [
    "nginx",
    "oms_console",
    "oms_drc_cm",
    "oms_drc_supervisor",
    "oms_ghana",
    "oms_store",
    "oms_incr_sync",
    "oms_full_import",
    "oms_full_verify",
    "oms_checker",
    "oms_connector",
    "sshd",
];

/// The address of simulated node `i` (10.x.y.z, distinct for up to 16M nodes).
pub fn node_ip(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

/// The name of simulated node `i`.
pub fn node_name(i: usize) -> String {
    format!("load-{i:05}")
}

/// Report `seq` of node `i`, about `size` bytes encoded (never less than the realistic
/// skeleton, ~1.5 KB).
pub fn report(i: usize, seq: u64, size: usize) -> NodeReport {
    let ip = node_ip(i);
    let mut report = NodeReport {
        node: node_name(i),
        agent_version: "0.1.0".into(),
        interval_ms: 5000,
        sent_at_unix_ms: omswatch_common::telemetry::now_unix_ms(),
        seq,
        identity: Some(Identity {
            hostname: node_name(i),
            hostname_ips: vec![ip.clone()],
            interface_ips: vec![ip.clone(), "127.0.0.1".into()],
            oms_host_ip: Some(ip),
            oms_host_ip_source: "env".into(),
            ..Default::default()
        }),
        supervisor: Some(supervisor(i)),
        region: "hz".into(),
        config: Some(NodeConfig {
            path: "/home/admin/conf/config.yaml".into(),
            ..Default::default()
        }),
        resources: Some(Resources {
            cpus: 8,
            load5: 0.7,
            mem_total_bytes: 32 << 30,
            mem_available_bytes: 20 << 30,
            clock_unix_ms: omswatch_common::telemetry::now_unix_ms(),
            disks: ["/home/admin/logs", "/home/admin/run", "/home/admin/store"]
                .map(|p| DiskUsage {
                    path: p.into(),
                    total_bytes: 500 << 30,
                    available_bytes: 300 << 30,
                    ..Default::default()
                })
                .to_vec(),
            ..Default::default()
        }),
        health: Some(OmsHealth {
            url: "http://127.0.0.1:8089/oms/health".into(),
            probed: true,
            reachable: true,
            http_status: 200,
            healthy: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    pad(&mut report, size);
    report
}

fn supervisor(i: usize) -> SupervisorStatus {
    SupervisorStatus {
        reachable: true,
        source: "xmlrpc".into(),
        programs: PROGRAMS
            .iter()
            .enumerate()
            .map(|(k, name)| Program {
                name: (*name).into(),
                group: (*name).into(),
                state: "RUNNING".into(),
                state_code: 20,
                pid: u32::try_from(1000 + i * 16 + k).unwrap_or(u32::MAX),
                start_unix: 1_700_000_000,
                description: format!("pid {}, uptime 12 days, 3:04:05", 1000 + k),
                config_file: "/etc/supervisor/conf.d/oms.conf".into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// Pads the config's values until the report is at least `size` bytes encoded.
fn pad(report: &mut NodeReport, size: usize) {
    let mut k = 0;
    while report.encoded_len() < size && k < 200 {
        if let Some(config) = report.config.as_mut() {
            config.values.insert(
                format!("key_{k:02}"),
                "a-config-value-of-some-length".into(),
            );
        }
        k += 1;
    }
}
