//! `omswatch`: the operator's command. `omswatch status` answers "what is wrong
//! with my OMS cluster, and what do I do" in one call to the collector;
//! `omswatch bundle` packs everything OMS support asks for into one file.

use std::process::ExitCode;
use std::time::Duration;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::SystemTime;

use clap::{Parser, Subcommand, ValueEnum};
use omswatch_collector::bundle_archive::{self, Meta, output, tar_gz};
use omswatch_collector::views;
use omswatch_common::findings::Code;
use omswatch_common::proto::v1::query_client::QueryClient;
use omswatch_common::proto::v1::{Bundle, BundleRequest, StatusRequest};
use omswatch_common::telemetry::chain;

/// Exit code for an unreachable collector or bad usage.
const EXIT_UNUSABLE: u8 = 3;

/// omswatch: watch an OceanBase Migration Service (OMS) cluster.
///
/// Exit codes of `status`: 0 nothing above info, 1 warnings, 2 critical findings,
/// 3 collector unreachable or bad usage.
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
    /// Example: omswatch status --collector http://10.0.0.5:9470 --format json
    #[command(verbatim_doc_comment)]
    Status {
        /// The collector's URL.
        #[arg(
            long,
            env = "OMSWATCH_COLLECTOR",
            default_value = "http://127.0.0.1:9470"
        )]
        collector: String,
        /// table for people, json for scripts (shape: docs/STATUS_JSON.md).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Give up on the collector after this long.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Write a support bundle (.tar.gz): status, findings, MetaDB rows, each
    /// node's supervisor/identity/health/config, secrets redacted.
    ///
    /// Example: omswatch bundle --collector http://10.0.0.5:9470 -o oms-support.tar.gz
    /// Exit codes: 0 written, 3 collector unreachable, bad usage or not written.
    #[command(verbatim_doc_comment)]
    Bundle {
        /// The collector's URL.
        #[arg(
            long,
            env = "OMSWATCH_COLLECTOR",
            default_value = "http://127.0.0.1:9470"
        )]
        collector: String,
        /// Where to write the archive (created 0600: it describes your topology); `-` for stdout.
        #[arg(short, long, value_name = "FILE.tar.gz")]
        output: String,
        /// Give up on the collector after this long.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Explain a finding code: what it means, why it happens, how to fix it.
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
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
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
            collector,
            format,
            timeout,
        } => status(&collector, format, timeout).await,
        Command::Bundle {
            collector,
            output,
            timeout,
        } => bundle(&collector, &output, timeout).await,
        Command::Explain { markdown: true, .. } => {
            print!("{}", omswatch_common::findings::catalogue::markdown());
            ExitCode::SUCCESS
        }
        Command::Explain { code, all, .. } => explain(code.as_deref(), all),
    }
}

async fn status(collector: &str, format: Format, timeout: Duration) -> ExitCode {
    let answer = tokio::time::timeout(timeout, fetch(collector, timeout)).await;
    let status = match answer {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            return unusable(&format!(
                "cannot get the status from {collector}: {}",
                chain(e.as_ref())
            ));
        }
        Err(_) => {
            return unusable(&format!(
                "no answer from {collector} within {}",
                humantime::format_duration(timeout)
            ));
        }
    };
    match format {
        Format::Table => print!("{}", views::table::render(&status, collector)),
        Format::Json => println!("{}", views::json::render(&status)),
    }
    ExitCode::from(views::exit_code(&status))
}

async fn fetch(
    collector: &str,
    timeout: Duration,
) -> anyhow::Result<omswatch_common::proto::v1::ClusterStatus> {
    let reply = client(collector, timeout)
        .await?
        .get_status(StatusRequest {})
        .await?;
    Ok(reply.into_inner())
}

/// A Query client for `collector`, every call bounded by `timeout`.
async fn client(
    collector: &str,
    timeout: Duration,
) -> anyhow::Result<QueryClient<tonic::transport::Channel>> {
    let endpoint = tonic::transport::Endpoint::from_shared(collector.to_string())
        .map_err(|e| {
            anyhow::anyhow!(
                "bad collector URL {collector:?} ({e}); expected e.g. http://10.0.0.5:9470"
            )
        })?
        .connect_timeout(timeout)
        .timeout(timeout);
    Ok(QueryClient::new(endpoint.connect().await?))
}

/// Largest bundle accepted from the collector (tonic's default is 4 MiB).
const MAX_BUNDLE_BYTES: usize = 256 << 20;

async fn bundle(collector: &str, output: &str, timeout: Duration) -> ExitCode {
    if output == "-" && std::io::stdout().is_terminal() {
        eprintln!(
            "omswatch: not writing a .tar.gz to a terminal; redirect stdout or pass -o FILE.tar.gz"
        );
        return ExitCode::from(EXIT_UNUSABLE);
    }
    let bundle = match tokio::time::timeout(timeout, fetch_bundle(collector, timeout)).await {
        Ok(Ok(bundle)) => bundle,
        Ok(Err(e)) => {
            return unusable(&format!(
                "cannot get the bundle from {collector}: {}",
                chain(e.as_ref())
            ));
        }
        Err(_) => {
            return unusable(&format!(
                "no answer from {collector} within {}",
                humantime::format_duration(timeout)
            ));
        }
    };
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

async fn fetch_bundle(collector: &str, timeout: Duration) -> anyhow::Result<Bundle> {
    let reply = client(collector, timeout)
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
        cli_version: omswatch_collector::VERSION.to_string(),
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

fn explain(code: Option<&str>, all: bool) -> ExitCode {
    let codes: Vec<Code> = match (code, all) {
        (_, true) => Code::ALL.to_vec(),
        (Some(name), false) => match Code::parse(name) {
            Some(code) => vec![code],
            None => {
                let known: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
                eprintln!(
                    "omswatch: unknown finding code {name:?}; known codes: {}",
                    known.join(", ")
                );
                return ExitCode::from(EXIT_UNUSABLE);
            }
        },
        (None, false) => {
            eprintln!(
                "omswatch: name a finding code, e.g. `omswatch explain NODE_SILENT`, or pass --all"
            );
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    for code in codes {
        let e = code.entry();
        println!(
            "{} ({})\n  means: {}\n  cause: {}\n  fix:   {}\n",
            e.code, e.severity, e.meaning, e.cause, e.remedy
        );
    }
    ExitCode::SUCCESS
}
