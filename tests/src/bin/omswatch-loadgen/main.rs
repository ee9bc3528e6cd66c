//! `scripts/bench-scale.sh`: N simulated agents against a real `omswatch-collector`
//! (plain-text loopback, its default SQLite store on) and, in the same run, against a bare
//! tonic server of the same proto that only acks (this binary with `--serve-bare`), each its
//! own process so /proc measures it alone.
//!
//! Per server: N agents connect over `--ramp`, report every `--interval` for `--duration`
//! (sent/acked per second, ack p50/p99/max, CPU per report, RSS per node); then the
//! collector's status is asked for through the CLI's client; then `--saturate` agents send as
//! fast as they are acked for `--saturate-for` (reports/s, CPU per report).
//!
//! Usage: `omswatch-loadgen [--agents N] [--interval 5s] [--size 2400] [--ramp 20s]
//! [--duration 30s] [--saturate 64] [--saturate-for 15s] [--only bare|collector]`.
//! Binaries come from `$OMSWATCH_BIN_DIR` (default: this binary's directory).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use omswatch_tests::loadgen::bare;
use omswatch_tests::tracked::TrackedChild;

mod run;

use run::{Options, Target};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, addr] = args.as_slice()
        && flag == "--serve-bare"
    {
        return serve_bare(addr);
    }
    let options = Options::parse(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(options))
}

fn serve_bare(addr: &str) -> anyhow::Result<()> {
    // Two workers, as the collector's runtime on this 2-core machine.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        bare::serve(listener).await
    })
}

async fn run(options: Options) -> anyhow::Result<()> {
    println!(
        "agents: {}, interval {:?}, report {} B, ramp {:?}, steady {:?}; saturation: {} agents for {:?}",
        options.agents,
        options.interval,
        options.size,
        options.ramp,
        options.duration,
        options.saturate,
        options.saturate_for
    );
    let mut outcomes = Vec::new();
    for target in options.targets() {
        let dir = tempfile::Builder::new().prefix("omswatch-loadgen-").tempdir()?;
        let (child, addr) = spawn(target, dir.path())?;
        wait_listening(&addr).await?;
        println!("\n## {}", target.name());
        let outcome = run::measure(target, &options, &addr, pid(&child)?).await?;
        outcomes.push(outcome);
        drop(child);
    }
    run::print_table(&outcomes);
    Ok(())
}

fn pid(child: &TrackedChild) -> anyhow::Result<u32> {
    child.id().context("the server exited")
}

/// Starts `target` on a free loopback port, its files in `dir`.
fn spawn(target: Target, dir: &std::path::Path) -> anyhow::Result<(TrackedChild, String)> {
    let addr = format!("127.0.0.1:{}", omswatch_tests::free_port()?);
    let log = std::fs::File::create(dir.join("server.log"))?;
    let mut command = match target {
        Target::Bare => {
            let mut c = tokio::process::Command::new(std::env::current_exe()?);
            c.args(["--serve-bare", &addr]);
            c
        }
        Target::Collector => {
            let mut c =
                tokio::process::Command::new(omswatch_tests::bins::bin_path("omswatch-collector")?);
            c.args(["--insecure", "--listen", &addr, "--http-listen", "off"])
                .arg("--store")
                .arg(dir.join("omswatch.db"))
                .arg("--oms-config")
                .arg(dir.join("config.yaml"))
                .args(["--max-connections", "30000", "--max-connections-per-peer", "30000"])
                .args(["--max-reports-per-second", "1000000", "--report-burst", "1000000"])
                .args(["--idle-grace", "120s"])
                .env("RUST_LOG", "warn");
            c
        }
    };
    command
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    Ok((TrackedChild::spawn(&mut command)?, addr))
}

async fn wait_listening(addr: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("nothing listens on {addr} after 20 s")
}
