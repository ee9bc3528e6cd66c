//! `omswatch-agent`: probes one OMS container and reports to the collector.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use clap::builder::BoolishValueParser;
use omswatch_agent::node_name;
use omswatch_agent::once;
use omswatch_agent::probe::health::{HealthProbe, HealthSettings};
use omswatch_agent::probe::identity::{IdentityProbe, IdentitySources, ProcessEnv};
use omswatch_agent::probe::node_config::ConfigProbe;
use omswatch_agent::probe::resources::{ResourceProbe, ResourceSources};
use omswatch_agent::probe::supervisor::{SupervisorProbe, SupervisorSettings};
use omswatch_agent::report::{Probes, Reporter};
use omswatch_agent::restart::Restarts;
use omswatch_agent::run::{self, Schedule};
use omswatch_agent::transport::{self, Transport, TransportFlags};
use omswatch_common::limits::MAX_DISKS;
use omswatch_common::secret::Secret;
use omswatch_common::telemetry::chain;
use omswatch_common::tls::ClientTlsFiles;

/// The allocator of the agent that ships (`--features mimalloc`, scripts/build-static-agent.sh):
/// musl's own malloc returns memory to the kernel eagerly, and the agent's CPU per probe was
/// 40% higher with it than with glibc's.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// omswatch agent: runs inside an OMS container (or beside it, sharing its
/// network and /proc), reads supervisord's program table, `hostname -i`,
/// OMS_HOST_IP, the node's config.yaml, load, memory, disk space and OMS's
/// health page, and streams them to omswatch-collector.
///
/// The connection is mutual TLS: the agent checks the collector's certificate
/// against --ca and presents its node certificate (`omswatch certs node`), whose
/// name is the node's name. Plain text needs --insecure, and a loopback collector.
///
/// Examples:
///   omswatch-agent --collector https://10.0.0.5:9470 --ca /etc/omswatch/ca.pem \
///       --cert /etc/omswatch/node-oms-1.pem --key /etc/omswatch/node-oms-1-key.pem
///   omswatch-agent --collector https://10.0.0.5:9470,https://10.0.0.6:9470 ...   (a pair)
///   omswatch-agent --collector http://127.0.0.1:9470 --insecure   (a trial on one host)
///   omswatch-agent --once      (this node's runbook answer, no collector; exit 0/1/2 as `omswatch status`)
///   omswatch-agent --once --oms-config /data/oms/config.yaml --disk-path /data/logs --no-health
#[derive(Debug, Parser)]
#[command(version, about, long_about = None, verbatim_doc_comment)]
struct Args {
    /// The collector's URL: https://HOST:9470, or http:// with --insecure. For a pair of
    /// collectors sharing one store, repeat the flag or comma-separate: the agent keeps one
    /// stream to each, and a dead collector never delays the reports to the other.
    #[arg(
        long = "collector",
        env = "OMSWATCH_COLLECTOR",
        value_name = "URL",
        value_delimiter = ','
    )]
    collectors: Vec<String>,
    /// The CA certificate (PEM) that signed the collector's certificate.
    #[arg(long, env = "OMSWATCH_CA", value_name = "FILE")]
    ca: Option<PathBuf>,
    /// This node's certificate (PEM, from `omswatch certs node`); it names the node.
    #[arg(long, env = "OMSWATCH_CERT", value_name = "FILE")]
    cert: Option<PathBuf>,
    /// This node's private key (PEM).
    #[arg(long, env = "OMSWATCH_KEY", value_name = "FILE")]
    key: Option<PathBuf>,
    /// Allow a plain-text http:// collector URL, on loopback only (for trials).
    #[arg(long, env = "OMSWATCH_INSECURE", value_parser = BoolishValueParser::new())]
    insecure: bool,
    /// With --insecure: allow plain text to a collector that is not on loopback.
    #[arg(long, env = "OMSWATCH_INSECURE_ALLOW_REMOTE", value_parser = BoolishValueParser::new())]
    insecure_allow_remote: bool,
    /// This node's name in the status; must match --cert's name when both are given
    /// [default: the name in --cert, else the host name].
    #[arg(long, env = "OMSWATCH_NODE", value_name = "NAME")]
    node: Option<String>,
    /// OMS region (cm_region) of this node, for multi-region clusters
    /// [default: cm_region of the --oms-config file].
    #[arg(long, env = "OMSWATCH_REGION")]
    region: Option<String>,
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
    // A Secret, so `Args`'s Debug cannot print it.
    #[arg(
        long,
        env = "OMSWATCH_SUPERVISOR_PASSWORD",
        hide_env_values = true,
        value_parser = secret
    )]
    supervisor_password: Option<Secret>,
    /// supervisorctl used when XML-RPC fails.
    #[arg(long, default_value = "supervisorctl")]
    supervisorctl: PathBuf,
    /// Where to read OMS_HOST_IP when the agent's own environment lacks it.
    #[arg(long, default_value = "/proc/1/environ", value_name = "PATH")]
    pid1_environ: PathBuf,
    /// The node's OMS config.yaml, reported with secrets as digests only; its
    /// cm_region and nginx_server_port are used too.
    #[arg(
        long,
        env = "OMSWATCH_OMS_CONFIG",
        value_name = "PATH",
        default_value = "/home/admin/conf/config.yaml"
    )]
    oms_config: PathBuf,
    /// A directory whose filesystem's size and free space are reported.
    /// Repeat for several; replaces the defaults. In the environment, comma-separated
    /// [default: /home/admin/logs, /home/ds/store, /home/ds/run].
    #[arg(
        long = "disk-path",
        env = "OMSWATCH_DISK_PATHS",
        value_name = "PATH",
        value_delimiter = ','
    )]
    disk_paths: Vec<PathBuf>,
    /// Where load, memory and CPUs are read (loadavg, meminfo, cpuinfo).
    #[arg(long, default_value = "/proc", value_name = "DIR")]
    proc_root: PathBuf,
    /// OMS's health page; healthy = HTTP 200 with JSON data.healthy true
    /// [default: http://127.0.0.1:<nginx_server_port of --oms-config, else 8089>/oms/health].
    #[arg(long, env = "OMSWATCH_HEALTH_URL", value_name = "URL")]
    health_url: Option<String>,
    /// Do not ask OMS's health page nor look for docker_init logs (reports say probed=false).
    #[arg(long)]
    no_health: bool,
    /// Where `bash /root/docker_init.sh` leaves docker_init.log*: its presence shows the
    /// container was initialised.
    #[arg(long, default_value = "/home/admin/logs", value_name = "DIR")]
    docker_init_log_dir: PathBuf,
    /// Probe once, print this node's runbook answer (programs, `hostname -i` vs OMS_HOST_IP,
    /// config.yaml, health, resources, and the findings they show, with fixes) and exit:
    /// 0 nothing above info, 1 warnings, 2 critical. No collector needed.
    #[arg(long)]
    once: bool,
    /// Let the collector restart this node's supervisord programs (`omswatch restart
    /// NODE PROGRAM`, audited there), as `supervisorctl restart` does. Off by default;
    /// the collector must allow it too (its --allow-restart).
    #[arg(long, env = "OMSWATCH_ALLOW_RESTART", value_parser = BoolishValueParser::new())]
    allow_restart: bool,
    /// With --allow-restart: the only programs that may be restarted (comma-separated
    /// or repeated); anything else is refused, and the agent itself always is.
    #[arg(
        long = "restart-programs",
        env = "OMSWATCH_RESTART_PROGRAMS",
        value_name = "NAMES",
        value_delimiter = ',',
        default_value = "nginx,oms_console,oms_drc_cm,oms_drc_supervisor"
    )]
    restart_programs: Vec<String>,
    /// With --once: table for people, or json for the report itself.
    #[arg(long, value_enum, default_value_t = once::Format::Table, requires = "once")]
    format: once::Format,
}

// One thread runs everything: the agent probes once a second and reports every few, so more
// worker threads would only add memory and wake-ups. What may block (a disk's statvfs, reading a
// changed file, resolving the host name) goes to tokio's blocking threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Args = once::parse_args();
    omswatch_common::telemetry::init_targets();
    let identity = IdentitySources {
        env: Arc::new(ProcessEnv),
        pid1_environ: args.pid1_environ.clone(),
        ..IdentitySources::default()
    };
    let cert_name = match args.cert.as_deref().map(node_name::from_certificate) {
        Some(found) => Some(found.map_err(|e| anyhow::anyhow!(chain(&e)))?),
        None => None,
    };
    let node = match node_name::choose(args.node.as_deref(), cert_name.as_ref())
        .map_err(|e| anyhow::anyhow!(chain(&e)))?
    {
        Some(name) => name,
        None => std::fs::read_to_string(&identity.hostname_file)
            .map(|h| h.trim().to_string())
            .context("cannot read the host name for the node name: pass --node NAME")?,
    };
    node_name::check(&node).map_err(|e| anyhow::anyhow!(chain(&e)))?;
    if args.disk_paths.len() > MAX_DISKS {
        anyhow::bail!(
            "{} --disk-path given; the collector accepts at most {MAX_DISKS} filesystems per report",
            args.disk_paths.len()
        );
    }
    let supervisor_settings = SupervisorSettings {
        url: args.supervisor.clone(),
        conf: args.supervisor_conf.clone(),
        username: args.supervisor_user.clone(),
        password: args
            .supervisor_password
            .as_ref()
            .map(|p| p.expose().to_string()),
        supervisorctl: args.supervisorctl.clone(),
        ..SupervisorSettings::default()
    };
    let supervisor = SupervisorProbe::new(supervisor_settings.clone());
    let interval_ms = u32::try_from(args.interval.as_millis()).unwrap_or(u32::MAX);
    let resources = ResourceProbe::new(if args.disk_paths.is_empty() {
        ResourceSources {
            proc_root: args.proc_root.clone(),
            ..ResourceSources::default()
        }
    } else {
        ResourceSources {
            proc_root: args.proc_root.clone(),
            disk_paths: args.disk_paths.clone(),
        }
    });
    let health = HealthProbe::new(HealthSettings {
        enabled: !args.no_health,
        url: args.health_url.clone(),
        docker_init_log_dir: args.docker_init_log_dir.clone(),
        ..HealthSettings::default()
    });
    let probes = Probes {
        identity: IdentityProbe::new(identity),
        supervisor,
        oms_config: ConfigProbe::new(args.oms_config.clone()),
        resources,
        health,
    };
    let region = args.region.clone().unwrap_or_default();
    let mut reporter = Reporter::new(node.clone(), region, interval_ms, probes);
    if args.once {
        once::exit(&reporter.build().await, args.format);
    }
    if args.collectors.is_empty() {
        anyhow::bail!(
            "no collector given: pass --collector https://HOST:9470 (with --ca, --cert, --key) or set OMSWATCH_COLLECTOR"
        );
    }
    let collectors = omswatch_common::collectors::parse_list(&args.collectors)?;
    let restarts = Restarts::from_flags(
        args.allow_restart,
        args.restart_programs.clone(),
        supervisor_settings,
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    reporter.restart_policy = Some(restarts.advertised());
    let mut schedules = Vec::with_capacity(collectors.len());
    for collector in collectors {
        let schedule = Schedule {
            transport: transport_for(&collector, &args)?,
            collector,
            interval: args.interval,
            probe_every: args.probe_every,
            backoff_cap: args.backoff_cap,
            // Clones share the memory of seen command ids: never run twice.
            restarts: restarts.clone(),
        };
        run::endpoint(&schedule).map_err(|e| anyhow::anyhow!("{e}"))?;
        schedules.push(schedule);
    }
    let tls = schedules
        .iter()
        .all(|s| matches!(s.transport, Transport::Tls(_)));
    let allow_restart = restarts.policy().allow;
    let restart_programs = restarts.policy().programs.join(",");
    let collector = schedules
        .iter()
        .map(|s| s.collector.as_str())
        .collect::<Vec<_>>()
        .join(",");
    tracing::info!(%node, %collector, tls, interval = ?args.interval, allow_restart, %restart_programs, "agent starting");
    run::run_all(
        reporter,
        schedules,
        omswatch_common::telemetry::shutdown_signal(),
    )
    .await;
    Ok(())
}

/// Parses `--supervisor-password` straight into a [`Secret`].
fn secret(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}

/// The transport the flags allow for `collector`, or why the agent must not start.
fn transport_for(collector: &str, args: &Args) -> anyhow::Result<Transport> {
    let flags = TransportFlags {
        tls: ClientTlsFiles {
            ca: args.ca.clone(),
            cert: args.cert.clone(),
            key: args.key.clone(),
        },
        insecure: args.insecure,
        insecure_allow_remote: args.insecure_allow_remote,
    };
    let transport = transport::check(collector, &flags)?;
    if matches!(transport, Transport::Plain) {
        if [&args.ca, &args.cert, &args.key]
            .iter()
            .any(|f| f.is_some())
        {
            tracing::warn!("--ca, --cert and --key are not used with an http:// collector URL");
        }
        tracing::warn!(%collector, "reporting in plain text (--insecure): use https:// outside trials");
    }
    Ok(transport)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_are_off_by_default_with_the_oms_programs() {
        let args = Args::parse_from(["omswatch-agent"]);
        assert!(!args.allow_restart);
        assert_eq!(
            args.restart_programs,
            omswatch_common::restart::DEFAULT_RESTART_PROGRAMS
        );
        let args = Args::parse_from([
            "omswatch-agent",
            "--allow-restart",
            "--restart-programs",
            "oms_console,nginx",
        ]);
        assert!(args.allow_restart);
        assert_eq!(args.restart_programs, ["oms_console", "nginx"]);
    }

    #[test]
    fn debug_of_the_arguments_hides_the_supervisor_password() {
        let args = Args::parse_from(["omswatch-agent", "--supervisor-password", "hunter2"]);
        assert!(!format!("{args:?}").contains("hunter2"));
        let password = args.supervisor_password.as_ref().map(Secret::expose);
        assert_eq!(password, Some("hunter2"));
    }

    #[test]
    fn the_shipped_supervisord_program_runs_the_installed_binary_with_valid_flags() {
        let ini = include_str!("../../deploy/omswatch-agent.ini");
        let command = ini
            .lines()
            .find_map(|line| line.strip_prefix("command="))
            .expect("a command= line");
        let words: Vec<&str> = command.split_whitespace().collect();
        // Where the RPM installs it, and where deploy/README.md copies it.
        assert_eq!(words.first(), Some(&"/usr/bin/omswatch-agent"));
        let rpm = include_str!("../Cargo.toml");
        assert!(rpm.contains(r#"dest = "/usr/bin/omswatch-agent""#));
        let args = Args::try_parse_from(&words).expect("the flags of deploy/omswatch-agent.ini");
        assert!(!args.collectors.is_empty() && args.ca.is_some());
        assert!(args.cert.is_some() && args.key.is_some());
    }

    #[test]
    fn collectors_repeat_or_comma_separate() {
        let args = Args::parse_from([
            "omswatch-agent",
            "--collector",
            "https://a:9470,https://b:9470",
        ]);
        assert_eq!(args.collectors, ["https://a:9470", "https://b:9470"]);
        let args = Args::parse_from([
            "omswatch-agent",
            "--collector",
            "https://a:9470",
            "--collector",
            "https://b:9470",
        ]);
        assert_eq!(args.collectors, ["https://a:9470", "https://b:9470"]);
    }
}
