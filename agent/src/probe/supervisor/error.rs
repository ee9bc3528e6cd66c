//! Why asking supervisord failed.
//!
//! One enum for the whole probe, so every failure keeps its context (file, address, exit code) until
//! [`super::SupervisorProbe::probe`] turns it into the operator-facing `SupervisorStatus.error`
//! string. No variant ever holds a password.

use std::path::PathBuf;
use std::time::Duration;

/// `Result` of the supervisord probe's internals.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// One reason the probe could not learn supervisord's programs.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// No config file was given and none of the usual paths exists.
    #[error("no supervisord config file found (looked for {searched})")]
    ConfNotFound {
        /// The paths looked at, comma-separated.
        searched: String,
    },
    /// The config file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    ConfRead {
        /// The config file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The config file is not valid INI.
    #[error("cannot parse {}: {reason}", path.display())]
    ConfParse {
        /// The config file.
        path: PathBuf,
        /// The parser's message, with line and column.
        reason: String,
    },
    /// The config file names no server supervisorctl could talk to.
    #[error("{} has no [unix_http_server] file, [inet_http_server] port or [supervisorctl] serverurl", path.display())]
    NoServer {
        /// The config file.
        path: PathBuf,
    },
    /// A server URL or `port=` value that cannot be used.
    #[error("bad supervisord address {value:?}: {reason}")]
    BadAddress {
        /// The value as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The config file holds only a `{SHA}` hash of the password, which a client cannot send.
    #[error(
        "the password of user {username:?} {origin} is a {{SHA}} hash, not the password; \
         give the password in the probe settings"
    )]
    HashedPassword {
        /// The user whose password is hashed.
        username: String,
        /// Where it was read, e.g. `taken from /etc/supervisord.conf [inet_http_server]`.
        origin: String,
    },
    /// The HTTP request could not be sent or answered (socket missing, connection refused, reset).
    #[error("cannot talk to {address}: {reason}")]
    Connect {
        /// The server address, e.g. `unix:///tmp/supervisor.sock`.
        address: String,
        /// The transport failure with its causes.
        reason: String,
    },
    /// A step did not finish in its share of the probe's timeout.
    #[error("{what} did not answer within {after:?}")]
    Timeout {
        /// What timed out.
        what: String,
        /// The time it was given.
        after: Duration,
    },
    /// supervisord answered HTTP 401.
    #[error("supervisord at {address} refused the credentials: {credentials}")]
    AuthRefused {
        /// The server address.
        address: String,
        /// Which user was sent and where it came from, or that none was sent.
        credentials: String,
    },
    /// supervisord answered with an HTTP status other than 200 or 401.
    #[error("supervisord at {address} answered HTTP {status}")]
    HttpStatus {
        /// The server address.
        address: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The answer was not a `getAllProcessInfo` result.
    #[error("bad XML-RPC response: {reason}")]
    BadResponse {
        /// What was wrong, with a short excerpt.
        reason: String,
    },
    /// supervisord answered with an XML-RPC fault.
    #[error("XML-RPC fault {code}: {string}")]
    Fault {
        /// The fault code (supervisor's `Faults`, e.g. 1 UNKNOWN_METHOD).
        code: i32,
        /// The fault string.
        string: String,
    },
    /// supervisorctl could not be started.
    #[error("cannot run {}: {source}", program.display())]
    CtlSpawn {
        /// The supervisorctl binary.
        program: PathBuf,
        /// The spawn failure.
        source: std::io::Error,
    },
    /// supervisorctl ran but could not reach supervisord.
    #[error("supervisorctl could not reach supervisord (exit {code}): {output}")]
    CtlUnreachable {
        /// supervisorctl's exit code.
        code: i32,
        /// What supervisorctl printed, shortened.
        output: String,
    },
    /// supervisorctl failed for another reason (bad config, authentication, traceback, signal).
    #[error("supervisorctl failed ({exit}): {output}")]
    CtlFailed {
        /// `exit N` or `killed by a signal`.
        exit: String,
        /// What supervisorctl printed, shortened.
        output: String,
    },
    /// A `supervisorctl status` line that is not `name state description`.
    #[error("unrecognised supervisorctl status line {line_no}: {line:?}")]
    CtlUnparseable {
        /// 1-based line number in supervisorctl's output.
        line_no: usize,
        /// The line, shortened.
        line: String,
    },
}

/// `text` cut to at most `max` characters (on a char boundary), with `…` when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_on_char_boundaries() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(shorten("ééé", 2), "éé…");
    }
}
