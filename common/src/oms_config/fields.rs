//! Typed access to config.yaml's top-level keys, each failure naming key and line.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use super::{ConfigIssue, Document};

/// One parsed config.yaml: its mapping, its document (for line numbers) and its name.
pub(super) struct Fields<'a> {
    pub file: &'a str,
    pub doc: &'a Document<'a>,
    pub map: &'a Mapping,
    pub issues: Vec<ConfigIssue>,
}

impl Fields<'_> {
    /// The 1-based line where top-level `key:` is written, if it is.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.doc.line_of(key)
    }

    fn issue(&mut self, key: &str, problem: String) {
        let line = self.line_of(key);
        self.issues.push(ConfigIssue {
            file: self.file.to_string(),
            key: key.to_string(),
            line,
            problem,
        });
    }

    fn value(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A required scalar rendered as text (numbers are accepted as written).
    pub fn required_text(&mut self, key: &str) -> Option<String> {
        let found = self.optional_text(key);
        if found.as_deref().is_none_or(|s| s.trim().is_empty()) && !self.already_reported(key) {
            self.issue(key, format!("required key `{key}` is missing or empty"));
            return None;
        }
        found.map(|s| s.trim().to_string())
    }

    fn already_reported(&self, key: &str) -> bool {
        self.issues.iter().any(|i| i.key == key)
    }

    /// An optional scalar rendered as text; a list or map is reported as an issue.
    pub fn optional_text(&mut self, key: &str) -> Option<String> {
        match self.value(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                let kind = kind_of(other);
                self.issue(key, format!("`{key}` must be a single value, found {kind}"));
                None
            }
        }
    }

    /// An optional port number; out-of-range or non-numeric values are issues.
    pub fn port(&mut self, key: &str, required: bool) -> Option<u16> {
        let text = if required {
            self.required_text(key)?
        } else {
            self.optional_text(key)?
        };
        match text.trim().parse::<u16>() {
            Ok(p) if p > 0 => Some(p),
            _ => {
                self.issue(
                    key,
                    format!("`{key}` must be a port number 1-65535, found {text:?}"),
                );
                None
            }
        }
    }

    /// An optional boolean (`true`/`false`, also as strings).
    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        let text = self.optional_text(key)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.issue(
                    key,
                    format!("`{key}` must be true or false, found {text:?}"),
                );
                None
            }
        }
    }

    /// A required, non-empty list of IP addresses; each bad entry is an issue.
    pub fn ip_list(&mut self, key: &str) -> Option<Vec<String>> {
        let Some(value) = self.value(key).cloned() else {
            self.issue(
                key,
                format!("required key `{key}` is missing: list every server IP of this region"),
            );
            return None;
        };
        let Value::Sequence(items) = value else {
            let kind = kind_of(&value);
            self.issue(
                key,
                format!(
                    "`{key}` must be a list of IP addresses (`- 10.0.0.11` per line), found {kind}"
                ),
            );
            return None;
        };
        if items.is_empty() {
            self.issue(
                key,
                format!("`{key}` is empty: list every server IP of this region"),
            );
            return None;
        }
        let mut ips = Vec::new();
        for item in &items {
            let text = scalar_text(item);
            if crate::ip::is_ip(&text) {
                ips.push(crate::ip::normalize(&text));
            } else {
                self.issue(key, format!("`{key}` entry {text:?} is not an IP address"));
            }
        }
        Some(ips)
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => kind_of(other).to_string(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// The 1-based line of every top-level key (its first occurrence).
pub(super) fn key_lines(text: &str) -> BTreeMap<String, usize> {
    let mut lines = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(key) = top_level_key(line) {
            lines.entry(key.to_string()).or_insert(i + 1);
        }
    }
    lines
}

/// The key a top-level `key: value` line defines, if it is one.
pub(super) fn top_level_key(line: &str) -> Option<&str> {
    if line.starts_with([' ', '\t', '#', '-']) {
        return None;
    }
    let (key, _) = line.split_once(':')?;
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty()).then_some(key)
}
