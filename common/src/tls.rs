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

/// How a client may reach the collector, by URL scheme and the insecure flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `https://`: TLS; the caller then checks which TLS files it needs.
    Tls,
    /// `http://`, allowed by `--insecure` (and `--insecure-allow-remote` off loopback).
    Plain,
}

/// Why a URL and the insecure flags do not go together; each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    /// Neither `https://` nor `http://`.
    #[error(
        "collector URL {0:?} must start with https:// (TLS) or http:// (plain text, with --insecure)"
    )]
    Scheme(String),
    /// `--insecure` given with an `https://` URL.
    #[error(
        "--insecure only allows http:// collector URLs; it does not turn off certificate checks for https://. \
         Drop --insecure (and OMSWATCH_INSECURE)"
    )]
    InsecureWithHttps,
    /// `--insecure-allow-remote` without `--insecure`.
    #[error("--insecure-allow-remote only makes sense together with --insecure")]
    AllowRemoteAlone,
    /// `http://` without `--insecure`.
    #[error(
        "{0} is plain text: what crosses it can be read and forged. Use https:// with --ca and a \
         certificate (--cert, --key), or pass --insecure for a trial with a collector on this host"
    )]
    PlainWithoutInsecure(String),
    /// `http://` to a host that is not loopback, without `--insecure-allow-remote`.
    #[error(
        "refusing plain text to {0}, which is not a loopback address: anyone on the network could read \
         and forge what crosses it. Use https://; to force plain text anyway, add --insecure-allow-remote"
    )]
    RemotePlain(String),
}

/// The one rule for agents and the CLI: TLS for `https://`; plain text only for
/// `http://` with `--insecure`, and off loopback only with `--insecure-allow-remote`.
pub fn security(url: &str, insecure: bool, allow_remote: bool) -> Result<Security, SecurityError> {
    if allow_remote && !insecure {
        return Err(SecurityError::AllowRemoteAlone);
    }
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("https") if insecure => Err(SecurityError::InsecureWithHttps),
        Some("https") => Ok(Security::Tls),
        Some("http") if !insecure => Err(SecurityError::PlainWithoutInsecure(url.to_string())),
        Some("http") if !is_loopback_url(url) && !allow_remote => {
            Err(SecurityError::RemotePlain(url.to_string()))
        }
        Some("http") => Ok(Security::Plain),
        _ => Err(SecurityError::Scheme(url.to_string())),
    }
}

/// Whether a collector URL's host is a loopback address (where plain text is
/// tolerable). Parsed as a URI, so `http://127.0.0.1:1@192.0.2.2` is judged by its
/// real host (192.0.2.2); a URL with user info is never loopback.
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(uri) = url.parse::<tonic::codegen::http::Uri>() else {
        return false;
    };
    let Some(authority) = uri.authority() else {
        return false;
    };
    if authority.as_str().contains('@') {
        return false;
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
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
            "http://127.0.0.1:1@192.0.2.2",
            "http://localhost@10.0.0.1:9470",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn channel_rules() {
        use SecurityError::*;
        let cases: &[(&str, bool, bool, Result<Security, SecurityError>)] = &[
            ("https://10.0.0.5:9470", false, false, Ok(Security::Tls)),
            ("HTTPS://10.0.0.5:9470", false, false, Ok(Security::Tls)),
            ("https://10.0.0.5:9470", true, false, Err(InsecureWithHttps)),
            (
                "http://127.0.0.1:9470",
                false,
                false,
                Err(PlainWithoutInsecure("http://127.0.0.1:9470".into())),
            ),
            ("http://127.0.0.1:9470", true, false, Ok(Security::Plain)),
            (
                "http://10.0.0.5:9470",
                true,
                false,
                Err(RemotePlain("http://10.0.0.5:9470".into())),
            ),
            ("http://10.0.0.5:9470", true, true, Ok(Security::Plain)),
            ("http://10.0.0.5:9470", false, true, Err(AllowRemoteAlone)),
            (
                "10.0.0.5:9470",
                false,
                false,
                Err(Scheme("10.0.0.5:9470".into())),
            ),
        ];
        for (url, insecure, remote, want) in cases {
            assert_eq!(
                &security(url, *insecure, *remote),
                want,
                "{url} insecure={insecure} remote={remote}"
            );
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
