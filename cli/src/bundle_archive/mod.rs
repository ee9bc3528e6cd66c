//! `omswatch bundle`: turns the collector's [`pb::Bundle`] into the files of a
//! support bundle, everything the OMS runbook says to hand to OMS support, and
//! packs them into a `.tar.gz`.
//!
//! [`pack`] is pure (Bundle → list of files) so every file is unit-tested;
//! [`tar_gz`] writes the list. Names from peers (node names, region file names)
//! pass through [`names`] so none can leave the top directory, and every
//! config.yaml passes through [`secrets`] one last time before it is written.

pub mod names;
mod nodes;
pub mod output;
mod runbook;
pub mod secrets;
mod summary;
pub mod tar_gz;
mod text;
pub mod tsv;

use std::path::Path;

use omswatch_common::proto::v1 as pb;

use names::UniqueNames;

/// What the bundle says about how it was made, beside what the collector sent.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The `omswatch` CLI's version.
    pub cli_version: String,
    /// The collector's URL as the operator gave it.
    pub collector_url: String,
    /// When the CLI packed the bundle (Unix milliseconds).
    pub packed_at_unix_ms: i64,
}

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Path inside the archive, starting with the top directory.
    pub path: String,
    /// The file's bytes.
    pub contents: Vec<u8>,
}

/// The files of a bundle, ready to be written.
#[derive(Debug, Clone)]
pub struct Packed {
    /// The top directory, `omswatch-bundle-<UTC time>`.
    pub top_dir: String,
    /// Every file, `summary.txt` first.
    pub files: Vec<BundleFile>,
    /// Secrets found unredacted (and redacted here): the bundle is safe, the source is not.
    pub warnings: Vec<String>,
}

/// Files under construction: relative path, one line about it, contents.
#[derive(Debug, Default)]
struct Files {
    entries: Vec<(String, String, String)>,
    warnings: Vec<String>,
}

impl Files {
    fn add(&mut self, path: String, about: &str, contents: String) {
        self.entries.push((path, about.to_string(), contents));
    }

    /// Adds a config.yaml after the last secret scan.
    fn add_config(&mut self, path: String, about: &str, text: &str) {
        let text = self.scrub(&path, text);
        self.add(path, about, text);
    }

    /// `text` with leaked secrets redacted; a warning per leak, naming `origin`.
    fn scrub(&mut self, origin: &str, text: &str) -> String {
        let (clean, leaks) = secrets::redact_leaks(text);
        if leaks.is_empty() {
            return text.to_string();
        }
        for leak in leaks {
            self.warnings.push(format!(
                "{origin} line {}: `{}` was not redacted at its source; redacted in the bundle",
                leak.line, leak.key
            ));
        }
        clean
    }
}

/// The support bundle's files for `bundle`.
pub fn pack(bundle: &pb::Bundle, meta: &Meta) -> Packed {
    let status = bundle.status.clone().unwrap_or_default();
    let mut files = Files::default();
    files.add(
        "status.json".into(),
        "the status as `omswatch status --format json` prints it",
        omswatch_common::views::status_json::document(&status),
    );
    files.add(
        "findings.txt".into(),
        "each finding with its evidence, meaning and cause",
        summary::findings(&status),
    );
    files.add(
        "versions.txt".into(),
        "CLI, collector and agent versions",
        summary::versions(bundle, meta),
    );
    let regions = region_files(&mut files, &bundle.regions);
    node_files(&mut files, &bundle.reports);
    let listing: Vec<(String, String)> = files
        .entries
        .iter()
        .map(|(p, a, _)| (p.clone(), a.clone()))
        .collect();
    let summary_text = summary::summary(bundle, meta, &regions, &listing);
    files
        .entries
        .insert(0, ("summary.txt".into(), String::new(), summary_text));
    let top_dir = format!(
        "omswatch-bundle-{}",
        text::compact_utc(bundle.generated_at_unix_ms)
    );
    Packed {
        files: files
            .entries
            .into_iter()
            .map(|(path, _, contents)| BundleFile {
                path: format!("{top_dir}/{path}"),
                contents: contents.into_bytes(),
            })
            .collect(),
        top_dir,
        warnings: files.warnings,
    }
}

/// `metadb/<region file>/`: the runbook's two queries and the collector's config copy.
fn region_files<'a>(
    files: &mut Files,
    regions: &'a [pb::RegionRows],
) -> Vec<summary::RegionDir<'a>> {
    let mut names = UniqueNames::default();
    let mut dirs = Vec::new();
    for (i, rows) in regions.iter().enumerate() {
        let base = Path::new(&rows.file)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        let dir = format!("metadb/{}", names.claim(base, &format!("region-{}", i + 1)));
        metadb_files(files, &dir, rows);
        dirs.push((rows, dir));
    }
    dirs
}

/// One region's files in `dir`: a TSV per table, or `error.txt` saying why not.
fn metadb_files(files: &mut Files, dir: &str, rows: &pb::RegionRows) {
    let mut errors = String::new();
    if rows.hosts_error.is_empty() {
        files.add(
            format!("{dir}/host.tsv"),
            "SELECT ip, host_status FROM <drc_cm_db>.host",
            tsv::hosts(&rows.hosts),
        );
    } else {
        errors.push_str(&format!("hosts_error: {}\n", rows.hosts_error));
    }
    if rows.heartbeats_error.is_empty() {
        files.add(
            format!("{dir}/heart_beat.tsv"),
            "supervisor heart_beat rows, age by the MetaDB clock",
            tsv::heartbeats(&rows.heartbeats),
        );
    } else {
        errors.push_str(&format!("heartbeats_error: {}\n", rows.heartbeats_error));
    }
    if !errors.is_empty() {
        files.add(
            format!("{dir}/error.txt"),
            "why MetaDB rows could not be read",
            errors,
        );
    }
    if !rows.redacted_config.is_empty() {
        files.add_config(
            format!("{dir}/config.yaml"),
            "the collector's copy of config.yaml, secrets redacted",
            &rows.redacted_config,
        );
    }
}

/// `nodes/<node>/`: what the runbook's steps 2 and 3 look at on each node.
fn node_files(files: &mut Files, reports: &[pb::NodeReport]) {
    let mut names = UniqueNames::default();
    for (i, report) in reports.iter().enumerate() {
        let dir = format!(
            "nodes/{}",
            names.claim(&report.node, &format!("node-{}", i + 1))
        );
        let report = scrubbed_report(files, &dir, report);
        files.add(
            format!("{dir}/supervisor.txt"),
            "supervisorctl status, with spawn errors and autostart",
            nodes::supervisor(&report),
        );
        files.add(
            format!("{dir}/identity.txt"),
            "hostname, hostname -i, interface IPs, OMS_HOST_IP",
            nodes::identity(&report),
        );
        if let Some(health) = nodes::health(&report) {
            files.add(
                format!("{dir}/health.txt"),
                "OMS health endpoint, docker_init.sh, load/memory/disk",
                health,
            );
        }
        if let Some(config) = report
            .config
            .as_ref()
            .filter(|c| !c.redacted_text.is_empty())
        {
            files.add(
                format!("{dir}/config.yaml"),
                "the node's config.yaml, secrets redacted",
                config.redacted_text.clone(),
            );
        }
        files.add(
            format!("{dir}/report.txt"),
            "the agent's whole last report (secrets as digests)",
            format!("{report:#?}\n"),
        );
    }
}

/// `report` with its config text and values through the secret scan, so neither
/// `config.yaml` nor `report.txt` can carry a secret the agent failed to redact
/// (a secret nested under a mapping reaches `values` as YAML text).
fn scrubbed_report(files: &mut Files, dir: &str, report: &pb::NodeReport) -> pb::NodeReport {
    let mut report = report.clone();
    if let Some(config) = report.config.as_mut() {
        config.redacted_text = files.scrub(&format!("{dir}/config.yaml"), &config.redacted_text);
        for (key, value) in config.values.iter_mut() {
            *value = files.scrub(&format!("{dir}/report.txt (config key {key})"), value);
        }
    }
    report
}

#[cfg(test)]
mod tests;
