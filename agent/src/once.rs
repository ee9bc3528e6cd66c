//! `omswatch-agent --once`: probe once, answer, exit; for checking a node by hand,
//! with no collector. By default it prints the node's own runbook answer as a
//! short table (`once/table.rs`): programs and their states, `hostname -i` against
//! OMS_HOST_IP, the config.yaml it mounts, OMS's health, resources, and the
//! findings the diagnosis reaches from this one report (the pure core in its
//! one-node scope: nothing about other servers or the MetaDB). `--format json`
//! prints the report itself ([`print()`]). Exit codes as `omswatch status`:
//! 0 nothing above info, 1 warnings, 2 critical.

mod table;

use std::io::Write;
use std::path::Path;

use omswatch_common::diagnose::{Diagnosis, diagnose};
use omswatch_common::findings::Severity;
use omswatch_common::oms_config;
use omswatch_common::proto::v1::NodeReport;
use omswatch_common::snapshot::{NodeObservation, RegionInput, Scope, Snapshot, Thresholds};

/// Exit code when the answer could not be written.
const EXIT_UNUSABLE: u8 = 3;

/// What `--once` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The node's runbook answer and its findings, for a person.
    #[default]
    Table,
    /// The report itself, as sent to a collector (proto field names).
    Json,
}

/// Writes `report` to `out` as it would be sent, as indented JSON with the proto's field names
/// (an absent optional field is `null`), and a final newline.
pub fn print(report: &NodeReport, out: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)?;
    out.flush()
}

/// The diagnosis of this one report, with the node's own config.yaml as its
/// region when the agent could read it (so NODE_NOT_IN_CM_NODES and the file's
/// own rules answer); what needs other servers or the MetaDB is left out.
pub fn diagnose_one(report: &NodeReport) -> Diagnosis {
    let now = report.sent_at_unix_ms;
    let regions = report
        .config
        .as_ref()
        .filter(|c| c.error.is_empty() && !c.path.is_empty())
        .map(|c| {
            let (config, _) = oms_config::load(Path::new(&c.path));
            RegionInput {
                config,
                summary: None,
                metadb: None,
            }
        })
        .into_iter()
        .collect();
    diagnose(&Snapshot {
        now_unix_ms: now,
        nodes: vec![NodeObservation {
            report: report.clone().into(),
            received_at_unix_ms: now,
        }],
        regions,
        thresholds: Thresholds::default(),
        scope: Scope::OneNode,
    })
}

/// 0 nothing above info, 1 warnings, 2 critical.
pub fn exit_code(diagnosis: &Diagnosis) -> u8 {
    match diagnosis.findings.iter().map(|f| f.severity()).max() {
        Some(Severity::Critical) => 2,
        Some(Severity::Warning) => 1,
        _ => 0,
    }
}

/// Writes the answer in `format`; returns the exit code.
pub fn answer(report: &NodeReport, format: Format, out: &mut impl Write) -> std::io::Result<u8> {
    let diagnosis = diagnose_one(report);
    match format {
        Format::Table => {
            out.write_all(table::render(report, &diagnosis).as_bytes())?;
            out.flush()?;
        }
        Format::Json => print(report, out)?,
    }
    Ok(exit_code(&diagnosis))
}

/// The command line, or the process ends: usage errors exit 3 as `omswatch`'s
/// do (2 would read as "critical" to a script running `--once`); `--help` and
/// `--version` exit 0.
pub fn parse_args<A: clap::Parser>() -> A {
    match A::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                i32::from(EXIT_UNUSABLE)
            } else {
                0
            })
        }
    }
}

/// Answers on stdout and ends the process with the exit code (3 when stdout
/// cannot be written).
pub fn exit(report: &NodeReport, format: Format) -> ! {
    let code = match answer(report, format, &mut std::io::stdout().lock()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("omswatch-agent: cannot print the answer on stdout: {e}");
            EXIT_UNUSABLE
        }
    };
    std::process::exit(i32::from(code))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
