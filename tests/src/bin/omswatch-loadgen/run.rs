//! One server's measurement and the table that compares them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use omswatch_common::proto::v1::StatusRequest;
use omswatch_common::proto::v1::query_client::QueryClient;
use omswatch_tests::loadgen::agents::{Pace, Swarm};
use omswatch_tests::loadgen::stats::{Tally, cpu_time, percentiles, rss_kib};
use tokio::sync::watch;

/// The servers measured, baseline first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The bare tonic server (`--serve-bare`).
    Bare,
    /// `omswatch-collector`.
    Collector,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Bare => "bare tonic server (acks only)",
            Target::Collector => "omswatch-collector (store on)",
        }
    }
}

/// The command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub agents: usize,
    pub interval: Duration,
    pub size: usize,
    pub ramp: Duration,
    pub duration: Duration,
    pub saturate: usize,
    pub saturate_for: Duration,
    pub only: Option<Target>,
}

impl Options {
    pub fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut o = Options {
            agents: 1000,
            interval: Duration::from_secs(5),
            size: 2400,
            ramp: Duration::from_secs(20),
            duration: Duration::from_secs(30),
            saturate: 64,
            saturate_for: Duration::from_secs(15),
            only: None,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().with_context(|| format!("{flag} needs a value"))?;
            let secs = || humantime_secs(value);
            match flag.as_str() {
                "--agents" => o.agents = value.parse()?,
                "--interval" => o.interval = secs()?,
                "--size" => o.size = value.parse()?,
                "--ramp" => o.ramp = secs()?,
                "--duration" => o.duration = secs()?,
                "--saturate" => o.saturate = value.parse()?,
                "--saturate-for" => o.saturate_for = secs()?,
                "--only" => {
                    o.only = Some(match value.as_str() {
                        "bare" => Target::Bare,
                        "collector" => Target::Collector,
                        _ => bail!("--only bare|collector"),
                    })
                }
                _ => bail!("unknown flag {flag} (see the module docs)"),
            }
        }
        Ok(o)
    }

    pub fn targets(&self) -> Vec<Target> {
        [Target::Bare, Target::Collector]
            .into_iter()
            .filter(|t| self.only.is_none_or(|o| o == *t))
            .collect()
    }
}

/// `30s`, `500ms`, `2m` or plain seconds.
fn humantime_secs(value: &str) -> anyhow::Result<Duration> {
    let (number, unit) = value
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((value, "s"), |i| value.split_at(i));
    let n: f64 = number
        .parse()
        .with_context(|| format!("not a duration: {value}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => bail!("not a duration: {value}"),
    };
    Ok(Duration::from_secs_f64(secs))
}

/// What one server did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub name: &'static str,
    pub acked_per_s: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub steady_cpu_per_report: Duration,
    pub rss_idle_kib: u64,
    pub rss_kib: u64,
    pub kib_per_node: f64,
    pub failed: u64,
    pub status: Option<(Duration, usize, usize)>,
    /// `omswatch status --format json`: wall time, exit code; and the table's lines.
    pub cli: Option<(Duration, i32, usize)>,
    pub saturation_per_s: f64,
    pub saturation_cpu_per_report: Duration,
}

/// Steady load, status, saturation, against the server at `addr` (process `pid`).
pub async fn measure(target: Target, o: &Options, addr: &str, pid: u32) -> anyhow::Result<Outcome> {
    let mut out = Outcome {
        name: target.name(),
        rss_idle_kib: rss_kib(pid)?,
        ..Outcome::default()
    };
    let url = format!("http://{addr}");
    steady(o, &url, pid, &mut out).await?;
    if target == Target::Collector {
        out.status = Some(status(&url, o.agents).await?);
        out.cli = cli_status(&url).await?;
    }
    saturate(o, &url, pid, &mut out).await?;
    Ok(out)
}

async fn steady(o: &Options, url: &str, pid: u32, out: &mut Outcome) -> anyhow::Result<()> {
    let tally = Arc::new(Tally::default());
    let (stop, stopped) = watch::channel(false);
    let swarm = Swarm {
        target: url.into(),
        agents: o.agents,
        first: 0,
        size: o.size,
        pace: Pace::Every(o.interval),
        ramp: o.ramp,
    };
    let mut set = swarm.start(&tally, &stopped);
    // Ramp, then one interval for every agent to have reported before the window opens.
    tick_for(&tally, o.ramp + o.interval).await;
    tally.take_latencies();
    let (cpu0, (_, acked0, _)) = (cpu_time(pid)?, tally.counts());
    let started = Instant::now();
    tick_for(&tally, o.duration).await;
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu1, (_, acked1, failed)) = (cpu_time(pid)?, tally.counts());
    out.rss_kib = rss_kib(pid)?;
    let acked = acked1 - acked0;
    out.acked_per_s = acked as f64 / elapsed;
    [out.p50, out.p99, out.max] = percentiles(tally.take_latencies());
    out.steady_cpu_per_report = (cpu1 - cpu0).div_f64(acked.max(1) as f64);
    out.kib_per_node = out.rss_kib.saturating_sub(out.rss_idle_kib) as f64 / o.agents.max(1) as f64;
    out.failed = failed;
    println!(
        "steady: {:.0} acks/s, ack p50 {:.1?} p99 {:.1?} max {:.1?}, CPU {:.1?}/report, RSS {} KiB (idle {}), {:.1} KiB/node, {failed} streams failed",
        out.acked_per_s,
        out.p50,
        out.p99,
        out.max,
        out.steady_cpu_per_report,
        out.rss_kib,
        out.rss_idle_kib,
        out.kib_per_node
    );
    let _ = stop.send(true);
    while set.join_next().await.is_some() {}
    Ok(())
}

async fn saturate(o: &Options, url: &str, pid: u32, out: &mut Outcome) -> anyhow::Result<()> {
    if o.saturate == 0 {
        return Ok(());
    }
    let tally = Arc::new(Tally::default());
    let (stop, stopped) = watch::channel(false);
    let swarm = Swarm {
        target: url.into(),
        agents: o.saturate,
        first: o.agents,
        size: o.size,
        pace: Pace::Saturate(4),
        ramp: Duration::from_millis(500),
    };
    let mut set = swarm.start(&tally, &stopped);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, (_, acked0, _)) = (cpu_time(pid)?, tally.counts());
    let started = Instant::now();
    tick_for(&tally, o.saturate_for).await;
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu1, (_, acked1, _)) = (cpu_time(pid)?, tally.counts());
    let acked = acked1 - acked0;
    out.saturation_per_s = acked as f64 / elapsed;
    out.saturation_cpu_per_report = (cpu1 - cpu0).div_f64(acked.max(1) as f64);
    println!(
        "saturation ({} agents): {:.0} reports/s, CPU {:.1?}/report",
        o.saturate, out.saturation_per_s, out.saturation_cpu_per_report
    );
    let _ = stop.send(true);
    while set.join_next().await.is_some() {}
    Ok(())
}

/// Prints sent/acked per second for `total`.
async fn tick_for(tally: &Tally, total: Duration) {
    let end = Instant::now() + total;
    let (mut sent, mut acked, _) = tally.counts();
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(1).min(end - Instant::now())).await;
        let (s, a, f) = tally.counts();
        println!(
            "  sent {:>6}/s  acked {:>6}/s  failed {f}",
            s - sent,
            a - acked
        );
        (sent, acked) = (s, a);
    }
}

/// `GetStatus` through a client with the CLI's decode limit: (time, bytes, nodes), best of 3.
async fn status(url: &str, agents: usize) -> anyhow::Result<(Duration, usize, usize)> {
    use prost::Message;
    let mut best = (Duration::MAX, 0, 0);
    for _ in 0..3 {
        let started = Instant::now();
        let channel = tonic::transport::Endpoint::from_shared(url.to_string())?
            .connect()
            .await?;
        let mut client = QueryClient::new(channel)
            .max_decoding_message_size(omswatch_common::proto::MAX_ANSWER_BYTES);
        let status = client
            .get_status(StatusRequest::default())
            .await?
            .into_inner();
        let took = started.elapsed();
        if took < best.0 {
            best = (took, status.encoded_len(), status.nodes.len());
        }
    }
    println!(
        "status (GetStatus, the CLI's client): {:.1?}, {} bytes, {} nodes of {agents}",
        best.0, best.1, best.2
    );
    Ok(best)
}

/// `omswatch status` run as an operator would, when the CLI is built: the JSON timed (best of
/// 3, wall time of the process) and the table's line count.
async fn cli_status(url: &str) -> anyhow::Result<Option<(Duration, i32, usize)>> {
    let Ok(cli) = omswatch_tests::bins::bin_path("omswatch") else {
        println!("(no omswatch binary: the CLI is not timed)");
        return Ok(None);
    };
    let run = |format: &'static str| {
        let mut c = tokio::process::Command::new(&cli);
        c.args([
            "status",
            "--insecure",
            "--timeout",
            "60s",
            "--format",
            format,
        ])
        .args(["--collector", url]);
        c
    };
    let mut best = (Duration::MAX, -1);
    for _ in 0..3 {
        let started = Instant::now();
        let out = run("json").output().await?;
        let took = started.elapsed();
        let code = out.status.code().unwrap_or(-1);
        if !(0..=2).contains(&code) {
            println!(
                "omswatch status --format json exited {code}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if took < best.0 {
            best = (took, code);
        }
    }
    let table = run("table").output().await?;
    let lines = String::from_utf8_lossy(&table.stdout).lines().count();
    println!(
        "omswatch status --format json: {:.1?} (exit {}); the table: {lines} lines",
        best.0, best.1
    );
    Ok(Some((best.0, best.1, lines)))
}

/// The comparison, collector against the bare server of the same run.
pub fn print_table(outcomes: &[Outcome]) {
    println!(
        "\n| server | acks/s | ack p50 | p99 | max | RSS KiB/node | CPU/report (steady) | saturation reports/s | CPU/report (saturated) | status |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for o in outcomes {
        let mut status = o.status.map_or("—".to_string(), |(t, b, n)| {
            format!("GetStatus {t:.0?}, {n} nodes, {:.1} MB", b as f64 / 1e6)
        });
        if let Some((t, code, lines)) = o.cli {
            status.push_str(&format!(
                "; `omswatch status --format json` {t:.0?} (exit {code}); table {lines} lines"
            ));
        }
        println!(
            "| {} | {:.0} | {:.1?} | {:.1?} | {:.1?} | {:.1} | {:.1?} | {:.0} | {:.1?} | {status} |",
            o.name,
            o.acked_per_s,
            o.p50,
            o.p99,
            o.max,
            o.kib_per_node,
            o.steady_cpu_per_report,
            o.saturation_per_s,
            o.saturation_cpu_per_report
        );
    }
    if let [bare, collector] = outcomes {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        println!(
            "\ncollector / bare: memory per node {:.2}x, CPU per report steady {:.2}x, saturated {:.2}x, saturation throughput {:.2}x",
            ratio(collector.kib_per_node, bare.kib_per_node),
            ratio(
                collector.steady_cpu_per_report.as_secs_f64(),
                bare.steady_cpu_per_report.as_secs_f64()
            ),
            ratio(
                collector.saturation_cpu_per_report.as_secs_f64(),
                bare.saturation_cpu_per_report.as_secs_f64()
            ),
            ratio(collector.saturation_per_s, bare.saturation_per_s),
        );
    }
}
