//! The router: which path is open, which needs an operator, and the request timeout over
//! all of them. `/-/healthy` and `/-/ready` are open (as Prometheus's own are: a load
//! balancer or systemd probe has no credentials); `/metrics` and `/api/*` need an operator
//! certificate or `Authorization: Bearer <token>` from the token file, or (`GET` only) the
//! Servers page's session cookie. The page ([`crate::page`]: `GET /`, sign-in, its assets)
//! merges its own routes here.
//! `POST /api/v1/restart` decides who may itself (the `restart` scope, audited refusals:
//! [`super::restart`]) and has a longer time limit, as it waits for the program.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::{HttpContext, Peer, api, restart};
use crate::auth::AuthError;

/// Every route of the listener.
pub fn router(context: HttpContext) -> Router {
    let operator_only = Router::new()
        .route("/metrics", get(api::metrics))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/history", get(api::history))
        .route_layer(middleware::from_fn_with_state(
            context.clone(),
            require_operator,
        ));
    // Its own time limit: it waits for the program (at most restart::MAX_HTTP_WAIT).
    let restarts = Router::new()
        .route("/api/v1/restart", post(restart::restart))
        .merge(crate::page::restart_router())
        .layer(middleware::from_fn(restart_time_limit));
    Router::new()
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(api::ready))
        .merge(operator_only)
        .merge(crate::page::router())
        .fallback(not_found)
        .layer(middleware::from_fn(time_limit))
        .merge(restarts)
        .with_state(context)
}

/// A plain-text answer: what every refusal and health answer is.
pub(super) fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut body = body.into();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn healthy() -> Response {
    text(StatusCode::OK, "omswatch collector is healthy.")
}

async fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "not found: this listener serves the Servers page (/), /metrics, /api/v1/status, /api/v1/history, /-/healthy and /-/ready",
    )
}

/// Lets the request through when [`crate::auth::Authorizer::operator_of`] admits its
/// certificate or bearer token; answers 401 (no or wrong credentials, with
/// `WWW-Authenticate: Bearer`) or 403 (a known peer of another role) with the reason.
async fn require_operator(
    State(context): State<HttpContext>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request.extensions().get::<Peer>().cloned();
    let addr = peer
        .as_ref()
        .map_or_else(|| "unknown".to_string(), |p| p.addr.to_string());
    let certificate = peer.as_ref().and_then(|p| p.certificate.as_deref());
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let mut decided = context.auth.operator_of(certificate, authorization);
    // A signed-in page may read the API (a GET: SameSite=Strict keeps the cookie off other
    // sites); scrapers keep their token or certificate.
    if matches!(decided, Err(AuthError::NoCredentials))
        && request.method() == axum::http::Method::GET
        && request.uri().path().starts_with("/api/")
        && crate::page::viewer::session_of(
            &context.sessions,
            &context.auth,
            request.headers(),
            std::time::Instant::now(),
        )
        .is_some()
    {
        decided = Ok(crate::auth::Operator::Session);
    }
    match decided {
        Ok(operator) => {
            tracing::debug!(peer = %addr, %operator, path = %request.uri().path(), "HTTP request");
            next.run(request).await
        }
        Err(e) => refused(&addr, request.uri().path(), &e),
    }
}

fn refused(addr: &str, path: &str, e: &AuthError) -> Response {
    tracing::warn!(peer = %addr, %path, reason = %e, "HTTP request refused");
    if e.is_unauthenticated() {
        let mut response = text(StatusCode::UNAUTHORIZED, e.to_string());
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"omswatch\""),
        );
        response
    } else {
        text(StatusCode::FORBIDDEN, e.to_string())
    }
}

/// Bounds each request's handling by the listener's request timeout.
async fn time_limit(request: Request, next: Next) -> Response {
    limited(super::request_timeout(), request, next).await
}

/// Bounds a restart's handling by its longest wait and some room.
async fn restart_time_limit(request: Request, next: Next) -> Response {
    limited(restart::time_limit(), request, next).await
}

async fn limited(limit: std::time::Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the collector did not answer in time; retry",
        ),
    }
}
