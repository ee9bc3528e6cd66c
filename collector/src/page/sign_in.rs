//! Signing in with a token and out again. The token is checked exactly as a bearer token is
//! ([`crate::auth::Authorizer::operator_of`]); a right one opens a session (cookie, see
//! [`super::session`]), a wrong one shows the form again, refused, after a delay, and too many
//! from one address are not even checked for a while ([`super::limit`]).
//!
//! Both forms are POSTs the same-origin rule guards ([`super::headers::same_origin`]); the
//! sign-out form also carries its session's CSRF token. The sign-in form needs none: without
//! a session there is nothing to ride on, and a cross-site sign-in is refused by its origin
//! (docs/SECURITY.md).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use omswatch_common::secret::Secret;

use super::headers::same_origin;
use super::limit::REFUSAL_DELAY;
use super::render::{self, SignInTemplate};
use super::session::{self, Binding};
use super::{see_other, viewer, viewer_of};
use crate::auth::Operator;
use crate::http::{HttpContext, Peer};

/// Largest form body accepted (a token is a line; 4 KiB is plenty).
const MAX_FORM_BYTES: usize = 4096;

/// `GET /sign-in`: the form, or the page for a viewer who needs none.
pub async fn form(State(context): State<HttpContext>, request: Request) -> Response {
    match viewer_of(&context, &request) {
        Ok(_) => see_other("./"),
        Err(_) => render::html(StatusCode::OK, &SignInTemplate::new(None)),
    }
}

/// `POST /sign-in` with `token`: a session and the page, or the form again, refused.
pub async fn submit(State(context): State<HttpContext>, request: Request) -> Response {
    let addr = peer_ip(&request);
    if !same_origin(request.headers()) {
        tracing::warn!(peer = %addr, "page: sign-in refused (posted from another site)");
        return refusal(
            StatusCode::FORBIDDEN,
            "the form must be posted from this page.",
        );
    }
    if matches!(
        context.auth.operator_of(None, None),
        Ok(Operator::Unverified)
    ) {
        return see_other("./"); // --insecure: nobody signs in.
    }
    let now = Instant::now();
    if !context.sessions.limiter.allows(addr, now) {
        tracing::warn!(peer = %addr, "page: sign-in not checked (too many refused)");
        return refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "too many refused sign-ins from your address: wait a minute.",
        );
    }
    let form = match read_form(request.into_body()).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let token = Secret::new(form.get("token").map_or("", |t| t.trim()));
    if !token.expose().is_empty() && viewer::token_accepted(&context.auth, &token) {
        context.sessions.limiter.forget(addr);
        let new = context.sessions.create(token, now);
        tracing::info!(peer = %addr, sessions = context.sessions.len(), "page: signed in with a token");
        return (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, "./".to_string()),
                (header::SET_COOKIE, session::set_cookie(&new.cookie_value)),
            ],
        )
            .into_response();
    }
    context.sessions.limiter.refused(addr, now);
    tracing::warn!(peer = %addr, "page: sign-in refused (token not accepted)");
    tokio::time::sleep(REFUSAL_DELAY).await;
    refusal(
        StatusCode::FORBIDDEN,
        "the collector does not accept this token (a line of its --token-file).",
    )
}

/// `POST /sign-out` with the session's `csrf`: ends the session and forgets the cookie.
pub async fn sign_out(State(context): State<HttpContext>, request: Request) -> Response {
    let addr = peer_ip(&request);
    if !same_origin(request.headers()) {
        tracing::warn!(peer = %addr, "page: sign-out refused (posted from another site)");
        return refusal(
            StatusCode::FORBIDDEN,
            "the form must be posted from this page.",
        );
    }
    let key = viewer::session_of(
        &context.sessions,
        &context.auth,
        request.headers(),
        Instant::now(),
    )
    .map(|signed_in| signed_in.key);
    let form = match read_form(request.into_body()).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    if let Some(key) = key {
        let csrf = form.get("csrf").map_or("", String::as_str);
        if !context.sessions.csrf_ok(Binding::Session(key), csrf) {
            tracing::warn!(peer = %addr, "page: sign-out refused (CSRF token)");
            return refusal(
                StatusCode::FORBIDDEN,
                "the form's CSRF token is not this session's: reload the page and sign out again.",
            );
        }
        context.sessions.remove(key);
        tracing::info!(peer = %addr, "page: signed out");
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "sign-in".to_string()),
            (header::SET_COOKIE, session::clear_cookie()),
        ],
    )
        .into_response()
}

pub(super) fn refusal(status: StatusCode, reason: &str) -> Response {
    render::html(status, &SignInTemplate::new(Some(reason.to_string())))
}

/// The peer's address (unspecified when the listener did not say, as in unit tests).
pub(super) fn peer_ip(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<Peer>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.addr.ip())
}

/// An `application/x-www-form-urlencoded` body of at most [`MAX_FORM_BYTES`]; the first
/// value of each name.
pub(super) async fn read_form(body: Body) -> Result<HashMap<String, String>, Response> {
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the form is larger than a token needs.",
            )
        })?;
    let mut form = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(&bytes) {
        form.entry(name.into_owned()).or_insert(value.into_owned());
    }
    Ok(form)
}
