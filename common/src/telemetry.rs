//! What the binaries share at their edges: logging set-up, the shutdown signal,
//! error text with its causes, and the wall clock.
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

/// [`init`] for the agent: the same output, with `RUST_LOG` read as comma-separated `level` and
/// `target=level` directives (`info,omswatch_agent::run=debug`), default `info`. It leaves out
/// `EnvFilter`'s span and field filters, whose regular-expression engine would be a twentieth of
/// the agent's code, and so of the memory it keeps in every OMS container.
pub fn init_targets() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let spec = std::env::var("RUST_LOG").unwrap_or_default();
    let (targets, refused) = targets(&spec);
    let output = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    tracing_subscriber::registry()
        .with(output)
        .with(targets)
        .init();
    if let Some(error) = refused {
        tracing::warn!(rust_log = %spec, %error, "RUST_LOG not understood (expected e.g. `info,omswatch_agent=debug`); logging at info");
    }
}

/// The filter `spec` (`RUST_LOG`) asks for, or `info` and why `spec` was refused.
fn targets(
    spec: &str,
) -> (
    tracing_subscriber::filter::Targets,
    Option<tracing_subscriber::filter::ParseError>,
) {
    use tracing_subscriber::filter::Targets;
    let info = || Targets::new().with_default(tracing::Level::INFO);
    match spec.trim() {
        "" => (info(), None),
        given => match given.parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(error) => (info(), Some(error)),
        },
    }
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

/// Completes on ctrl-c or SIGTERM (systemd, docker stop). A signal that cannot
/// be watched is logged and left out, rather than stopping the binary (agent or collector) at once.
pub async fn shutdown_signal() {
    tokio::select! {
        () = ctrl_c() => tracing::info!("interrupted (ctrl-c); stopping"),
        () = terminate() => tracing::info!("SIGTERM received; stopping"),
    }
}

async fn ctrl_c() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!(error = %e, "cannot watch ctrl-c");
        std::future::pending::<()>().await;
    }
}

#[cfg(unix)]
async fn terminate() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            term.recv().await;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM");
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn rust_log_targets_default_to_info() {
        use tracing::Level;
        let (targets, refused) = super::targets("info,omswatch_agent::run=debug");
        assert!(refused.is_none());
        assert!(targets.would_enable("omswatch_agent::run", &Level::DEBUG));
        assert!(!targets.would_enable("omswatch_agent::report", &Level::DEBUG));
        assert!(targets.would_enable("h2", &Level::INFO));
        for spec in ["", "  ", "info=info=info"] {
            let (targets, _) = super::targets(spec);
            assert!(
                targets.would_enable("omswatch_agent", &Level::INFO),
                "{spec:?}"
            );
            assert!(
                !targets.would_enable("omswatch_agent", &Level::DEBUG),
                "{spec:?}"
            );
        }
        assert!(super::targets("info=info=info").1.is_some());
    }

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
