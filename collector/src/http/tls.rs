//! TLS of the HTTP listener: the collector's own certificate and key (the gRPC listener's),
//! client certificates optional but, when presented, verified against the same client CA,
//! so an operator certificate authenticates here as it does over gRPC. rustls on ring.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use crate::settings::Settings;
use crate::transport::{TransportError, read_pem};

/// Only HTTP/1.1 is offered: what Prometheus and browsers speak, and one stream per connection.
const ALPN_HTTP1: &[u8] = b"http/1.1";

/// The server configuration for `settings` (TLS on, so the three files are set; validated).
pub fn server_config(settings: &Settings) -> Result<Arc<rustls::ServerConfig>, TransportError> {
    let (Some(cert), Some(key), Some(ca)) = (
        settings.tls_cert.as_deref(),
        settings.tls_key.as_deref(),
        settings.client_ca.as_deref(),
    ) else {
        return Err(TransportError::Tls(
            "tls_cert, tls_key and client_ca are all required".into(),
        ));
    };
    let tls = |e: &dyn std::fmt::Display| TransportError::Tls(e.to_string());
    let chain = CertificateDer::pem_slice_iter(&read_pem("--tls-cert", cert, "CERTIFICATE")?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls(&e))?;
    let key = PrivateKeyDer::from_pem_slice(&read_pem("--tls-key", key, "PRIVATE KEY")?)
        .map_err(|e| tls(&e))?;
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(&read_pem("--client-ca", ca, "CERTIFICATE")?) {
        roots.add(ca.map_err(|e| tls(&e))?).map_err(|e| tls(&e))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| tls(&e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| tls(&e))?;
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(Arc::new(config))
}
