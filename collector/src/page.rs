//! The Servers page, `GET /` of the HTTP listener: the page operators open instead of the
//! OMS console's Servers page. Server-rendered from the same snapshot → diagnosis → status
//! as `omswatch status` and `GET /api/v1/status`, plus the last day of the timeline; readable
//! without JavaScript; a small script refreshes the live part in place every [`REFRESH`].
//!
//! - [`view`] (and [`timeline`]): what the page shows, as plain values (pure, unit-tested);
//!   the problems come from common's grouping, like the CLI table's.
//! - [`render`]: the askama templates of `collector/templates/` (a designer's folder: HTML
//!   only, every value escaped) and [`assets`]: `collector/assets/` (one CSS, one JS, an
//!   icon) compiled in, served under content-hashed names.
//! - Who may look: [`viewer`] (open under `--insecure`, an operator certificate, a bearer
//!   token, or a session), [`session`] (cookie, table, CSRF tokens), [`sign_in`] (the form,
//!   sign-out) and [`limit`] (refused sign-ins slowed and capped per address).
//! - [`headers`]: the Content-Security-Policy and friends on every answer, and the
//!   same-origin rule of every POST.
//!
//! - [`restart`]: the restart button's confirm step and its POST, into the same
//!   [`crate::remediation`] core as `POST /api/v1/restart`.
//!
//! Routes (merged into [`crate::http::routes::router`]): `GET /`, `GET /page/live` (the live
//! part alone, for the script), `GET|POST /sign-in`, `POST /sign-out`, `GET /assets/{name}`;
//! `GET|POST /restart` ([`restart_router`], under the restarts' longer time limit).

pub mod assets;
pub mod headers;
pub mod limit;
pub mod render;
pub mod restart;
pub mod session;
pub mod sign_in;
pub mod timeline;
pub mod view;
pub mod viewer;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use session::Sessions;

use crate::http::{HttpContext, Peer};
use crate::store::events::HistoryFilter;
use render::{Chrome, LiveTemplate, PageTemplate, SignInTemplate};
use timeline::Timeline;
use view::Live;
use viewer::{Refusal, Viewer};

/// How often the script refreshes the live part, at most.
pub const REFRESH: Duration = Duration::from_secs(5);
/// How long the page waits for the store's timeline before it shows the rest without it.
const TIMELINE_TIMEOUT: Duration = Duration::from_secs(2);

/// The page's routes, with the security headers on every answer.
pub fn router() -> Router<HttpContext> {
    Router::new()
        .route("/", get(index))
        .route("/page/live", get(live))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/assets/{name}", get(assets::serve))
        .layer(middleware::from_fn(headers::secure))
}

/// The restart button's routes, with the security headers: kept apart from [`router`] so
/// the HTTP router gives them a restart's time limit rather than a page's.
pub fn restart_router() -> Router<HttpContext> {
    Router::new()
        .route("/restart", get(restart::confirm).post(restart::submit))
        .layer(middleware::from_fn(headers::secure))
}

/// The viewer of `request`.
fn viewer_of(context: &HttpContext, request: &Request) -> Result<Viewer, Refusal> {
    let peer = request.extensions().get::<Peer>();
    viewer::viewer(context, peer, request.headers(), Instant::now())
}

/// `GET /`: the page, the sign-in form's address without credentials, or the refusal.
async fn index(State(context): State<HttpContext>, request: Request) -> Response {
    let viewer = match viewer_of(&context, &request) {
        Ok(viewer) => viewer,
        Err(Refusal::SignIn) => return see_other("sign-in"),
        Err(Refusal::Refused(e)) => return refused(&request, &e),
    };
    let live = match live_view(&context, &viewer).await {
        Ok(live) => live,
        Err(unavailable) => return unavailable,
    };
    let csrf = viewer.binding().map(|b| context.sessions.csrf(b));
    let sign_out = matches!(viewer, Viewer::Session { .. })
        .then(|| csrf.clone())
        .flatten();
    let chrome = Chrome::new(viewer.label(), sign_out, viewer == Viewer::Open);
    render::html(
        StatusCode::OK,
        &PageTemplate {
            live: &live,
            chrome: &chrome,
            csrf: csrf.as_deref(),
        },
    )
}

/// `GET /page/live`: the live part alone. Without a session a 401 the script shows as
/// "signed out", never a redirect it would follow.
async fn live(State(context): State<HttpContext>, request: Request) -> Response {
    let viewer = match viewer_of(&context, &request) {
        Ok(viewer) => viewer,
        Err(Refusal::SignIn) => {
            return text(StatusCode::UNAUTHORIZED, "signed out: sign in again");
        }
        Err(Refusal::Refused(e)) => return text(StatusCode::FORBIDDEN, &e.to_string()),
    };
    let live = match live_view(&context, &viewer).await {
        Ok(live) => live,
        Err(unavailable) => return unavailable,
    };
    let csrf = viewer.binding().map(|b| context.sessions.csrf(b));
    render::html(
        StatusCode::OK,
        &LiveTemplate {
            live: &live,
            csrf: csrf.as_deref(),
        },
    )
}

/// The live part's values for `viewer`: the status the Query service builds, the restarts
/// offered to it by both switches, and the timeline's last 24 hours (shown as
/// unavailable, not failing the page, when the store does not answer).
async fn live_view(context: &HttpContext, viewer: &Viewer) -> Result<Live, Response> {
    let snapshot = context
        .state
        .snapshot()
        .await
        .map_err(|e| text(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))?;
    // A diagnosis of 10,000 nodes takes tens of milliseconds: off the async workers that
    // ingest reports, as the API's status does.
    let (query, shared) = (context.query.clone(), snapshot.clone());
    let status = crate::http::api::off_the_workers(move || query.status_of(&shared)).await?;
    let now = status.generated_at_unix_ms;
    let filter = HistoryFilter {
        since_unix_ms: Some(now - timeline::WINDOW_HOURS * 3_600_000),
        limit: timeline::MAX_ROWS,
        ..HistoryFilter::default()
    };
    let timeline =
        match tokio::time::timeout(TIMELINE_TIMEOUT, context.query.history(&filter)).await {
            Ok(Ok((events, truncated))) => {
                let events: Vec<_> = events.into_iter().map(crate::convert::event).collect();
                Timeline::of(&events, truncated, now)
            }
            Ok(Err(e)) => Timeline::unavailable(e.to_string()),
            Err(_) => Timeline::unavailable(format!(
                "the store did not answer within {} s",
                TIMELINE_TIMEOUT.as_secs()
            )),
        };
    let mut live = view::live(&status, timeline);
    let remediation = context.query.remediation();
    view::offer_restarts(&mut live, viewer.may_restart(), |node, program| {
        let report = snapshot
            .nodes
            .iter()
            .map(|n| n.report.as_ref())
            .find(|r| r.node == node);
        match remediation {
            Some(remediation) => remediation.not_offered_because(report, program),
            None => crate::remediation::not_offered_because(false, report, program),
        }
    });
    Ok(live)
}

/// A 303 to `location`, relative to the page so it works behind a proxy's path prefix too.
pub(crate) fn see_other(location: &'static str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, HeaderValue::from_static(location))],
    )
        .into_response()
}

/// Credentials that are wrong (401, as the API answers them) or of another role (403),
/// said above the sign-in form.
fn refused(request: &Request, e: &crate::auth::AuthError) -> Response {
    let peer = request
        .extensions()
        .get::<Peer>()
        .map(|p| p.addr.to_string());
    tracing::warn!(peer = peer.as_deref().unwrap_or("unknown"), reason = %e, "page refused");
    let status = if e.is_unauthenticated() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::FORBIDDEN
    };
    let mut response = render::html(status, &SignInTemplate::new(Some(e.to_string())));
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"omswatch\""),
        );
    }
    response
}

fn text(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{body}\n"),
    )
        .into_response()
}
