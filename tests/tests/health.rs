//! Issue 7, standard health: the real collector over mutual TLS, asked by a client written
//! elsewhere (Python grpcio with grpcio-health-checking and grpcio-reflection from PyPI,
//! `tests/fixtures/health_client.py`): SERVING for the server and both omswatch services,
//! reflection listing both services to an operator and refused without credentials, and
//! NOT_SERVING seen by a watcher while the collector drains after SIGTERM.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use omswatch_tests::require_program;
use omswatch_tests::standalone::Standalone;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

type Result = anyhow::Result<()>;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/health_client.py")
}

/// `python3 health_client.py MODE` against `collector`, as the operator when `operator`.
async fn client(collector: &Standalone, mode: &str, operator: bool) -> anyhow::Result<Command> {
    let python = require_program("python3", "python3")?;
    let modules = Command::new(&python)
        .args(["-c", "import grpc, grpc_health.v1, grpc_reflection.v1alpha"])
        .output()
        .await?;
    if !modules.status.success() {
        bail!(
            "the Python gRPC packages are missing ({}): run scripts/prereqs.sh, or \
             `python3 -m pip install grpcio grpcio-health-checking grpcio-reflection`",
            String::from_utf8_lossy(&modules.stderr).trim()
        );
    }
    let mut command = Command::new(python);
    command
        .arg(fixture())
        .arg(mode)
        .args(["--target", &collector.addr])
        .arg("--ca")
        .arg(&collector.pki.ca);
    if operator {
        let files = &collector.pki.operator;
        command
            .arg("--cert")
            .arg(&files.cert)
            .arg("--key")
            .arg(&files.key);
    }
    command.kill_on_drop(true);
    Ok(command)
}

/// Runs `check` until every service is SERVING (the state loads right after start); returns
/// the client's JSON answer.
async fn serving(collector: &Standalone, operator: bool) -> anyhow::Result<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = client(collector, "check", operator).await?.output().await?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let answer: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_default();
        let health = &answer["health"];
        let all = ["", "omswatch.v1.Reporting", "omswatch.v1.Query"]
            .iter()
            .all(|s| health[s] == "SERVING");
        if out.status.success() && all {
            return Ok(answer);
        }
        if Instant::now() > deadline {
            bail!(
                "never SERVING: {text}\n{}\n{}",
                String::from_utf8_lossy(&out.stderr),
                collector.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_python_grpc_client_gets_serving_and_reflection_lists_both_services() -> Result {
    let collector = Standalone::start(&[]).await?;

    let operator = serving(&collector, true).await?;
    let services: Vec<&str> = operator["services"]
        .as_array()
        .with_context(|| format!("no services listed: {operator}"))?
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    for wanted in [
        "omswatch.v1.Query",
        "omswatch.v1.Reporting",
        "grpc.health.v1.Health",
    ] {
        assert!(services.contains(&wanted), "{wanted} not in {services:?}");
    }

    // A probe without any client certificate: health answers, reflection does not.
    let anonymous = serving(&collector, false).await?;
    assert_eq!(
        anonymous["reflection_error"], "UNAUTHENTICATED",
        "{anonymous}"
    );
    assert!(anonymous.get("services").is_none(), "{anonymous}");
    Ok(())
}

#[tokio::test]
async fn a_watcher_sees_not_serving_while_the_collector_drains() -> Result {
    let mut collector = Standalone::start(&[]).await?;
    serving(&collector, false).await?;
    let mut watcher = client(&collector, "watch", false)
        .await?
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = watcher.stdout.take().context("watcher stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let wait = Duration::from_secs(20);
    while seen.last().map(String::as_str) != Some("SERVING") {
        let line = tokio::time::timeout(wait, lines.next_line())
            .await
            .context("no SERVING from the watch")??;
        seen.push(line.context("the watch ended before SERVING")?);
    }

    let pid = collector.pid()?;
    let stopped_at = Instant::now();
    std::process::Command::new("kill")
        .args(["-s", "TERM", &pid.to_string()])
        .status()?;
    while let Some(line) = tokio::time::timeout(wait, lines.next_line())
        .await
        .context("the watch hung")??
    {
        seen.push(line);
    }
    let after: Vec<&str> = seen
        .iter()
        .skip_while(|l| *l != "SERVING")
        .skip(1)
        .map(String::as_str)
        .collect();
    assert_eq!(
        after,
        ["NOT_SERVING", "END OK"],
        "{seen:?}\n{}",
        collector.log()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let exited = loop {
        match collector.child.try_wait()? {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => break None,
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert!(
        matches!(exited, Some(status) if status.success()),
        "the collector did not exit cleanly after SIGTERM: {exited:?}\n{}",
        collector.log()
    );
    // The ended watch did not hold the drain up to its timeout (5 s).
    eprintln!("collector exited {:?} after SIGTERM", stopped_at.elapsed());
    assert!(
        collector.log().contains("health NOT_SERVING"),
        "{}",
        collector.log()
    );
    Ok(())
}
