//! `omswatch certs` end to end: the built binary in a temporary directory mints
//! a CA, a collector, a node and an operator certificate; files are 0600,
//! never overwritten, and carry the identities the collector authorises.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use omswatch_common::identity::{self, PeerIdentity, Role};

fn omswatch(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_omswatch"))
        .args(args)
        .output()
        .expect("run omswatch")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn identity_of(path: &Path) -> PeerIdentity {
    let pem = std::fs::read(path).expect("read certificate");
    let (_, block) = x509_parser::pem::parse_x509_pem(&pem).expect("pem");
    identity::from_cert_der(&block.contents).expect("identity")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn mints_every_kind_of_certificate_0600_with_its_identity() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("pki");
    let d = dir.to_str().expect("utf-8 path");
    let steps: [(&[&str], &str); 4] = [
        (
            &["certs", "ca", "--dir", d, "--name", "test"],
            "next: omswatch certs collector",
        ),
        (
            &[
                "certs",
                "collector",
                "--dir",
                d,
                "--name",
                "watch",
                "--ip",
                "10.0.0.5",
                "--dns",
                "watch.example",
            ],
            "--tls-cert",
        ),
        (
            &["certs", "node", "--dir", d, "--name", "oms-node-1"],
            "omswatch-agent --collector https://",
        ),
        (
            &[
                "certs", "operator", "--dir", d, "--name", "alice", "--days", "30",
            ],
            "OMSWATCH_CERT=",
        ),
    ];
    for (args, next) in steps {
        let out = omswatch(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(next), "{args:?}: {}", text(&out));
    }
    for stem in ["ca", "collector-watch", "node-oms-node-1", "operator-alice"] {
        for file in [format!("{stem}.pem"), format!("{stem}-key.pem")] {
            assert_eq!(mode(&dir.join(&file)), 0o600, "{file}");
        }
    }
    assert_eq!(mode(&dir) & 0o077, 0, "the directory is private");
    let node = identity_of(&dir.join("node-oms-node-1.pem"));
    assert_eq!((node.role, node.name.as_str()), (Role::Node, "oms-node-1"));
    let operator = identity_of(&dir.join("operator-alice.pem"));
    assert_eq!(
        (operator.role, operator.name.as_str()),
        (Role::Operator, "alice")
    );
    let collector = identity_of(&dir.join("collector-watch.pem"));
    assert_eq!(collector.role, Role::Collector);
    let out = omswatch(&[
        "certs",
        "collector",
        "--dir",
        d,
        "--name",
        "w2",
        "--ip",
        "10.0.0.6",
    ]);
    assert!(
        text(&out).contains("10.0.0.6, 127.0.0.1, localhost"),
        "{}",
        text(&out)
    );
}

#[test]
fn never_overwrites_and_says_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().to_str().expect("utf-8 path");
    assert_eq!(
        omswatch(&["certs", "ca", "--dir", d]).status.code(),
        Some(0)
    );
    let ca_before = std::fs::read(tmp.path().join("ca-key.pem")).expect("ca key");
    let again = omswatch(&["certs", "ca", "--dir", d]);
    assert_eq!(again.status.code(), Some(3));
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    assert!(
        text(&again).contains("never overwrites"),
        "{}",
        text(&again)
    );
    assert_eq!(
        std::fs::read(tmp.path().join("ca-key.pem")).expect("ca key"),
        ca_before
    );
    let node = ["certs", "node", "--dir", d, "--name", "n1"];
    assert_eq!(omswatch(&node).status.code(), Some(0));
    let cert_before = std::fs::read(tmp.path().join("node-n1.pem")).expect("cert");
    let again = omswatch(&node);
    assert_eq!(again.status.code(), Some(3));
    assert!(text(&again).contains("remove"), "{}", text(&again));
    assert_eq!(
        std::fs::read(tmp.path().join("node-n1.pem")).expect("cert"),
        cert_before
    );
}

#[test]
fn usage_errors_exit_3_and_teach() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().to_str().expect("utf-8 path");
    let no_ca = omswatch(&["certs", "node", "--dir", d, "--name", "n1"]);
    assert_eq!(no_ca.status.code(), Some(3));
    assert!(
        text(&no_ca).contains("omswatch certs ca --dir"),
        "{}",
        text(&no_ca)
    );
    assert!(!tmp.path().join("node-n1.pem").exists());
    let nowhere = tmp.path().join("nowhere");
    let out = omswatch(&[
        "certs",
        "operator",
        "--dir",
        nowhere.to_str().expect("utf-8"),
        "--name",
        "a",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!nowhere.exists(), "no directory is created without a CA");
    assert_eq!(
        omswatch(&["certs", "ca", "--dir", d]).status.code(),
        Some(0)
    );
    let bad_name = omswatch(&["certs", "node", "--dir", d, "--name", "../evil"]);
    assert_eq!(bad_name.status.code(), Some(3));
    assert!(
        text(&bad_name).contains("letters, digits"),
        "{}",
        text(&bad_name)
    );
    let no_names = omswatch(&["certs", "collector", "--dir", d, "--name", "w"]);
    assert_eq!(
        no_names.status.code(),
        Some(3),
        "a server certificate needs --ip or --dns"
    );
    let zero_days = omswatch(&[
        "certs", "operator", "--dir", d, "--name", "a", "--days", "0",
    ]);
    assert_eq!(zero_days.status.code(), Some(3));
    let help = omswatch(&["certs", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help).contains("omswatch certs node --dir pki --name oms-node-1"));
}
