//! Stopping a collector with peers still connected: agents keep their Report
//! streams open for good, so the collector must end them itself, and a peer
//! that holds a call open must not keep it up past the drain timeout.

mod support;

use std::time::{Duration, Instant};

use futures::stream;
use omswatch_common::identity::Role;
use support::{Agent, Collector, Pki, channel, insecure, report};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::{Code, Request, Status};

/// `server::run`'s DRAIN_TIMEOUT.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_connected_agent_does_not_hold_up_shutdown() {
    let pki = Pki::new();
    let collector = Collector::start(pki.settings()).await;
    let node = pki.issue(Role::Node, "oms-a");
    let ch = channel(&pki, collector.addr, Some(&node))
        .await
        .expect("channel");
    // The agent keeps its request stream open, as the real one does.
    let mut agent = Agent::open(ch).await.expect("stream");
    assert_eq!(agent.send(report("oms-a", 1)).await.expect("acked").seq, 1);

    // Well below the drain timeout: the stream was ended, not cut.
    let stopped = tokio::time::timeout(Duration::from_secs(3), collector.stop()).await;
    let served = stopped.expect("server::run returned within 3s");
    assert!(served.is_ok(), "{served:?}");
    let ended = agent.next_ack().await.expect_err("the stream ended");
    assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");
    assert!(ended.message().contains("shutting down"), "{ended:?}");
}

#[tokio::test]
async fn a_call_left_open_is_cut_after_the_drain_timeout() {
    let pki = Pki::new();
    let (collector, ch) = insecure(&pki).await;
    // A GetStatus whose request message never comes: the call stays open.
    let mut grpc = tonic::client::Grpc::new(ch);
    grpc.ready().await.expect("ready");
    let _call = tokio::spawn(async move {
        let never = Request::new(stream::pending::<()>());
        let path = PathAndQuery::from_static("/omswatch.v1.Query/GetStatus");
        grpc.client_streaming(never, path, Silent).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let stopped = tokio::time::timeout(DRAIN_TIMEOUT * 2, collector.stop()).await;
    let served = stopped.expect("server::run returned despite the open call");
    assert!(served.is_ok(), "{served:?}");
    assert!(
        started.elapsed() >= DRAIN_TIMEOUT - Duration::from_millis(500),
        "returned after {:?}: the open call did not hold the drain",
        started.elapsed()
    );
}

/// A codec for calls whose messages never flow.
struct Silent;

impl Codec for Silent {
    type Encode = ();
    type Decode = ();
    type Encoder = Silent;
    type Decoder = Silent;

    fn encoder(&mut self) -> Silent {
        Silent
    }

    fn decoder(&mut self) -> Silent {
        Silent
    }
}

impl Encoder for Silent {
    type Item = ();
    type Error = Status;

    fn encode(&mut self, _: (), _: &mut EncodeBuf<'_>) -> Result<(), Status> {
        Ok(())
    }
}

impl Decoder for Silent {
    type Item = ();
    type Error = Status;

    fn decode(&mut self, _: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        Ok(Some(()))
    }
}
