//! What counts as a change, and how the probes' results land in a report.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use omswatch_common::proto::v1::{DiskUsage, Resources};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::probe::health::HealthSettings;
use crate::probe::identity::{IdentityProbe, IdentitySources};
use crate::probe::resources::ResourceSources;
use crate::probe::supervisor::SupervisorSettings;

fn report(state: &str, description: &str, seq: u64) -> NodeReport {
    NodeReport {
        seq,
        supervisor: Some(SupervisorStatus {
            reachable: true,
            programs: vec![Program {
                name: "oms_console".into(),
                state: state.into(),
                description: description.into(),
                autostart: Some(true),
                ..Default::default()
            }],
            ..Default::default()
        }),
        config: Some(NodeConfig {
            values: HashMap::from([("cm_url".into(), "http://10.0.0.11:8088".into())]),
            ..Default::default()
        }),
        health: Some(OmsHealth {
            probed: true,
            reachable: true,
            healthy: true,
            http_status: 200,
            docker_init_ran: true,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `report` changed by `change`.
fn changed(change: impl FnOnce(&mut NodeReport)) -> NodeReport {
    let mut r = report("RUNNING", "pid 1, uptime 0:00:01", 1);
    change(&mut r);
    r
}

#[test]
fn uptime_and_seq_do_not_count_as_change_but_state_does() {
    let a = report("RUNNING", "pid 1, uptime 0:00:01", 1);
    let b = report("RUNNING", "pid 1, uptime 0:00:02", 2);
    let c = report("STOPPED", "Not started", 3);
    assert_eq!(Fingerprint::of(&a), Fingerprint::of(&b));
    assert_ne!(Fingerprint::of(&b), Fingerprint::of(&c));
}

#[test]
fn resources_clock_and_health_error_text_do_not_count() {
    let base = Fingerprint::of(&changed(|_| {}));
    let busier = changed(|r| {
        r.sent_at_unix_ms = 42;
        r.resources = Some(Resources {
            load1: 9.5,
            mem_available_bytes: 1,
            clock_unix_ms: 7,
            disks: vec![DiskUsage {
                path: "/home/admin/logs".into(),
                available_bytes: 3,
                ..Default::default()
            }],
            ..Default::default()
        });
        if let Some(h) = r.health.as_mut() {
            h.error = "took 3.2s".into();
        }
    });
    assert_eq!(base, Fingerprint::of(&busier));
}

#[test]
fn health_config_and_autostart_count() {
    let base = Fingerprint::of(&changed(|_| {}));
    let health = |f: fn(&mut OmsHealth)| {
        changed(|r| {
            if let Some(h) = r.health.as_mut() {
                f(h);
            }
        })
    };
    let changes = [
        health(|h| h.healthy = false),
        health(|h| h.reachable = false),
        health(|h| h.http_status = 502),
        health(|h| h.docker_init_ran = false),
        changed(|r| r.health = None),
        changed(|r| {
            if let Some(c) = r.config.as_mut() {
                c.values
                    .insert("cm_url".into(), "http://127.0.0.1:8088".into());
            }
        }),
        changed(|r| {
            if let Some(c) = r.config.as_mut() {
                c.secret_digests
                    .insert("oms_meta_password".into(), "00ff".into());
            }
        }),
        changed(|r| {
            if let Some(c) = r.config.as_mut() {
                c.error = "cannot read /home/admin/conf/config.yaml: gone".into();
            }
        }),
        changed(|r| {
            if let Some(s) = r.supervisor.as_mut() {
                s.programs[0].autostart = Some(false);
            }
        }),
    ];
    for (i, change) in changes.iter().enumerate() {
        assert_ne!(base, Fingerprint::of(change), "change {i}");
    }
}

/// Answers every connection with a healthy `/oms/health`; returns the port.
async fn healthy_oms() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let body = r#"{"data":{"healthy":true}}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    });
    port
}

/// Probes looking only inside `dir`, config.yaml at `dir/config.yaml`.
fn probes(dir: &tempfile::TempDir) -> Probes {
    let hostname_file = dir.path().join("hostname");
    std::fs::write(&hostname_file, "localhost").unwrap();
    Probes {
        identity: IdentityProbe::new(IdentitySources {
            env: Arc::new(HashMap::<String, String>::new()),
            pid1_environ: dir.path().join("environ"),
            hostname_file,
            ..IdentitySources::default()
        }),
        supervisor: SupervisorProbe::new(SupervisorSettings {
            conf: Some(dir.path().join("supervisord.conf")),
            supervisorctl: dir.path().join("no-supervisorctl"),
            timeout: Duration::from_secs(1),
            ..SupervisorSettings::default()
        }),
        oms_config: ConfigProbe::new(dir.path().join("config.yaml")),
        resources: ResourceProbe::new(ResourceSources {
            proc_root: PathBuf::from("/proc"),
            disk_paths: vec![dir.path().to_owned(), dir.path().join("missing")],
        }),
        health: HealthProbe::new(HealthSettings {
            docker_init_log_dir: dir.path().to_owned(),
            ..HealthSettings::default()
        }),
    }
}

#[tokio::test]
async fn build_fills_config_resources_health_and_region() {
    const PASSWORD: &str = "Secr3t-oms-meta-pw";
    let dir = tempfile::tempdir().unwrap();
    let port = healthy_oms().await;
    std::fs::write(
        dir.path().join("config.yaml"),
        format!(
            "oms_meta_host: 10.0.0.5\noms_meta_password: '{PASSWORD}'\n\
             cm_region: cn-hangzhou\nnginx_server_port: {port}\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("docker_init.log"), "ok").unwrap();
    let mut reporter = Reporter::new("n1".into(), String::new(), 5000, probes(&dir));
    let report = reporter.build().await;
    assert!(
        !format!("{report:?}").contains(PASSWORD),
        "the secret leaked"
    );
    assert_eq!(report.region, "cn-hangzhou");
    let config = report.config.clone().unwrap();
    assert_eq!(
        (
            config.error.as_str(),
            config.values["oms_meta_host"].as_str()
        ),
        ("", "10.0.0.5")
    );
    assert!(config.secret_digests.contains_key("oms_meta_password"));
    let health = report.health.clone().unwrap();
    assert_eq!(health.url, format!("http://127.0.0.1:{port}/oms/health"));
    assert!(health.healthy && health.docker_init_ran, "{health:?}");
    let resources = report.resources.clone().unwrap();
    assert!(
        resources.cpus >= 1 && resources.clock_unix_ms > 0,
        "{resources:?}"
    );
    assert_eq!(resources.disks.len(), 2);
    assert_eq!(resources.disks[1].error, "does not exist");
    assert!(!report.supervisor.unwrap().reachable);

    // --region wins over cm_region.
    let mut reporter = Reporter::new("n1".into(), "east".into(), 5000, probes(&dir));
    assert_eq!(reporter.build().await.region, "east");
}

#[tokio::test]
async fn missing_config_is_reported_and_health_uses_the_default_port() {
    let dir = tempfile::tempdir().unwrap();
    let mut reporter = Reporter::new("n1".into(), String::new(), 5000, probes(&dir));
    let report = reporter.build().await;
    let config = report.config.unwrap();
    let path = dir.path().join("config.yaml").display().to_string();
    assert!(
        config.error.starts_with(&format!("cannot read {path}: ")),
        "{}",
        config.error
    );
    assert_eq!(report.region, "");
    let health = report.health.unwrap();
    assert_eq!(health.url, "http://127.0.0.1:8089/oms/health");
    assert!(!health.docker_init_ran);
    assert_eq!(report.seq, 1);
}
