//! `session` against a real tonic server over TLS on loopback, with certificates
//! minted like `omswatch certs` does: the agent's TLS set-up, and how each way a
//! connection ends is classified (refused, TLS, lost).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use omswatch_common::identity::mint::{Ca, Validity, write_pair};
use omswatch_common::identity::{self, Role};
use omswatch_common::proto::v1::reporting_server::{Reporting, ReportingServer};
use omswatch_common::proto::v1::{NodeReport, ReportAck};
use omswatch_common::tls::ClientTlsFiles;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

use super::*;
use crate::probe::health::{HealthProbe, HealthSettings};
use crate::probe::identity::{IdentityProbe, IdentitySources};
use crate::probe::node_config::ConfigProbe;
use crate::probe::resources::{ResourceProbe, ResourceSources};
use crate::probe::supervisor::{SupervisorProbe, SupervisorSettings};
use crate::report::Probes;

/// Like the collector: a report must come from the node certificate it names;
/// the first good report is acknowledged and the stream closed.
struct StrictCollector;

#[tonic::async_trait]
impl Reporting for StrictCollector {
    type ReportStream = Pin<Box<dyn Stream<Item = Result<ReportAck, Status>> + Send>>;

    async fn report(
        &self,
        request: Request<Streaming<NodeReport>>,
    ) -> Result<Response<Self::ReportStream>, Status> {
        let peer = request
            .peer_certs()
            .and_then(|certs| certs.first().map(|c| identity::from_cert_der(c.as_ref())))
            .ok_or_else(|| Status::unauthenticated("no client certificate"))?
            .map_err(|e| Status::unauthenticated(e.to_string()))?;
        let report = request.into_inner().message().await?.unwrap_or_default();
        if peer.role != Role::Node || peer.name != report.node {
            return Err(Status::permission_denied(format!(
                "{peer} may not report as node {:?}",
                report.node
            )));
        }
        let ack = Ok(ReportAck {
            seq: report.seq,
            ..ReportAck::default()
        });
        Ok(Response::new(Box::pin(futures::stream::iter([ack]))))
    }
}

/// A TLS collector on loopback whose certificate `ca` signed; returns its URL.
async fn collector(ca: &Ca) -> String {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let server = ca
        .issue(Role::Collector, "c", &[loopback], &[], Validity::days(1))
        .expect("server cert");
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(&server.cert, &server.key))
        .client_ca_root(Certificate::from_pem(&ca.pem().cert))
        .client_auth_optional(true);
    let listener = tokio::net::TcpListener::bind((loopback, 0))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let router = Server::builder()
        .tls_config(tls)
        .expect("tls")
        .add_service(ReportingServer::new(StrictCollector));
    tokio::spawn(router.serve_with_incoming(TcpListenerStream::new(listener)));
    format!("https://127.0.0.1:{port}")
}

/// CA, node certificate and key for `node` in `dir`, signed by `ca`.
fn client_files(dir: &Path, ca: &Ca, trusted: &Ca, node: &str) -> ClientTlsFiles {
    let pem = ca
        .issue(Role::Node, node, &[], &[], Validity::days(1))
        .expect("node cert");
    let (cert, key) = write_pair(dir, &format!("node-{node}"), &pem).expect("write");
    let ca_file = dir.join(format!("trusted-{node}.pem"));
    std::fs::write(&ca_file, &trusted.pem().cert).expect("write ca");
    ClientTlsFiles {
        ca: Some(ca_file),
        cert: Some(cert),
        key: Some(key),
    }
}

fn reporter(dir: &Path, node: &str) -> Reporter {
    let probes = Probes {
        identity: IdentityProbe::new(IdentitySources {
            env: Arc::new(HashMap::<String, String>::new()),
            pid1_environ: dir.join("environ"),
            hostname_file: dir.join("hostname"),
            ..IdentitySources::default()
        }),
        supervisor: SupervisorProbe::new(SupervisorSettings {
            conf: Some(dir.join("supervisord.conf")),
            supervisorctl: dir.join("no-supervisorctl"),
            timeout: Duration::from_millis(200),
            ..SupervisorSettings::default()
        }),
        oms_config: ConfigProbe::new(dir.join("config.yaml")),
        resources: ResourceProbe::new(ResourceSources {
            proc_root: dir.join("proc"),
            disk_paths: vec![],
        }),
        health: HealthProbe::new(HealthSettings {
            enabled: false,
            ..HealthSettings::default()
        }),
    };
    Reporter::new(node.into(), String::new(), 1000, probes)
}

/// One session of `reporter` to `schedule`'s collector, fed by a prober as `run_all` does.
async fn fed_session(reporter: Reporter, schedule: &Schedule, backoff: &mut Backoff) -> Ended {
    let reporter: SharedReporter = Arc::new(tokio::sync::Mutex::new(reporter));
    let (slots, mut slot) = watch::channel(None);
    let prober = fanout::probe_forever(Arc::clone(&reporter), schedule.probe_every, slots);
    tokio::select! {
        () = prober => Ended::Lost("the prober stopped".into()),
        ended = session(&reporter, schedule, backoff, &mut slot) => ended,
    }
}

/// One session of `node` presenting `files` to `url`.
async fn one_session(url: &str, files: ClientTlsFiles, dir: &Path, node: &str) -> Ended {
    let schedule = Schedule {
        collector: url.to_string(),
        transport: Transport::Tls(files),
        interval: Duration::from_secs(1),
        probe_every: Duration::from_millis(100),
        backoff_cap: Duration::from_secs(1),
        restarts: crate::restart::Restarts::default(),
    };
    let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(1));
    let ended = fed_session(reporter(dir, node), &schedule, &mut backoff);
    tokio::time::timeout(Duration::from_secs(20), ended)
        .await
        .unwrap_or_else(|_| Ended::Lost("test timed out".into()))
}

#[tokio::test]
async fn a_node_certificate_reports_over_mutual_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Ca::create("test", Validity::days(1)).expect("ca");
    let url = collector(&ca).await;
    let ended = one_session(
        &url,
        client_files(dir.path(), &ca, &ca, "n1"),
        dir.path(),
        "n1",
    )
    .await;
    assert!(
        matches!(&ended, Ended::Lost(r) if r.contains("closed the stream")),
        "acknowledged, then closed by the stub: {ended}"
    );
}

#[tokio::test]
async fn reporting_as_another_node_is_refused_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Ca::create("test", Validity::days(1)).expect("ca");
    let url = collector(&ca).await;
    let ended = one_session(
        &url,
        client_files(dir.path(), &ca, &ca, "n1"),
        dir.path(),
        "n2",
    )
    .await;
    match &ended {
        Ended::Refused(status) => {
            assert_eq!(status.code(), tonic::Code::PermissionDenied);
            assert!(status.message().contains("\"n2\""), "{ended}");
        }
        other => panic!("want a refusal, got {other}"),
    }
}

#[tokio::test]
async fn certificate_problems_are_tls_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Ca::create("test", Validity::days(1)).expect("ca");
    let other = Ca::create("other", Validity::days(1)).expect("other ca");
    let url = collector(&ca).await;
    let untrusting = client_files(dir.path(), &ca, &other, "n1");
    let ended = one_session(&url, untrusting, dir.path(), "n1").await;
    assert!(matches!(ended, Ended::Tls(_)), "wrong --ca: {ended}");
    let foreign = client_files(dir.path(), &other, &ca, "n2");
    let ended = one_session(&url, foreign, dir.path(), "n2").await;
    assert!(
        matches!(ended, Ended::Tls(_)),
        "certificate of another CA: {ended}"
    );
    let mut missing = client_files(dir.path(), &ca, &ca, "n3");
    missing.key = Some(dir.path().join("no-such-key.pem"));
    let ended = one_session(&url, missing, dir.path(), "n3").await;
    assert!(
        matches!(&ended, Ended::Files(r) if r.contains("no-such-key.pem")),
        "{ended}"
    );
}

/// A collector that takes the stream and never acknowledges: what a half-open
/// connection looks like from the agent.
struct SilentCollector;

#[tonic::async_trait]
impl Reporting for SilentCollector {
    type ReportStream = Pin<Box<dyn Stream<Item = Result<ReportAck, Status>> + Send>>;

    async fn report(
        &self,
        request: Request<Streaming<NodeReport>>,
    ) -> Result<Response<Self::ReportStream>, Status> {
        let mut inbound = request.into_inner();
        tokio::spawn(async move { while let Ok(Some(_)) = inbound.message().await {} });
        Ok(Response::new(Box::pin(futures::stream::pending())))
    }
}

#[tokio::test]
async fn a_collector_that_stops_acknowledging_ends_the_session() {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let listener = tokio::net::TcpListener::bind((loopback, 0))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let router = Server::builder().add_service(ReportingServer::new(SilentCollector));
    tokio::spawn(router.serve_with_incoming(TcpListenerStream::new(listener)));
    let dir = tempfile::tempdir().expect("tempdir");
    let schedule = Schedule {
        collector: format!("http://127.0.0.1:{port}"),
        transport: Transport::Plain,
        interval: Duration::from_millis(300),
        probe_every: Duration::from_millis(100),
        backoff_cap: Duration::from_secs(1),
        restarts: crate::restart::Restarts::default(),
    };
    let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(1));
    let ended = fed_session(reporter(dir.path(), "n1"), &schedule, &mut backoff);
    let ended = tokio::time::timeout(Duration::from_secs(20), ended)
        .await
        .unwrap_or_else(|_| Ended::Lost("test timed out".into()));
    assert!(
        matches!(&ended, Ended::Lost(r) if r.contains("no acknowledgement")),
        "{ended}"
    );
}

/// Acknowledges every report and tells the test each report's seq.
struct CountingCollector(mpsc::Sender<u64>);

#[tonic::async_trait]
impl Reporting for CountingCollector {
    type ReportStream = Pin<Box<dyn Stream<Item = Result<ReportAck, Status>> + Send>>;

    async fn report(
        &self,
        request: Request<Streaming<NodeReport>>,
    ) -> Result<Response<Self::ReportStream>, Status> {
        let mut inbound = request.into_inner();
        let seen = self.0.clone();
        let (acks, out) = mpsc::channel(16);
        tokio::spawn(async move {
            while let Ok(Some(report)) = inbound.message().await {
                let _ = seen.send(report.seq).await;
                let ack = ReportAck {
                    seq: report.seq,
                    ..ReportAck::default()
                };
                if acks.send(Ok(ack)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(out),
        )))
    }
}

#[tokio::test]
async fn a_hung_collector_does_not_delay_the_reports_to_the_live_one() {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let live = tokio::net::TcpListener::bind((loopback, 0))
        .await
        .expect("bind");
    let live_port = live.local_addr().expect("addr").port();
    let (seen_tx, mut seen) = mpsc::channel(64);
    let router = Server::builder().add_service(ReportingServer::new(CountingCollector(seen_tx)));
    tokio::spawn(router.serve_with_incoming(TcpListenerStream::new(live)));
    // Accepts connections and never says a word: a hung collector.
    let hung = tokio::net::TcpListener::bind((loopback, 0))
        .await
        .expect("bind");
    let hung_port = hung.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hung.accept().await {
            held.push(socket);
        }
    });
    let schedule = |port: u16| Schedule {
        collector: format!("http://127.0.0.1:{port}"),
        transport: Transport::Plain,
        interval: Duration::from_millis(200),
        probe_every: Duration::from_millis(100),
        backoff_cap: Duration::from_secs(1),
        restarts: crate::restart::Restarts::default(),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let schedules = vec![schedule(hung_port), schedule(live_port)];
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(run_all(reporter(dir.path(), "n1"), schedules, async {
        let _ = stopped.await;
    }));
    // The hung collector is listed first; the live one still gets report after report.
    let mut seqs = Vec::new();
    while seqs.len() < 5 {
        match tokio::time::timeout(Duration::from_secs(30), seen.recv()).await {
            Ok(Some(seq)) => seqs.push(seq),
            other => panic!("the live collector stopped getting reports after {seqs:?}: {other:?}"),
        }
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let _ = stop.send(());
    agent.await.expect("the agent stops");
}
