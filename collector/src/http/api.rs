//! The handlers behind the router, as thin as the gRPC query's: ask the aggregator for one
//! snapshot, diagnose it, render a view. The aggregator is held for the snapshot only.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use omswatch_common::diagnose::diagnose;
use omswatch_common::snapshot::Snapshot;
use omswatch_common::views::history_query::HistoryQuery;
use omswatch_common::views::{history_json, status_json};

use super::HttpContext;
use super::routes::text;
use crate::metrics::{self, CollectorStats, Format};

/// The snapshot, or the 503 that says why there is none.
async fn snapshot(context: &HttpContext) -> Result<Snapshot, Response> {
    context
        .state
        .snapshot()
        .await
        .map_err(|e| text(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
}

/// `GET /metrics`: built fresh from this snapshot; OpenMetrics when `Accept` asks for it.
pub async fn metrics(State(context): State<HttpContext>, headers: HeaderMap) -> Response {
    let snapshot = match snapshot(&context).await {
        Ok(s) => s,
        Err(refusal) => return refusal,
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    let mut stats = CollectorStats {
        reports_received: context.counters.received_total(),
        reports_refused: context.counters.refused_totals(),
        agents_connected: u64::try_from(context.open.count()).unwrap_or(u64::MAX),
        ..CollectorStats::default()
    };
    context.sources.read_into(&mut stats);
    let rendered =
        off_the_workers(move || metrics::render(&snapshot, &diagnose(&snapshot), &stats, format));
    match rendered.await {
        Ok(body) => ([(header::CONTENT_TYPE, format.content_type())], body).into_response(),
        Err(refusal) => refusal,
    }
}

/// Runs `view` (a diagnosis and its rendering: tens of milliseconds at 10,000 nodes) on a
/// blocking thread, so the runtime's workers keep acking reports meanwhile.
pub(crate) async fn off_the_workers<T: Send + 'static>(
    view: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(view)
        .await
        .map_err(|e| text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// `GET /api/v1/status`: the very bytes `omswatch status --format json` prints.
pub async fn status(State(context): State<HttpContext>) -> Response {
    let snapshot = match snapshot(&context).await {
        Ok(s) => s,
        Err(refusal) => return refusal,
    };
    let query = context.query.clone();
    let rendered = off_the_workers(move || status_json::document(&query.status_of(&snapshot)));
    match rendered.await {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(refusal) => refusal,
    }
}

/// `GET /api/v1/history`: the very bytes `omswatch history --format json` prints for the
/// same filters, given as query parameters (`since`, `until` as `1h` or RFC 3339, `node`,
/// `code`, `limit`) and parsed by the same code as the CLI's flags. A bad filter is a 400
/// naming it; a store that cannot be read a 503.
pub async fn history(State(context): State<HttpContext>, uri: Uri) -> Response {
    let query = HistoryQuery::from_query_string(uri.query().unwrap_or_default())
        .and_then(|q| q.request(std::time::SystemTime::now()));
    let request = match query {
        Ok(request) => request,
        Err(message) => return text(StatusCode::BAD_REQUEST, message),
    };
    match context.query.history_of(request).await {
        Ok(history) => (
            [(header::CONTENT_TYPE, "application/json")],
            history_json::document(&history),
        )
            .into_response(),
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            text(StatusCode::BAD_REQUEST, status.message())
        }
        Err(status) => text(StatusCode::SERVICE_UNAVAILABLE, status.message()),
    }
}

/// `GET /-/ready`: 200 once the state is loaded (state file restored, every config.yaml
/// read at the first tick), 503 before that and while shutting down.
pub async fn ready(State(context): State<HttpContext>) -> Response {
    match snapshot(&context).await {
        Ok(s) if !s.regions.is_empty() => text(StatusCode::OK, "omswatch collector is ready."),
        Ok(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: config.yaml has not been read yet (first tick)",
        ),
        Err(refusal) => refusal,
    }
}
