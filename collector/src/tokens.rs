//! Operator bearer tokens: the `--token-file` (one token per line, blank and
//! `#` lines ignored), checked in constant time, and re-read whenever the file
//! changes so a token can be revoked without restarting the collector.
//! Tokens are [`Secret`]s: no log line or error ever carries one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use omswatch_common::secret::Secret;
use subtle::{Choice, ConstantTimeEq};
use tokio::sync::watch;

/// Shortest accepted token: anything shorter can be guessed over the network.
pub const MIN_TOKEN_LEN: usize = 16;

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
    /// A line is not a usable token.
    #[error(
        "token file {} line {line}: {problem} (one token per line, at least {MIN_TOKEN_LEN} characters without spaces; make one with `openssl rand -hex 32`)",
        path.display()
    )]
    Weak {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it, in words that do not repeat it.
        problem: &'static str,
    },
}

/// The accepted operator tokens.
#[derive(Debug, Default)]
pub struct TokenSet {
    tokens: Vec<Secret>,
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
        let mut tokens = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let token = raw.trim();
            if token.is_empty() || token.starts_with('#') {
                continue;
            }
            let weak = |problem| TokenError::Weak {
                path: path.to_path_buf(),
                line: i + 1,
                problem,
            };
            if token.chars().any(char::is_whitespace) {
                return Err(weak("a token holds whitespace"));
            }
            if token.len() < MIN_TOKEN_LEN {
                return Err(weak("the token is too short"));
            }
            tokens.push(Secret::new(token));
        }
        Ok(TokenSet { tokens })
    }

    /// How many tokens are accepted.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether no token is accepted.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether `presented` is one of the tokens. Every token is compared, each in
    /// constant time (`subtle`), so the answer's timing tells nothing about how
    /// much of a token was right; only a token's length can show.
    pub fn accepts(&self, presented: &str) -> bool {
        let mut found = Choice::from(0);
        for token in &self.tokens {
            found |= token.expose().as_bytes().ct_eq(presented.as_bytes());
        }
        bool::from(found)
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
        tracing::info!(file = %path.display(), tokens = tokens.len(), "token file re-read");
        tx.send_replace(Arc::new(tokens));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "0123456789abcdef0123";

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        let text = format!("# operators\n\n  {GOOD}  \n#{GOOD}x\n");
        let set = TokenSet::parse(Path::new("t"), &text).expect("valid");
        assert_eq!(set.len(), 1);
        assert!(set.accepts(GOOD));
        assert!(
            !set.accepts(&format!("{GOOD}x")),
            "a commented-out token is not a token"
        );
        assert!(!set.accepts(""));
        assert!(!set.accepts(&GOOD[..GOOD.len() - 1]));
    }

    #[test]
    fn weak_lines_are_refused_without_repeating_them() {
        for (text, problem) in [
            ("short-secret\n", "too short"),
            ("abcdefgh ijklmnopq\n", "whitespace"),
        ] {
            let err = TokenSet::parse(Path::new("/etc/t"), text)
                .expect_err(text)
                .to_string();
            assert!(err.contains(problem) && err.contains("line 1"), "{err}");
            assert!(
                !err.contains("short-secret") && !err.contains("ijklmnopq"),
                "{err}"
            );
        }
        assert!(!format!("{:?}", TokenSet::parse(Path::new("t"), GOOD)).contains(GOOD));
    }

    #[tokio::test]
    async fn a_changed_file_is_re_read_and_a_removed_one_revokes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens");
        std::fs::write(&path, format!("{GOOD}\n")).expect("write");
        let (mut rx, task) = watch_file(path.clone(), Duration::from_millis(10)).expect("load");
        assert!(rx.borrow().accepts(GOOD));
        let next = "fedcba9876543210fedcba";
        std::fs::write(&path, format!("{next}\n{next}x\n")).expect("rewrite");
        rx.changed().await.expect("re-read");
        assert!(rx.borrow().accepts(next) && !rx.borrow().accepts(GOOD));
        std::fs::remove_file(&path).expect("remove");
        rx.changed().await.expect("re-read");
        assert!(rx.borrow().is_empty());
        task.abort();
    }
}
