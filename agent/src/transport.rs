//! How the agent may reach the collector, decided once at start-up from the
//! URL and the flags: mutual TLS for `https://` (the node's certificate is its
//! identity), plain text for `http://` only when asked for with `--insecure`,
//! and then only on loopback unless forced again with `--insecure-allow-remote`.
//!
//! [`check`] is pure so every combination is unit-tested; the files themselves
//! are read by [`ClientTlsFiles::client_config`] on each connection, so a
//! certificate replaced on disk is picked up without restarting the agent.

use omswatch_common::tls::{ClientTlsFiles, Security, SecurityError, security};

/// The transport flags as given on the command line or in the environment.
#[derive(Debug, Clone, Default)]
pub struct TransportFlags {
    /// `--ca`, `--cert`, `--key`.
    pub tls: ClientTlsFiles,
    /// `--insecure`: an `http://` URL is allowed.
    pub insecure: bool,
    /// `--insecure-allow-remote`: and it need not be loopback.
    pub insecure_allow_remote: bool,
}

/// How to reach the collector, once the flags are checked.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Mutual TLS: CA, certificate and key are all given.
    Tls(ClientTlsFiles),
    /// Plain text (`http://`, allowed by `--insecure`).
    Plain,
}

/// Why the URL and the flags do not go together; each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The scheme and insecure flags (the rule shared with the CLI).
    #[error(transparent)]
    Security(#[from] SecurityError),
    /// `https://` without the node's TLS files.
    #[error(
        "the https:// collector needs {0}: --ca is the CA that signed the collector's certificate, \
         --cert and --key are this node's certificate and key (make them with \
         `omswatch certs node --dir DIR --name NODE`); the collector accepts reports only from a node certificate"
    )]
    MissingTls(String),
}

/// Checks `url` against `flags`: what the agent will do, or why it must not start.
/// An agent must present its node certificate, so TLS needs all three files.
pub fn check(url: &str, flags: &TransportFlags) -> Result<Transport, TransportError> {
    match security(url, flags.insecure, flags.insecure_allow_remote)? {
        Security::Plain => Ok(Transport::Plain),
        Security::Tls => {
            let tls = &flags.tls;
            let missing: Vec<&str> = [
                ("--ca", tls.ca.is_none()),
                ("--cert", tls.cert.is_none()),
                ("--key", tls.key.is_none()),
            ]
            .into_iter()
            .filter_map(|(flag, absent)| absent.then_some(flag))
            .collect();
            if missing.is_empty() {
                Ok(Transport::Tls(tls.clone()))
            } else {
                Err(TransportError::MissingTls(missing.join(", ")))
            }
        }
    }
}

#[cfg(test)]
mod tests;
