//! A real collector on 127.0.0.1:0 with real TLS, and clients for it: certificates
//! minted with `omswatch_common::identity::mint::Ca` into a tempdir.
#![allow(dead_code, missing_docs)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use omswatch_collector::server::{self, ServeError};
use omswatch_collector::settings::{HttpListen, Settings};
use omswatch_common::identity::Role;
use omswatch_common::identity::mint::{Ca, Pem, Validity, write_pair};
use omswatch_common::proto::v1::query_client::QueryClient;
use omswatch_common::proto::v1::reporting_client::ReportingClient;
use omswatch_common::proto::v1::{
    ClusterStatus, Identity as ProtoIdentity, NodeReport, ReportAck, StatusRequest,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Request, Status, Streaming};

/// A bearer token the test collectors accept.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// A CA, the collector's certificate, and a tempdir holding their files.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: Ca,
}

impl Pki {
    pub fn new() -> Pki {
        Pki::named("test")
    }

    /// A PKI whose CA is called `name` (two PKIs with one name would differ only by key).
    pub fn named(name: &str) -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Ca::create(name, Validity::days(1)).expect("ca");
        write_pair(dir.path(), "ca", ca.pem()).expect("write ca");
        let localhost = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
        let collector = ca
            .issue(
                Role::Collector,
                "collector",
                &localhost,
                &["localhost".to_string()],
                Validity::days(1),
            )
            .expect("collector cert");
        write_pair(dir.path(), "collector", &collector).expect("write collector");
        std::fs::write(dir.path().join("tokens"), format!("# operators\n{TOKEN}\n"))
            .expect("tokens");
        Pki { dir, ca }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    pub fn issue(&self, role: Role, name: &str) -> Pem {
        self.ca
            .issue(role, name, &[], &[], Validity::days(1))
            .expect("leaf cert")
    }

    /// Collector settings with mutual TLS and the token file.
    pub fn settings(&self) -> Settings {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            oms_configs: vec![self.path("config.yaml")],
            tls_cert: Some(self.path("collector.pem")),
            tls_key: Some(self.path("collector-key.pem")),
            client_ca: Some(self.path("ca.pem")),
            token_file: Some(self.path("tokens")),
            tick: Duration::from_millis(200),
            // Tests run in parallel: the default 127.0.0.1:9471 would collide. The HTTP
            // tests bind their own port (`Collector::start_with_http`).
            http_listen: HttpListen::Off,
            store: Some(self.path("omswatch.db").display().to_string()),
            ..Settings::default()
        }
    }
}

/// A collector serving in this process until dropped.
pub struct Collector {
    pub addr: SocketAddr,
    /// The HTTP listener's address, when started with one.
    pub http: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl Collector {
    pub async fn start(settings: Settings) -> Collector {
        Collector::launch(settings, false).await
    }

    /// A collector with its HTTP listener on a port of its own (127.0.0.1:0).
    pub async fn start_with_http(settings: Settings) -> Collector {
        Collector::launch(settings, true).await
    }

    async fn launch(settings: Settings, with_http: bool) -> Collector {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let http = if with_http {
            Some(
                tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind http"),
            )
        } else {
            None
        };
        let http_addr = http.as_ref().map(|l| l.local_addr().expect("http addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run_with_http(listener, http, settings, async {
            let _ = stopped.await;
        }));
        Collector {
            addr,
            http: http_addr,
            stop: Some(stop),
            task,
        }
    }

    /// Stops the collector and returns how `server::run` ended.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.expect("server task")
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A TLS channel to `addr`, presenting `client` when given.
/// A collector in `--insecure` mode on loopback and a plain-text channel to it.
pub async fn insecure(pki: &Pki) -> (Collector, Channel) {
    let settings = Settings {
        insecure: true,
        ..pki.settings()
    };
    let collector = Collector::start(settings).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", collector.addr))
        .expect("url")
        .connect()
        .await
        .expect("plain text");
    (collector, channel)
}

pub async fn channel(pki: &Pki, addr: SocketAddr, client: Option<&Pem>) -> Result<Channel, Status> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca.pem().cert))
        .domain_name("localhost");
    if let Some(pem) = client {
        tls = tls.identity(Identity::from_pem(&pem.cert, &pem.key));
    }
    Endpoint::from_shared(format!("https://{addr}"))
        .map_err(|e| Status::invalid_argument(e.to_string()))?
        .tls_config(tls)
        .map_err(|e| Status::invalid_argument(e.to_string()))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| Status::unavailable(omswatch_common::telemetry::chain(&e)))
}

/// GetStatus over `channel`, with an optional `Bearer` token.
pub async fn status(channel: Channel, token: Option<&str>) -> Result<ClusterStatus, Status> {
    let mut request = Request::new(StatusRequest {});
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("ascii");
        request.metadata_mut().insert("authorization", value);
    }
    QueryClient::new(channel)
        .get_status(request)
        .await
        .map(tonic::Response::into_inner)
}

/// Connects as `client` and asks for the status.
pub async fn status_as(
    pki: &Pki,
    addr: SocketAddr,
    client: Option<&Pem>,
) -> Result<ClusterStatus, Status> {
    status(channel(pki, addr, client).await?, None).await
}

/// One open Report stream.
pub struct Agent {
    tx: mpsc::Sender<NodeReport>,
    acks: Streaming<ReportAck>,
}

impl Agent {
    pub async fn open(channel: Channel) -> Result<Agent, Status> {
        let (tx, rx) = mpsc::channel(64);
        let acks = ReportingClient::new(channel)
            .max_encoding_message_size(64 * 1024 * 1024)
            .report(ReceiverStream::new(rx))
            .await?
            .into_inner();
        Ok(Agent { tx, acks })
    }

    /// Sends `report` and waits for its ack (or the status that ended the stream).
    pub async fn send(&mut self, report: NodeReport) -> Result<ReportAck, Status> {
        self.tx
            .send(report)
            .await
            .map_err(|_| Status::aborted("the request stream is closed"))?;
        self.next_ack().await
    }

    /// Queues `report` without waiting for its ack.
    pub async fn queue(&mut self, report: NodeReport) {
        let _ = self.tx.send(report).await;
    }

    pub async fn next_ack(&mut self) -> Result<ReportAck, Status> {
        match tokio::time::timeout(Duration::from_secs(10), self.acks.message()).await {
            Ok(Ok(Some(ack))) => Ok(ack),
            Ok(Ok(None)) => Err(Status::aborted(
                "the collector ended the stream without a status",
            )),
            Ok(Err(status)) => Err(status),
            Err(_) => Err(Status::deadline_exceeded("no ack within 10s")),
        }
    }
}

/// A minimal valid report for `node`.
pub fn report(node: &str, seq: u64) -> NodeReport {
    NodeReport {
        node: node.to_string(),
        seq,
        interval_ms: 10_000,
        sent_at_unix_ms: omswatch_common::telemetry::now_unix_ms(),
        identity: Some(ProtoIdentity {
            hostname: format!("{node}-host"),
            hostname_ips: vec!["10.0.0.1".into()],
            oms_host_ip: Some("10.0.0.1".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}
