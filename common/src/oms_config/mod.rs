//! OMS `config.yaml`: the file every OMS container is started with, and the first
//! thing the runbook checks. Parsing never fails as a whole: every problem becomes a
//! [`ConfigIssue`] naming file, key, line and what is wrong, which the diagnosis turns
//! into `CONFIG_INVALID` findings while the rest of the status still answers.

mod dbname;
mod fields;
mod read;
pub mod summary;
mod yaml;

pub use dbname::DbName;
pub use read::{ReadError, read_capped};
pub use yaml::{MAX_FLOW_WORK, YamlError, parse as parse_yaml};

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::secret::Secret;
use fields::Fields;

/// Largest config.yaml read, on the collector as on the agent. A real one is a few KiB (about 30
/// keys); a bigger file is a wrong path (a log, a dump) or hostile, and is refused before it is
/// parsed. Parsing costs up to ~200 bytes of memory per byte of YAML (the parser's events, then
/// the values), so the cap also bounds a parse's memory: ~25 MiB at worst.
pub const MAX_CONFIG_BYTES: u64 = 128 * 1024;

/// Default `nginx_server_port` per OMS's documentation.
pub const DEFAULT_NGINX_PORT: u16 = 8089;
/// Default `cm_server_port` per OMS's documentation.
pub const DEFAULT_CM_SERVER_PORT: u16 = 8088;

/// Where and as whom to log into the MetaDB (`oms_meta_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaDbTarget {
    /// `oms_meta_host`.
    pub host: String,
    /// `oms_meta_port`.
    pub port: u16,
    /// `oms_meta_user`, e.g. `oms_meta@oms_tenant`.
    pub user: String,
    /// `oms_meta_password`; empty when absent.
    pub password: Secret,
}

impl fmt::Display for MetaDbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}", self.user, self.host, self.port)
    }
}

/// The parts of one region's config.yaml that omswatch checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionConfig {
    /// The file it was read from, as given to the collector.
    pub file: String,
    /// The MetaDB login.
    pub meta: MetaDbTarget,
    /// `drc_cm_db`: holds the `host` table.
    pub drc_cm_db: DbName,
    /// `drc_cm_heartbeat_db`: holds this region's `heart_beat` table.
    pub drc_cm_heartbeat_db: DbName,
    /// `cm_url`.
    pub cm_url: String,
    /// `cm_nodes`, normalised IPs.
    pub cm_nodes: Vec<String>,
    /// `cm_region`, empty for single-region deployments.
    pub cm_region: String,
    /// `cm_location`, when set.
    pub cm_location: Option<String>,
    /// `cm_is_default`, when set.
    pub cm_is_default: Option<bool>,
    /// `nginx_server_port`, default 8089.
    pub nginx_server_port: u16,
    /// `cm_server_port`, default 8088.
    pub cm_server_port: u16,
    /// 1-based line of each top-level key as written (first occurrence), for evidence.
    pub key_lines: BTreeMap<String, usize>,
}

impl RegionConfig {
    /// A short name for the region in views: cm_region, else the file name.
    pub fn label(&self) -> String {
        if self.cm_region.is_empty() {
            self.file.clone()
        } else {
            self.cm_region.clone()
        }
    }

    /// The 1-based line where top-level `key` is written, when it is.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.key_lines.get(key).copied()
    }
}

/// One problem found in a config.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The file, as given to the collector.
    pub file: String,
    /// The key concerned; empty when the problem is not tied to one key.
    pub key: String,
    /// 1-based line of the problem, when the file has one for it.
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: String,
}

/// One config.yaml's text, parsed once: its YAML value (or the parser's error) and the line of
/// each top-level key. [`parse`] and [`summary::summarize`] both work from it, so the collector,
/// which needs both, parses each file once, in time linear in its size.
pub struct Document<'a> {
    text: &'a str,
    yaml: Result<serde_yaml::Value, yaml::YamlError>,
    key_lines: BTreeMap<String, usize>,
}

impl<'a> Document<'a> {
    /// Parses `text` (bounded: see `yaml.rs`) and indexes its top-level keys' lines.
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            yaml: yaml::parse(text),
            key_lines: fields::key_lines(text),
        }
    }

    /// The 1-based line where top-level `key` is first written, when it is.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.key_lines.get(key).copied()
    }
}

/// Reads and parses one config.yaml, and summarises it as an agent would
/// ([`summary::summarize`]). An unreadable or oversized file is an issue, not an error.
pub fn load(
    path: &Path,
) -> (
    Result<RegionConfig, Vec<ConfigIssue>>,
    Option<crate::proto::v1::NodeConfig>,
) {
    let file = path.display().to_string();
    match read_capped(path) {
        Ok(text) => {
            let doc = Document::new(&text);
            (
                parse_document(&file, &doc),
                Some(summary::summarize_document(&file, &doc)),
            )
        }
        Err(e) => (Err(vec![whole_file_issue(&file, &e.problem())]), None),
    }
}

/// Parses config.yaml text; `file` names it in issues.
pub fn parse(file: &str, text: &str) -> Result<RegionConfig, Vec<ConfigIssue>> {
    parse_document(file, &Document::new(text))
}

/// [`parse`] of an already parsed document.
pub fn parse_document(file: &str, doc: &Document<'_>) -> Result<RegionConfig, Vec<ConfigIssue>> {
    let map = match &doc.yaml {
        Ok(serde_yaml::Value::Mapping(map)) => map,
        Ok(serde_yaml::Value::Null) => {
            return Err(vec![whole_file_issue(file, "the file is empty")]);
        }
        Ok(_) => {
            return Err(vec![whole_file_issue(
                file,
                "the file must be a mapping of `key: value` lines",
            )]);
        }
        Err(e) => return Err(vec![syntax_issue(file, doc.text, e)]),
    };
    let mut fields = Fields {
        file,
        doc,
        map,
        issues: Vec::new(),
    };
    let config = extract(&mut fields);
    match config {
        Some(config) if fields.issues.is_empty() => Ok(config),
        _ => Err(fields.issues),
    }
}

fn extract(f: &mut Fields<'_>) -> Option<RegionConfig> {
    let host = f.required_text("oms_meta_host");
    let port = f.port("oms_meta_port", true);
    let user = f.required_text("oms_meta_user");
    let password = f.optional_text("oms_meta_password").unwrap_or_default();
    let drc_cm_db = db_name(f, "drc_cm_db");
    let drc_cm_heartbeat_db = db_name(f, "drc_cm_heartbeat_db");
    let cm_url = f.required_text("cm_url");
    let cm_nodes = f.ip_list("cm_nodes");
    let cm_region = f.optional_text("cm_region").unwrap_or_default();
    let cm_location = f.optional_text("cm_location");
    let cm_is_default = f.boolean("cm_is_default");
    let nginx_server_port = f
        .port("nginx_server_port", false)
        .unwrap_or(DEFAULT_NGINX_PORT);
    let cm_server_port = f
        .port("cm_server_port", false)
        .unwrap_or(DEFAULT_CM_SERVER_PORT);
    Some(RegionConfig {
        file: f.file.to_string(),
        meta: MetaDbTarget {
            host: host?,
            port: port?,
            user: user?,
            password: Secret::new(password),
        },
        drc_cm_db: drc_cm_db?,
        drc_cm_heartbeat_db: drc_cm_heartbeat_db?,
        cm_url: cm_url?,
        cm_nodes: cm_nodes?,
        cm_region,
        cm_location,
        cm_is_default,
        nginx_server_port,
        cm_server_port,
        key_lines: f.doc.key_lines.clone(),
    })
}

fn db_name(f: &mut Fields<'_>, key: &str) -> Option<DbName> {
    let raw = f.required_text(key)?;
    match DbName::parse(&raw) {
        Ok(name) => Some(name),
        Err(why) => {
            let line = f.line_of(key);
            f.issues.push(ConfigIssue {
                file: f.file.to_string(),
                key: key.to_string(),
                line,
                problem: format!("`{key}` {why}"),
            });
            None
        }
    }
}

fn whole_file_issue(file: &str, problem: &str) -> ConfigIssue {
    ConfigIssue {
        file: file.to_string(),
        key: String::new(),
        line: None,
        problem: problem.to_string(),
    }
}

/// A YAML error, tied to the key being defined at (or just above) its line.
fn syntax_issue(file: &str, text: &str, error: &yaml::YamlError) -> ConfigIssue {
    let line = error.line();
    let key = line
        .and_then(|n| {
            text.lines()
                .take(n)
                .filter_map(fields::top_level_key)
                .last()
        })
        .unwrap_or_default()
        .to_string();
    ConfigIssue {
        file: file.to_string(),
        key,
        line,
        problem: error.to_string(),
    }
}

#[cfg(test)]
mod tests;
