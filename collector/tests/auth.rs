//! Mutual TLS and roles against a real collector: who may report, who may query.

mod support;

use omswatch_common::identity::Role;
use omswatch_common::identity::mint::Validity;
use support::{Agent, Collector, Pki, TOKEN, channel, insecure, report, status, status_as};
use time::{Duration, OffsetDateTime};
use tonic::Code;

#[tokio::test]
async fn reporting_without_a_client_certificate_is_unauthenticated() {
    let pki = Pki::new();
    let collector = Collector::start(pki.settings()).await;
    let plain = channel(&pki, collector.addr, None)
        .await
        .expect("TLS without a client cert");
    let refused = match Agent::open(plain).await {
        Ok(mut agent) => agent.send(report("oms-a", 1)).await.expect_err("refused"),
        Err(status) => status,
    };
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert!(
        refused.message().contains("node certificate"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_certificate_from_another_ca_fails_the_handshake() {
    let pki = Pki::new();
    let collector = Collector::start(pki.settings()).await;
    // Another CA, and an impostor CA with the very same name but its own key.
    for other in [Pki::named("other"), Pki::named("test")] {
        let stranger = other.issue(Role::Operator, "mallory");
        let refused = status_as(&pki, collector.addr, Some(&stranger))
            .await
            .expect_err("unknown CA");
        assert_handshake_refused(&refused);
        let node = other.issue(Role::Node, "oms-a");
        let refused = match channel(&pki, collector.addr, Some(&node)).await {
            Ok(ch) => Agent::open(ch).await.err(),
            Err(status) => Some(status),
        };
        let refused = refused.expect("a foreign node certificate must not open a stream");
        assert_handshake_refused(&refused);
    }
}

#[tokio::test]
async fn an_expired_certificate_fails_the_handshake() {
    let pki = Pki::new();
    let collector = Collector::start(pki.settings()).await;
    let now = OffsetDateTime::now_utc();
    let expired = Validity {
        not_before: now - Duration::days(10),
        not_after: now - Duration::days(1),
    };
    let old = pki
        .ca
        .issue(Role::Operator, "alice", &[], &[], expired)
        .expect("expired cert");
    let refused = status_as(&pki, collector.addr, Some(&old))
        .await
        .expect_err("expired");
    assert_handshake_refused(&refused);
    // The same name with a valid certificate works: it was the date that failed.
    let fresh = pki.issue(Role::Operator, "alice");
    assert!(status_as(&pki, collector.addr, Some(&fresh)).await.is_ok());
}

/// Refused by rustls (the server's alert), not by the authorizer: no handler ran.
fn assert_handshake_refused(status: &tonic::Status) {
    assert!(
        !matches!(
            status.code(),
            Code::Ok | Code::Unauthenticated | Code::PermissionDenied
        ),
        "expected a transport failure, got {status:?}"
    );
    assert!(
        format!("{status:?}").contains("fatal alert"),
        "expected a TLS alert, got {status:?}"
    );
}

#[tokio::test]
async fn a_node_reporting_as_another_is_denied_and_changes_nothing() {
    let pki = Pki::new();
    let collector = Collector::start(pki.settings()).await;
    let node_a = pki.issue(Role::Node, "oms-a");
    let mut agent = Agent::open(
        channel(&pki, collector.addr, Some(&node_a))
            .await
            .expect("ch"),
    )
    .await
    .expect("stream");
    assert_eq!(
        agent.send(report("oms-a", 1)).await.expect("own name").seq,
        1
    );
    let operator = pki.issue(Role::Operator, "alice");
    let before = status_as(&pki, collector.addr, Some(&operator))
        .await
        .expect("status");

    let mut forged = report("oms-b", 2);
    forged.identity = report("oms-a", 2).identity.map(|mut id| {
        id.hostname = "forged".into();
        id
    });
    let denied = agent.send(forged).await.expect_err("forged name");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert_eq!(
        denied.message(),
        "certificate is for node oms-a, report is for oms-b"
    );

    let after = status_as(&pki, collector.addr, Some(&operator))
        .await
        .expect("status");
    let names: Vec<&str> = after.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["oms-a"], "{after:?}");
    let (a_before, a_after) = (&before.nodes[0], &after.nodes[0]);
    assert_eq!(
        (
            &a_before.hostname,
            &a_before.oms_host_ip,
            &a_before.hostname_ips
        ),
        (
            &a_after.hostname,
            &a_after.oms_host_ip,
            &a_after.hostname_ips
        )
    );
}

#[tokio::test]
async fn impersonation_is_denied_before_limits_and_rate() {
    let pki = Pki::new();
    let settings = omswatch_collector::settings::Settings {
        max_reports_per_second: 0.1,
        report_burst: 1,
        ..pki.settings()
    };
    let collector = Collector::start(settings).await;
    let node_a = pki.issue(Role::Node, "oms-a");
    let open = || async {
        let ch = channel(&pki, collector.addr, Some(&node_a))
            .await
            .expect("ch");
        Agent::open(ch).await.expect("stream")
    };
    // Another node's name on a report that also breaks a limit.
    let mut forged = report("oms-b", 1);
    forged.region = "r".repeat(10_000);
    let denied = open().await.send(forged).await.expect_err("forged");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert_eq!(
        denied.message(),
        "certificate is for node oms-a, report is for oms-b"
    );
    // A name that is itself over-long and holds control characters is shown
    // escaped and cut, never as sent.
    let nasty = format!("oms-b\u{1b}[2J{}", "x".repeat(100_000));
    let denied = open()
        .await
        .send(report(&nasty, 1))
        .await
        .expect_err("forged");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let text = denied.message();
    assert!(
        text.starts_with("certificate is for node oms-a, report is for \"oms-b\\u{1b}[2J"),
        "{text}"
    );
    assert!(text.len() < 200 && !text.contains('\u{1b}'), "{text}");
    // Over the rate, the forged report is still answered as a forgery.
    let mut agent = open().await;
    assert!(agent.send(report("oms-a", 1)).await.is_ok());
    let denied = agent.send(report("oms-b", 2)).await.expect_err("forged");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
}

#[tokio::test]
async fn only_operators_may_query_and_only_nodes_may_report() {
    let pki = Pki::new();
    let collector = Collector::start(pki.settings()).await;
    let node = pki.issue(Role::Node, "oms-a");
    let denied = status_as(&pki, collector.addr, Some(&node))
        .await
        .expect_err("a node may not query");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

    let operator = pki.issue(Role::Operator, "alice");
    let status = status_as(&pki, collector.addr, Some(&operator)).await;
    assert!(status.is_ok(), "{status:?}");
    let ch = channel(&pki, collector.addr, Some(&operator))
        .await
        .expect("ch");
    let bundle = omswatch_common::proto::v1::query_client::QueryClient::new(ch)
        .get_bundle(omswatch_common::proto::v1::BundleRequest {})
        .await;
    assert!(bundle.is_ok(), "{bundle:?}");

    let ch = channel(&pki, collector.addr, Some(&operator))
        .await
        .expect("ch");
    let refused = match Agent::open(ch).await {
        Ok(mut agent) => agent.send(report("alice", 1)).await.expect_err("refused"),
        Err(status) => status,
    };
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
}

#[tokio::test]
async fn bearer_tokens_let_operators_in_without_a_certificate() {
    let pki = Pki::new();
    let collector = Collector::start(pki.settings()).await;
    let ch = channel(&pki, collector.addr, None).await.expect("ch");
    assert!(status(ch.clone(), Some(TOKEN)).await.is_ok());
    let wrong = status(ch.clone(), Some("not-the-token-0123456789"))
        .await
        .expect_err("wrong token");
    assert_eq!(wrong.code(), Code::Unauthenticated, "{wrong:?}");
    assert!(!wrong.message().contains("not-the-token"));
    let none = status(ch, None).await.expect_err("no credentials");
    assert_eq!(none.code(), Code::Unauthenticated, "{none:?}");
    // A token does not lift a node's certificate to operator.
    let node = pki.issue(Role::Node, "oms-a");
    let ch = channel(&pki, collector.addr, Some(&node))
        .await
        .expect("ch");
    let denied = status(ch, Some(TOKEN))
        .await
        .expect_err("node cert decides");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
}

#[tokio::test]
async fn a_rewritten_token_file_revokes_the_old_token() {
    let pki = Pki::new();
    let collector = Collector::start(pki.settings()).await;
    let ch = channel(&pki, collector.addr, None).await.expect("ch");
    assert!(status(ch.clone(), Some(TOKEN)).await.is_ok());
    let next = "rotated-token-abcdef0123456789";
    std::fs::write(pki.path("tokens"), format!("{next}\n")).expect("rotate");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while status(ch.clone(), Some(next)).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "new token never accepted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let old = status(ch, Some(TOKEN)).await.expect_err("revoked");
    assert_eq!(old.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn insecure_mode_on_loopback_has_no_identities() {
    let pki = Pki::new();
    let (_collector, ch) = insecure(&pki).await;
    let mut agent = Agent::open(ch.clone()).await.expect("stream");
    assert!(agent.send(report("any-name", 1)).await.is_ok());
    let status = status(ch, None).await.expect("open query");
    assert_eq!(status.nodes.len(), 1);
}
