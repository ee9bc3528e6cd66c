//! The token file's lines: `TOKEN [name=NAME] [scopes=SCOPE,...] [# comment]`.
//!
//! - The first word is the token (at least [`MIN_TOKEN_LEN`] characters; it may hold
//!   `=`, as base64 does). It is never repeated in an error.
//! - `name=` (1-64 letters, digits, `.`, `_`, `-`, `@`; unique in the file) is what the
//!   logs and the timeline record for the token: `token:<name>`. A token without a
//!   name is recorded as `token#<8 hex>`, a salted SHA-256 of the token: stable across
//!   restarts and across the collectors of a pair, and 32 bits, too few to confirm a
//!   guess of a token of [`MIN_TOKEN_LEN`] random characters.
//! - `scopes=` lists what the token may do: `read` (status, history, bundles, metrics,
//!   forget) and `restart` (`omswatch restart`, `POST /api/v1/restart`). Without it a
//!   token may `read` only, so a bare token line keeps its old meaning.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use omswatch_common::secret::Secret;
use sha2::{Digest, Sha256};

use super::MIN_TOKEN_LEN;

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Queries: status, history, bundles, metrics, the status API, forget.
    Read,
    /// Restarting a program through its agent.
    Restart,
}

impl Scope {
    /// Every scope, in the order they are listed.
    pub const ALL: [Scope; 2] = [Scope::Read, Scope::Restart];

    /// Its name in the token file.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Restart => "restart",
        }
    }

    fn parse(word: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

/// What one token may do, and what it is called in logs and the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    name: Option<String>,
    label: String,
    scopes: Vec<Scope>,
}

impl Grant {
    /// `token:<name>`, or `token#<hash>` for an unnamed token: what the audit records.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The `name=` given, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether the token may be used for `scope`.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// The scopes as the file spells them: `read,restart`.
    pub fn scopes(&self) -> String {
        let names: Vec<&str> = self.scopes.iter().map(|s| s.as_str()).collect();
        names.join(",")
    }
}

/// Why the token file cannot be used. Never holds a token's text.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file cannot be read.
    #[error("cannot read token file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line is not a usable token line.
    #[error(
        "token file {} line {line}: {problem} (one token per line, at least {MIN_TOKEN_LEN} \
         characters without spaces, then optionally name=NAME and scopes=read,restart, e.g. \
         `TOKEN name=ci scopes=read,restart`; make a token with `openssl rand -hex 32`)",
        path.display()
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it, in words that do not repeat the token.
        problem: String,
    },
}

/// Salt of the label of an unnamed token.
const LABEL_SALT: &[u8] = b"omswatch token label v1\0";
/// Longest token name.
const MAX_NAME: usize = 64;

/// Every token line of `text` with its grant (`path` only names the file in errors).
pub(super) fn lines(path: &Path, text: &str) -> Result<Vec<(Secret, Grant)>, TokenError> {
    let mut tokens: Vec<(Secret, Grant, usize)> = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line_no = i + 1;
        let malformed = |problem: String| TokenError::Malformed {
            path: path.to_path_buf(),
            line: line_no,
            problem,
        };
        let (secret, grant) = line_grant(line).map_err(malformed)?;
        if let Some((_, _, first)) = tokens
            .iter()
            .find(|(other, _, _)| other.expose() == secret.expose())
        {
            return Err(malformed(format!("repeats the token of line {first}")));
        }
        if let Some(name) = grant.name()
            && let Some(first) = names.insert(name.to_string(), line_no)
        {
            return Err(malformed(format!(
                "name={name} is already used on line {first}; names must be unique"
            )));
        }
        tokens.push((secret, grant, line_no));
    }
    Ok(tokens.into_iter().map(|(s, g, _)| (s, g)).collect())
}

/// One line that is neither blank nor a comment.
fn line_grant(line: &str) -> Result<(Secret, Grant), String> {
    let mut words = line.split_whitespace();
    let token = words.next().unwrap_or_default();
    if token.len() < MIN_TOKEN_LEN {
        return Err("the token is too short".into());
    }
    let (mut name, mut scopes) = (None, None);
    for (n, word) in words.enumerate() {
        if word.starts_with('#') {
            break; // a comment ends the line
        }
        let position = n + 2;
        let Some((key, value)) = word.split_once('=') else {
            // Not echoed: it may be the rest of a token that holds whitespace.
            return Err(format!(
                "word {position} is not name=NAME or scopes=LIST (a token holds no whitespace)"
            ));
        };
        match key {
            "name" if name.is_none() => name = Some(parse_name(value)?),
            "scopes" if scopes.is_none() => scopes = Some(parse_scopes(value)?),
            "name" | "scopes" => return Err(format!("{key}= is given twice")),
            _ => {
                return Err(format!(
                    "unknown attribute {:?} (only name= and scopes=)",
                    shown(key)
                ));
            }
        }
    }
    let label = match &name {
        Some(name) => format!("token:{name}"),
        None => unnamed_label(token),
    };
    let grant = Grant {
        name,
        label,
        scopes: scopes.unwrap_or_else(|| vec![Scope::Read]),
    };
    Ok((Secret::new(token), grant))
}

fn parse_name(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value.len() <= MAX_NAME
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if valid {
        Ok(value.to_string())
    } else {
        Err(format!(
            "name= must be 1-{MAX_NAME} letters, digits, '.', '_', '-' or '@'"
        ))
    }
}

fn parse_scopes(value: &str) -> Result<Vec<Scope>, String> {
    let mut scopes = Vec::new();
    for word in value.split(',') {
        let scope = Scope::parse(word.trim()).ok_or_else(|| {
            format!(
                "unknown scope {:?} in scopes= (known: read, restart)",
                shown(word)
            )
        })?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    Ok(scopes)
}

/// `token#` and the first 8 hex digits of the salted SHA-256 of `token`.
pub(super) fn unnamed_label(token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(LABEL_SALT)
        .chain_update(token.as_bytes())
        .finalize();
    let mut label = String::from("token#");
    for byte in digest.iter().take(4) {
        let _ = write!(label, "{byte:02x}");
    }
    label
}

/// A value from the file for an error message: printable and short.
fn shown(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).take(32).collect()
}
