//! TLS towards the MetaDB: the collector's `metadb_tls` settings key (`mode`,
//! `ca`) and its `--metadb-tls-mode` / `--metadb-tls-ca` flags. `reader.rs` maps
//! the mode to sqlx; this module only names and checks it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How MetaDB connections are secured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetaDbTls {
    /// disable, preferred, required, verify_ca or verify_identity.
    pub mode: MetaDbTlsMode,
    /// CA certificate (PEM) the MetaDB's certificate must chain to; without it
    /// the verify modes use the public web PKI roots.
    pub ca: Option<PathBuf>,
}

/// The MySQL client's `--ssl-mode`, in the same words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaDbTlsMode {
    /// Plain text.
    Disable,
    /// TLS when the server offers it, plain text otherwise (MySQL's default).
    #[default]
    Preferred,
    /// TLS or fail; the certificate is not checked.
    Required,
    /// TLS, the certificate must chain to the CA.
    VerifyCa,
    /// TLS, the certificate must chain to the CA and name the host dialled.
    VerifyIdentity,
}

/// A `--metadb-tls-mode` word that is not a mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown MetaDB TLS mode {0:?}: use one of disable, preferred, required, verify_ca, verify_identity"
)]
pub struct UnknownTlsMode(pub String);

impl MetaDbTlsMode {
    /// Every mode, weakest first.
    pub const ALL: [MetaDbTlsMode; 5] = [
        MetaDbTlsMode::Disable,
        MetaDbTlsMode::Preferred,
        MetaDbTlsMode::Required,
        MetaDbTlsMode::VerifyCa,
        MetaDbTlsMode::VerifyIdentity,
    ];

    /// The mode's settings word.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaDbTlsMode::Disable => "disable",
            MetaDbTlsMode::Preferred => "preferred",
            MetaDbTlsMode::Required => "required",
            MetaDbTlsMode::VerifyCa => "verify_ca",
            MetaDbTlsMode::VerifyIdentity => "verify_identity",
        }
    }

    /// Whether the MetaDB's certificate is checked (and so whether a CA matters).
    pub fn verifies(self) -> bool {
        matches!(
            self,
            MetaDbTlsMode::VerifyCa | MetaDbTlsMode::VerifyIdentity
        )
    }
}

impl fmt::Display for MetaDbTlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MetaDbTlsMode {
    type Err = UnknownTlsMode;

    /// Accepts the settings words, and MySQL's spelling (`VERIFY-CA`) as a courtesy.
    fn from_str(word: &str) -> Result<Self, Self::Err> {
        let normal = word.trim().to_ascii_lowercase().replace('-', "_");
        let normal = if normal == "disabled" {
            "disable".into()
        } else {
            normal
        };
        MetaDbTlsMode::ALL
            .into_iter()
            .find(|m| m.as_str() == normal)
            .ok_or_else(|| UnknownTlsMode(word.to_string()))
    }
}

/// A CA given with a mode that does not verify the MetaDB's certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "metadb_tls.ca is set but metadb_tls.mode is {0}, which does not check the MetaDB's certificate: \
     use --metadb-tls-mode verify_ca (or verify_identity), or drop the CA"
)]
pub struct CaWithoutVerification(pub MetaDbTlsMode);

impl MetaDbTls {
    /// A CA only matters when the certificate is verified; saying otherwise
    /// would let an operator believe the MetaDB is authenticated when it is not.
    pub fn validate(&self) -> Result<(), CaWithoutVerification> {
        if self.ca.is_some() && !self.mode.verifies() {
            return Err(CaWithoutVerification(self.mode));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_in_settings_and_mysql_spelling() {
        for mode in MetaDbTlsMode::ALL {
            assert_eq!(mode.as_str().parse(), Ok(mode));
        }
        assert_eq!("VERIFY-IDENTITY".parse(), Ok(MetaDbTlsMode::VerifyIdentity));
        assert_eq!("DISABLED".parse(), Ok(MetaDbTlsMode::Disable));
        let err = "strict".parse::<MetaDbTlsMode>().expect_err("unknown");
        assert!(err.to_string().contains("verify_identity"), "{err}");
    }

    #[test]
    fn yaml_names_the_valid_modes_on_a_typo() {
        let err = serde_yaml::from_str::<MetaDbTls>("mode: strict\n").expect_err("invalid");
        assert!(err.to_string().contains("verify_ca"), "{err}");
        let ok: MetaDbTls = serde_yaml::from_str("mode: verify_ca\nca: /ca.pem\n").expect("valid");
        assert_eq!(ok.mode, MetaDbTlsMode::VerifyCa);
    }

    #[test]
    fn a_ca_without_verification_is_refused() {
        let tls = MetaDbTls {
            mode: MetaDbTlsMode::Required,
            ca: Some("/ca.pem".into()),
        };
        assert!(tls.validate().is_err());
        let tls = MetaDbTls {
            mode: MetaDbTlsMode::VerifyIdentity,
            ..tls
        };
        assert!(tls.validate().is_ok());
    }
}
