//! `omswatch`: the operator's command. `omswatch status` answers "what is wrong
//! with my OMS cluster, and what do I do" in one call to the collector;
//! `omswatch check` answers its cluster-wide half with nothing deployed;
//! `omswatch bundle` packs everything OMS support asks for into one file;
//! `omswatch restart` restarts a program through its node's agent, audited;
//! `omswatch certs` mints the certificates of mutual TLS. The pieces (how the
//! CLI reaches the collector, the views, the bundle archive) live in the
//! `omswatch_cli` library beside this file.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Parser, Subcommand};
use omswatch_cli::bundle_archive::{self, Meta, output, tar_gz};
use omswatch_cli::certs::{self, CertsCommand};
use omswatch_cli::check::{self, CheckOptions};
use omswatch_cli::connect::{ConnectArgs, Connection, client};
use omswatch_cli::failover::{self, Failure, FailureKind, Repeat};
use omswatch_cli::failure;
use omswatch_cli::history;
use omswatch_cli::restart;
use omswatch_cli::views::table::Rows;
use omswatch_cli::views::{self, Format};
use omswatch_common::proto::v1::{Bundle, BundleRequest, ForgetNodeRequest, StatusRequest};
use omswatch_common::telemetry::chain;
use omswatch_common::views::status_json;
use omswatch_metadb::{MetaDbTls, MetaDbTlsMode};

/// Exit code for an unreachable collector, a refusal or bad usage.
const EXIT_UNUSABLE: u8 = views::EXIT_UNUSABLE;

/// omswatch: watch an OceanBase Migration Service (OMS) cluster.
///
/// The collector speaks mutual TLS: pass --ca and your operator certificate
/// (--cert, --key, from `omswatch certs operator`) or --token-file, or set
/// OMSWATCH_CA, OMSWATCH_CERT, OMSWATCH_KEY, OMSWATCH_TOKEN_FILE.
///
/// Exit codes of `status` and `check`: 0 nothing above info, 1 warnings,
/// 2 critical findings, 3 collector unreachable, refused, or bad usage.
///
/// No collector yet? `omswatch check --oms-config config.yaml` checks a cluster
/// from its config.yaml files and MetaDB alone.
#[derive(Debug, Parser)]
#[command(version, about, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show every node and every finding, most severe first, with its fix.
    ///
    /// Example: omswatch status --collector https://10.0.0.5:9470 --ca ca.pem \
    ///              --cert operator-alice.pem --key operator-alice-key.pem --format json
    #[command(verbatim_doc_comment)]
    Status {
        /// table for people, json for scripts (shape: docs/STATUS_JSON.md).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Give up on the collector after this long.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        /// In the table, every node and every problem in full: above 50 nodes the table
        /// otherwise gives the count per state, the first problems and the nodes not ONLINE.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Show the timeline: findings raised and cleared, node state changes,
    /// collector starts and stops, restarts (who asked, what happened), oldest
    /// first (the newest --limit events).
    ///
    /// Examples:
    ///   omswatch history --since 1h
    ///   omswatch history --node oms-node-2 --since 2026-05-01T08:00:00Z --until 2026-05-01T09:00:00Z
    ///   omswatch history --code COMPONENT_NOT_RUNNING --format json   (shape: docs/HISTORY_JSON.md)
    ///   omswatch history --kind remediation --since 7d
    /// Exit codes: 0 answered (even with no events), 3 collector unreachable, refused or bad usage.
    #[command(verbatim_doc_comment)]
    History {
        /// Only events since: a duration ago (30m, 1h, 7d) or an RFC 3339 time.
        #[arg(long, value_name = "AGO|TIME", value_parser = history::parse_time)]
        since: Option<history::When>,
        /// Only events until: a duration ago or an RFC 3339 time.
        #[arg(long, value_name = "AGO|TIME", value_parser = history::parse_time)]
        until: Option<history::When>,
        /// Only events naming this node.
        #[arg(long, value_name = "NAME")]
        node: Option<String>,
        /// Only events of this finding code (`omswatch explain --all` lists them).
        #[arg(long, value_name = "CODE")]
        code: Option<String>,
        /// Only events of this kind: raised, cleared, node_state, collector, or
        /// remediation (restarts: who asked, what happened).
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// At most this many events, the newest.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=5000))]
        limit: u32,
        /// table for people, json for scripts (shape: docs/HISTORY_JSON.md).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Give up on the collector after this long.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Check a cluster with nothing deployed: each region's config.yaml and the
    /// MetaDB it names, read once (runbook steps 4 and 5: host rows ONLINE,
    /// heartbeats current; the OMS installer's config.yaml rules). No collector,
    /// no certificate, no root; nothing is written. Node-side checks
    /// (supervisord, `hostname -i` vs OMS_HOST_IP) need `omswatch-agent --once`
    /// on each server, or a collector.
    ///
    /// Example: omswatch check --oms-config /data/oms/hz/config.yaml \
    ///              --oms-config /data/oms/sh/config.yaml
    /// Exit codes: as status (0, 1 warnings, 2 critical, 3 bad usage).
    #[command(verbatim_doc_comment)]
    Check {
        /// A region's OMS config.yaml; repeat once per region. Its oms_meta_* keys
        /// name the MetaDB (the password is read there and never printed).
        #[arg(long = "oms-config", value_name = "PATH", required = true)]
        oms_configs: Vec<PathBuf>,
        /// table for people, json for scripts (the shape of `status`: docs/STATUS_JSON.md).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Give up on the MetaDB after this long (every region is read at once).
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        metadb_timeout: Duration,
        /// A supervisor heartbeat older than this is stale.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        heartbeat_stale: Duration,
        /// TLS towards the MetaDB, in the MySQL client's --ssl-mode words: disable,
        /// preferred, required, verify_ca, verify_identity.
        #[arg(long, default_value = "preferred", value_name = "MODE")]
        metadb_tls_mode: MetaDbTlsMode,
        /// CA (PEM) the MetaDB's certificate must chain to (with verify_ca or verify_identity).
        #[arg(long, value_name = "FILE")]
        metadb_tls_ca: Option<PathBuf>,
    },
    /// Write a support bundle (.tar.gz): status, findings, MetaDB rows, each
    /// node's supervisor/identity/health/config, secrets redacted.
    ///
    /// Example: omswatch bundle --collector https://10.0.0.5:9470 -o oms-support.tar.gz
    ///          (with OMSWATCH_CA, OMSWATCH_CERT, OMSWATCH_KEY set)
    /// Exit codes: 0 written, 3 collector unreachable, refused, bad usage or not written.
    #[command(verbatim_doc_comment)]
    Bundle {
        /// Where to write the archive (created 0600: it describes your topology); `-` for stdout.
        #[arg(short, long, value_name = "FILE.tar.gz")]
        output: String,
        /// Give up on the collector after this long.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Forget a node that no longer exists (a decommissioned server), so it stops
    /// being NODE_SILENT. Refused while the node still reports: stop its agent first.
    ///
    /// Example: omswatch forget oms-node-7 --collector https://10.0.0.5:9470
    /// Exit codes: 0 forgotten, 3 unknown node, still reporting, refused or unreachable.
    #[command(verbatim_doc_comment)]
    Forget {
        /// The node's name, as `omswatch status` shows it.
        node: String,
        /// Give up on the collector after this long.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Restart a supervisord program on one node through its agent, as
    /// `supervisorctl restart` does there (runbook step 2), and wait until it is
    /// RUNNING. Needs the collector's --allow-restart, the node's agent's
    /// --allow-restart with PROGRAM in its --restart-programs, and an operator
    /// certificate or a token granted `scopes=read,restart` in the collector's token
    /// file. One restart per node and program per minute. Every request, refusal and
    /// outcome is recorded: `omswatch history --kind remediation`.
    ///
    /// Example: omswatch restart oms-node-3 oms_console --reason "Down after the upgrade"
    /// Exit codes: 0 RUNNING afterwards, 2 restarted but not RUNNING within --wait
    /// (supervisord's spawn error quoted), 3 refused (the reason names the switch),
    /// not connected, unreachable or bad usage.
    #[command(verbatim_doc_comment)]
    Restart {
        /// The node's name, as `omswatch status` shows it.
        node: String,
        /// The supervisord program, e.g. oms_console.
        program: String,
        /// Why, for the timeline (who asked is recorded anyway).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// How long to wait for the program to be RUNNING (at most 5m).
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        wait: Duration,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Explain a finding code: what it means, why it happens, how to fix it,
    /// and which findings it can explain or be explained by.
    ///
    /// Example: omswatch explain DUPLICATE_OMS_HOST_IP   (or --all)
    #[command(verbatim_doc_comment)]
    Explain {
        /// The finding code (case-insensitive).
        code: Option<String>,
        /// Print every code.
        #[arg(long)]
        all: bool,
        /// With --all: print the catalogue as the Markdown table of docs/FINDINGS.md.
        #[arg(long, requires = "all")]
        markdown: bool,
    },
    /// Mint the certificates of mutual TLS: a CA, the collector's, one per node,
    /// one per operator. Files are written 0600 and never overwritten.
    ///
    /// Examples:
    ///   omswatch certs ca --dir pki
    ///   omswatch certs collector --dir pki --name watch --ip 10.0.0.5
    ///   omswatch certs node --dir pki --name oms-node-1
    ///   omswatch certs operator --dir pki --name alice
    /// Exit codes: 0 written, 3 bad usage or not written.
    #[command(verbatim_doc_comment, subcommand)]
    Certs(CertsCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_UNUSABLE } else { 0 });
        }
    };
    match cli.command {
        Command::Status {
            connect,
            format,
            timeout,
            all,
        } => {
            let rows = if all { Rows::All } else { Rows::Auto };
            status(&connect, format, timeout, rows).await
        }
        Command::Check {
            oms_configs,
            format,
            metadb_timeout,
            heartbeat_stale,
            metadb_tls_mode,
            metadb_tls_ca,
        } => {
            let options = CheckOptions {
                configs: oms_configs,
                metadb_timeout,
                metadb_tls: MetaDbTls {
                    mode: metadb_tls_mode,
                    ca: metadb_tls_ca,
                },
                heartbeat_stale,
            };
            ExitCode::from(check::print(&options, format).await)
        }
        Command::Bundle {
            connect,
            output,
            timeout,
        } => bundle(&connect, &output, timeout).await,
        Command::History {
            since,
            until,
            node,
            code,
            kind,
            limit,
            format,
            timeout,
            connect,
        } => {
            let query = history::Query {
                filter: history::HistoryQuery {
                    since,
                    until,
                    node,
                    code,
                    kind,
                    limit: Some(limit),
                },
                json: matches!(format, Format::Json),
                timeout,
            };
            match connection(&connect) {
                Ok(connection) => history::run(&connection, query).await,
                Err(code) => code,
            }
        }
        Command::Forget {
            node,
            timeout,
            connect,
        } => forget(&connect, node, timeout).await,
        Command::Restart {
            node,
            program,
            reason,
            wait,
            connect,
        } => match connection(&connect) {
            Ok(connection) => {
                let asked = restart::Restart {
                    node,
                    program,
                    reason,
                    wait,
                };
                restart::run(&connection, asked).await
            }
            Err(code) => code,
        },
        Command::Certs(command) => match certs::run(&command) {
            Ok(written) => {
                print!("{written}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("omswatch: {}", chain(&e));
                ExitCode::from(EXIT_UNUSABLE)
            }
        },
        Command::Explain { markdown: true, .. } => {
            print!("{}", omswatch_common::findings::catalogue::markdown());
            ExitCode::SUCCESS
        }
        Command::Explain { code, all, .. } => {
            ExitCode::from(views::explain::print(code.as_deref(), all))
        }
    }
}

async fn status(connect: &ConnectArgs, format: Format, timeout: Duration, rows: Rows) -> ExitCode {
    let connection = match connection(connect) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let answer = failover::ask(&connection, timeout, Repeat::Safe, |at| async move {
        fetch(&at, timeout).await
    })
    .await;
    let (status, from) = match answer {
        Ok(answer) => (answer.value, answer.from),
        Err(failure) => return failed("the status", &failure),
    };
    let collector = from.url.as_str();
    match format {
        Format::Table => print!("{}", views::table::render_rows(&status, collector, rows)),
        Format::Json => print!("{}", status_json::document(&status)),
    }
    ExitCode::from(views::exit_code(&status))
}

async fn forget(connect: &ConnectArgs, node: String, timeout: Duration) -> ExitCode {
    let connection = match connection(connect) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let call = |at: Connection| {
        let request = ForgetNodeRequest { node: node.clone() };
        async move {
            anyhow::Ok(
                client(&at, timeout)
                    .await?
                    .forget_node(request)
                    .await?
                    .into_inner(),
            )
        }
    };
    match failover::ask(&connection, timeout, Repeat::OnlyUnreached, call).await {
        Ok(answer) => {
            println!("omswatch: {}", answer.value.message);
            ExitCode::SUCCESS
        }
        Err(failure) => match &failure.kind {
            FailureKind::Error(e) => match e.downcast_ref::<tonic::Status>() {
                // The collector's own answer says what to do; nothing to add.
                Some(s)
                    if matches!(
                        s.code(),
                        tonic::Code::NotFound
                            | tonic::Code::FailedPrecondition
                            | tonic::Code::InvalidArgument
                    ) =>
                {
                    eprintln!("omswatch: cannot forget {node}: {}", s.message());
                    ExitCode::from(EXIT_UNUSABLE)
                }
                _ => failed("forgetting the node", &failure),
            },
            FailureKind::NoAnswer(_) => failed("forgetting the node", &failure),
        },
    }
}

/// The checked connection flags, or the exit code after saying what is wrong.
fn connection(connect: &ConnectArgs) -> Result<Connection, ExitCode> {
    match connect.connection() {
        Ok(connection) => {
            for warning in &connection.warnings {
                eprintln!("omswatch: warning: {warning}");
            }
            Ok(connection)
        }
        Err(e) => {
            eprintln!("omswatch: {}", chain(&e));
            Err(ExitCode::from(EXIT_UNUSABLE))
        }
    }
}

/// Says why getting `what` failed (refused, TLS, unreachable, no answer); exit code 3.
fn failed(what: &str, failure: &Failure) -> ExitCode {
    let connection = &failure.from;
    match &failure.kind {
        FailureKind::Error(error) => {
            let tls = connection.tls.is_some();
            eprintln!("{}", failure::explain(what, &connection.url, error, tls));
            ExitCode::from(EXIT_UNUSABLE)
        }
        FailureKind::NoAnswer(within) => unusable(&format!(
            "no answer from {} within {}",
            connection.url,
            humantime::format_duration(*within)
        )),
    }
}

async fn fetch(
    connection: &Connection,
    timeout: Duration,
) -> anyhow::Result<omswatch_common::proto::v1::ClusterStatus> {
    let reply = client(connection, timeout)
        .await?
        .get_status(StatusRequest {})
        .await?;
    Ok(reply.into_inner())
}

/// Largest bundle accepted from the collector (tonic's default is 4 MiB).
const MAX_BUNDLE_BYTES: usize = 256 << 20;

async fn bundle(connect: &ConnectArgs, output: &str, timeout: Duration) -> ExitCode {
    if output == "-" && std::io::stdout().is_terminal() {
        eprintln!(
            "omswatch: not writing a .tar.gz to a terminal; redirect stdout or pass -o FILE.tar.gz"
        );
        return ExitCode::from(EXIT_UNUSABLE);
    }
    let connection = match connection(connect) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let answer = failover::ask(&connection, timeout, Repeat::Safe, |at| async move {
        fetch_bundle(&at, timeout).await
    })
    .await;
    let (bundle, from) = match answer {
        Ok(answer) => (answer.value, answer.from),
        Err(failure) => return failed("the bundle", &failure),
    };
    let collector = from.url.as_str();
    match pack_and_write(&bundle, collector, output) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "omswatch: the bundle was not written: {}",
                chain(e.as_ref())
            );
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

async fn fetch_bundle(connection: &Connection, timeout: Duration) -> anyhow::Result<Bundle> {
    let reply = client(connection, timeout)
        .await?
        .max_decoding_message_size(MAX_BUNDLE_BYTES)
        .get_bundle(BundleRequest {})
        .await?;
    Ok(reply.into_inner())
}

/// Packs `bundle`, writes it to `output` (`-` = stdout) and says where on stderr.
fn pack_and_write(bundle: &Bundle, collector: &str, output: &str) -> anyhow::Result<()> {
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let meta = Meta {
        cli_version: omswatch_cli::VERSION.to_string(),
        collector_url: collector.to_string(),
        packed_at_unix_ms: now_ms,
    };
    let packed = bundle_archive::pack(bundle, &meta);
    for warning in &packed.warnings {
        eprintln!("omswatch: warning: {warning}");
    }
    let stamp_ms = if bundle.generated_at_unix_ms > 0 {
        bundle.generated_at_unix_ms
    } else {
        now_ms
    };
    let bytes = tar_gz::write(
        &packed.files,
        u64::try_from(stamp_ms / 1000).unwrap_or(0),
        Vec::new(),
    )?;
    let target = if output == "-" {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&bytes)?;
        stdout.flush()?;
        "stdout".to_string()
    } else {
        output::save(Path::new(output), &bytes)?;
        output.to_string()
    };
    eprintln!(
        "omswatch: wrote the support bundle to {target} ({}, {} files under {}/)",
        size(bytes.len()),
        packed.files.len(),
        packed.top_dir
    );
    Ok(())
}

/// `532 bytes`, `12.3 KiB`, `4.1 MiB`.
fn size(bytes: usize) -> String {
    let b = bytes as f64;
    match bytes {
        0..1024 => format!("{bytes} bytes"),
        1024..1_048_576 => format!("{:.1} KiB", b / 1024.0),
        _ => format!("{:.1} MiB", b / 1_048_576.0),
    }
}

fn unusable(message: &str) -> ExitCode {
    eprintln!("omswatch: {message}");
    eprintln!(
        "Is omswatch-collector running there? Pass --collector URL or set OMSWATCH_COLLECTOR."
    );
    ExitCode::from(EXIT_UNUSABLE)
}
