//! What `omswatch` says when a query fails, so the operator knows what to fix:
//! a refusal (missing or wrong credentials) teaches how to authenticate, a TLS
//! failure names the files to check, anything else asks whether the collector
//! runs there.

use omswatch_common::telemetry::chain;
use tonic::Code;

/// The stderr text for a failed query: `what` (e.g. "the status") from `url`.
/// `tls` says whether the connection was TLS.
pub fn explain(what: &str, url: &str, error: &anyhow::Error, tls: bool) -> String {
    let status = error.downcast_ref::<tonic::Status>();
    if let Some(status) = status.filter(|s| is_refusal(s.code())) {
        return refused(status.code(), status.message());
    }
    let cause = match status {
        Some(status) => describe(status),
        None => chain(error.as_ref()),
    };
    let head = format!("omswatch: cannot get {what} from {url}: {cause}");
    // Over TLS, a transport failure after connecting is how a collector drops
    // a client certificate it does not trust (another CA, expired).
    let dropped_after_connect =
        tls && status.is_some_and(|s| std::error::Error::source(s).is_some());
    if mentions_tls(&cause) || dropped_after_connect {
        format!("{head}\n{TLS_HINT}")
    } else {
        format!("{head}\n{UNREACHABLE_HINT}")
    }
}

/// The message for a collector that refused this client with `code` and `reason`.
pub fn refused(code: Code, reason: &str) -> String {
    let why = match code {
        Code::PermissionDenied => "permission denied",
        _ => "not authenticated",
    };
    format!(
        "omswatch: the collector refused this client ({why}): {reason}; query with an operator certificate \
         (omswatch certs operator --dir DIR --name NAME, then --cert/--key or OMSWATCH_CERT/OMSWATCH_KEY) \
         or --token-file"
    )
}

/// Whether `code` means the collector refused this client.
pub fn is_refusal(code: Code) -> bool {
    matches!(code, Code::PermissionDenied | Code::Unauthenticated)
}

const UNREACHABLE_HINT: &str =
    "Is omswatch-collector running there? Pass --collector URL or set OMSWATCH_COLLECTOR.";

const TLS_HINT: &str = "TLS failed. Check that --ca is the CA that signed the collector's certificate, \
that the collector's certificate names the host in --collector (omswatch certs collector --ip/--dns), \
and that --cert is an operator certificate from the same CA and not expired.";

/// A status as its message and the causes under it (tonic's own Display is a debug dump).
fn describe(status: &tonic::Status) -> String {
    match std::error::Error::source(status) {
        Some(source) => chain(source),
        None => format!("{} ({:?})", status.message(), status.code()),
    }
}

fn mentions_tls(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    ["certificate", "alert", "handshake", "tls"]
        .iter()
        .any(|word| lower.contains(word))
}
