//! The HTTP listener against a real collector in this process, through the real `curl`:
//! who may read `/metrics` and `/api/*` (401 / 403 / 200), open health endpoints,
//! OpenMetrics by `Accept`, the status JSON, bounds on hostile requests.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use omswatch_collector::settings::Settings;
use omswatch_common::identity::Role;
use omswatch_common::identity::mint::write_pair;
use omswatch_tests::curl::{self, Answer};
use support::{Agent, Collector, Pki, TOKEN, channel, report, status};

fn url(collector: &Collector, path: &str, tls: bool) -> String {
    let addr: SocketAddr = collector.http.expect("an HTTP listener");
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{addr}{path}")
}

/// curl flags trusting the test CA and presenting `client` (a stem written into the PKI dir).
fn tls_args(pki: &Pki, client: Option<(Role, &str)>) -> Vec<String> {
    let mut args = vec!["--cacert".into(), pki.path("ca.pem").display().to_string()];
    if let Some((role, name)) = client {
        let stem = format!("{role}-{name}");
        if !pki.path(&format!("{stem}.pem")).exists() {
            write_pair(pki.dir.path(), &stem, &pki.issue(role, name)).expect("write leaf");
        }
        args.extend([
            "--cert".into(),
            pki.path(&format!("{stem}.pem")).display().to_string(),
            "--key".into(),
            pki.path(&format!("{stem}-key.pem")).display().to_string(),
        ]);
    }
    args
}

fn bearer(token: &str) -> Vec<String> {
    vec!["-H".into(), format!("Authorization: Bearer {token}")]
}

async fn get(collector: &Collector, path: &str, args: &[String]) -> Answer {
    curl::get(&url(collector, path, true), args)
        .await
        .expect("curl runs")
}

#[tokio::test]
async fn metrics_and_api_need_an_operator_and_say_why_not() {
    let pki = Pki::new();
    let collector = Collector::start_with_http(pki.settings()).await;
    let ca_only = tls_args(&pki, None);
    for path in ["/metrics", "/api/v1/status", "/api/v1/history"] {
        let none = get(&collector, path, &ca_only).await;
        assert_eq!(none.code, 401, "{path} without credentials: {none:?}");
        assert!(none.body.contains("no credentials"), "{none:?}");
        assert_eq!(
            none.header("www-authenticate").as_deref(),
            Some("Bearer realm=\"omswatch\"")
        );
        let wrong = [ca_only.clone(), bearer("not-the-token-at-all-0000")].concat();
        let wrong = get(&collector, path, &wrong).await;
        assert_eq!(wrong.code, 401, "{path} with a wrong token: {wrong:?}");
        assert!(
            wrong.body.contains("bearer token not accepted"),
            "{wrong:?}"
        );
        assert!(!wrong.body.contains("not-the-token"), "echoed: {wrong:?}");
        let node = get(
            &collector,
            path,
            &tls_args(&pki, Some((Role::Node, "oms-a"))),
        )
        .await;
        assert_eq!(node.code, 403, "{path} with a node certificate: {node:?}");
        assert!(node.body.contains("may not query"), "{node:?}");
        // A node certificate cannot be lifted to operator by adding a token.
        let node_and_token = [tls_args(&pki, Some((Role::Node, "oms-a"))), bearer(TOKEN)].concat();
        assert_eq!(
            get(&collector, path, &node_and_token).await.code,
            403,
            "{path}"
        );
    }
    let operator = tls_args(&pki, Some((Role::Operator, "alice")));
    let token = [ca_only.clone(), bearer(TOKEN)].concat();
    for args in [&operator, &token] {
        let metrics = get(&collector, "/metrics", args).await;
        assert_eq!(metrics.code, 200, "{metrics:?}");
        assert!(
            metrics.body.contains("omswatch_build_info{version="),
            "{metrics:?}"
        );
        let status = get(&collector, "/api/v1/status", args).await;
        assert_eq!(status.code, 200, "{status:?}");
        assert_eq!(
            status.header("content-type").as_deref(),
            Some("application/json")
        );
        let history = get(&collector, "/api/v1/history?limit=5", args).await;
        assert_eq!(history.code, 200, "{history:?}");
        assert!(
            history.body.starts_with("{\n  \"events\": ["),
            "{history:?}"
        );
        let bad = get(&collector, "/api/v1/history?limit=many", args).await;
        assert_eq!(bad.code, 400, "{bad:?}");
        assert!(bad.body.contains("limit"), "{bad:?}");
    }
    for answer in [
        get(&collector, "/metrics", &token).await,
        get(&collector, "/api/v1/status", &token).await,
        get(&collector, "/api/v1/history", &token).await,
    ] {
        assert!(!answer.body.contains(TOKEN) && !answer.headers.contains(TOKEN));
    }
}

#[tokio::test]
async fn health_endpoints_are_open_and_ready_follows_the_first_tick() {
    let pki = Pki::new();
    let collector = Collector::start_with_http(pki.settings()).await;
    let ca_only = tls_args(&pki, None);
    let healthy = get(&collector, "/-/healthy", &ca_only).await;
    assert_eq!(
        (healthy.code, healthy.body.as_str()),
        (200, "omswatch collector is healthy.\n")
    );
    let mut ready = get(&collector, "/-/ready", &ca_only).await;
    for _ in 0..50 {
        if ready.code == 200 {
            break;
        }
        assert_eq!(ready.code, 503, "{ready:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        ready = get(&collector, "/-/ready", &ca_only).await;
    }
    assert_eq!(ready.code, 200, "ready after the first tick: {ready:?}");
    let missing = get(&collector, "/nope", &ca_only).await;
    assert_eq!(missing.code, 404, "{missing:?}");
    let post = [ca_only.clone(), vec!["-X".into(), "POST".into()]].concat();
    assert_eq!(get(&collector, "/-/healthy", &post).await.code, 405);
}

#[tokio::test]
async fn a_certificate_of_another_ca_fails_the_handshake() {
    let pki = Pki::new();
    let collector = Collector::start_with_http(pki.settings()).await;
    let other = Pki::named("test");
    let mut args = tls_args(&other, Some((Role::Operator, "mallory")));
    args[1] = pki.path("ca.pem").display().to_string(); // trust the real server
    let answer = get(&collector, "/metrics", &args).await;
    assert_eq!(
        answer.code, 0,
        "no HTTP answer without a handshake: {answer:?}"
    );
}

#[tokio::test]
async fn openmetrics_is_served_when_asked_by_accept() {
    let pki = Pki::new();
    let collector = Collector::start_with_http(pki.settings()).await;
    let token = [tls_args(&pki, None), bearer(TOKEN)].concat();
    let plain = get(&collector, "/metrics", &token).await;
    assert_eq!(
        plain.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(!plain.body.contains("# EOF"), "{}", plain.body);
    assert!(
        plain
            .body
            .contains("# TYPE omswatch_reports_received_total counter")
    );
    let accept = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4";
    let om = [
        token.clone(),
        vec!["-H".into(), format!("Accept: {accept}")],
    ]
    .concat();
    let om = get(&collector, "/metrics", &om).await;
    assert_eq!(
        om.header("content-type").as_deref(),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(om.body.ends_with("# EOF\n"), "{}", om.body);
}

#[tokio::test]
async fn status_api_is_the_status_json_and_counters_follow_ingest() {
    let pki = Pki::new();
    let collector = Collector::start_with_http(pki.settings()).await;
    let node = pki.issue(Role::Node, "oms-a");
    let mut agent = Agent::open(
        channel(&pki, collector.addr, Some(&node))
            .await
            .expect("ch"),
    )
    .await
    .expect("stream");
    agent.send(report("oms-a", 1)).await.expect("ack");
    let token = [tls_args(&pki, None), bearer(TOKEN)].concat();
    let body = get(&collector, "/api/v1/status", &token).await.body;
    let grpc = status(
        channel(&pki, collector.addr, None).await.expect("ch"),
        Some(TOKEN),
    )
    .await
    .expect("grpc status");
    let rendered = omswatch_common::views::status_json::document(&grpc);
    assert_eq!(mask_times(&body), mask_times(&rendered));
    let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(doc["nodes"][0]["name"], "oms-a");
    let metrics = get(&collector, "/metrics", &token).await.body;
    assert!(
        metrics.contains("omswatch_reports_received_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("omswatch_agents_connected 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("omswatch_report_age_seconds{node=\"oms-a\"}"),
        "{metrics}"
    );
}

/// The document with its clock-dependent numbers blanked: two renderings a moment apart
/// differ only there (the diagnosis time and the ages, in whole seconds).
pub fn mask_times(json: &str) -> String {
    json.lines()
        .map(|line| {
            let key = line.trim_start().split(':').next().unwrap_or_default();
            match key {
                "\"generated_at_unix_ms\"" | "\"last_report_age_s\"" | "\"heartbeat_age_s\"" => {
                    format!("{key}: <time>")
                }
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn insecure_serves_plain_text_to_anyone_on_loopback() {
    let pki = Pki::new();
    let settings = Settings {
        insecure: true,
        ..pki.settings()
    };
    let collector = Collector::start_with_http(settings).await;
    let answer = curl::get(&url(&collector, "/metrics", false), &[])
        .await
        .expect("curl");
    assert_eq!(answer.code, 200, "{answer:?}");
}

#[tokio::test]
async fn hostile_requests_are_bounded_and_the_listener_keeps_serving() {
    let pki = Pki::new();
    let settings = Settings {
        insecure: true,
        ..pki.settings()
    };
    let collector = Collector::start_with_http(settings).await;
    let addr = collector.http.expect("http");
    let huge = vec!["-H".into(), format!("X-Big: {}", "a".repeat(64 * 1024))];
    let answer = curl::get(&url(&collector, "/-/healthy", false), &huge)
        .await
        .expect("curl");
    assert!(answer.code == 431 || answer.code == 0, "{answer:?}");
    let many: Vec<String> = (0..100)
        .flat_map(|i| ["-H".to_string(), format!("X-H{i}: v")])
        .collect();
    let answer = curl::get(&url(&collector, "/-/healthy", false), &many)
        .await
        .expect("curl");
    assert!(answer.code == 431 || answer.code == 0, "{answer:?}");
    // Garbage bytes and a connection that says nothing: neither disturbs the next request.
    use tokio::io::AsyncWriteExt;
    let mut garbage = tokio::net::TcpStream::connect(addr).await.expect("connect");
    garbage
        .write_all(b"\x16\x03\x01\x00\xffGARBAGE \r\n\r\n\0\0\0")
        .await
        .expect("write");
    let _silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let healthy = curl::get(&url(&collector, "/-/healthy", false), &[])
        .await
        .expect("curl");
    assert_eq!(healthy.code, 200, "{healthy:?}");
}
