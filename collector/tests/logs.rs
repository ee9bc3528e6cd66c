//! Secrets never reach the logs: every event the collector emits while serving
//! good and bad tokens, refusals and MetaDB failures is captured and searched
//! for the tokens, the MetaDB password and key material.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omswatch_common::identity::Role;
use omswatch_common::proto::v1::BundleRequest;
use omswatch_common::proto::v1::query_client::QueryClient;
use support::{Agent, Collector, Pki, TOKEN, channel, report, status};

const PASSWORD: &str = "MetaDb-Pa55word-never-logged";
const WRONG_TOKEN: &str = "guessed-token-abcdef0123456789";

/// Everything logged, shared with the subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut all) = self.0.lock() {
            all.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|all| String::from_utf8_lossy(&all).into_owned())
            .unwrap_or_default()
    }
}

fn config_yaml() -> String {
    format!(
        "oms_meta_host: 127.0.0.1\noms_meta_port: 1\noms_meta_user: oms_meta\n\
         oms_meta_password: \"{PASSWORD}\"\ndrc_rm_db: oms_rm\ndrc_cm_db: oms_cm\n\
         drc_cm_heartbeat_db: oms_cm_heartbeat\ncm_url: http://127.0.0.1:8088\ncm_location: 0\n\
         cm_region: \"\"\ncm_is_default: true\ncm_nodes:\n  - 10.0.0.1\n"
    )
}

#[tokio::test]
async fn tokens_passwords_and_keys_never_reach_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let pki = Pki::new();
    std::fs::write(pki.path("config.yaml"), config_yaml()).expect("config");
    let collector = Collector::start(pki.settings()).await;
    let anonymous = channel(&pki, collector.addr, None).await.expect("ch");
    assert!(status(anonymous.clone(), Some(TOKEN)).await.is_ok());
    assert!(status(anonymous.clone(), Some(WRONG_TOKEN)).await.is_err());
    let node = pki.issue(Role::Node, "oms-a");
    let mut agent = Agent::open(
        channel(&pki, collector.addr, Some(&node))
            .await
            .expect("ch"),
    )
    .await
    .expect("stream");
    assert!(agent.send(report("oms-a", 1)).await.is_ok());
    assert!(agent.send(report("oms-b", 2)).await.is_err());
    // A forged name built to rewrite the operator's terminal.
    let mut forger = Agent::open(
        channel(&pki, collector.addr, Some(&node))
            .await
            .expect("ch"),
    )
    .await
    .expect("stream");
    assert!(forger.send(report("oms-b\u{1b}[2J", 1)).await.is_err());
    // Let the poller fail against the (closed) MetaDB port a few times.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut query = QueryClient::new(anonymous);
    let mut request = tonic::Request::new(BundleRequest {});
    let bearer = format!("Bearer {TOKEN}").parse().expect("ascii");
    request.metadata_mut().insert("authorization", bearer);
    let bundle = query
        .get_bundle(request)
        .await
        .expect("bundle")
        .into_inner();
    drop(collector);

    let logs = captured.text();
    assert!(
        logs.contains("request refused"),
        "refusals are logged:\n{logs}"
    );
    assert!(
        logs.contains("certificate is for node oms-a, report is for oms-b"),
        "{logs}"
    );
    assert!(logs.contains("MetaDB"), "the poller ran:\n{logs}");
    assert!(
        !logs.contains('\u{1b}') && logs.contains(r#"report is for \"oms-b\\u{1b}[2J\""#),
        "the forged name is logged escaped:\n{logs}"
    );
    for secret in [TOKEN, WRONG_TOKEN, PASSWORD, "PRIVATE KEY"] {
        assert!(
            !logs.contains(secret),
            "{secret:?} leaked into the logs:\n{logs}"
        );
    }
    assert!(
        !format!("{bundle:?}").contains(PASSWORD),
        "the bundle holds the password"
    );
}
