//! `omswatch-collector`: receives agent reports, reads the OMS MetaDB and answers
//! `omswatch status`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use omswatch_collector::settings::{Overrides, Settings};

/// omswatch collector: cross-checks agent reports, OMS config.yaml files and the
/// OMS MetaDB, and serves the cluster's status over gRPC.
///
/// Settings come from defaults < --config file < environment < flags.
/// Example:
///   omswatch-collector --listen 0.0.0.0:9470 --oms-config /data/oms/config.yaml
#[derive(Debug, Parser)]
#[command(version, about, long_about = None, verbatim_doc_comment)]
struct Args {
    /// YAML file with the same keys as the flags (see --print-defaults).
    #[arg(long, env = "OMSWATCH_COLLECTOR_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address for agents and operators [default: 0.0.0.0:9470].
    #[arg(long, env = "OMSWATCH_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// An OMS config.yaml; repeat once per region.
    #[arg(
        long = "oms-config",
        env = "OMSWATCH_OMS_CONFIG",
        value_name = "PATH",
        value_delimiter = ','
    )]
    oms_configs: Vec<PathBuf>,
    /// How often config.yaml and the MetaDB are read, e.g. 5s [default: 5s].
    #[arg(long, env = "OMSWATCH_TICK", value_parser = humantime::parse_duration, value_name = "DURATION")]
    tick: Option<Duration>,
    /// Heartbeat age that counts as stale [default: 60s].
    #[arg(long, env = "OMSWATCH_HEARTBEAT_STALE", value_parser = humantime::parse_duration, value_name = "DURATION")]
    heartbeat_stale: Option<Duration>,
    /// Time limit for one MetaDB connect or query [default: 5s].
    #[arg(long, env = "OMSWATCH_METADB_TIMEOUT", value_parser = humantime::parse_duration, value_name = "DURATION")]
    metadb_timeout: Option<Duration>,
    /// Node clock vs MetaDB clock difference that counts as CLOCK_SKEW [default: 10s].
    #[arg(long, env = "OMSWATCH_CLOCK_SKEW", value_parser = humantime::parse_duration, value_name = "DURATION")]
    clock_skew: Option<Duration>,
    /// 5-minute load average per CPU above which LOAD_HIGH is raised [default: 2.0].
    #[arg(long, env = "OMSWATCH_LOAD_PER_CPU", value_name = "LOAD")]
    load_per_cpu: Option<f64>,
    /// Available memory (% of total) below which MEMORY_LOW is raised [default: 10].
    #[arg(long, env = "OMSWATCH_MEMORY_AVAILABLE_MIN_PCT", value_name = "PCT")]
    memory_available_min_pct: Option<f64>,
    /// Use (%) of a filesystem holding an OMS path above which DISK_LOW is raised [default: 90].
    #[arg(long, env = "OMSWATCH_DISK_USED_MAX_PCT", value_name = "PCT")]
    disk_used_max_pct: Option<f64>,
    /// Print the default settings as a --config file and exit.
    #[arg(long)]
    print_defaults: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.print_defaults {
        print!("{}", Settings::defaults_yaml());
        return Ok(());
    }
    omswatch_common::telemetry::init();
    let base = match &args.config {
        Some(path) => Settings::from_file(path)?,
        None => Settings::default(),
    };
    let overrides = Overrides {
        listen: args.listen,
        oms_configs: args.oms_configs,
        tick: args.tick,
        heartbeat_stale: args.heartbeat_stale,
        metadb_timeout: args.metadb_timeout,
        clock_skew: args.clock_skew,
        load_per_cpu: args.load_per_cpu,
        memory_available_min_pct: args.memory_available_min_pct,
        disk_used_max_pct: args.disk_used_max_pct,
    };
    let settings = Settings::merge(base, overrides)?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (in use? pass --listen ADDR)",
                settings.listen
            )
        })?;
    tracing::info!(configs = ?settings.oms_configs, tick = ?settings.tick, "starting collector");
    omswatch_collector::server::run(listener, settings, shutdown_signal()).await?;
    Ok(())
}

/// Completes on ctrl-c or SIGTERM (systemd, docker stop).
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}
