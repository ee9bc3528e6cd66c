//! The health probe against real HTTP servers on 127.0.0.1, each answering one canned response.

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::docker_init::{DockerInitLog, docker_init};
use super::*;

/// A raw HTTP/1.1 response.
fn response(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Serves `answer` to every `GET /oms/health` (404 to anything else) on 127.0.0.1; returns the
/// port. The server task ends with the test's runtime.
async fn serve(answer: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let reply = if request.starts_with(b"GET /oms/health HTTP/1.1\r\n") {
                answer.clone()
            } else {
                response("404 Not Found", "wrong path")
            };
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    port
}

/// A probe of the default URL (the port is given to `probe`), looking for docker_init in `log_dir`.
fn probe_on(log_dir: &Path) -> HealthProbe {
    HealthProbe::new(HealthSettings {
        docker_init_log_dir: log_dir.to_owned(),
        ..HealthSettings::default()
    })
}

#[tokio::test]
async fn healthy_json_on_the_nginx_port() {
    let logs = tempfile::tempdir().unwrap();
    std::fs::write(logs.path().join("docker_init.log.20240101"), "done").unwrap();
    let body = r#"{"success":true,"data":{"healthy":true,"components":[]}}"#;
    let port = serve(response("200 OK", body)).await;
    let health = probe_on(logs.path()).probe(port).await;
    assert_eq!(health.url, format!("http://127.0.0.1:{port}/oms/health"));
    assert!(
        health.probed && health.reachable && health.healthy,
        "{health:?}"
    );
    assert_eq!(health.http_status, 200);
    assert_eq!(health.error, "");
    assert!(health.docker_init_ran);
    assert_eq!(
        health.docker_init_evidence,
        logs.path()
            .join("docker_init.log.20240101")
            .display()
            .to_string()
    );
}

#[tokio::test]
async fn data_healthy_false() {
    let logs = tempfile::tempdir().unwrap();
    let body = r#"{"success":true,"data":{"healthy":false,"reason":"cm is down"}}"#;
    let port = serve(response("200 OK", body)).await;
    let health = probe_on(logs.path()).probe(port).await;
    assert!(health.reachable && !health.healthy, "{health:?}");
    assert_eq!(health.http_status, 200);
    assert!(
        health.error.starts_with("data.healthy is false: {") && health.error.contains("cm is down"),
        "{}",
        health.error
    );
    assert!(!health.docker_init_ran);
    assert_eq!(
        health.docker_init_evidence,
        format!("no docker_init.log* in {}", logs.path().display())
    );
}

#[tokio::test]
async fn http_500_quotes_at_most_200_chars_of_the_body() {
    let logs = tempfile::tempdir().unwrap();
    let body = format!("upstream\n  failed {}", "x".repeat(1000));
    let port = serve(response("500 Internal Server Error", &body)).await;
    let health = probe_on(logs.path()).probe(port).await;
    assert!(health.reachable && !health.healthy, "{health:?}");
    assert_eq!(health.http_status, 500);
    let excerpt = health.error.strip_prefix("answered HTTP 500: ").unwrap();
    assert!(excerpt.starts_with("upstream failed xxx"), "{excerpt}");
    assert_eq!(excerpt.chars().count(), 201, "200 characters and …");
}

#[tokio::test]
async fn non_json_body() {
    let logs = tempfile::tempdir().unwrap();
    let port = serve(response("200 OK", "<html>It works</html>")).await;
    let health = probe_on(logs.path()).probe(port).await;
    assert!(health.reachable && !health.healthy, "{health:?}");
    assert_eq!(health.http_status, 200);
    assert_eq!(health.error, "body is not JSON: <html>It works</html>");
}

#[tokio::test]
async fn connection_refused_is_unreachable_with_the_cause() {
    let logs = tempfile::tempdir().unwrap();
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let health = probe_on(logs.path()).probe(port).await;
    assert!(
        health.probed && !health.reachable && !health.healthy,
        "{health:?}"
    );
    assert_eq!(health.http_status, 0);
    let prefix = format!("cannot connect to http://127.0.0.1:{port}/oms/health: ");
    assert!(health.error.starts_with(&prefix), "{}", health.error);
    assert!(
        health.error.to_lowercase().contains("connection refused"),
        "{}",
        health.error
    );
}

#[tokio::test]
async fn silence_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/oms/health", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let conn = listener.accept().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(conn);
    });
    let probe = HealthProbe::new(HealthSettings {
        url: Some(url.clone()),
        timeout: Duration::from_millis(300),
        ..HealthSettings::default()
    });
    let health = probe.probe(8089).await;
    assert_eq!(health.url, url);
    assert!(!health.reachable, "{health:?}");
    assert_eq!(health.error, format!("no answer from {url} within 300ms"));
    held.abort();
}

#[tokio::test]
async fn disabled_probe_reports_not_probed() {
    let probe = HealthProbe::new(HealthSettings {
        enabled: false,
        ..HealthSettings::default()
    });
    assert_eq!(probe.probe(8089).await, OmsHealth::default());
}

#[tokio::test]
async fn bad_urls_are_explained() {
    for (url, reason) in [
        (
            "https://127.0.0.1:8089/oms/health",
            "only plain http:// is supported",
        ),
        ("127.0.0.1:8089", "must start with http://"),
        ("http://", "not a URL"),
        ("not a url at all", "not a URL"),
    ] {
        let probe = HealthProbe::new(HealthSettings {
            url: Some(url.into()),
            ..HealthSettings::default()
        });
        let health = probe.probe(8089).await;
        assert!(!health.reachable && health.probed, "{url}");
        assert!(health.error.contains(reason), "{url}: {}", health.error);
    }
}

#[test]
fn judging_odd_json() {
    let unhealthy = |body: &str| {
        judge(StatusCode::OK, body.as_bytes())
            .unwrap_err()
            .to_string()
    };
    assert!(unhealthy(r#"{"healthy":true}"#).starts_with("data.healthy is missing: "));
    assert!(
        unhealthy(r#"{"data":{"healthy":"true"}}"#)
            .starts_with("data.healthy is \"true\" (not true): ")
    );
    assert!(unhealthy("[1,2]").starts_with("data.healthy is missing"));
    assert_eq!(
        judge(StatusCode::NO_CONTENT, b"").unwrap_err().to_string(),
        "answered HTTP 204: (empty body)"
    );
    assert!(judge(StatusCode::OK, br#"{"data":{"healthy":true}}"#).is_ok());
    assert_eq!(excerpt(b"\xff\xfe ok"), "\u{fffd}\u{fffd} ok");
}

#[tokio::test]
async fn docker_init_log_seen_when_it_appears_and_gone_when_removed() {
    let dir = tempfile::tempdir().unwrap();
    let probe = DockerInitLog::new(dir.path().to_owned());
    assert!(!probe.probe().await.0);
    let log = dir.path().join("docker_init.log.1");
    std::fs::write(&log, "").unwrap();
    assert_eq!(probe.probe().await, (true, log.display().to_string()));
    std::fs::remove_file(&log).unwrap();
    assert!(!probe.probe().await.0);
}

#[tokio::test]
async fn docker_init_evidence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("docker_init.log.2"), "").unwrap();
    std::fs::write(dir.path().join("docker_init.log"), "").unwrap();
    std::fs::write(dir.path().join("supervisord.log"), "").unwrap();
    let (ran, evidence) = docker_init(dir.path());
    assert!(ran);
    assert_eq!(
        evidence,
        dir.path().join("docker_init.log").display().to_string()
    );

    let missing = dir.path().join("nope");
    let (ran, evidence) = docker_init(&missing);
    assert!(!ran);
    assert!(
        evidence.starts_with(&format!(
            "no docker_init.log* in {} (cannot list it: ",
            missing.display()
        )),
        "{evidence}"
    );
}
