//! [`client`](crate::connect::client) against a real tonic Query server on
//! loopback: the bearer token reaches the collector as `authorization`, an
//! operator certificate is presented over TLS, and refusals come back as
//! statuses the CLI explains.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use omswatch_common::identity::{self, Role};
use omswatch_common::proto::v1::query_server::{Query, QueryServer};
use omswatch_common::proto::v1::{Bundle, BundleRequest, ClusterStatus, StatusRequest};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

use crate::connect::{ConnectArgs, client};
use omswatch_common::identity::mint::{Ca, Validity, write_pair};

const TOKEN: &str = "hunter2-token";

/// Answers an operator certificate or the right bearer token; refuses the rest.
struct Guarded;

fn allowed<T>(request: &Request<T>) -> Result<(), Status> {
    let bearer = request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if bearer == Some(&format!("Bearer {TOKEN}")) {
        return Ok(());
    }
    let peer = request
        .peer_certs()
        .and_then(|c| c.first().map(|c| identity::from_cert_der(c.as_ref())));
    match peer {
        Some(Ok(id)) if id.role == Role::Operator => Ok(()),
        Some(Ok(id)) => Err(Status::permission_denied(format!("{id} may not query"))),
        _ => Err(Status::unauthenticated(
            "no operator certificate or bearer token",
        )),
    }
}

#[tonic::async_trait]
impl Query for Guarded {
    async fn get_status(
        &self,
        r: Request<StatusRequest>,
    ) -> Result<Response<ClusterStatus>, Status> {
        allowed(&r)?;
        Ok(Response::new(ClusterStatus::default()))
    }

    async fn get_bundle(&self, r: Request<BundleRequest>) -> Result<Response<Bundle>, Status> {
        allowed(&r)?;
        Ok(Response::new(Bundle::default()))
    }

    async fn forget_node(
        &self,
        r: Request<omswatch_common::proto::v1::ForgetNodeRequest>,
    ) -> Result<Response<omswatch_common::proto::v1::ForgetNodeReply>, Status> {
        allowed(&r)?;
        Err(Status::unimplemented("these tests only check who may call"))
    }

    async fn get_history(
        &self,
        r: Request<omswatch_common::proto::v1::HistoryRequest>,
    ) -> Result<Response<omswatch_common::proto::v1::History>, Status> {
        allowed(&r)?;
        Ok(Response::new(omswatch_common::proto::v1::History::default()))
    }

    async fn restart(
        &self,
        r: Request<omswatch_common::proto::v1::RestartRequest>,
    ) -> Result<Response<omswatch_common::proto::v1::RestartReply>, Status> {
        allowed(&r)?;
        Err(Status::unimplemented("these tests only check who may call"))
    }
}

/// Serves [`Guarded`] on loopback, with TLS when `ca` is given; returns the URL.
async fn serve(ca: Option<&Ca>) -> String {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let listener = tokio::net::TcpListener::bind((loopback, 0))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut server = Server::builder();
    if let Some(ca) = ca {
        let pem = ca
            .issue(Role::Collector, "c", &[loopback], &[], Validity::days(1))
            .expect("server cert");
        let tls = ServerTlsConfig::new()
            .identity(Identity::from_pem(&pem.cert, &pem.key))
            .client_ca_root(Certificate::from_pem(&ca.pem().cert))
            .client_auth_optional(true);
        server = server.tls_config(tls).expect("tls");
    }
    let router = server.add_service(QueryServer::new(Guarded));
    tokio::spawn(router.serve_with_incoming(TcpListenerStream::new(listener)));
    let scheme = if ca.is_some() { "https" } else { "http" };
    format!("{scheme}://127.0.0.1:{port}")
}

async fn ask(flags: &[String]) -> Result<ClusterStatus, anyhow::Error> {
    use clap::Parser;
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        connect: ConnectArgs,
    }
    let argv = std::iter::once("omswatch".to_string()).chain(flags.iter().cloned());
    let connection = Flags::try_parse_from(argv)?.connect.connection()?;
    let mut client = client(&connection, Duration::from_secs(5)).await?;
    Ok(client.get_status(StatusRequest {}).await?.into_inner())
}

fn strings(flags: &[&str]) -> Vec<String> {
    flags.iter().map(|s| s.to_string()).collect()
}

fn code(result: Result<ClusterStatus, anyhow::Error>) -> Option<tonic::Code> {
    result.err()?.downcast_ref::<Status>().map(Status::code)
}

#[tokio::test]
async fn the_token_file_becomes_a_bearer_header_over_tls_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Ca::create("test", Validity::days(1)).expect("ca");
    let (ca_file, _) = write_pair(dir.path(), "ca", ca.pem()).expect("write ca");
    let token = dir.path().join("token");
    std::fs::write(&token, format!("# ops\n{TOKEN}\n")).expect("write");
    let (ca_file, token) = (ca_file.display().to_string(), token.display().to_string());
    let tls_url = serve(Some(&ca)).await;
    let with = ask(&strings(&[
        "--collector",
        &tls_url,
        "--ca",
        &ca_file,
        "--token-file",
        &token,
    ]))
    .await;
    assert!(with.is_ok(), "{with:?}");
    let without = ask(&strings(&["--collector", &tls_url, "--ca", &ca_file])).await;
    assert_eq!(code(without), Some(tonic::Code::Unauthenticated));
    // Over plain text the token stays home: the guard sees no credentials.
    let plain_url = serve(None).await;
    let plain = ask(&strings(&[
        "--collector",
        &plain_url,
        "--insecure",
        "--token-file",
        &token,
    ]))
    .await;
    assert_eq!(code(plain), Some(tonic::Code::Unauthenticated));
}

#[tokio::test]
async fn an_operator_certificate_is_presented_over_tls_and_a_node_one_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Ca::create("test", Validity::days(1)).expect("ca");
    let (ca_file, _) = write_pair(dir.path(), "ca", ca.pem()).expect("write ca");
    let url = serve(Some(&ca)).await;
    let flags_for = |role: Role, name: &str| {
        let pem = ca
            .issue(role, name, &[], &[], Validity::days(1))
            .expect("issue");
        let (cert, key) = write_pair(dir.path(), &format!("{role}-{name}"), &pem).expect("write");
        strings(&[
            "--collector",
            &url,
            "--ca",
            &ca_file.display().to_string(),
            "--cert",
            &cert.display().to_string(),
            "--key",
            &key.display().to_string(),
        ])
    };
    let operator = ask(&flags_for(Role::Operator, "alice")).await;
    assert!(operator.is_ok(), "{operator:?}");
    let node = ask(&flags_for(Role::Node, "oms-1")).await;
    assert_eq!(code(node), Some(tonic::Code::PermissionDenied));
    let anonymous = ask(&strings(&[
        "--collector",
        &url,
        "--ca",
        &ca_file.display().to_string(),
    ]))
    .await;
    assert_eq!(code(anonymous), Some(tonic::Code::Unauthenticated));
}

/// Asks through [`crate::failover::ask`] as `omswatch status` does; the URL that answered.
async fn ask_pair(flags: &[String]) -> Result<String, crate::failover::Failure> {
    use clap::Parser;
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        connect: ConnectArgs,
    }
    let argv = std::iter::once("omswatch".to_string()).chain(flags.iter().cloned());
    let connection = Flags::try_parse_from(argv)
        .expect("flags")
        .connect
        .connection()
        .expect("connection");
    let timeout = Duration::from_secs(10);
    let call = |at: crate::connect::Connection| async move {
        let mut client = client(&at, timeout).await?;
        anyhow::Ok(client.get_status(StatusRequest {}).await?.into_inner())
    };
    crate::failover::ask(&connection, timeout, crate::failover::Repeat::Safe, call)
        .await
        .map(|answer| answer.from.url)
}

#[tokio::test]
async fn a_pair_is_asked_in_turn_past_a_dead_collector_but_not_past_a_refusal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Ca::create("test", Validity::days(1)).expect("ca");
    let (ca_file, _) = write_pair(dir.path(), "ca", ca.pem()).expect("write ca");
    let ca_file = ca_file.display().to_string();
    let live = serve(Some(&ca)).await;
    // A port that was bound and released: nothing listens there.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        format!("https://127.0.0.1:{port}")
    };
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).expect("write");
    let token = token.display().to_string();
    let pair = format!("{dead},{live}");
    let flags = [
        "--collector",
        &pair,
        "--ca",
        &ca_file,
        "--token-file",
        &token,
    ];
    let answered = ask_pair(&strings(&flags))
        .await
        .expect("the live one answers");
    assert_eq!(answered, live);
    // Refused by the first (no credentials): final, the second is not asked.
    let other = serve(Some(&ca)).await;
    let refusing = format!("{live},{other}");
    let flags = ["--collector", &refusing, "--ca", &ca_file];
    let failure = ask_pair(&strings(&flags)).await.expect_err("refused");
    assert_eq!(failure.from.url, live, "the refusal is the first's answer");
    match failure.kind {
        crate::failover::FailureKind::Error(e) => {
            let code = e.downcast_ref::<Status>().map(Status::code);
            assert_eq!(code, Some(tonic::Code::Unauthenticated));
        }
        other => panic!("want a refusal, got {other:?}"),
    }
}
