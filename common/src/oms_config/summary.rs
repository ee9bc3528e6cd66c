//! What of a config.yaml may leave the machine: non-secret values as text,
//! secrets only as salted digests, and the text with secrets redacted. The agent
//! summarises its node's file and the collector its own copy with the same code,
//! so the two compare exactly.

use std::collections::HashMap;

use serde_yaml::Value;
use sha2::{Digest, Sha256};

use super::Document;
use crate::proto::v1::NodeConfig;

/// Replaces a secret value in redacted text and bundles.
pub const REDACTED: &str = "<redacted>";

/// Largest redacted text carried in a report, marker included: the collector
/// refuses a longer one.
const MAX_REDACTED_TEXT: usize = crate::limits::MAX_REDACTED_TEXT;
/// Ends a redacted text cut to [`MAX_REDACTED_TEXT`].
const TRUNCATED: &str = "\n# (truncated by omswatch)\n";

/// Words that mark a key, or a line, as holding a secret. Deliberately broad
/// ("pass" also matches "passphrase"; "_key" matches api_key, access_key,
/// ssh_key): hiding a harmless value costs a support engineer a question,
/// showing a password costs the password.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "secret",
    "token",
    "credential",
    "private_key",
    "_key",
    "apikey",
];

/// Whether a config key holds a secret (passwords, tokens, keys).
pub fn is_secret_key(key: &str) -> bool {
    mentions_secret(key)
}

/// Whether `text` contains any of the [`SECRET_WORDS`], in any case.
fn mentions_secret(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| text.contains(word))
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

/// `text` with every secret replaced by [`REDACTED`]. Line-based so comments and
/// layout survive for a support engineer, and conservative:
/// - a secret key's value goes, at any depth, in list items and in
///   commented-out lines, with its continuation lines (more indented, or `- `
///   items at the same indent, as YAML allows under a key);
/// - any other line that mentions a secret word anywhere (a flow mapping
///   `{url: x, password: y}`, a trailing `# password: y` comment) loses its
///   whole value.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut secret_indent: Option<usize> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(key_indent) = secret_indent {
            let continues = !trimmed.is_empty()
                && (indent > key_indent || (indent == key_indent && trimmed.starts_with('-')));
            if continues {
                continue;
            }
            secret_indent = None;
        }
        if let Some(prefix) = secret_key_prefix(line) {
            out.push_str(&format!("{prefix} \"{REDACTED}\"\n"));
            secret_indent = Some(indent);
        } else if mentions_secret(line) {
            out.push_str(&redact_line(line));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A line that mentions a secret somewhere in its value or comment: keep its key
/// (text before the first `:`, when that comes before any `{`, `[` or `#`), drop the rest.
fn redact_line(line: &str) -> String {
    let indent = &line[..line.len() - line.trim_start().len()];
    let structural = line.find(['{', '[', '#']).unwrap_or(line.len());
    match line.find(':').filter(|&colon| colon < structural) {
        Some(colon) => format!("{} \"{REDACTED}\"\n", &line[..=colon]),
        None => format!("{indent}# {REDACTED} (a line that mentions a secret)\n"),
    }
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
    summarize_document(path, &Document::new(text))
}

/// [`summarize`] of an already parsed document: one pass over the text to redact it, one over
/// the top-level keys, each key's line looked up in the document's index.
pub fn summarize_document(path: &str, doc: &Document<'_>) -> NodeConfig {
    let mut summary = NodeConfig {
        path: path.to_string(),
        redacted_text: redact_capped(doc.text),
        ..Default::default()
    };
    let map = match &doc.yaml {
        Ok(Value::Mapping(map)) => map,
        Ok(_) => {
            summary.error = "not a mapping of `key: value` lines".into();
            return summary;
        }
        Err(e) => {
            summary.error = e.to_string();
            return summary;
        }
    };
    let mut values = HashMap::new();
    let mut digests = HashMap::new();
    for (key, value) in map {
        let Some(key) = key.as_str() else { continue };
        let value = value_text(value);
        if is_secret_key(key) {
            digests.insert(key.to_string(), digest(key, &value));
        } else {
            values.insert(key.to_string(), value);
        }
        if let Some(line) = doc.line_of(key) {
            summary
                .lines
                .insert(key.to_string(), u32::try_from(line).unwrap_or(u32::MAX));
        }
    }
    summary.values = values;
    summary.secret_digests = digests;
    summary
}

/// [`redact_text`], cut to [`MAX_REDACTED_TEXT`] with a visible marker.
fn redact_capped(text: &str) -> String {
    let mut redacted = redact_text(text);
    if redacted.len() > MAX_REDACTED_TEXT {
        // Room for the marker, so the whole stays within the limit.
        let mut cut = MAX_REDACTED_TEXT.saturating_sub(TRUNCATED.len());
        while !redacted.is_char_boundary(cut) {
            cut -= 1;
        }
        redacted.truncate(cut);
        redacted.push_str(TRUNCATED);
    }
    redacted
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
    fn flow_maps_same_indent_lists_trailing_comments_and_api_keys_are_redacted() {
        let text = "tsdb: {url: x, password: FlowLeakPw}\npasswords:\n- ListLeakPw\n- ListLeakPw2\ncm_nodes:\n- 10.0.0.1\n\
                    oms_meta_user2: x  # oms_meta_password: TrailingLeakPw\napi_key: ApiKeyLeak\n# the old pwd was OldLeak\n";
        let s = summarize("/c.yaml", text);
        let all = format!("{s:?}");
        for secret in [
            "FlowLeakPw",
            "ListLeakPw",
            "ListLeakPw2",
            "TrailingLeakPw",
            "ApiKeyLeak",
            "OldLeak",
        ] {
            assert!(
                !all.contains(secret),
                "{secret} leaked: {}",
                s.redacted_text
            );
        }
        assert!(
            s.redacted_text.contains("cm_nodes:\n- 10.0.0.1\n"),
            "{}",
            s.redacted_text
        );
        assert!(
            s.secret_digests.contains_key("api_key"),
            "{:?}",
            s.secret_digests
        );
        assert!(s.values["tsdb"].contains("url: x"), "{:?}", s.values);
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
