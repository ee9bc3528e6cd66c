//! `scripts/bench-check.sh`: how long `omswatch check` takes to answer on the
//! two-region deployment of `omswatch_tests::deployment` (real mariadbd, five
//! servers, every kind of mistake), against a baseline measured in the same run:
//! the same queries typed into the `mariadb` client (the runbook's steps 4 and 5
//! by hand, in one client call). Then the same with the MetaDB down.
//!
//! Usage: `omswatch-bench-check [ROUNDS]` (default 20). Prints medians and ratios.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use omswatch_tests::cluster::{CM_DB, META_PASSWORD, META_USER, heartbeat_db};
use omswatch_tests::deployment::Deployment;
use omswatch_tests::require_program;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().context("ROUNDS must be a number")?,
        None => 20,
    };
    let mut deployment = Deployment::start().await?;
    let client = require_program("mariadb", "mariadb-client")?;
    let by_hand = || by_hand(&client, deployment.db.port());
    for _ in 0..2 {
        deployment.check(&[]).await?; // warm the page cache and MariaDB's
        by_hand().await?;
    }
    let (mut check, mut baseline) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let run = deployment.check(&[]).await?;
        ensure!(run.code == 2, "omswatch check exited {}: {run:?}", run.code);
        check.push(run.elapsed);
        baseline.push(by_hand().await?);
    }
    deployment.db.stop().await?;
    let mut down = Vec::new();
    for _ in 0..rounds {
        let run = deployment.check(&["--metadb-timeout", "5s"]).await?;
        ensure!(run.stdout.contains("METADB_UNREACHABLE"), "{run:?}");
        down.push(run.elapsed);
    }
    let base = median(&mut baseline);
    println!("rounds: {rounds} (medians; wall time of the whole process)");
    println!("| run | median | min–max | × baseline |\n|---|---:|---:|---:|");
    for (name, times) in [
        (
            "`mariadb` client, the same 6 queries (baseline)",
            &mut baseline,
        ),
        ("`omswatch check`, 2 regions", &mut check),
        ("`omswatch check`, MetaDB down", &mut down),
    ] {
        let m = median(times);
        let (lo, hi) = (times[0], times[times.len() - 1]);
        println!(
            "| {name} | {m:.1?} | {lo:.1?}–{hi:.1?} | {:.2} |",
            m.as_secs_f64() / base.as_secs_f64()
        );
    }
    Ok(())
}

/// Sorts `times` and returns the middle one.
fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The reader's queries for both regions, in one `mariadb` client call.
async fn by_hand(client: &std::path::Path, port: u16) -> anyhow::Result<Duration> {
    let mut sql = String::new();
    for r in 0..2 {
        sql.push_str(&format!(
            "SELECT CAST(ip AS CHAR), CAST(host_status AS CHAR) FROM `{CM_DB}`.`host`; \
             SELECT CAST(host_ip AS CHAR), TIMESTAMPDIFF(SECOND, gmt_modified, NOW()) \
             FROM `{}`.`heart_beat` WHERE task_name = 'supervisor'; \
             SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED); ",
            heartbeat_db(r)
        ));
    }
    let started = Instant::now();
    let status = tokio::process::Command::new(client)
        .args([
            "--no-defaults",
            "-h",
            "127.0.0.1",
            "-P",
            &port.to_string(),
            "-u",
            META_USER,
        ])
        .args(["-N", "-e", &sql])
        .env("MYSQL_PWD", META_PASSWORD)
        .stdout(Stdio::null())
        .status()
        .await?;
    let elapsed = started.elapsed();
    ensure!(status.success(), "the mariadb client failed: {status}");
    Ok(elapsed)
}
