//! The listener's limits with a real collector over TLS on loopback: a connection that makes no
//! authorised call is closed after the grace period (health checks do not count), one that did
//! stays, and the per-peer and total caps close extra connections at once.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use omswatch_collector::settings::Settings;
use omswatch_common::identity::Role;
use support::{Agent, Collector, Pki, TOKEN, channel, report, status};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const GRACE: Duration = Duration::from_secs(2);

fn settings(pki: &Pki) -> Settings {
    Settings {
        idle_grace: GRACE,
        ..pki.settings()
    }
}

/// A TLS session without a client certificate that completes the handshake and sends nothing.
async fn idle_tls(pki: &Pki, addr: SocketAddr) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.ca.pem().cert.as_bytes()).expect("ca pem"))
        .expect("ca");
    let mut config = ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("handshake without a client certificate")
}

/// Reads until the server closes the connection; how long that took (None: still open at `limit`).
async fn closed_within<R: AsyncReadExt + Unpin>(mut io: R, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    let until = tokio::time::timeout(limit, async {
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {} // the server's HTTP/2 settings, or a TLS ticket
            }
        }
    })
    .await;
    until.ok().map(|()| started.elapsed())
}

#[tokio::test]
async fn an_unauthenticated_session_is_closed_after_the_grace_period() {
    let pki = Pki::new();
    let collector = Collector::start(settings(&pki)).await;
    let session = idle_tls(&pki, collector.addr).await;
    let took = closed_within(session, GRACE * 4)
        .await
        .expect("closed by the collector");
    assert!(
        took >= GRACE - Duration::from_millis(500),
        "closed after {took:?}: before the grace period"
    );
}

#[tokio::test]
async fn a_reporting_agent_stays_past_the_grace_period() {
    let pki = Pki::new();
    let collector = Collector::start(settings(&pki)).await;
    let node = pki.issue(Role::Node, "oms-a");
    let ch = channel(&pki, collector.addr, Some(&node))
        .await
        .expect("channel");
    let mut agent = Agent::open(ch).await.expect("stream");
    assert_eq!(agent.send(report("oms-a", 1)).await.expect("ack").seq, 1);
    tokio::time::sleep(GRACE * 2).await;
    // The same stream: had the connection been closed, the stream would have broken.
    assert_eq!(agent.send(report("oms-a", 2)).await.expect("ack").seq, 2);
}

#[tokio::test]
async fn health_checks_answer_but_do_not_keep_a_connection() {
    let pki = Pki::new();
    let collector = Collector::start(settings(&pki)).await;
    let ch = channel(&pki, collector.addr, None)
        .await
        .expect("channel without a certificate");
    let mut health = HealthClient::new(ch.clone());
    let serving = ServingStatus::Serving as i32;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = health
            .check(HealthCheckRequest::default())
            .await
            .expect("health answers without credentials");
        if answer.get_ref().status == serving {
            break;
        }
        assert!(Instant::now() < deadline, "never SERVING: {answer:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "omswatch.v1.Query".into(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch
        .message()
        .await
        .expect("first update")
        .expect("an update");
    assert_eq!(first.status, serving);
    let ended = tokio::time::timeout(GRACE * 4, watch.message()).await;
    assert!(
        matches!(ended, Ok(Err(_)) | Ok(Ok(None))),
        "the watch outlived the grace period: {ended:?}"
    );
    // An operator on the same channel (it reconnects) is not affected.
    status(ch, Some(TOKEN)).await.expect("status");
}

/// A TCP connection from `source` (any 127.x address is this machine).
async fn connect_from(source: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("bind source");
    socket.connect(to).await.expect("connect")
}

/// Whether the collector closed `tcp` at once (a refused connection) rather than waiting for the
/// client's TLS hello.
async fn closed_at_once(tcp: TcpStream) -> bool {
    closed_within(tcp, Duration::from_secs(2)).await.is_some()
}

#[tokio::test]
async fn connections_over_the_per_peer_and_total_caps_are_closed_at_once() {
    let pki = Pki::new();
    let collector = Collector::start(Settings {
        max_connections: 5,
        max_connections_per_peer: 3,
        // Long enough that the admitted connections outlive the checks.
        idle_grace: Duration::from_secs(30),
        ..pki.settings()
    })
    .await;
    let addr = collector.addr;
    let one = Ipv4Addr::new(127, 0, 0, 1);
    let mut kept = Vec::new();
    for _ in 0..3 {
        kept.push(connect_from(one, addr).await);
    }
    assert!(
        closed_at_once(connect_from(one, addr).await).await,
        "4th from one address"
    );
    let two = Ipv4Addr::new(127, 0, 0, 2);
    kept.push(connect_from(two, addr).await);
    kept.push(connect_from(two, addr).await);
    let three = Ipv4Addr::new(127, 0, 0, 3);
    assert!(
        closed_at_once(connect_from(three, addr).await).await,
        "6th in total"
    );
    // The five admitted ones wait for a TLS hello; once they are closed there is room again.
    let checks = futures::future::join_all(kept.into_iter().map(closed_at_once)).await;
    assert_eq!(checks, [false; 5], "an admitted connection was closed");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = connect_from(three, addr).await;
    assert!(
        !closed_at_once(again).await,
        "room again once connections closed"
    );
}
