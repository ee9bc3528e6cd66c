//! `omswatch-collector`: receives agent reports, reads the OMS MetaDB and answers
//! `omswatch status`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use omswatch_collector::settings::{HttpListen, MetaDbTlsMode, Overrides, Settings};

/// omswatch collector: cross-checks agent reports, OMS config.yaml files and the
/// OMS MetaDB, and serves the cluster's status over gRPC.
///
/// Settings come from defaults < --config file < environment < flags.
/// Mutual TLS is the default: agents present node certificates, operators an
/// operator certificate or a bearer token (--token-file). Mint the certificates with
/// `omswatch certs ca|collector|node|operator --dir /etc/omswatch/pki ...`.
///
/// Example:
///   omswatch-collector --oms-config /data/oms/config.yaml \
///     --tls-cert /etc/omswatch/pki/collector-omswatch.pem \
///     --tls-key /etc/omswatch/pki/collector-omswatch-key.pem \
///     --client-ca /etc/omswatch/pki/ca.pem --token-file /etc/omswatch/tokens
/// Prometheus scrapes https://<host>:9471/metrics (see deploy/README.md;
/// --http-listen 0.0.0.0:9471 to reach it from another host).
/// Trial on one machine, plain text on loopback only:
///   omswatch-collector --insecure --listen 127.0.0.1:9470 --oms-config ./config.yaml
#[derive(Debug, Parser)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// YAML file with the same keys as the flags (see --print-defaults).
    #[arg(long, env = "OMSWATCH_COLLECTOR_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address for agents and operators [default: 0.0.0.0:9470].
    #[arg(long, env = "OMSWATCH_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// HTTP listener for Prometheus (/metrics), scripts (/api/v1/status) and
    /// health checks (/-/healthy, /-/ready); TLS with --tls-cert unless --insecure;
    /// `off` disables it [default: 127.0.0.1:9471].
    #[arg(long, env = "OMSWATCH_HTTP_LISTEN", value_name = "ADDR|off")]
    http_listen: Option<HttpListen>,
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
    /// The collector's TLS certificate (PEM); it must name the address agents dial.
    #[arg(long, env = "OMSWATCH_TLS_CERT", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert; keep it mode 0600.
    #[arg(long, env = "OMSWATCH_TLS_KEY", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// CA certificate (PEM) that agents' node certificates and operators'
    /// certificates must be signed by; others fail the TLS handshake.
    #[arg(long, env = "OMSWATCH_CLIENT_CA", value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// Operator bearer tokens, one per line (blank and # lines ignored, at least
    /// 16 characters each, e.g. `openssl rand -hex 32`), optionally named and
    /// scoped: `TOKEN name=ci scopes=read,restart` (a bare line is read-only);
    /// re-read when it changes.
    #[arg(long, env = "OMSWATCH_TOKEN_FILE", value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Where every node's last report and the timeline are kept across restarts:
    /// an SQLite file (sqlite:///path/omswatch.db or a plain path; one collector
    /// per file), or mysql://USER@HOST:PORT/DB (MySQL, MariaDB, OceanBase; may be
    /// shared by two collectors; TLS with ?ssl-mode=verify_identity&ssl-ca=FILE).
    /// Never put a password in the URL: see --store-password-file
    /// [default: /var/lib/omswatch/omswatch.db as root, else
    /// $XDG_STATE_HOME/omswatch/omswatch.db or ~/.local/state/omswatch/omswatch.db].
    #[arg(long, env = "OMSWATCH_STORE", value_name = "URL")]
    store: Option<String>,
    /// File whose first line is the password of a mysql:// store (mode 0600).
    /// The environment variable OMSWATCH_STORE_PASSWORD is the alternative; there
    /// is deliberately no flag taking the password itself.
    #[arg(long, env = "OMSWATCH_STORE_PASSWORD_FILE", value_name = "FILE")]
    store_password_file: Option<PathBuf>,
    /// How long timeline events are kept, e.g. 30d or 90d [default: 30days].
    #[arg(long, env = "OMSWATCH_RETENTION", value_parser = humantime::parse_duration, value_name = "DURATION")]
    retention: Option<Duration>,
    /// Deprecated: a state file of an older collector. Its nodes are imported
    /// into the store once; it is then neither read nor written (remove it).
    #[arg(long, env = "OMSWATCH_STATE_FILE", value_name = "FILE")]
    state_file: Option<PathBuf>,
    /// Serve plain-text gRPC with no authentication: anyone who connects may
    /// report as any node and read the status. Loopback --listen only, unless
    /// --insecure-allow-remote is given too.
    #[arg(long, env = "OMSWATCH_INSECURE")]
    insecure: bool,
    /// With --insecure, allow a non-loopback --listen address anyway.
    #[arg(long, env = "OMSWATCH_INSECURE_ALLOW_REMOTE")]
    insecure_allow_remote: bool,
    /// Let operators restart supervisord programs through the agents
    /// (`omswatch restart NODE PROGRAM`, POST /api/v1/restart). Each agent must
    /// allow it too (omswatch-agent --allow-restart); callers need an operator
    /// certificate or a token granted `scopes=read,restart` in --token-file.
    /// Every request, refusal and outcome is recorded in the timeline.
    #[arg(long, env = "OMSWATCH_ALLOW_RESTART")]
    allow_restart: bool,
    /// Largest gRPC message accepted from a peer, bytes [default: 1048576].
    #[arg(long, env = "OMSWATCH_MAX_MESSAGE_BYTES", value_name = "BYTES")]
    max_message_bytes: Option<usize>,
    /// Reports per second one agent stream may send; faster streams are ended
    /// with RESOURCE_EXHAUSTED [default: 5].
    #[arg(long, env = "OMSWATCH_MAX_REPORTS_PER_SECOND", value_name = "RATE")]
    max_reports_per_second: Option<f64>,
    /// Reports one agent stream may send at once above that rate [default: 10].
    #[arg(long, env = "OMSWATCH_REPORT_BURST", value_name = "N")]
    report_burst: Option<u32>,
    /// Close a connection that made no authorised call (an agent's stream, an
    /// operator's query; health checks do not count) this long after it was
    /// accepted, e.g. 10s [default: 10s].
    #[arg(long, env = "OMSWATCH_IDLE_GRACE", value_parser = humantime::parse_duration, value_name = "DURATION")]
    idle_grace: Option<Duration>,
    /// Connections open at once, TLS handshakes included; more are closed at
    /// once and logged (rate-limited) [default: 4096].
    #[arg(long, env = "OMSWATCH_MAX_CONNECTIONS", value_name = "N")]
    max_connections: Option<usize>,
    /// Connections open at once from one IP address; raise it when agents
    /// reach the collector through a proxy or NAT [default: 64].
    #[arg(long, env = "OMSWATCH_MAX_CONNECTIONS_PER_PEER", value_name = "N")]
    max_connections_per_peer: Option<usize>,
    /// TLS to the MetaDB: disable, preferred, required, verify_ca or
    /// verify_identity [default: preferred].
    #[arg(long, env = "OMSWATCH_METADB_TLS_MODE", value_name = "MODE")]
    metadb_tls_mode: Option<MetaDbTlsMode>,
    /// CA certificate (PEM) of the MetaDB's certificate, for the verify modes
    /// (without it they use the public web PKI roots).
    #[arg(long, env = "OMSWATCH_METADB_TLS_CA", value_name = "FILE")]
    metadb_tls_ca: Option<PathBuf>,
    /// The `cluster` label of alerts pushed to Alertmanager [default: the first
    /// region's cm_region, or omswatch].
    #[arg(long, env = "OMSWATCH_CLUSTER_NAME", value_name = "NAME")]
    cluster_name: Option<String>,
    /// Push every active finding as an alert to this Alertmanager (API v2; its base
    /// URL, e.g. http://alertmanager:9093); repeat for each member of an
    /// Alertmanager cluster. Alerts are re-sent every 30s while active and sent
    /// resolved once cleared; labels alertname (the code), severity, node, region,
    /// cluster, id, root; annotations summary and remedy (see deploy/README.md).
    #[arg(
        long = "alertmanager",
        env = "OMSWATCH_ALERTMANAGER",
        value_name = "URL",
        value_delimiter = ','
    )]
    alertmanagers: Vec<String>,
    /// CA certificate (PEM) of the Alertmanagers' HTTPS certificates
    /// [default: the system's roots].
    #[arg(long, env = "OMSWATCH_ALERTMANAGER_CA", value_name = "FILE")]
    alertmanager_ca: Option<PathBuf>,
    /// File whose first line is a bearer token for the Alertmanagers (mode 0600).
    #[arg(long, env = "OMSWATCH_ALERTMANAGER_TOKEN_FILE", value_name = "FILE")]
    alertmanager_token_file: Option<PathBuf>,
    /// POST every timeline event (finding raised or cleared, node state change,
    /// collector start or stop) to this URL as JSON, at least once: queued in the
    /// store, retried with backoff up to 5 min apart, kept across restarts; the
    /// event's id is the Idempotency-Key. Repeat for several receivers. The URL may
    /// hold a token; it is never logged (docs/WEBHOOKS.md).
    #[arg(long = "webhook", env = "OMSWATCH_WEBHOOK", value_name = "URL")]
    webhooks: Vec<String>,
    /// CA certificate (PEM) of the webhook receivers' HTTPS certificates
    /// [default: the system's roots].
    #[arg(long, env = "OMSWATCH_WEBHOOK_CA", value_name = "FILE")]
    webhook_ca: Option<PathBuf>,
    /// File whose first line is a secret: each webhook request is then signed
    /// (X-Omswatch-Signature: sha256=HMAC-SHA256 of "<timestamp>.<body>") (mode 0600).
    #[arg(long, env = "OMSWATCH_WEBHOOK_SECRET_FILE", value_name = "FILE")]
    webhook_secret_file: Option<PathBuf>,
    /// Print the default settings as a --config file and exit.
    #[arg(long)]
    print_defaults: bool,
}

/// Feature `mimalloc` (the shipped and benchmarked builds): each report is decoded into many
/// small allocations by its stream's task and freed on the aggregator's when the next one
/// replaces it; glibc's malloc spent a third of the collector's CPU on that at saturation.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// File descriptors kept for everything but client connections: the listener, MetaDB
/// connections, config and state files, the runtime's own.
const RESERVED_FDS: u64 = 64;

/// Raises the open-files limit as far as allowed, and warns when `max_connections` would still
/// run out of file descriptors before it is reached.
fn open_files_room(max_connections: usize) {
    let Some(limit) = omswatch_collector::listener::raise_open_files_limit() else {
        return; // unlimited
    };
    let needed = max_connections as u64 + RESERVED_FDS;
    if limit < needed {
        tracing::warn!(
            limit,
            max_connections,
            "the open-files limit is below max_connections + {RESERVED_FDS}: set LimitNOFILE (systemd) or ulimit -n to at least {needed}, or lower max_connections"
        );
    } else {
        tracing::debug!(limit, "open-files limit");
    }
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
        http_listen: args.http_listen,
        oms_configs: args.oms_configs,
        tick: args.tick,
        heartbeat_stale: args.heartbeat_stale,
        metadb_timeout: args.metadb_timeout,
        clock_skew: args.clock_skew,
        load_per_cpu: args.load_per_cpu,
        memory_available_min_pct: args.memory_available_min_pct,
        disk_used_max_pct: args.disk_used_max_pct,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        client_ca: args.client_ca,
        token_file: args.token_file,
        state_file: args.state_file,
        store: args.store,
        store_password_file: args.store_password_file,
        store_password: std::env::var("OMSWATCH_STORE_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty())
            .map(omswatch_common::secret::Secret::new),
        retention: args.retention,
        insecure: args.insecure,
        insecure_allow_remote: args.insecure_allow_remote,
        allow_restart: args.allow_restart,
        max_message_bytes: args.max_message_bytes,
        max_reports_per_second: args.max_reports_per_second,
        report_burst: args.report_burst,
        idle_grace: args.idle_grace,
        max_connections: args.max_connections,
        max_connections_per_peer: args.max_connections_per_peer,
        metadb_tls_mode: args.metadb_tls_mode,
        metadb_tls_ca: args.metadb_tls_ca,
        cluster_name: args.cluster_name,
        alertmanagers: args.alertmanagers,
        alertmanager_ca: args.alertmanager_ca,
        alertmanager_token_file: args.alertmanager_token_file,
        webhooks: args.webhooks,
        webhook_ca: args.webhook_ca,
        webhook_secret_file: args.webhook_secret_file,
    };
    let settings = Settings::merge(base, overrides)?;
    open_files_room(settings.max_connections);
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (in use? pass --listen ADDR)",
                settings.listen
            )
        })?;
    tracing::info!(configs = ?settings.oms_configs, tick = ?settings.tick, "starting collector");
    omswatch_collector::server::run(
        listener,
        settings,
        omswatch_common::telemetry::shutdown_signal(),
    )
    .await?;
    Ok(())
}
