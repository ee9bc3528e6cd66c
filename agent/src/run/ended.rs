//! Why a connection to the collector ended, and the log line that says what
//! to do about it. A refusal (of this agent or of its report) or a TLS failure
//! is logged at error with the collector's reason and the fix; a lost
//! connection is a warning (the collector may just be restarting).

use std::time::Duration;

use omswatch_common::telemetry::chain;
use tonic::Code;

/// Why a connection to the collector ended.
#[derive(Debug)]
pub enum Ended {
    /// The collector refused this agent (PermissionDenied, Unauthenticated) or
    /// its report (InvalidArgument, ResourceExhausted).
    Refused(tonic::Status),
    /// TLS failed: the CA, a certificate or the collector's names do not fit.
    Tls(String),
    /// The TLS files could not be read.
    Files(String),
    /// Anything else: the collector is down, restarting or unreachable.
    Lost(String),
}

impl Ended {
    /// From a failed call on an established stream: a refusal when the collector
    /// said so, else a lost connection. Never a TLS failure: the handshake already
    /// succeeded, and a collector that dies mid-stream shows up as "peer closed
    /// connection without sending TLS close_notify", which is no certificate problem.
    pub fn status(context: &str, status: tonic::Status) -> Ended {
        match status.code() {
            code if refusal(code) => Ended::Refused(status),
            _ => match std::error::Error::source(&status) {
                Some(source) => Ended::Lost(format!("{context}: {}", chain(source))),
                None => Ended::Lost(format!("{context}: {}", chain(&status))),
            },
        }
    }

    /// From the failed first call of a connection. Over TLS, a transport failure
    /// there is how a collector refuses a certificate it does not trust (another
    /// CA, expired): the handshake's alert may arrive only as a closed connection.
    pub fn first_call(status: tonic::Status, tls: bool) -> Ended {
        let context = "the stream was not accepted";
        match std::error::Error::source(&status) {
            Some(source) if tls && !refusal(status.code()) => Ended::Tls(format!(
                "{context}: the collector closed the connection at the first call, as it does for a \
                 client certificate it does not trust: {}",
                chain(source)
            )),
            _ => Ended::status(context, status),
        }
    }

    /// From a transport error: a TLS failure when its causes speak of certificates.
    pub fn lost(context: &str, error: &(dyn std::error::Error + 'static)) -> Ended {
        let text = format!("{context}: {}", chain(error));
        let lower = text.to_ascii_lowercase();
        if ["certificate", "alert", "handshake", "tls"]
            .iter()
            .any(|word| lower.contains(word))
        {
            Ended::Tls(text)
        } else {
            Ended::Lost(text)
        }
    }

    /// From an error known to be about TLS.
    pub fn tls(context: &str, error: &(dyn std::error::Error + 'static)) -> Ended {
        Ended::Tls(format!("{context}: {}", chain(error)))
    }

    /// Logs why the connection ended and what to do, before retrying in `retry_in`.
    pub fn log(&self, collector: &str, node: &str, retry_in: Duration) {
        match self {
            Ended::Refused(status) => tracing::error!(
                %collector, %node, code = ?status.code(), reason = status.message(), ?retry_in,
                "{}", refusal_fix(status.code())
            ),
            Ended::Tls(reason) => tracing::error!(
                %collector, %node, %reason, ?retry_in,
                "TLS with the collector failed: check that --ca is the CA that signed the collector's \
                 certificate, that the collector's certificate names the host in --collector \
                 (omswatch certs collector --ip/--dns), and that --cert is this node's certificate, \
                 signed by the same CA and not expired"
            ),
            Ended::Files(reason) => tracing::error!(
                %collector, %node, %reason, ?retry_in,
                "cannot load the TLS files given by --ca, --cert, --key"
            ),
            Ended::Lost(reason) => tracing::warn!(
                %collector, %reason, ?retry_in, "not connected to the collector"
            ),
        }
    }
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Refused(status) => write!(
                f,
                "the collector refused this agent ({:?}): {}",
                status.code(),
                status.message()
            ),
            Ended::Tls(reason) | Ended::Files(reason) | Ended::Lost(reason) => f.write_str(reason),
        }
    }
}

/// Whether `code` means the collector refused this agent or its report. A
/// refused report is refused again after every reconnect, so the node never
/// appears: that must be an error in the log, not a lost connection.
fn refusal(code: Code) -> bool {
    matches!(
        code,
        Code::PermissionDenied
            | Code::Unauthenticated
            | Code::InvalidArgument
            | Code::ResourceExhausted
    )
}

/// What the log says of a report that broke a limit. The agent clips its
/// reports to the collector's limits, so this is a bug in one or the other.
const LIMIT_BROKEN: &str = "the collector refused this agent's report: this agent's report broke a \
     collector limit; please report this as a bug, with the reason and the output of \
     `omswatch-agent --once`";

/// What the log says of a refusal with `code`, and what to do about it.
fn refusal_fix(code: Code) -> String {
    match code {
        Code::PermissionDenied => "the collector refused this agent: it accepted the certificate \
             but not these reports: a node certificate may only report, and only for the node it \
             names (omswatch://node/NAME); --node must match it"
            .into(),
        Code::InvalidArgument => LIMIT_BROKEN.into(),
        // The collector's rate and size limits answer ResourceExhausted too, and
        // those are its settings, not a bug; the reason says which it was.
        Code::ResourceExhausted => format!(
            "{LIMIT_BROKEN}; unless the reason names max_reports_per_second, report_burst or \
             max_message_bytes: then the collector's setting is below what this agent sends \
             (raise it, or --interval and --probe-every)"
        ),
        _ => "the collector refused this agent: it did not accept this agent's certificate: pass \
             --cert and --key of a node certificate issued by the collector's CA (omswatch certs \
             node --dir DIR --name NODE)"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_report_is_a_refusal_that_asks_for_a_bug_report() {
        for status in [
            tonic::Status::invalid_argument("config.redacted_text is 65563 bytes long"),
            tonic::Status::resource_exhausted("report larger than max_message_bytes"),
        ] {
            let code = status.code();
            let ended = Ended::status("the stream ended", status);
            assert!(matches!(ended, Ended::Refused(_)), "{ended}");
            let text = refusal_fix(code);
            assert!(
                text.contains(
                    "this agent's report broke a collector limit; please report this as a bug"
                ),
                "{text}"
            );
        }
        assert!(refusal_fix(Code::ResourceExhausted).contains("max_message_bytes"));
    }

    #[test]
    fn a_collector_dying_mid_stream_is_a_lost_connection_not_a_tls_problem() {
        let eof = std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "peer closed connection without sending TLS close_notify",
        );
        let status = tonic::Status::from_error(Box::new(eof));
        assert!(matches!(
            Ended::status("the stream ended", status),
            Ended::Lost(_)
        ));
    }

    #[test]
    fn an_unavailable_collector_is_a_lost_connection() {
        let ended = Ended::status("cannot connect", tonic::Status::unavailable("down"));
        assert!(matches!(ended, Ended::Lost(_)), "{ended}");
    }
}
