//! The server side of mutual TLS: rustls with ring (the build's only provider), the collector's
//! certificate, and client certificates verified against the client CA. A client certificate is
//! optional at the handshake because operators may use a bearer token instead; one that is
//! presented must still chain to the CA and be in date, or the handshake fails. The authoriser
//! then refuses requests that lack the identity they need.

use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

/// gRPC is HTTP/2; clients such as grpc-go and grpcio refuse a server that does not say so.
const ALPN_H2: &[u8] = b"h2";

/// Why the TLS material is unusable. Never holds key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file holds nothing usable of the kind needed.
    #[error("{what} holds no usable {kind}: {reason}")]
    Pem {
        /// Which file (`--tls-cert`, ...).
        what: &'static str,
        /// What was looked for.
        kind: &'static str,
        /// Why.
        reason: String,
    },
    /// rustls refused the certificate, key or CA.
    #[error("{0}")]
    Rustls(String),
}

/// The acceptor for `cert` and `key` (PEM), verifying client certificates against `client_ca`.
pub fn acceptor(cert: &[u8], key: &[u8], client_ca: &[u8]) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(ring::default_provider());
    let chain = certificates("--tls-cert", cert)?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| TlsError::Pem {
        what: "--tls-key",
        kind: "private key",
        reason: e.to_string(),
    })?;
    let mut roots = RootCertStore::empty();
    for ca in certificates("--client-ca", client_ca)? {
        roots
            .add(ca)
            .map_err(|e| TlsError::Rustls(format!("--client-ca: {e}")))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsError::Rustls(format!("--client-ca: {e}")))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Rustls(format!("--tls-cert/--tls-key: {e}")))?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn certificates(what: &'static str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what,
            kind: "certificate",
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what,
            kind: "certificate",
            reason: "no CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}
