//! Who may do what, decided in one place. With TLS on, a peer is who its
//! certificate says (the SAN URI `omswatch://<role>/<name>`, after rustls has
//! checked the chain to `client_ca`), or an operator when it presents a valid
//! bearer token and no certificate:
//! - Reporting needs a node certificate, and each report must be for that node.
//! - Query (status, bundle, history) needs an operator certificate or a bearer token
//!   granted the `read` scope (a bare token line is one).
//! - Restart needs an operator certificate or a token granted `restart`; that check is
//!   the restart's own ([`crate::remediation`]), so a refusal is audited: here only the
//!   caller is identified ([`Authorizer::caller`]).
//!
//! With `--insecure` there are no identities at all: any peer may report under
//! any name and query; the server logs that once at start.
//!
//! Every call admitted here marks its connection as authorised
//! ([`crate::listener::Connections::authorised`]): a connection that makes no such
//! call within the grace period is closed by the listener.

use std::fmt;
use std::sync::Arc;

use omswatch_common::identity::{self, IdentityError, PeerIdentity, Role};
use tokio::sync::watch;
use tonic::{Request, Status};

use crate::listener::Connections;
use crate::tokens::{Grant, Scope, TokenSet};

/// Why a peer may not do what it asked. Never holds a token or a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Reporting without a client certificate.
    #[error(
        "no client certificate: agents must connect with their node certificate (agent --ca/--cert/--key, minted by `omswatch certs node`)"
    )]
    NoCertificate,
    /// Querying with neither a certificate nor a token.
    #[error(
        "no credentials: query with an operator certificate (--cert/--key) or a bearer token (--token-file)"
    )]
    NoCredentials,
    /// The `authorization` metadata is not `Bearer <token>`.
    #[error("the authorization header must be `Bearer <token>`")]
    MalformedAuthorization,
    /// The bearer token is not in the collector's token file.
    #[error("bearer token not accepted (the collector accepts the tokens of its --token-file)")]
    BadToken,
    /// A certificate signed by the CA but carrying no usable omswatch identity.
    #[error("{0}")]
    NoIdentity(IdentityError),
    /// A certificate of another role tried to report.
    #[error(
        "the certificate of {0} may not report: agents need a node certificate (`omswatch certs node`)"
    )]
    NotANode(PeerIdentity),
    /// A certificate of another role tried to query.
    #[error(
        "the certificate of {0} may not query: status and bundles need an operator certificate or a bearer token"
    )]
    NotAnOperator(PeerIdentity),
    /// A valid token whose line in the token file does not grant what was asked.
    #[error(
        "{token} may not {what}: the token file grants it scopes={granted}; add {scope} to the \
         scopes= of its line (e.g. `TOKEN name=ci scopes=read,restart`), or use an operator certificate"
    )]
    MissingScope {
        /// The token's label (`token:<name>` or `token#<hash>`), never the token.
        token: String,
        /// The scope that was needed.
        scope: &'static str,
        /// What the scope allows, in words.
        what: &'static str,
        /// The scopes the token has.
        granted: String,
    },
    /// A node reported under another node's name.
    #[error("certificate is for node {cert}, report is for {report}")]
    WrongNode {
        /// The name in the certificate.
        cert: String,
        /// The name in the report.
        report: String,
    },
}

impl From<AuthError> for Status {
    /// No or bad credentials are `unauthenticated`; a known peer asking for what
    /// its role does not allow is `permission_denied`.
    fn from(e: AuthError) -> Status {
        if e.is_unauthenticated() {
            Status::unauthenticated(e.to_string())
        } else {
            Status::permission_denied(e.to_string())
        }
    }
}

/// Who may send reports on a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reporter {
    /// The node named in the certificate, and only it.
    Node(String),
    /// Anyone under any name (`--insecure`).
    Unverified,
}

impl Reporter {
    /// Whether this reporter may send a report for `node`.
    pub fn admits(&self, node: &str) -> Result<(), AuthError> {
        match self {
            Reporter::Node(name) if name != node => Err(AuthError::WrongNode {
                cert: name.clone(),
                report: node.to_string(),
            }),
            Reporter::Node(_) | Reporter::Unverified => Ok(()),
        }
    }
}

impl fmt::Display for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reporter::Node(name) => write!(f, "node {name}"),
            Reporter::Unverified => f.write_str("unverified (--insecure)"),
        }
    }
}

/// Who is querying, for the logs and the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    /// An operator certificate's name.
    Certificate(String),
    /// A valid bearer token: its grant (scopes and label; never the token).
    Token(Arc<Grant>),
    /// A session of the Servers page, opened with a valid token (HTTP `GET` only).
    Session,
    /// Anyone (`--insecure`).
    Unverified,
}

impl Operator {
    /// What the timeline records as the actor: the certificate's name, the token's
    /// label (`token:<name>`, `token#<hash>`), or `unverified`.
    pub fn actor(&self) -> String {
        match self {
            Operator::Certificate(name) => name.clone(),
            Operator::Token(grant) => grant.label().to_string(),
            Operator::Session => "page session".into(),
            Operator::Unverified => "unverified".into(),
        }
    }

    /// This operator, if it may use `scope`: a certificate (and `--insecure`) may do
    /// everything an operator may; a token what its line grants.
    pub fn require(self, scope: Scope) -> Result<Operator, AuthError> {
        match &self {
            Operator::Token(grant) if !grant.allows(scope) => Err(AuthError::MissingScope {
                token: grant.label().to_string(),
                scope: scope.as_str(),
                what: match scope {
                    Scope::Read => "query the collector",
                    Scope::Restart => "restart programs",
                },
                granted: grant.scopes(),
            }),
            // A page session reads (GET only); acting needs the credentials themselves.
            Operator::Session if scope != Scope::Read => Err(AuthError::NoCredentials),
            _ => Ok(self),
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operator::Certificate(name) => write!(f, "operator {name}"),
            Operator::Token(grant) => write!(f, "bearer {}", grant.label()),
            Operator::Session => f.write_str("page session"),
            Operator::Unverified => f.write_str("unverified (--insecure)"),
        }
    }
}

/// The per-request authorisation of both services.
#[derive(Clone)]
pub struct Authorizer {
    mode: Mode,
    /// Told of every admitted call, when the listener tracks connections.
    connections: Option<Connections>,
}

#[derive(Clone)]
enum Mode {
    Open,
    Verified {
        tokens: Option<watch::Receiver<Arc<TokenSet>>>,
    },
}

/// What a request carries, taken apart from tonic so the decisions are plain functions.
struct Credentials {
    certificate: Option<Result<PeerIdentity, IdentityError>>,
}

impl Authorizer {
    /// `--insecure`: no identities, everything allowed.
    pub fn open() -> Self {
        Self {
            mode: Mode::Open,
            connections: None,
        }
    }

    /// Mutual TLS, plus bearer tokens for operators when a token file is configured.
    pub fn verified(tokens: Option<watch::Receiver<Arc<TokenSet>>>) -> Self {
        Self {
            mode: Mode::Verified { tokens },
            connections: None,
        }
    }

    /// Marks the connection of every call admitted from now on as authorised in `connections`.
    pub fn tracking(mut self, connections: Connections) -> Self {
        self.connections = Some(connections);
        self
    }

    /// `decided`, after marking the request's connection when it is admitted.
    fn admitted<T, R>(
        &self,
        request: &Request<T>,
        decided: Result<R, AuthError>,
    ) -> Result<R, AuthError> {
        if let (Ok(_), Some(connections)) = (&decided, &self.connections) {
            connections.authorised(request.remote_addr());
        }
        decided
    }

    /// Who may report on this stream.
    pub fn reporter<T>(&self, request: &Request<T>) -> Result<Reporter, AuthError> {
        self.admitted(request, self.decide_reporter(request))
    }

    fn decide_reporter<T>(&self, request: &Request<T>) -> Result<Reporter, AuthError> {
        match &self.mode {
            Mode::Open => Ok(Reporter::Unverified),
            Mode::Verified { .. } => match credentials(request).certificate {
                None => Err(AuthError::NoCertificate),
                Some(Err(e)) => Err(AuthError::NoIdentity(e)),
                Some(Ok(id)) if id.role == Role::Node => Ok(Reporter::Node(id.name)),
                Some(Ok(id)) => Err(AuthError::NotANode(id)),
            },
        }
    }

    /// Whether this request may query (the `read` scope). A presented certificate
    /// decides on its own; a token is only consulted without one, so a node's
    /// connection cannot be lifted to operator by adding a header.
    pub fn operator<T>(&self, request: &Request<T>) -> Result<Operator, AuthError> {
        let decided = self
            .decide_operator(request)
            .and_then(|o| o.require(Scope::Read));
        self.admitted(request, decided)
    }

    /// Who is calling, as an operator, whatever their scopes: for calls that check
    /// the scope themselves (a restart audits its refusals).
    pub fn caller<T>(&self, request: &Request<T>) -> Result<Operator, AuthError> {
        self.admitted(request, self.decide_operator(request))
    }

    fn decide_operator<T>(&self, request: &Request<T>) -> Result<Operator, AuthError> {
        let certs = request.peer_certs();
        let leaf = certs
            .as_deref()
            .and_then(|c| c.first())
            .map(|der| der.as_ref());
        let authorization = request
            .metadata()
            .get("authorization")
            .map(|value| value.as_bytes());
        self.caller_of(leaf, authorization)
    }

    /// [`Authorizer::operator`] from the parts of any request (the HTTP listener's too): the
    /// leaf of the verified client chain and the `authorization` header's bytes.
    pub fn operator_of(
        &self,
        leaf: Option<&[u8]>,
        authorization: Option<&[u8]>,
    ) -> Result<Operator, AuthError> {
        self.caller_of(leaf, authorization)
            .and_then(|o| o.require(Scope::Read))
    }

    /// [`Authorizer::caller`] from the parts of any request.
    pub fn caller_of(
        &self,
        leaf: Option<&[u8]>,
        authorization: Option<&[u8]>,
    ) -> Result<Operator, AuthError> {
        let tokens = match &self.mode {
            Mode::Open => return Ok(Operator::Unverified),
            Mode::Verified { tokens } => tokens,
        };
        match leaf.map(identity::from_cert_der) {
            Some(Ok(id)) if id.role == Role::Operator => Ok(Operator::Certificate(id.name)),
            Some(Ok(id)) => Err(AuthError::NotAnOperator(id)),
            Some(Err(e)) => Err(AuthError::NoIdentity(e)),
            None => match authorization {
                None => Err(AuthError::NoCredentials),
                Some(value) => bearer(value, tokens.as_ref()),
            },
        }
    }
}

impl AuthError {
    /// Whether the peer is unknown or its credentials are wrong (HTTP 401, gRPC
    /// `unauthenticated`), rather than known but not allowed (403, `permission_denied`).
    pub fn is_unauthenticated(&self) -> bool {
        matches!(
            self,
            AuthError::NoCertificate
                | AuthError::NoCredentials
                | AuthError::MalformedAuthorization
                | AuthError::BadToken
        )
    }
}

fn credentials<T>(request: &Request<T>) -> Credentials {
    // rustls has verified the chain; the leaf is the first certificate.
    let certificate = request
        .peer_certs()
        .and_then(|certs| certs.first().map(|der| identity::from_cert_der(der)));
    Credentials { certificate }
}

fn bearer(
    value: &[u8],
    tokens: Option<&watch::Receiver<Arc<TokenSet>>>,
) -> Result<Operator, AuthError> {
    let text = std::str::from_utf8(value).map_err(|_| AuthError::MalformedAuthorization)?;
    let token = match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(AuthError::MalformedAuthorization),
    };
    let grant = tokens
        .filter(|_| !token.is_empty())
        .and_then(|t| t.borrow().find(token));
    grant.map(Operator::Token).ok_or(AuthError::BadToken)
}

/// The peer's address for logs ("unknown" when the transport has none).
pub fn peer_addr<T>(request: &Request<T>) -> String {
    request
        .remote_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.to_string())
}

/// Logs a refusal with the peer and turns it into the status to answer.
pub fn refuse(peer: &str, what: &str, e: AuthError) -> Status {
    tracing::warn!(%peer, refused = what, reason = %e, "request refused");
    e.into()
}

#[cfg(test)]
mod tests;
