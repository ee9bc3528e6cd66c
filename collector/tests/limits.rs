//! Limits on what peers send, against a real collector: each violation is
//! answered with a status naming it, and other nodes' streams carry on.

mod support;

use omswatch_common::identity::Role;
use omswatch_common::proto::v1::{Program, SupervisorStatus};
use support::{Agent, Collector, Pki, channel, insecure, report, status_as};
use tonic::Code;

async fn agent(pki: &Pki, collector: &Collector, node: &str) -> Agent {
    let pem = pki.issue(Role::Node, node);
    let ch = channel(pki, collector.addr, Some(&pem))
        .await
        .expect("channel");
    Agent::open(ch).await.expect("stream")
}

#[tokio::test]
async fn an_oversized_report_is_refused_and_other_nodes_carry_on() {
    let pki = Pki::new();
    let collector = Collector::start(pki.settings()).await;
    let mut good = agent(&pki, &collector, "oms-good").await;
    assert!(good.send(report("oms-good", 1)).await.is_ok());

    let mut big = agent(&pki, &collector, "oms-big").await;
    let mut huge = report("oms-big", 1);
    huge.config = Some(omswatch_common::proto::v1::NodeConfig {
        redacted_text: "x".repeat(1024 * 1024 + 1),
        ..Default::default()
    });
    let refused = big.send(huge).await.expect_err("over 1 MiB");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("max_message_bytes"),
        "{refused:?}"
    );

    assert_eq!(
        good.send(report("oms-good", 2))
            .await
            .expect("still acked")
            .seq,
        2
    );
    let operator = pki.issue(Role::Operator, "alice");
    let status = status_as(&pki, collector.addr, Some(&operator))
        .await
        .expect("status");
    let names: Vec<&str> = status.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["oms-good"]);
}

#[tokio::test]
async fn malformed_reports_are_invalid_arguments_naming_the_field() {
    let pki = Pki::new();
    let collector = Collector::start(pki.settings()).await;
    let bad_ip = {
        let mut r = report("oms-a", 1);
        if let Some(id) = r.identity.as_mut() {
            id.hostname_ips = vec!["10.0.0.999".into()];
        }
        r
    };
    let too_many = {
        let mut r = report("oms-a", 1);
        r.supervisor = Some(SupervisorStatus {
            programs: vec![Program::default(); 513],
            ..Default::default()
        });
        r
    };
    // The node name must match the certificate before its form is checked
    // (see the insecure test below), so the control characters go elsewhere.
    let control = {
        let mut r = report("oms-a", 1);
        if let Some(id) = r.identity.as_mut() {
            id.hostname = "oms-a\u{1b}[2J".into();
        }
        r
    };
    let cases = [
        (bad_ip, "identity.hostname_ips[0]"),
        (
            too_many,
            "supervisor.programs has 513 entries; the limit is 512",
        ),
        (
            control,
            "identity.hostname \"oms-a\\u{1b}[2J\" contains control characters",
        ),
    ];
    let mut neighbour = agent(&pki, &collector, "oms-b").await;
    for (seq, (bad, field)) in (1..).zip(cases) {
        let mut a = agent(&pki, &collector, "oms-a").await;
        let refused = a.send(bad).await.expect_err(field);
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert!(refused.message().contains(field), "{refused:?}");
        assert!(neighbour.send(report("oms-b", seq)).await.is_ok());
    }
    let operator = pki.issue(Role::Operator, "alice");
    let status = status_as(&pki, collector.addr, Some(&operator))
        .await
        .expect("status");
    let names: Vec<&str> = status.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["oms-b"], "no refused report reached the state");
}

#[tokio::test]
async fn a_stream_over_its_rate_is_resource_exhausted() {
    let pki = Pki::new();
    let settings = omswatch_collector::settings::Settings {
        max_reports_per_second: 0.1,
        report_burst: 3,
        ..pki.settings()
    };
    let collector = Collector::start(settings).await;
    let mut flood = agent(&pki, &collector, "oms-a").await;
    for seq in 1..=3 {
        assert!(
            flood.send(report("oms-a", seq)).await.is_ok(),
            "burst {seq}"
        );
    }
    let refused = flood
        .send(report("oms-a", 4))
        .await
        .expect_err("over the rate");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("max_reports_per_second"),
        "{refused:?}"
    );
    // A new stream of another node has its own bucket.
    let mut calm = agent(&pki, &collector, "oms-b").await;
    assert!(calm.send(report("oms-b", 1)).await.is_ok());
}

#[tokio::test]
async fn without_certificates_node_names_are_still_checked() {
    let pki = Pki::new();
    let (_collector, ch) = insecure(&pki).await;
    for (name, field) in [
        ("oms-a\u{1b}[2J", "control characters"),
        (
            &*"x".repeat(254),
            "node is 254 bytes long; the limit is 253",
        ),
        ("", "without a node name"),
    ] {
        let mut agent = Agent::open(ch.clone()).await.expect("stream");
        let refused = agent.send(report(name, 1)).await.expect_err(field);
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert!(refused.message().contains(field), "{refused:?}");
    }
}
