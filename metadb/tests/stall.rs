//! An unreachable MetaDB (one that accepts TCP and never answers, like a host
//! dropping packets) must cost one connection attempt per region and tick, not
//! one per table: the poller reads regions one after another.
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use omswatch_common::oms_config;
use omswatch_metadb::MetaDbReader;

#[tokio::test]
async fn a_silent_metadb_is_tried_once_per_read() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new(); // keep sockets open and silent
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    let text = format!(
        "oms_meta_host: 127.0.0.1\noms_meta_port: {port}\noms_meta_user: u\noms_meta_password: p\n\
         drc_cm_db: oms_cm\ndrc_cm_heartbeat_db: oms_cm_heartbeat_0\ncm_url: http://10.0.0.1:8088\ncm_nodes: [10.0.0.1]\n"
    );
    let region = oms_config::parse("config.yaml", &text).expect("valid config");
    let mut reader = MetaDbReader::new(Duration::from_millis(300), Default::default());
    let view = reader.read(&region).await;
    let hosts = view.hosts.expect_err("no answer");
    let beats = view.heartbeats.expect_err("no answer");
    assert!(view.clock.is_none());
    assert_eq!(
        hosts.reason, beats.reason,
        "both tables carry the one connect failure"
    );
    assert!(
        beats.target.ends_with("oms_cm_heartbeat_0.heart_beat"),
        "{}",
        beats.target
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one connection attempt for the whole read"
    );
}
