//! Start-up rules: TLS unless --insecure, --insecure only on loopback unless
//! forced, and errors that say what to do.

mod support;

use std::process::Command;

use omswatch_collector::server::{self, ServeError};
use omswatch_collector::settings::Settings;
use support::Pki;

/// Runs the collector binary with `args` and a clean environment; returns (success, stderr).
fn collector(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_omswatch-collector"))
        .args(args)
        .env_clear()
        .output()
        .expect("run omswatch-collector");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn insecure_on_a_non_loopback_address_is_refused() {
    let pki = Pki::new();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("bind");
    let settings = Settings {
        insecure: true,
        ..pki.settings()
    };
    let ended = server::run(listener, settings, std::future::pending()).await;
    match ended {
        Err(ServeError::Settings(e)) => {
            assert!(e.to_string().contains("--insecure-allow-remote"), "{e}")
        }
        other => panic!("expected a settings error, got {other:?}"),
    }
    let (ok, stderr) = collector(&["--insecure", "--oms-config", "/x/config.yaml"]);
    assert!(!ok);
    assert!(
        stderr.contains("0.0.0.0:9470") && stderr.contains("--insecure-allow-remote"),
        "{stderr}"
    );
}

#[test]
fn tls_is_required_without_insecure() {
    let (ok, stderr) = collector(&["--oms-config", "/x/config.yaml"]);
    assert!(!ok);
    assert!(
        stderr.contains("--tls-cert FILE") && stderr.contains("omswatch certs"),
        "{stderr}"
    );
}

#[test]
fn unreadable_or_swapped_tls_files_name_the_file() {
    let pki = Pki::new();
    let path = |f: &str| pki.path(f).display().to_string();
    let missing = path("nope.pem");
    let (ok, stderr) = collector(&[
        "--listen",
        "127.0.0.1:0",
        "--oms-config",
        "/x/config.yaml",
        "--tls-cert",
        &missing,
        "--tls-key",
        &path("collector-key.pem"),
        "--client-ca",
        &path("ca.pem"),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("cannot read --tls-cert {missing}")),
        "{stderr}"
    );
    let (ok, stderr) = collector(&[
        "--listen",
        "127.0.0.1:0",
        "--oms-config",
        "/x/config.yaml",
        "--tls-cert",
        &path("collector-key.pem"),
        "--tls-key",
        &path("collector.pem"),
        "--client-ca",
        &path("ca.pem"),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("holds no PEM CERTIFICATE") && stderr.contains("swapped"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("PRIVATE KEY-----"),
        "key material must not be printed: {stderr}"
    );
}

#[test]
fn an_unknown_metadb_tls_mode_lists_the_valid_ones() {
    let (ok, stderr) = collector(&["--metadb-tls-mode", "strict", "--print-defaults"]);
    assert!(!ok);
    assert!(
        stderr.contains("verify_ca") && stderr.contains("verify_identity"),
        "{stderr}"
    );
}

#[test]
fn print_defaults_equals_the_deploy_file_values() {
    let out = Command::new(env!("CARGO_BIN_EXE_omswatch-collector"))
        .arg("--print-defaults")
        .env_clear()
        .output()
        .expect("run");
    let printed: Settings = serde_yaml::from_slice(&out.stdout).expect("yaml");
    let deploy: Settings =
        serde_yaml::from_str(include_str!("../../deploy/collector.yaml")).expect("deploy yaml");
    assert_eq!(printed, deploy);
    assert!(!printed.insecure && printed.tls_cert.is_some());
}
