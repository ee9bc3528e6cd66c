//! Operator bearer tokens: the `--token-file`, checked in constant time, and re-read
//! whenever the file changes so a token can be revoked without restarting the collector.
//!
//! One token per line, optionally followed by its name and scopes
//! (`TOKEN name=ci scopes=read,restart`, see [`parse`]); blank and `#` lines are
//! ignored. A bare token line is a read-only token without a name, as it always was.
//! What a token may do is its [`Grant`]: the scopes, and the label the logs and the
//! timeline record instead of the secret (`token:<name>`, or `token#<hash>` for an
//! unnamed one). Tokens are [`Secret`]s: no log line or error ever carries one.

pub mod parse;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use omswatch_common::secret::Secret;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use tokio::sync::watch;

pub use parse::{Grant, Scope, TokenError};

/// Shortest accepted token: anything shorter can be guessed over the network.
pub const MIN_TOKEN_LEN: usize = 16;

/// One accepted token and what it may do.
#[derive(Debug)]
struct Entry {
    secret: Secret,
    grant: Arc<Grant>,
}

/// The accepted operator tokens.
#[derive(Debug, Default)]
pub struct TokenSet {
    entries: Vec<Entry>,
}

impl TokenSet {
    /// Reads and parses the token file at `path`.
    pub fn load(path: &Path) -> Result<TokenSet, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        TokenSet::parse(path, &text)
    }

    /// Parses a token file's text (`path` only names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<TokenSet, TokenError> {
        let entries = parse::lines(path, text)?
            .into_iter()
            .map(|(secret, grant)| Entry {
                secret,
                grant: Arc::new(grant),
            })
            .collect();
        Ok(TokenSet { entries })
    }

    /// How many tokens are accepted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is accepted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `presented` is one of the tokens.
    pub fn accepts(&self, presented: &str) -> bool {
        self.find(presented).is_some()
    }

    /// The grant of `presented`, when it is one of the tokens. Every token is
    /// compared, each in constant time (`subtle`), and the match is selected
    /// without branching, so the answer's timing tells nothing about how much of a
    /// token was right nor which line matched; only a token's length can show.
    pub fn find(&self, presented: &str) -> Option<Arc<Grant>> {
        let mut found = subtle::Choice::from(0);
        let mut index = 0_u64;
        for (i, entry) in self.entries.iter().enumerate() {
            let equal = entry.secret.expose().as_bytes().ct_eq(presented.as_bytes());
            index.conditional_assign(&(i as u64), equal);
            found |= equal;
        }
        if !bool::from(found) {
            return None;
        }
        let index = usize::try_from(index).ok()?;
        self.entries.get(index).map(|e| Arc::clone(&e.grant))
    }

    /// Each token's label and scopes (never the token), for the log at load.
    pub fn describe(&self) -> String {
        let described: Vec<String> = self
            .entries
            .iter()
            .map(|e| format!("{} ({})", e.grant.label(), e.grant.scopes()))
            .collect();
        described.join(", ")
    }
}

/// What identifies a version of the file: a rewrite or a rename over it changes one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode: meta.ino(),
    })
}

/// Loads `path` now (an unusable file stops the start, with the reason) and
/// spawns a task that re-reads it when it changes, checked every `every`.
/// A file that becomes unusable revokes every token until it is fixed.
pub fn watch_file(
    path: PathBuf,
    every: Duration,
) -> Result<(watch::Receiver<Arc<TokenSet>>, tokio::task::JoinHandle<()>), TokenError> {
    let first = stamp(&path);
    let tokens = TokenSet::load(&path)?;
    if tokens.is_empty() {
        tracing::warn!(file = %path.display(), "the token file holds no token: operators need certificates");
    } else {
        tracing::info!(file = %path.display(), tokens = %tokens.describe(), "token file read");
    }
    let (tx, rx) = watch::channel(Arc::new(tokens));
    let task = tokio::spawn(reload_on_change(path, first, tx, every));
    Ok((rx, task))
}

async fn reload_on_change(
    path: PathBuf,
    mut last: Option<Stamp>,
    tx: watch::Sender<Arc<TokenSet>>,
    every: Duration,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !tx.is_closed() {
        ticker.tick().await;
        let now = stamp(&path);
        if now == last {
            continue;
        }
        last = now;
        let tokens = TokenSet::load(&path).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "token file unusable: refusing every bearer token until it is fixed");
            TokenSet::default()
        });
        tracing::info!(file = %path.display(), count = tokens.len(), tokens = %tokens.describe(), "token file re-read");
        tx.send_replace(Arc::new(tokens));
    }
}

#[cfg(test)]
mod tests;
