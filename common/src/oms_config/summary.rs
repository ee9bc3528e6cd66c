//! What of a config.yaml may leave the machine: non-secret values as text,
//! secrets only as salted digests, and the text with secrets redacted. The agent
//! summarises its node's file and the collector its own copy with the same code,
//! so the two compare exactly.

use std::collections::HashMap;

use serde_yaml::Value;
use sha2::{Digest, Sha256};

use super::fields::key_line;
use crate::proto::v1::NodeConfig;

/// Replaces a secret value in redacted text and bundles.
pub const REDACTED: &str = "<redacted>";

/// Largest redacted text carried in a report; config.yaml files are a few KiB.
const MAX_REDACTED_TEXT: usize = 64 * 1024;

/// Whether a config key holds a secret (passwords, tokens, keys).
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "credential",
        "private_key",
        "access_key",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// A digest that shows whether two secrets are equal without revealing them.
/// Salted with the key so equal passwords under different keys do not match;
/// truncated to 64 bits. A weak password can still be guessed offline from it.
pub fn digest(key: &str, value: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"omswatch-config-digest-v1\0");
    hasher.update(key.as_bytes());
    hasher.update(b"\0");
    hasher.update(value.as_bytes());
    let hash = hasher.finalize();
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// `text` with the value of every secret key replaced by [`REDACTED`]: at any
/// depth, in list items and in commented-out lines (an old password left in a
/// comment is still a password). Line-based so comments and layout survive for a
/// support engineer; a secret's block-scalar continuation lines are dropped.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut secret_indent: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(key_indent) = secret_indent {
            if !line.trim().is_empty() && indent > key_indent {
                continue; // continuation of a secret value
            }
            secret_indent = None;
        }
        match secret_key_prefix(line) {
            Some(prefix) => {
                out.push_str(&format!("{prefix} \"{REDACTED}\"\n"));
                secret_indent = Some(indent);
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// For a line `[#] [- ]key: value` whose key is secret, the text up to and including the `:`.
fn secret_key_prefix(line: &str) -> Option<&str> {
    let colon = line.find(':')?;
    let key = line[..colon]
        .trim_start()
        .trim_start_matches('#')
        .trim_start();
    let key = key
        .strip_prefix("- ")
        .unwrap_or(key)
        .trim()
        .trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty() && !key.contains(' ') && is_secret_key(key)).then(|| &line[..=colon])
}

/// `value` with every secret-keyed entry, at any depth, replaced by [`REDACTED`].
fn scrub(value: &Value) -> Value {
    match value {
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .map(|(k, v)| {
                    let secret = k.as_str().is_some_and(is_secret_key);
                    (
                        k.clone(),
                        if secret {
                            Value::String(REDACTED.into())
                        } else {
                            scrub(v)
                        },
                    )
                })
                .collect(),
        ),
        Value::Sequence(items) => Value::Sequence(items.iter().map(scrub).collect()),
        Value::Tagged(tagged) => scrub(&tagged.value),
        other => other.clone(),
    }
}

/// The summary of a config.yaml's text (what an agent reports of its node's file).
pub fn summarize(path: &str, text: &str) -> NodeConfig {
    let mut summary = NodeConfig {
        path: path.to_string(),
        ..Default::default()
    };
    let mut redacted = redact_text(text);
    if redacted.len() > MAX_REDACTED_TEXT {
        let mut cut = MAX_REDACTED_TEXT;
        while !redacted.is_char_boundary(cut) {
            cut -= 1;
        }
        redacted.truncate(cut);
        redacted.push_str("\n# (truncated by omswatch)\n");
    }
    summary.redacted_text = redacted;
    let map = match serde_yaml::from_str::<Value>(text) {
        Ok(Value::Mapping(map)) => map,
        Ok(_) => {
            summary.error = "not a mapping of `key: value` lines".into();
            return summary;
        }
        Err(e) => {
            summary.error = format!("YAML syntax error: {e}");
            return summary;
        }
    };
    let mut values = HashMap::new();
    let mut digests = HashMap::new();
    for (key, value) in &map {
        let Some(key) = key.as_str() else { continue };
        let value = value_text(value);
        if is_secret_key(key) {
            digests.insert(key.to_string(), digest(key, &value));
        } else {
            values.insert(key.to_string(), value);
        }
        if let Some(line) = key_line(text, key) {
            summary
                .lines
                .insert(key.to_string(), u32::try_from(line).unwrap_or(u32::MAX));
        }
    }
    summary.values = values;
    summary.secret_digests = digests;
    summary
}

/// A value as comparable text: scalars as written, lists as normalised `a,b,c`.
fn value_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        Value::Sequence(items) => items
            .iter()
            .map(|v| crate::ip::normalize(&value_text(v)))
            .collect::<Vec<_>>()
            .join(","),
        Value::Mapping(_) | Value::Tagged(_) => serde_yaml::to_string(&scrub(value))
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "oms_meta_host: 10.0.0.5\noms_meta_password: \"Hunter2!\"\ntsdb_password: |\n  multi\n  line\ncm_nodes:\n  - 10.0.0.11\n  - ' 10.0.0.12'\n# a comment\n";

    #[test]
    fn secrets_are_redacted_and_digested_never_copied() {
        let s = summarize("/c.yaml", TEXT);
        let all = format!("{s:?}");
        for secret in ["Hunter2!", "multi"] {
            assert!(!all.contains(secret), "{secret} leaked: {all}");
        }
        assert_eq!(s.values["cm_nodes"], "10.0.0.11,10.0.0.12");
        assert_eq!(
            s.secret_digests["oms_meta_password"],
            digest("oms_meta_password", "Hunter2!")
        );
        assert!(
            s.redacted_text
                .contains("oms_meta_password: \"<redacted>\"")
        );
        assert!(s.redacted_text.contains("# a comment"));
        assert_eq!(s.lines["cm_nodes"], 6);
    }

    #[test]
    fn nested_listed_and_commented_secrets_are_redacted_too() {
        let text = "# oms_meta_password: OldPw1\ntsdb:\n  url: http://x\n  password: NestedPw2\n  token: |\n    BlockPw3\n  user: u\nusers:\n  - password: ListPw4\n";
        let s = summarize("/c.yaml", text);
        let all = format!("{s:?}");
        for secret in ["OldPw1", "NestedPw2", "BlockPw3", "ListPw4"] {
            assert!(!all.contains(secret), "{secret} leaked: {all}");
        }
        assert!(s.redacted_text.contains("  user: u"), "{}", s.redacted_text);
        assert!(s.values["tsdb"].contains("url: http://x"), "{:?}", s.values);
    }

    #[test]
    fn digests_differ_by_value_and_key() {
        assert_ne!(digest("a_password", "x"), digest("a_password", "y"));
        assert_ne!(digest("a_password", "x"), digest("b_password", "x"));
        assert_eq!(digest("a_password", "x").len(), 16);
    }

    #[test]
    fn broken_yaml_still_redacts() {
        let s = summarize("/c.yaml", "oms_meta_password: Hunter2!\ncm_nodes: [\n");
        assert!(!s.error.is_empty());
        assert!(!s.redacted_text.contains("Hunter2!"));
    }
}
