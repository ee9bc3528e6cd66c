//! What the gRPC listener speaks and whom it trusts, decided once at start:
//! mutual TLS with the configured certificate, key and client CA (the default,
//! served by [`crate::listener`]), or plain text with `--insecure`; and the
//! [`Authorizer`] both services use.
//! Every file is read here, so a wrong path fails the start with its name,
//! not the first handshake.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tonic::transport::Server;

use crate::auth::Authorizer;
use crate::listener;
use crate::settings::Settings;
use crate::tokens::{self, TokenError};

/// An agent whose host crashed or lost its network leaves a half-open
/// connection that would hold its stream and buffers forever: the server pings
/// every open connection this often when it is quiet...
const HTTP2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// ...and drops it when the ping is not answered within this.
const HTTP2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// An agent needs one stream and an operator one at a time; the cap stops one
/// connection from opening streams (each with its own task and buffers) without bound.
const MAX_CONCURRENT_STREAMS: u32 = 64;

/// Why the listener cannot be set up. Never holds key material or tokens.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A TLS file cannot be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        /// Which file (`--tls-cert`, ...).
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A TLS file does not hold what it should.
    #[error(
        "{what} {} holds no PEM {expected} (`omswatch certs` writes NAME.pem and NAME-key.pem; are the two swapped?)",
        path.display()
    )]
    NotPem {
        /// Which file.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// "CERTIFICATE" or "PRIVATE KEY".
        expected: &'static str,
    },
    /// rustls refused the certificate, key or CA.
    #[error("the TLS certificate, key or client CA is unusable: {0}")]
    Tls(String),
    /// A file's PEM or its certificate is unusable.
    #[error("the TLS certificate, key or client CA is unusable: {0}")]
    Rustls(#[from] listener::tls::TlsError),
    /// The token file is unusable.
    #[error(transparent)]
    Tokens(#[from] TokenError),
}

/// The listener's security, ready to serve.
pub struct Security {
    /// The gRPC server builder (keepalives, stream cap).
    pub server: Server,
    /// The TLS acceptor; `None` with `--insecure`.
    pub tls: Option<TlsAcceptor>,
    /// Who may report and query.
    pub auth: Authorizer,
    /// The token file watcher, to stop at shutdown.
    pub token_watch: Option<JoinHandle<()>>,
}

/// Reads the TLS files and the token file named in `settings` (already validated).
pub fn prepare(settings: &Settings) -> Result<Security, TransportError> {
    if settings.insecure {
        warn_insecure(settings);
        return Ok(Security {
            server: builder(),
            tls: None,
            auth: Authorizer::open(),
            token_watch: None,
        });
    }
    let tls = server_tls(settings)?;
    let (tokens, token_watch) = match &settings.token_file {
        Some(path) => {
            let (rx, task) = tokens::watch_file(path.clone(), settings.tick)?;
            (Some(rx), Some(task))
        }
        None => (None, None),
    };
    tracing::info!(
        client_ca = %path_text(settings.client_ca.as_deref()),
        token_file = %path_text(settings.token_file.as_deref()),
        "mutual TLS: agents need node certificates; queries need operator certificates or bearer tokens"
    );
    Ok(Security {
        server: builder(),
        tls: Some(tls),
        auth: Authorizer::verified(tokens),
        token_watch,
    })
}

/// The server with the keepalives and the stream cap, TLS or not.
fn builder() -> Server {
    Server::builder()
        .http2_keepalive_interval(Some(HTTP2_KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(HTTP2_KEEPALIVE_TIMEOUT))
        .max_concurrent_streams(Some(MAX_CONCURRENT_STREAMS))
}

/// The TLS acceptor of the settings' files (see [`listener::tls`] for what it checks).
fn server_tls(settings: &Settings) -> Result<TlsAcceptor, TransportError> {
    let (Some(cert), Some(key), Some(ca)) = (
        settings.tls_cert.as_deref(),
        settings.tls_key.as_deref(),
        settings.client_ca.as_deref(),
    ) else {
        // Settings::validate guarantees all three without --insecure.
        return Err(TransportError::Tls(
            "tls_cert, tls_key and client_ca are all required".into(),
        ));
    };
    let cert_pem = read_pem("--tls-cert", cert, "CERTIFICATE")?;
    let key_pem = read_pem("--tls-key", key, "PRIVATE KEY")?;
    let ca_pem = read_pem("--client-ca", ca, "CERTIFICATE")?;
    warn_if_readable_by_others(key);
    Ok(listener::tls::acceptor(&cert_pem, &key_pem, &ca_pem)?)
}

/// Reads a PEM file and checks it holds a block of the `expected` kind.
pub fn read_pem(
    what: &'static str,
    path: &Path,
    expected: &'static str,
) -> Result<Vec<u8>, TransportError> {
    let bytes = std::fs::read(path).map_err(|source| TransportError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let marker = format!("{expected}-----");
    let holds = text
        .lines()
        .any(|line| line.starts_with("-----BEGIN ") && line.ends_with(&marker));
    if !holds {
        return Err(TransportError::NotPem {
            what,
            path: path.to_path_buf(),
            expected,
        });
    }
    Ok(bytes)
}

fn warn_if_readable_by_others(key: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(key)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            file = %key.display(),
            mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "the TLS key is readable by other users: chmod 600 it"
        );
    }
}

fn warn_insecure(settings: &Settings) {
    tracing::warn!(
        listen = %settings.listen,
        "INSECURE: plain-text gRPC without authentication (--insecure). Any peer that can connect may \
         report as any node and read the cluster's status and bundles. Use --tls-cert, --tls-key and \
         --client-ca in production."
    );
    if settings.tls_cert.is_some() || settings.client_ca.is_some() || settings.token_file.is_some()
    {
        tracing::warn!(
            "--insecure is set: tls_cert, tls_key, client_ca and token_file are ignored"
        );
    }
}

fn path_text(path: Option<&Path>) -> String {
    path.map_or_else(|| "-".to_string(), |p| p.display().to_string())
}
