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

use anyhow::Context;
use omswatch_tests::loadgen::{bare, server};
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
    server::raise_open_files_limit();
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
        let dir = tempfile::Builder::new()
            .prefix("omswatch-loadgen-")
            .tempdir()?;
        let (child, addr) = spawn(target, dir.path()).await?;
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
async fn spawn(target: Target, dir: &std::path::Path) -> anyhow::Result<(TrackedChild, String)> {
    match target {
        Target::Bare => server::bare(&std::env::current_exe()?, dir).await,
        Target::Collector => server::collector(dir).await,
    }
}
