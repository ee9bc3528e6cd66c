//! TLS material for gRPC clients (agent, CLI): the CA that signed the
//! collector's certificate, and the client's own certificate and key.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Identity};

/// Paths to a client's TLS files.
#[derive(Debug, Clone, Default)]
pub struct ClientTlsFiles {
    /// CA certificate (PEM) that signed the collector's certificate.
    pub ca: Option<PathBuf>,
    /// This client's certificate (PEM), for mutual TLS.
    pub cert: Option<PathBuf>,
    /// This client's private key (PEM).
    pub key: Option<PathBuf>,
}

/// Why TLS material could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        /// Which file (CA, certificate, key).
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// Certificate and key must come together.
    #[error("--cert and --key go together: give both or neither")]
    Unpaired,
    /// An https:// collector URL needs the CA.
    #[error(
        "no CA for the collector's certificate: pass --ca FILE (or OMSWATCH_CA), or use --insecure with an http:// URL on loopback"
    )]
    NoCa,
}

/// Reads one PEM file.
pub fn read_pem(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

impl ClientTlsFiles {
    /// The tonic client TLS config: verifies the collector against `ca` (its
    /// certificate must name the host of the URL), presents the client's own
    /// certificate when given.
    pub fn client_config(&self) -> Result<ClientTlsConfig, TlsError> {
        let ca = self.ca.as_deref().ok_or(TlsError::NoCa)?;
        let mut config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read_pem("CA certificate", ca)?));
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let identity = Identity::from_pem(
                    read_pem("certificate", cert)?,
                    read_pem("private key", key)?,
                );
                config = config.identity(identity);
            }
            (None, None) => {}
            _ => return Err(TlsError::Unpaired),
        }
        Ok(config)
    }
}

/// Whether a collector URL's host is a loopback address (where plain text is tolerable).
pub fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls() {
        for url in [
            "http://127.0.0.1:9470",
            "http://localhost:1",
            "http://[::1]:9470/x",
            "http://127.8.9.1",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://10.0.0.1:9470",
            "http://[fe80::1]:1",
            "garbage",
            "http://localhost.evil.com:1",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn cert_without_key_is_refused_and_missing_ca_is_explained() {
        let files = ClientTlsFiles {
            ca: None,
            cert: None,
            key: None,
        };
        assert!(matches!(files.client_config(), Err(TlsError::NoCa)));
        let files = ClientTlsFiles {
            ca: Some("/dev/null".into()),
            cert: Some("/x".into()),
            key: None,
        };
        assert!(matches!(files.client_config(), Err(TlsError::Unpaired)));
    }
}
