use std::path::Path;

use omswatch_common::identity::mint::{Ca, Validity, write_pair};

use super::*;

/// Mints a `role`/`name` certificate into `dir`; returns its certificate file.
fn mint(dir: &Path, role: Role, name: &str) -> PathBuf {
    let ca = Ca::create("test", Validity::days(1)).expect("ca");
    let pem = ca
        .issue(role, name, &[], &[], Validity::days(1))
        .expect("issue");
    write_pair(dir, &format!("{role}-{name}"), &pem)
        .expect("write")
        .0
}

#[test]
fn the_name_comes_from_a_node_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = mint(dir.path(), Role::Node, "oms-node-1");
    let found = from_certificate(&cert).expect("node name");
    assert_eq!(found.name, "oms-node-1");
    assert_eq!(
        choose(None, Some(&found)).ok().flatten().as_deref(),
        Some("oms-node-1")
    );
    assert_eq!(
        choose(Some(" oms-node-1 "), Some(&found))
            .ok()
            .flatten()
            .as_deref(),
        Some("oms-node-1")
    );
    assert_eq!(
        choose(Some(""), Some(&found)).ok().flatten().as_deref(),
        Some("oms-node-1")
    );
}

#[test]
fn a_node_flag_that_contradicts_the_certificate_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let found = from_certificate(&mint(dir.path(), Role::Node, "oms-node-1")).expect("name");
    let err = choose(Some("oms-node-2"), Some(&found)).expect_err("mismatch");
    let text = err.to_string();
    for words in [
        "--node oms-node-2",
        "(oms-node-1)",
        "refuse every report",
        "--name oms-node-2",
    ] {
        assert!(text.contains(words), "{words}: {text}");
    }
}

#[test]
fn without_a_certificate_the_flag_or_nothing() {
    assert_eq!(
        choose(Some("n1"), None).ok().flatten().as_deref(),
        Some("n1")
    );
    assert_eq!(choose(None, None).ok().flatten(), None);
    assert_eq!(choose(Some("  "), None).ok().flatten(), None);
}

#[test]
fn operator_and_collector_certificates_are_refused_for_the_agent() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (role, name) in [(Role::Operator, "alice"), (Role::Collector, "collector")] {
        let err = from_certificate(&mint(dir.path(), role, name)).expect_err("not a node");
        let text = err.to_string();
        assert!(matches!(err, NodeNameError::NotNode { .. }), "{text}");
        assert!(
            text.contains(&format!("omswatch://{role}/{name}")),
            "{text}"
        );
        assert!(text.contains("omswatch certs node"), "{text}");
    }
}

#[test]
fn unreadable_keys_and_foreign_certificates_are_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = from_certificate(&dir.path().join("nope.pem")).expect_err("missing");
    assert!(matches!(missing, NodeNameError::Read { .. }), "{missing}");
    let cert = mint(dir.path(), Role::Node, "n1");
    let key = cert.with_file_name("node-n1-key.pem");
    let not_cert = from_certificate(&key).expect_err("a key is not a certificate");
    assert!(
        matches!(not_cert, NodeNameError::NotPem { .. }),
        "{not_cert}"
    );
    assert!(!not_cert.to_string().contains("PRIVATE KEY-----\n"));
    let garbage = from_pem(Path::new("x.pem"), b"hello").expect_err("garbage");
    assert!(matches!(garbage, NodeNameError::NotPem { .. }), "{garbage}");
    let ca = Ca::create("other", Validity::days(1)).expect("ca");
    let plain = from_pem(Path::new("ca.pem"), ca.pem().cert.as_bytes()).expect_err("no identity");
    assert!(matches!(plain, NodeNameError::Identity { .. }), "{plain}");
}

#[test]
fn check_agrees_with_the_collector_on_node_names() {
    let long = "n".repeat(254);
    for name in [
        "n1",
        "oms-node-1.example",
        " ",
        "",
        "a\u{1b}b",
        long.as_str(),
    ] {
        let report = omswatch_common::proto::v1::NodeReport {
            node: name.into(),
            ..Default::default()
        };
        let collector = omswatch_common::limits::check(&report).is_ok();
        assert_eq!(check(name).is_ok(), collector, "{name:?}");
    }
    let err = check(&long).expect_err("too long");
    assert!(
        err.to_string().contains("254 bytes long; the limit is 253"),
        "{err}"
    );
}
