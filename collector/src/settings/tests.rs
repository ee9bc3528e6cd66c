use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::*;

/// Settings that pass validation with TLS on, for tests to vary.
fn tls_base() -> Settings {
    Settings {
        oms_configs: vec!["/a.yaml".into()],
        tls_cert: Some("/tls/collector.pem".into()),
        tls_key: Some("/tls/collector-key.pem".into()),
        client_ca: Some("/tls/ca.pem".into()),
        ..Settings::default()
    }
}

fn error_of(base: Settings, over: Overrides) -> String {
    match Settings::merge(base, over) {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn flags_win_over_file_and_file_over_defaults() {
    let file: Settings = serde_yaml::from_str(
        "tick: 2s\nheartbeat_stale: 90s\noms_configs: [/a.yaml]\ninsecure: true\nlisten: 127.0.0.1:9470\n",
    )
    .expect("yaml");
    let over = Overrides {
        tick: Some(Duration::from_secs(1)),
        ..Default::default()
    };
    let s = Settings::merge(file, over).expect("valid");
    assert_eq!(s.tick, Duration::from_secs(1));
    assert_eq!(s.heartbeat_stale, Duration::from_secs(90));
    assert_eq!(s.oms_configs, vec![PathBuf::from("/a.yaml")]);
    assert!(s.insecure);
}

#[test]
fn tls_and_limit_flags_override_the_file() {
    let over = Overrides {
        tls_cert: Some("/other.pem".into()),
        token_file: Some("/tokens".into()),
        max_message_bytes: Some(65536),
        max_reports_per_second: Some(1.5),
        report_burst: Some(3),
        metadb_tls_mode: Some(MetaDbTlsMode::VerifyCa),
        metadb_tls_ca: Some("/db-ca.pem".into()),
        ..Default::default()
    };
    let s = Settings::merge(tls_base(), over).expect("valid");
    assert_eq!(s.tls_cert, Some("/other.pem".into()));
    assert_eq!(s.tls_key, tls_base().tls_key);
    assert_eq!(s.token_file, Some("/tokens".into()));
    assert_eq!(
        (
            s.max_message_bytes,
            s.max_reports_per_second,
            s.report_burst
        ),
        (65536, 1.5, 3)
    );
    assert_eq!(s.metadb_tls.mode, MetaDbTlsMode::VerifyCa);
    assert_eq!(s.metadb_tls.ca, Some("/db-ca.pem".into()));
}

#[test]
fn restarts_are_off_unless_the_file_or_a_flag_allows_them() {
    assert!(!Settings::default().allow_restart);
    let off = Settings::merge(tls_base(), Overrides::default()).expect("valid");
    assert!(!off.allow_restart);
    let flag = Overrides {
        allow_restart: true,
        ..Default::default()
    };
    assert!(
        Settings::merge(tls_base(), flag)
            .expect("valid")
            .allow_restart
    );
    let file: Settings = serde_yaml::from_str("allow_restart: true\n").expect("yaml");
    let file = Settings {
        allow_restart: file.allow_restart,
        ..tls_base()
    };
    assert!(
        Settings::merge(file, Overrides::default())
            .expect("valid")
            .allow_restart
    );
}

#[test]
fn unknown_keys_and_missing_configs_are_errors() {
    assert!(serde_yaml::from_str::<Settings>("tcik: 2s\n").is_err());
    let no_configs = Settings {
        oms_configs: Vec::new(),
        ..tls_base()
    };
    assert!(error_of(no_configs, Overrides::default()).contains("--oms-config"));
}

#[test]
fn tls_files_are_required_unless_insecure() {
    let base = Settings {
        tls_key: None,
        client_ca: None,
        ..tls_base()
    };
    let err = error_of(base, Overrides::default());
    assert!(err.contains("--tls-key FILE, --client-ca FILE"), "{err}");
    assert!(
        err.contains("omswatch certs") && err.contains("--insecure"),
        "{err}"
    );
}

#[test]
fn insecure_is_loopback_only_unless_forced() {
    let insecure = Overrides {
        insecure: true,
        ..Default::default()
    };
    let err = error_of(tls_base(), insecure.clone());
    assert!(
        err.contains("0.0.0.0:9470") && err.contains("--insecure-allow-remote"),
        "{err}"
    );
    let forced = Overrides {
        insecure_allow_remote: true,
        ..insecure.clone()
    };
    assert!(Settings::merge(tls_base(), forced).is_ok());
    for listen in ["127.0.0.1:9470", "[::1]:9470"] {
        let local = Overrides {
            listen: Some(listen.parse::<SocketAddr>().expect("addr")),
            ..insecure.clone()
        };
        let no_tls = Settings {
            tls_cert: None,
            ..tls_base()
        };
        assert!(Settings::merge(no_tls, local).is_ok(), "{listen}");
    }
}

#[test]
fn limits_are_range_checked() {
    let cases = [
        Overrides {
            max_message_bytes: Some(10),
            ..Default::default()
        },
        Overrides {
            max_reports_per_second: Some(0.0),
            ..Default::default()
        },
        Overrides {
            report_burst: Some(0),
            ..Default::default()
        },
    ];
    for over in cases {
        assert!(
            Settings::merge(tls_base(), over.clone()).is_err(),
            "{over:?}"
        );
    }
}

#[test]
fn deploy_example_matches_the_defaults() {
    let example = include_str!("../../../deploy/collector.yaml");
    let parsed: Settings = serde_yaml::from_str(example).expect("deploy/collector.yaml parses");
    let defaults: Settings =
        serde_yaml::from_str(&Settings::defaults_yaml()).expect("defaults parse");
    assert_eq!(
        parsed, defaults,
        "deploy/collector.yaml drifted from Settings::defaults_yaml()"
    );
    assert!(defaults.validate().is_ok(), "the example must be usable");
}

#[test]
fn connection_limits_merge_and_are_checked() {
    let file: Settings =
        serde_yaml::from_str("idle_grace: 30s\nmax_connections: 100\n").expect("yaml");
    let base = Settings {
        tls_cert: tls_base().tls_cert,
        tls_key: tls_base().tls_key,
        client_ca: tls_base().client_ca,
        oms_configs: tls_base().oms_configs,
        ..file
    };
    let over = Overrides {
        max_connections_per_peer: Some(10),
        ..Default::default()
    };
    let s = Settings::merge(base, over).expect("valid");
    let limits = s.connection_limits();
    assert_eq!(limits.idle_grace, Duration::from_secs(30));
    assert_eq!(
        (limits.max_connections, limits.max_connections_per_peer),
        (100, 10)
    );

    let e = error_of(
        tls_base(),
        Overrides {
            idle_grace: Some(Duration::from_millis(10)),
            ..Default::default()
        },
    );
    assert!(e.contains("idle_grace must be 1s-1h"), "{e}");
    let e = error_of(
        tls_base(),
        Overrides {
            max_connections: Some(8),
            max_connections_per_peer: Some(9),
            ..Default::default()
        },
    );
    assert!(e.contains("max_connections_per_peer must be 1-8"), "{e}");
    let e = error_of(
        tls_base(),
        Overrides {
            max_connections: Some(0),
            ..Default::default()
        },
    );
    assert!(e.contains("max_connections must be at least 1"), "{e}");
}

#[test]
fn http_listen_is_merged_and_follows_the_insecure_rule() {
    let s = Settings::merge(tls_base(), Overrides::default()).expect("valid");
    assert_eq!(s.http_listen, HttpListen::On(DEFAULT_HTTP_LISTEN));
    let off = Overrides {
        http_listen: Some(HttpListen::Off),
        ..Default::default()
    };
    assert_eq!(
        Settings::merge(tls_base(), off).expect("valid").http_listen,
        HttpListen::Off
    );
    let file: Settings = serde_yaml::from_str(
        "oms_configs: [/a.yaml]\ninsecure: true\nlisten: 127.0.0.1:9470\nhttp_listen: 0.0.0.0:9471\n",
    )
    .expect("yaml");
    let err = error_of(file.clone(), Overrides::default());
    assert!(
        err.contains("--http-listen 0.0.0.0:9471") && err.contains("--insecure-allow-remote"),
        "{err}"
    );
    let flag = Overrides {
        http_listen: Some("127.0.0.1:19471".parse().expect("addr")),
        ..Default::default()
    };
    assert!(
        Settings::merge(file, flag).is_ok(),
        "a flag overrides the file"
    );
    let clash = Overrides {
        http_listen: Some("0.0.0.0:9470".parse().expect("addr")),
        ..Default::default()
    };
    assert!(error_of(tls_base(), clash).contains("same port"));
}

#[test]
fn notification_receivers_merge_and_are_checked_without_echoing_urls() {
    let file: Settings = serde_yaml::from_str(
        "alertmanagers: [http://am-1:9093, http://am-2:9093]\nwebhooks: [https://hooks.example/a]\ncluster_name: prod\n",
    )
    .expect("yaml");
    let base = Settings {
        alertmanagers: file.alertmanagers.clone(),
        webhooks: file.webhooks.clone(),
        cluster_name: file.cluster_name.clone(),
        ..tls_base()
    };
    let kept = Settings::merge(base.clone(), Overrides::default()).expect("valid");
    assert_eq!(kept.alertmanagers.len(), 2);
    assert_eq!(kept.cluster_name.as_deref(), Some("prod"));
    let over = Overrides {
        webhooks: vec!["https://other.example/b".into()],
        cluster_name: Some("staging".into()),
        webhook_secret_file: Some("/etc/omswatch/webhook-secret".into()),
        ..Default::default()
    };
    let s = Settings::merge(base.clone(), over).expect("valid");
    assert_eq!(
        s.webhooks,
        ["https://other.example/b"],
        "flags replace the list"
    );
    assert_eq!(s.alertmanagers.len(), 2, "an absent flag keeps the file's");
    assert_eq!(s.cluster_name.as_deref(), Some("staging"));
    let secret_url = "https://hooks.example/services/T0/s3cr3t-path";
    let bad = Overrides {
        webhooks: vec![secret_url.into(), "ftp://x/".into()],
        ..Default::default()
    };
    let err = error_of(base.clone(), bad);
    assert!(err.contains("--webhook number 2"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
    let unnamed = Overrides {
        cluster_name: Some(String::new()),
        ..Default::default()
    };
    assert!(error_of(base, unnamed).contains("cluster_name"));
}
