//! Defense in depth: the last look at a config.yaml before it goes into a bundle.
//! Configs arrive already redacted (by the agent or the collector), so this
//! should never fire; when it does, the value is redacted here and the caller
//! warns. It is stricter than the redaction at the source: it also looks at
//! indented keys, list items and commented-out lines (`# oms_meta_password: old`).

use omswatch_common::oms_config::summary::{REDACTED, is_secret_key};

/// A secret value found in text that should have had none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// 1-based line of the key.
    pub line: usize,
    /// The secret key (never its value).
    pub key: String,
}

/// Where the scan is: a secret key without an inline value may own the
/// following, more indented lines.
#[derive(Debug, Clone)]
enum State {
    /// Ordinary lines.
    Normal,
    /// After `secret:` with nothing inline; the key is `out[key_at]`, `leak` its line.
    Pending {
        indent: usize,
        key_at: usize,
        leak: Leak,
    },
    /// Inside a secret's value: drop lines indented deeper than `indent`.
    SecretBody { indent: usize },
}

/// `text` with every unredacted secret value replaced by `"<redacted>"`, and
/// where that happened.
pub fn redact_leaks(text: &str) -> (String, Vec<Leak>) {
    let mut out: Vec<String> = Vec::new();
    let mut leaks = Vec::new();
    let mut state = State::Normal;
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let blank = line.trim().is_empty();
        match &state {
            State::SecretBody { indent: at } if blank || indent > *at => continue,
            State::Pending { .. } if blank => {}
            State::Pending {
                indent: at,
                key_at,
                leak,
            } if indent > *at && key_line(line).is_none() => {
                out[*key_at] = redacted(&out[*key_at]);
                leaks.push(leak.clone());
                state = State::SecretBody { indent: *at };
                continue;
            }
            // Anything else, a nested mapping included (its keys are checked one by one).
            _ => state = State::Normal,
        }
        let Some((key, value)) = key_line(line) else {
            out.push(line.to_string());
            continue;
        };
        if !is_secret_key(key) || is_redacted(value) {
            out.push(line.to_string());
        } else if is_empty(value) {
            state = State::Pending {
                indent,
                key_at: out.len(),
                leak: Leak {
                    line: i + 1,
                    key: key.to_string(),
                },
            };
            out.push(line.to_string());
        } else {
            if value.starts_with(['|', '>']) {
                state = State::SecretBody { indent };
            }
            leaks.push(Leak {
                line: i + 1,
                key: key.to_string(),
            });
            out.push(redacted(line));
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    (text, leaks)
}

/// The key and the raw value of a `key: value` line, also when indented, a list
/// item (`- key: value`) or commented out (`# key: value`).
fn key_line(line: &str) -> Option<(&str, &str)> {
    let body = line.trim_start();
    let body = body.trim_start_matches('#').trim_start();
    let body = body.strip_prefix("- ").unwrap_or(body).trim_start();
    let colon = body
        .char_indices()
        .find(|&(i, c)| c == ':' && body[i + 1..].chars().next().is_none_or(char::is_whitespace))
        .map(|(i, _)| i)?;
    let key = body[..colon].trim().trim_matches(['"', '\'']);
    (!key.is_empty()).then(|| (key, body[colon + 1..].trim()))
}

/// Whether a value (trailing comment ignored) is the redaction mark.
fn is_redacted(value: &str) -> bool {
    let value = strip_comment(value);
    [
        format!("\"{REDACTED}\""),
        format!("'{REDACTED}'"),
        REDACTED.to_string(),
    ]
    .iter()
    .any(|r| r == value)
}

/// Whether a value is absent (an empty password reveals nothing, and says something).
fn is_empty(value: &str) -> bool {
    matches!(strip_comment(value), "" | "\"\"" | "''" | "~" | "null")
}

fn strip_comment(value: &str) -> &str {
    value.split(" #").next().unwrap_or(value).trim()
}

/// `line` cut after its key's colon, with the redaction mark as value.
fn redacted(line: &str) -> String {
    let colon = line
        .char_indices()
        .find(|&(i, c)| c == ':' && line[i + 1..].chars().next().is_none_or(char::is_whitespace))
        .map_or(line.len(), |(i, _)| i + 1);
    format!("{} \"{REDACTED}\"", &line[..colon])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> (String, Vec<usize>) {
        let (out, leaks) = redact_leaks(text);
        (out, leaks.iter().map(|l| l.line).collect())
    }

    #[test]
    fn redacted_and_empty_values_pass_untouched() {
        let text = "oms_meta_host: 10.0.0.5\noms_meta_password: \"<redacted>\"\ntsdb_password: ''\n\
                    drc_password: \"<redacted>\" # set by installer\nnote: password: later\n";
        assert_eq!(redact_leaks(text), (text.to_string(), vec![]));
    }

    #[test]
    fn plain_indented_listed_and_commented_secrets_are_caught() {
        let text = "oms_meta_password: Hunter2!\nnested:\n  tsdb_password: \"p1\"\n\
                    users:\n  - api_token: t0k\n# oms_meta_password: old-pw\ncm_url: http://x:8088\n";
        let (out, lines) = scan(text);
        assert_eq!(lines, vec![1, 3, 5, 6]);
        for secret in ["Hunter2!", "p1", "t0k", "old-pw"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("  tsdb_password: \"<redacted>\"\n"), "{out}");
        assert!(
            out.contains("# oms_meta_password: \"<redacted>\"\n"),
            "{out}"
        );
        assert!(out.contains("cm_url: http://x:8088\n"), "{out}");
    }

    #[test]
    fn multi_line_secret_values_lose_their_body() {
        let text = "tsdb_password: |\n  line-one\n\n  line-two\noms_meta_password:\n  next-line-pw\n\
                    drc_user: admin\nsecrets:\n  token: abc\n";
        let (out, lines) = scan(text);
        assert_eq!(lines, vec![1, 5, 9], "{out}");
        for secret in ["line-one", "line-two", "next-line-pw", "abc"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(
            out.contains("oms_meta_password: \"<redacted>\"\ndrc_user: admin\n"),
            "{out}"
        );
    }
}
