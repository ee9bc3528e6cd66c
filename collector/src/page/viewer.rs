//! Who is looking at the page, decided once per request from what it carries, in this order:
//! the open collector (`--insecure`: anyone), a verified client certificate (an operator's
//! signs in directly; any other is refused), an `Authorization: Bearer` token (scripts),
//! then the session cookie. Everything but the bearer token can post the page's forms, each
//! with the CSRF token of what it is bound to ([`Binding`]); what a posted form may do is
//! decided as for the same person elsewhere ([`Viewer::acting`]): a session acts with its
//! token's grant, a certificate as its operator.

use std::sync::Arc;
use std::time::Instant;

use axum::http::{HeaderMap, header};
use omswatch_common::secret::Secret;

use super::session::{self, Binding, COOKIE, SessionKey, Sessions, SignedIn};
use crate::auth::{AuthError, Authorizer, Operator};
use crate::http::{HttpContext, Peer};
use crate::tokens::{Grant, Scope};

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
    Session {
        /// Its key in the session table.
        key: SessionKey,
        /// What the token it signed in with may do (name and scopes).
        grant: Arc<Grant>,
    },
}

impl Viewer {
    /// What its CSRF token is bound to; `None` for a bearer token, which posts no form.
    pub fn binding(&self) -> Option<Binding<'_>> {
        match self {
            Viewer::Open => Some(Binding::Open),
            Viewer::Certificate { der, .. } => Some(Binding::Certificate(der)),
            Viewer::Bearer => None,
            Viewer::Session { key, .. } => Some(Binding::Session(*key)),
        }
    }

    /// Who acts when this viewer posts a form (its CSRF token checked): the open
    /// collector's anyone, the certificate's operator, the session's token with its grant;
    /// `None` for a bearer token, which posts no form.
    pub fn acting(&self) -> Option<Operator> {
        match self {
            Viewer::Open => Some(Operator::Unverified),
            Viewer::Certificate { name, .. } => Some(Operator::Certificate(name.clone())),
            Viewer::Bearer => None,
            Viewer::Session { grant, .. } => Some(Operator::Token(Arc::clone(grant))),
        }
    }

    /// Whether the page offers this viewer restarts: it may post and acts with the
    /// `restart` scope (an operator certificate, a token granted `restart`). Never the
    /// open collector: the restart core refuses `--insecure`, where nobody is known.
    pub fn may_restart(&self) -> bool {
        self.acting().is_some_and(|operator| {
            operator != Operator::Unverified && operator.require(Scope::Restart).is_ok()
        })
    }

    /// Who, in the page's header.
    pub fn label(&self) -> String {
        match self {
            Viewer::Open => "insecure mode: no sign-in".into(),
            Viewer::Certificate { name, .. } => format!("operator {name} (certificate)"),
            Viewer::Bearer => "bearer token".into(),
            Viewer::Session { grant, .. } => {
                format!(
                    "signed in with a token: {} ({})",
                    grant.label(),
                    grant.scopes()
                )
            }
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
            .map(|SignedIn { key, grant }| Viewer::Session { key, grant })
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
) -> Option<SignedIn> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|cookies| session::cookie_value(cookies, COOKIE))?;
    sessions.find(value, now, |token| grant_of(auth, token))
}

/// Whether `auth` accepts `token` as it accepts a bearer token.
pub fn token_accepted(auth: &Authorizer, token: &Secret) -> bool {
    grant_of(auth, token).is_some()
}

/// What `token` may do, when `auth` accepts it as it accepts a bearer token (`read` at
/// least: a token that may not even read signs nobody in).
pub fn grant_of(auth: &Authorizer, token: &Secret) -> Option<Arc<Grant>> {
    let header = format!("Bearer {}", token.expose());
    match auth.operator_of(None, Some(header.as_bytes())) {
        Ok(Operator::Token(grant)) => Some(grant),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::TokenSet;

    fn session(scopes: &str) -> Viewer {
        let line = format!("0123456789abcdef0123 name=ops scopes={scopes}\n");
        let tokens = TokenSet::parse(std::path::Path::new("tokens"), &line).expect("tokens");
        let grant = tokens.find("0123456789abcdef0123").expect("grant");
        let key = Sessions::new()
            .create(Secret::new("0123456789abcdef0123"), Instant::now())
            .key;
        Viewer::Session { key, grant }
    }

    #[test]
    fn a_session_acts_with_its_tokens_grant() {
        let oncall = session("read,restart");
        assert!(oncall.may_restart());
        assert_eq!(
            oncall.acting().map(|o| o.actor()).as_deref(),
            Some("token:ops"),
            "the audit records the token's name"
        );
        assert!(oncall.label().contains("token:ops (read,restart)"));
        assert!(!session("read").may_restart(), "a read-only token");
        let operator = Viewer::Certificate {
            name: "alice".into(),
            der: Vec::new(),
        };
        assert!(operator.may_restart());
        assert!(!Viewer::Bearer.may_restart(), "posts no form");
        assert!(!Viewer::Open.may_restart(), "--insecure never restarts");
    }
}
