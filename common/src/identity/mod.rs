//! Who a peer is, from its certificate. Every certificate omswatch issues
//! carries one SAN URI `omswatch://<role>/<name>`; the collector trusts only
//! that (after rustls has verified the chain to its CA), never what a report
//! claims. Node certificates may only report; operator certificates may query.
//!
//! The submodule `mint` (feature `mint`, for the `omswatch` CLI and the tests)
//! issues those certificates; the agent and the collector only read them.

use std::fmt;

#[cfg(feature = "mint")]
pub mod mint;

/// What a certificate allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// An agent: may report for its own node name only.
    Node,
    /// A person or script: may query (status, bundle).
    Operator,
    /// The collector's server certificate.
    Collector,
}

impl Role {
    /// The role's word in the SAN URI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Operator => "operator",
            Role::Collector => "collector",
        }
    }

    fn parse(word: &str) -> Option<Role> {
        [Role::Node, Role::Operator, Role::Collector]
            .into_iter()
            .find(|r| r.as_str() == word)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified peer: its role and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerIdentity {
    /// What it may do.
    pub role: Role,
    /// Node name, operator name or collector name.
    pub name: String,
}

impl fmt::Display for PeerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.role, self.name)
    }
}

/// Why a certificate names no omswatch identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Not a parsable X.509 certificate.
    #[error("the certificate cannot be parsed: {0}")]
    Parse(String),
    /// No `omswatch://role/name` SAN URI.
    #[error(
        "the certificate carries no omswatch identity (SAN URI omswatch://<role>/<name>); issue it with `omswatch certs`"
    )]
    Missing,
    /// More than one identity, or a malformed one.
    #[error("the certificate's omswatch identity is ambiguous or malformed: {0}")]
    Malformed(String),
}

/// The URI scheme prefix of identities.
pub const SCHEME: &str = "omswatch://";

/// The SAN URI naming `role`/`name`.
pub fn uri(role: Role, name: &str) -> String {
    format!("{SCHEME}{}/{name}", role.as_str())
}

/// Checks a name is fit for a certificate and a node list: 1–253 characters of
/// letters, digits, `.`, `-`, `_` (host names and node names as OMS uses them).
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err(format!("name {name:?} must be 1-253 characters"));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        Some(c) => Err(format!(
            "name {name:?} contains {c:?}; use letters, digits, '.', '-', '_'"
        )),
        None => Ok(()),
    }
}

/// Parses one SAN URI; `None` when it is not an omswatch identity at all.
pub fn parse_uri(uri: &str) -> Option<Result<PeerIdentity, IdentityError>> {
    let rest = uri.strip_prefix(SCHEME)?;
    let malformed = || IdentityError::Malformed(uri.to_string());
    let Some((role, name)) = rest.split_once('/') else {
        return Some(Err(malformed()));
    };
    let Some(role) = Role::parse(role) else {
        return Some(Err(malformed()));
    };
    if validate_name(name).is_err() {
        return Some(Err(malformed()));
    }
    Some(Ok(PeerIdentity {
        role,
        name: name.to_string(),
    }))
}

/// The identity in a DER certificate (already verified by TLS).
pub fn from_cert_der(der: &[u8]) -> Result<PeerIdentity, IdentityError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| IdentityError::Parse(e.to_string()))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| IdentityError::Parse(e.to_string()))?;
    let mut found: Vec<PeerIdentity> = Vec::new();
    for name in san.iter().flat_map(|ext| ext.value.general_names.iter()) {
        if let x509_parser::extensions::GeneralName::URI(uri) = name
            && let Some(parsed) = parse_uri(uri)
        {
            found.push(parsed?);
        }
    }
    match found.len() {
        0 => Err(IdentityError::Missing),
        1 => Ok(found.remove(0)),
        n => Err(IdentityError::Malformed(format!(
            "{n} identities in one certificate"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip_and_reject_malformed() {
        let id = parse_uri(&uri(Role::Node, "oms-node-1")).and_then(Result::ok);
        assert_eq!(
            id,
            Some(PeerIdentity {
                role: Role::Node,
                name: "oms-node-1".into()
            })
        );
        assert_eq!(parse_uri("https://example.com/x"), None);
        for bad in [
            "omswatch://node",
            "omswatch://admin/x",
            "omswatch://node/a/b",
            "omswatch://node/",
            "omswatch://node/a b",
        ] {
            assert!(matches!(parse_uri(bad), Some(Err(_))), "{bad}");
        }
    }

    #[test]
    fn names_are_host_like() {
        assert!(validate_name("oms-node-1.example_2").is_ok());
        for bad in ["", "a/b", "a b", "x\n", &"a".repeat(254)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn garbage_der_is_an_error_not_a_panic() {
        assert!(matches!(
            from_cert_der(b"not a certificate"),
            Err(IdentityError::Parse(_))
        ));
        assert!(from_cert_der(&[]).is_err());
    }
}
