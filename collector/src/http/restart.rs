//! `POST /api/v1/restart`: the HTTP door to [`crate::remediation`], for scripts (the
//! Servers page's button posts its own form to the same core, [`crate::page::restart`]).
//! The same decision as `omswatch restart`: an
//! operator certificate or a bearer token granted `restart`, the collector's and the
//! agent's `--allow-restart`, one per node and program per minute, all audited.
//!
//! The body is JSON, `{"node": "oms-node-3", "program": "oms_console", "reason": "...",
//! "wait_ms": 30000}` (`reason` and `wait_ms` optional), sent as `application/json`: a
//! browser cannot send that type across origins without asking first, so a page of
//! another site cannot make a signed-in browser restart anything (the Servers page
//! adds its own CSRF token on top). The answer is JSON too, whatever happened:
//! `result` is `running`, `not_running` or `refused` (then `refusal` names the rule:
//! `collector_switch_off`, `agent_refused`, `too_soon`, `not_connected`...), with the
//! HTTP status of [`crate::remediation::RefusalKind::http_status`].

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{HttpContext, Peer};
use crate::remediation::{self, Refusal, RefusalKind, RestartRequest, Restarted};

/// Largest request body.
const MAX_BODY_BYTES: usize = 8 * 1024;
/// The longest wait over HTTP: well within a connection's life (5 minutes).
pub const MAX_HTTP_WAIT: Duration = Duration::from_secs(120);

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Asked {
    node: String,
    program: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    wait_ms: Option<u64>,
}

/// The answer body; absent values are `null`.
#[derive(Debug, Serialize, Default)]
pub struct Answer {
    /// running, not_running or refused.
    pub result: &'static str,
    /// For `refused`: which rule (see the module docs).
    pub refusal: Option<&'static str>,
    /// What happened, for a person.
    pub message: String,
    /// The node asked for.
    pub node: String,
    /// The program asked for.
    pub program: String,
    /// Who the collector recorded as asking.
    pub actor: Option<String>,
    /// The request's id in the timeline.
    pub request_id: Option<String>,
    /// The program's state afterwards.
    pub state: Option<String>,
    /// supervisord's description of it.
    pub description: Option<String>,
    /// supervisord's spawn error.
    pub spawn_error: Option<String>,
    /// From the request to the outcome, milliseconds.
    pub duration_ms: Option<u64>,
}

/// The time limit of a restart request: its wait and some room to answer.
pub fn time_limit() -> Duration {
    MAX_HTTP_WAIT + Duration::from_secs(10)
}

/// `POST /api/v1/restart`.
pub async fn restart(State(context): State<HttpContext>, request: Request) -> Response {
    let Some(remediation) = context.query.remediation().cloned() else {
        return refused(
            "",
            "",
            &Refusal::unaudited(
                RefusalKind::CollectorSwitchOff,
                "this collector does not restart programs",
            ),
        );
    };
    let peer = request.extensions().get::<Peer>().cloned();
    let certificate = peer.as_ref().and_then(|p| p.certificate.clone());
    let authorization = request.headers().get(header::AUTHORIZATION).cloned();
    let caller = context.auth.caller_of(
        certificate.as_deref(),
        authorization.as_ref().map(HeaderValue::as_bytes),
    );
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim() == "application/json")
        });
    if !json {
        return invalid(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as Content-Type: application/json",
        );
    }
    let body = match read_body(request.into_body()).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let wait = match body.wait_ms {
        None | Some(0) => remediation::DEFAULT_WAIT,
        Some(ms) => Duration::from_millis(ms),
    };
    if wait > MAX_HTTP_WAIT {
        return invalid(
            StatusCode::BAD_REQUEST,
            "wait_ms is at most 120000 over HTTP",
        );
    }
    let addr = peer.map_or_else(|| "unknown".into(), |p| p.addr.to_string());
    tracing::info!(peer = %addr, node = %body.node, program = %body.program, "restart asked over HTTP");
    let asked = RestartRequest {
        node: body.node,
        program: body.program,
        reason: body.reason.trim().to_string(),
        wait,
    };
    let (node, program) = (asked.node.clone(), asked.program.clone());
    match remediation.restart(caller, asked).await {
        Ok(done) => ran(node, program, done),
        Err(refusal) => refused(&node, &program, &refusal),
    }
}

async fn read_body(body: Body) -> Result<Asked, Response> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| invalid(StatusCode::PAYLOAD_TOO_LARGE, "the body is over 8 KiB"))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        invalid(
            StatusCode::BAD_REQUEST,
            &format!("the body must be JSON {{\"node\": ..., \"program\": ..., \"reason\": ..., \"wait_ms\": ...}}: {e}"),
        )
    })
}

fn ran(node: String, program: String, done: Restarted) -> Response {
    let state = done.program.unwrap_or_default();
    let answer = Answer {
        result: if done.running {
            "running"
        } else {
            "not_running"
        },
        refusal: None,
        message: done.message,
        node,
        program,
        actor: Some(done.actor),
        request_id: Some(done.request_id),
        state: Some(state.state).filter(|s| !s.is_empty()),
        description: Some(state.description).filter(|s| !s.is_empty()),
        spawn_error: Some(state.spawn_error).filter(|s| !s.is_empty()),
        duration_ms: u64::try_from(done.duration.as_millis()).ok(),
    };
    json(StatusCode::OK, &answer)
}

fn refused(node: &str, program: &str, refusal: &Refusal) -> Response {
    let answer = Answer {
        result: "refused",
        refusal: Some(refusal.kind.as_str()),
        message: refusal.message.clone(),
        node: node.to_string(),
        program: program.to_string(),
        ..Answer::default()
    };
    let status = StatusCode::from_u16(refusal.kind.http_status()).unwrap_or(StatusCode::FORBIDDEN);
    let mut response = json(status, &answer);
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"omswatch\""),
        );
    }
    response
}

fn invalid(status: StatusCode, message: &str) -> Response {
    let answer = Answer {
        result: "refused",
        refusal: Some(RefusalKind::Invalid.as_str()),
        message: message.to_string(),
        ..Answer::default()
    };
    json(status, &answer)
}

fn json(status: StatusCode, answer: &Answer) -> Response {
    let body = serde_json::to_string(answer).unwrap_or_else(|_| "{}".into());
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body + "\n",
    )
        .into_response()
}
