//! Who is looking at the page, decided once per request from what it carries, in this order:
//! the open collector (`--insecure`: anyone), a verified client certificate (an operator's
//! signs in directly; any other is refused), an `Authorization: Bearer` token (scripts),
//! then the session cookie. Everything but the bearer token can post the page's forms, each
//! with the CSRF token of what it is bound to ([`Binding`]).

use std::time::Instant;

use axum::http::{HeaderMap, header};
use omswatch_common::secret::Secret;

use super::session::{self, Binding, COOKIE, SessionKey, Sessions};
use crate::auth::{AuthError, Authorizer, Operator};
use crate::http::{HttpContext, Peer};

/// A viewer the page admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// `--insecure`: nobody is authenticated.
    Open,
    /// A verified operator certificate.
    Certificate {
        /// The name in it.
        name: String,
        /// Its DER, what its CSRF token is bound to.
        der: Vec<u8>,
    },
    /// A bearer token in the request (a script): may read, posts no form.
    Bearer,
    /// A signed-in session.
    Session(SessionKey),
}

impl Viewer {
    /// What its CSRF token is bound to; `None` for a bearer token, which posts no form.
    pub fn binding(&self) -> Option<Binding<'_>> {
        match self {
            Viewer::Open => Some(Binding::Open),
            Viewer::Certificate { der, .. } => Some(Binding::Certificate(der)),
            Viewer::Bearer => None,
            Viewer::Session(key) => Some(Binding::Session(*key)),
        }
    }

    /// Who, in the page's header.
    pub fn label(&self) -> String {
        match self {
            Viewer::Open => "insecure mode: no sign-in".into(),
            Viewer::Certificate { name, .. } => format!("operator {name} (certificate)"),
            Viewer::Bearer => "bearer token".into(),
            Viewer::Session(_) => "signed in with a token".into(),
        }
    }
}

/// Why a request gets no page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials at all: the sign-in form.
    SignIn,
    /// Credentials that are wrong or of another role, with the reason.
    Refused(AuthError),
}

/// The viewer of a request from `peer` with `headers`, at `now`.
pub fn viewer(
    context: &HttpContext,
    peer: Option<&Peer>,
    headers: &HeaderMap,
    now: Instant,
) -> Result<Viewer, Refusal> {
    let leaf = peer.and_then(|p| p.certificate.as_deref());
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    match context.auth.operator_of(leaf, authorization) {
        Ok(Operator::Unverified) => Ok(Viewer::Open),
        Ok(Operator::Certificate(name)) => Ok(Viewer::Certificate {
            name,
            der: leaf.map(<[u8]>::to_vec).unwrap_or_default(),
        }),
        Ok(Operator::Token(_) | Operator::Session) => Ok(Viewer::Bearer),
        Err(AuthError::NoCredentials) => session_of(&context.sessions, &context.auth, headers, now)
            .map(Viewer::Session)
            .ok_or(Refusal::SignIn),
        Err(e) => Err(Refusal::Refused(e)),
    }
}

/// The open session named by the request's cookie, its token still accepted by `auth`.
pub fn session_of(
    sessions: &Sessions,
    auth: &Authorizer,
    headers: &HeaderMap,
    now: Instant,
) -> Option<SessionKey> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|cookies| session::cookie_value(cookies, COOKIE))?;
    sessions.find(value, now, |token| token_accepted(auth, token))
}

/// Whether `auth` accepts `token` as it accepts a bearer token.
pub fn token_accepted(auth: &Authorizer, token: &Secret) -> bool {
    let header = format!("Bearer {}", token.expose());
    matches!(
        auth.operator_of(None, Some(header.as_bytes())),
        Ok(Operator::Token(_))
    )
}
