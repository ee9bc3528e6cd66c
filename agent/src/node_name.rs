//! The node's name. With mutual TLS the collector trusts only the name in the
//! node's certificate (SAN URI `omswatch://node/<name>`) and refuses reports
//! for any other, so the agent takes its name from there, and refuses to
//! start when `--node` says otherwise instead of being refused forever.

use std::path::{Path, PathBuf};

use omswatch_common::identity::{self, IdentityError, PeerIdentity, Role};
use omswatch_common::limits::MAX_NODE_NAME;

/// Why the node's name cannot be settled.
#[derive(Debug, thiserror::Error)]
pub enum NodeNameError {
    /// The certificate file could not be read.
    #[error("cannot read the certificate {}: {source}", path.display())]
    Read {
        /// The `--cert` file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The file holds no PEM certificate.
    #[error(
        "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----); --cert takes the node's certificate, --key its key",
        path.display()
    )]
    NotPem {
        /// The `--cert` file.
        path: PathBuf,
    },
    /// The certificate names no omswatch identity.
    #[error("the certificate {}: {source}", path.display())]
    Identity {
        /// The `--cert` file.
        path: PathBuf,
        /// What is wrong with it.
        source: IdentityError,
    },
    /// Not a node certificate.
    #[error(
        "the certificate {} is for {identity} ({uri}), but the agent reports as a node and needs a node \
         certificate: omswatch certs node --dir DIR --name NODE",
        path.display(), uri = identity::uri(identity.role, &identity.name)
    )]
    NotNode {
        /// The `--cert` file.
        path: PathBuf,
        /// What it names instead.
        identity: PeerIdentity,
    },
    /// `--node` and the certificate disagree.
    #[error(
        "--node {flag} differs from the node name in the certificate {} ({cert_name}): the collector \
         would refuse every report. Drop --node (the certificate names the node), or issue a certificate \
         for {flag}: omswatch certs node --dir DIR --name {flag}",
        path.display()
    )]
    Mismatch {
        /// What `--node` says.
        flag: String,
        /// What the certificate says.
        cert_name: String,
        /// The `--cert` file.
        path: PathBuf,
    },
    /// A name the collector refuses in every report.
    #[error(
        "the node name {name:?} {reason}: the collector would refuse every report; pass --node NAME"
    )]
    Unusable {
        /// The name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The node name in a node certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertName {
    /// The `--cert` file it was read from.
    pub path: PathBuf,
    /// The name after `omswatch://node/`.
    pub name: String,
}

/// Reads the node name from the first certificate in the PEM file `path`;
/// refuses any certificate that is not a node's.
pub fn from_certificate(path: &Path) -> Result<CertName, NodeNameError> {
    let pem = std::fs::read(path).map_err(|source| NodeNameError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    from_pem(path, &pem)
}

/// Like [`from_certificate`], with the file's contents already read.
fn from_pem(path: &Path, pem: &[u8]) -> Result<CertName, NodeNameError> {
    let not_pem = || NodeNameError::NotPem {
        path: path.to_path_buf(),
    };
    let (_, block) = x509_parser::pem::parse_x509_pem(pem).map_err(|_| not_pem())?;
    if block.label != "CERTIFICATE" {
        return Err(not_pem());
    }
    let identity =
        identity::from_cert_der(&block.contents).map_err(|source| NodeNameError::Identity {
            path: path.to_path_buf(),
            source,
        })?;
    if identity.role != Role::Node {
        return Err(NodeNameError::NotNode {
            path: path.to_path_buf(),
            identity,
        });
    }
    Ok(CertName {
        path: path.to_path_buf(),
        name: identity.name,
    })
}

/// The node name from `--node` and the certificate's name: the flag when it agrees
/// with the certificate (or there is none), else the certificate's; `None` when
/// neither names the node (the caller falls back to the host name).
pub fn choose(
    flag: Option<&str>,
    cert: Option<&CertName>,
) -> Result<Option<String>, NodeNameError> {
    let flag = flag.map(str::trim).filter(|f| !f.is_empty());
    match (flag, cert) {
        (Some(flag), Some(cert)) if flag != cert.name => Err(NodeNameError::Mismatch {
            flag: flag.to_string(),
            cert_name: cert.name.clone(),
            path: cert.path.clone(),
        }),
        (Some(flag), _) => Ok(Some(flag.to_string())),
        (None, Some(cert)) => Ok(Some(cert.name.clone())),
        (None, None) => Ok(None),
    }
}

/// Checks that the collector accepts `name` as a node name: not blank, at most
/// [`MAX_NODE_NAME`] bytes, printable. The agent clips every other field of its
/// reports, but not this one: it must equal the certificate's name.
pub fn check(name: &str) -> Result<(), NodeNameError> {
    let reason = if name.trim().is_empty() {
        "is empty".to_string()
    } else if name.len() > MAX_NODE_NAME {
        format!("is {} bytes long; the limit is {MAX_NODE_NAME}", name.len())
    } else if name.chars().any(char::is_control) {
        "contains control characters".to_string()
    } else {
        return Ok(());
    };
    Err(NodeNameError::Unusable {
        name: name.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests;
