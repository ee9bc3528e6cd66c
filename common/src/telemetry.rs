//! Logging set-up shared by the binaries, error text with its causes, and the wall clock.
//!
//! Only binaries call [`init`]; libraries just emit `tracing` events.

use std::io::IsTerminal;

/// Installs the stderr subscriber: `RUST_LOG` filters (default `info`), colours
/// only on a terminal so log files stay greppable.
pub fn init() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// This machine's wall clock in Unix milliseconds (0 before 1970, saturating far ahead).
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// An error and every cause under it, `: `-separated. tonic's transport errors
/// say only "transport error" at the top; the reason is in the chain.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn chain_includes_causes_once() {
        let inner =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let outer = std::io::Error::other(inner);
        assert_eq!(super::chain(&outer), "connection refused");
        #[derive(Debug, thiserror::Error)]
        #[error("transport error")]
        struct Transport(#[source] std::io::Error);
        let e = Transport(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        ));
        assert_eq!(super::chain(&e), "transport error: refused");
    }
}
