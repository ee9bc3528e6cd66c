//! `omswatch-agent`: probes one OMS container and reports to the collector.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use omswatch_agent::probe::identity::{IdentitySources, ProcessEnv};
use omswatch_agent::probe::supervisor::{SupervisorProbe, SupervisorSettings};
use omswatch_agent::report::Reporter;
use omswatch_agent::run::{Schedule, run};

/// omswatch agent: runs inside an OMS container (or beside it, sharing its
/// network and /proc), reads supervisord's program table, `hostname -i` and
/// OMS_HOST_IP, and streams them to omswatch-collector.
///
/// Example:
///   omswatch-agent --collector http://10.0.0.5:9470
///   omswatch-agent --collector http://10.0.0.5:9470 --supervisor unix:///tmp/supervisor.sock --once
#[derive(Debug, Parser)]
#[command(version, about, long_about = None, verbatim_doc_comment)]
struct Args {
    /// The collector's URL.
    #[arg(long, env = "OMSWATCH_COLLECTOR", value_name = "URL")]
    collector: Option<String>,
    /// This node's name in the status [default: the host name].
    #[arg(long, env = "OMSWATCH_NODE", value_name = "NAME")]
    node: Option<String>,
    /// OMS region (cm_region) of this node, for multi-region clusters.
    #[arg(long, env = "OMSWATCH_REGION", default_value = "")]
    region: String,
    /// Send a report at least this often; the collector calls the node silent after 3.
    #[arg(long, env = "OMSWATCH_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// Probe this often, reporting at once when something changed.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    probe_every: Duration,
    /// Longest wait between reconnect attempts (jittered, exponential from 0.5s).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    backoff_cap: Duration,
    /// supervisord URL (unix:///tmp/supervisor.sock or http://127.0.0.1:9001)
    /// [default: read from supervisord.conf].
    #[arg(long, env = "OMSWATCH_SUPERVISOR_URL", value_name = "URL")]
    supervisor: Option<String>,
    /// supervisord.conf to read [default: /etc/supervisor/supervisord.conf,
    /// /etc/supervisord.conf, /etc/supervisor.conf, first found].
    #[arg(long, env = "OMSWATCH_SUPERVISOR_CONF", value_name = "PATH")]
    supervisor_conf: Option<PathBuf>,
    /// supervisord HTTP user [default: from supervisord.conf].
    #[arg(long, env = "OMSWATCH_SUPERVISOR_USER")]
    supervisor_user: Option<String>,
    /// supervisord HTTP password [default: from supervisord.conf]. Prefer the
    /// environment variable over the flag: flags show in `ps`.
    #[arg(long, env = "OMSWATCH_SUPERVISOR_PASSWORD", hide_env_values = true)]
    supervisor_password: Option<String>,
    /// supervisorctl used when XML-RPC fails.
    #[arg(long, default_value = "supervisorctl")]
    supervisorctl: PathBuf,
    /// Where to read OMS_HOST_IP when the agent's own environment lacks it.
    #[arg(long, default_value = "/proc/1/environ", value_name = "PATH")]
    pid1_environ: PathBuf,
    /// Probe once, print the report and exit (for checking a node by hand).
    #[arg(long)]
    once: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    omswatch_common::telemetry::init();
    let identity = IdentitySources {
        env: Arc::new(ProcessEnv),
        pid1_environ: args.pid1_environ.clone(),
        ..IdentitySources::default()
    };
    let node = match &args.node {
        Some(n) if !n.trim().is_empty() => n.trim().to_string(),
        _ => std::fs::read_to_string(&identity.hostname_file)
            .map(|h| h.trim().to_string())
            .context("cannot read the host name for the node name: pass --node NAME")?,
    };
    let supervisor = SupervisorProbe::new(SupervisorSettings {
        url: args.supervisor.clone(),
        conf: args.supervisor_conf.clone(),
        username: args.supervisor_user.clone(),
        password: args.supervisor_password.clone(),
        supervisorctl: args.supervisorctl.clone(),
        ..SupervisorSettings::default()
    });
    let interval_ms = u32::try_from(args.interval.as_millis()).unwrap_or(u32::MAX);
    let mut reporter = Reporter::new(
        node.clone(),
        args.region.clone(),
        interval_ms,
        identity,
        supervisor,
    );
    if args.once {
        println!("{:#?}", reporter.build().await);
        return Ok(());
    }
    let collector = args.collector.context(
        "no collector given: pass --collector http://HOST:9470 or set OMSWATCH_COLLECTOR",
    )?;
    tracing::info!(%node, %collector, interval = ?args.interval, "agent starting");
    let schedule = Schedule {
        collector,
        interval: args.interval,
        probe_every: args.probe_every,
        backoff_cap: args.backoff_cap,
    };
    run(reporter, schedule, shutdown_signal()).await;
    Ok(())
}

/// Completes on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return tokio::signal::ctrl_c().await.unwrap_or(()),
    };
    tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term.recv() => {} }
}
