//! Minting omswatch's certificates (`omswatch certs`): a CA, the collector's
//! server certificate, one certificate per node and per operator. Each leaf
//! carries its role and name as the SAN URI `omswatch://<role>/<name>`
//! (parsed by [`crate::identity`]), which is what the collector authorises.
//! Behind the `mint` feature: the CLI and the tests mint, the agent and the
//! collector only read certificates, and the agent stays without rcgen.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::identity::{self, Role};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

/// Why a certificate could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// rcgen refused the parameters or the key.
    #[error("cannot build the certificate: {0}")]
    Build(#[from] rcgen::Error),
    /// The name is not fit for a certificate.
    #[error("{0}")]
    Name(String),
    /// A file could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
}

/// Result of this module.
pub type Result<T, E = CertError> = std::result::Result<T, E>;

/// When a certificate is valid.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    /// Not valid before.
    pub not_before: OffsetDateTime,
    /// Not valid after.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From an hour ago (clock skew) to `days` from now.
    pub fn days(days: u32) -> Validity {
        let now = OffsetDateTime::now_utc();
        Validity {
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(i64::from(days)),
        }
    }
}

/// A certificate and its private key, PEM-encoded.
pub struct Pem {
    /// The certificate.
    pub cert: String,
    /// The private key: never logged.
    pub key: String,
}

impl std::fmt::Debug for Pem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pem")
            .field("cert", &self.cert)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// A certificate authority that can issue omswatch certificates.
pub struct Ca {
    pem: Pem,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    /// A new self-signed CA named `name`.
    pub fn create(name: &str, validity: Validity) -> Result<Ca> {
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(&format!("omswatch CA {name}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        let pem = Pem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        };
        Ok(Ca {
            pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// A CA from its PEM certificate and key.
    pub fn from_pem(cert: &str, key: &str) -> Result<Ca> {
        let issuer = Issuer::from_ca_cert_pem(cert, KeyPair::from_pem(key)?)?;
        Ok(Ca {
            pem: Pem {
                cert: cert.to_string(),
                key: key.to_string(),
            },
            issuer,
        })
    }

    /// Loads `ca.pem` and `ca-key.pem` from `dir`.
    pub fn load(dir: &Path) -> Result<Ca> {
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read_to_string(&path).map_err(|source| CertError::Io {
                what: "cannot read",
                path,
                source,
            })
        };
        Ca::from_pem(&read(CA_CERT)?, &read(CA_KEY)?)
    }

    /// The CA's own certificate and key.
    pub fn pem(&self) -> &Pem {
        &self.pem
    }

    /// Issues a leaf certificate for `role`/`name`. A collector certificate is
    /// for serving (its `ips` and `dns` must cover the address agents dial);
    /// node and operator certificates are for client authentication.
    pub fn issue(
        &self,
        role: Role,
        name: &str,
        ips: &[IpAddr],
        dns: &[String],
        validity: Validity,
    ) -> Result<Pem> {
        identity::validate_name(name).map_err(CertError::Name)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(name);
        params
            .subject_alt_names
            .push(SanType::URI(identity::uri(role, name).try_into()?));
        params
            .subject_alt_names
            .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        for name in dns {
            params
                .subject_alt_names
                .push(SanType::DnsName(name.as_str().try_into()?));
        }
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![match role {
            Role::Collector => ExtendedKeyUsagePurpose::ServerAuth,
            Role::Node | Role::Operator => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Pem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }
}

/// File name of the CA certificate in a certificate directory.
pub const CA_CERT: &str = "ca.pem";
/// File name of the CA key in a certificate directory.
pub const CA_KEY: &str = "ca-key.pem";

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "omswatch");
    dn.push(DnType::CommonName, common_name);
    dn
}

/// Writes `<stem>.pem` and `<stem>-key.pem` into `dir`, both mode 0600, refusing
/// to overwrite (a replaced CA key would orphan every certificate it signed).
pub fn write_pair(dir: &Path, stem: &str, pem: &Pem) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).map_err(|source| CertError::Io {
        what: "cannot create",
        path: dir.into(),
        source,
    })?;
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}-key.pem"));
    write_new(&cert, &pem.cert)?;
    write_new(&key, &pem.key)?;
    Ok((cert, key))
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| CertError::Io {
        what: "cannot write (remove it first to replace it)",
        path: path.into(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn der(pem: &str) -> Vec<u8> {
        x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .map(|(_, p)| p.contents)
            .unwrap_or_default()
    }

    #[test]
    fn issued_certificates_carry_role_and_name() {
        let ca = Ca::create("test", Validity::days(1)).expect("ca");
        let node = ca
            .issue(Role::Node, "oms-node-1", &[], &[], Validity::days(1))
            .expect("node");
        let id = identity::from_cert_der(&der(&node.cert)).expect("identity");
        assert_eq!((id.role, id.name.as_str()), (Role::Node, "oms-node-1"));
        let reloaded = Ca::from_pem(&ca.pem().cert, &ca.pem().key).expect("reload");
        let op = reloaded
            .issue(Role::Operator, "alice", &[], &[], Validity::days(1))
            .expect("operator");
        assert_eq!(
            identity::from_cert_der(&der(&op.cert)).map(|i| i.role),
            Ok(Role::Operator)
        );
        assert!(!format!("{op:?}").contains(&op.key));
    }

    #[test]
    fn bad_names_are_refused() {
        let ca = Ca::create("test", Validity::days(1)).expect("ca");
        assert!(matches!(
            ca.issue(Role::Node, "a/b", &[], &[], Validity::days(1)),
            Err(CertError::Name(_))
        ));
    }

    #[test]
    fn files_are_0600_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Ca::create("test", Validity::days(1)).expect("ca");
        let (cert, key) = write_pair(dir.path(), "ca", ca.pem()).expect("write");
        for path in [&cert, &key] {
            let mode = std::fs::metadata(path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
        assert!(write_pair(dir.path(), "ca", ca.pem()).is_err());
        assert!(Ca::load(dir.path()).is_ok());
    }
}
