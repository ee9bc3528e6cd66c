//! The restart button of the Servers page: where it is shown ([`offer_restarts`]: beside a
//! COMPONENT_NOT_RUNNING problem, to a viewer who may restart, live or disabled with the
//! switch that is off), then two steps that work without JavaScript:
//!
//! 1. `GET /restart?node=…&program=…` (the button, a plain GET form): the confirm step,
//!    "Restart oms_console on oms-node-2?", a reason, Confirm and Cancel.
//! 2. `POST /restart` (Confirm): the same-origin rule, then the viewer's CSRF token, then
//!    [`crate::remediation::Remediation::restart`], the one core `omswatch restart` and
//!    `POST /api/v1/restart` use, so its checks, its minute and its audit are the only
//!    ones. A session acts with its token's grant ([`super::viewer::Viewer::acting`]): only
//!    a token granted `restart` gets past the core, and the audit records the token's
//!    name. The answer is the outcome page: RUNNING, not RUNNING with supervisord's spawn
//!    error, or refused with the switch or rule named.
//!
//! A POST without the page's CSRF token, from another site, or from a bearer token is
//! refused before the core: nothing is sent, nothing recorded (nobody was identified as
//! asking on purpose).

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::headers::same_origin;
use super::render::{self, RestartConfirmTemplate, RestartOutcomeTemplate};
use super::sign_in::{peer_ip, read_form, refusal};
use super::view::Live;
use super::viewer::{Refusal as ViewerRefusal, Viewer};
use super::{see_other, viewer_of};
use crate::http::HttpContext;
use crate::remediation::{self, Refusal, RefusalKind, RestartRequest, Restarted};

/// What the confirm step asks about, from the button's query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// The node.
    pub node: String,
    /// The supervisord program.
    pub program: String,
}

/// The outcome page's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `running`, `not_running` or `refused`: the CSS class and the test's hook.
    pub result: &'static str,
    /// The headline: "oms_console on oms-node-2 is RUNNING".
    pub headline: String,
    /// What the collector recorded, for a person.
    pub message: String,
    /// For a refusal: the rule's name (`collector_switch_off`, `agent_refused`…).
    pub refusal: Option<&'static str>,
    /// The program's state afterwards.
    pub state: Option<String>,
    /// supervisord's spawn error, when it gave one.
    pub spawn_error: Option<String>,
    /// Who the timeline records as asking.
    pub actor: Option<String>,
    /// From the request to the outcome.
    pub duration: Option<String>,
}

/// What a problem's restart button acts on, and whether it is offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartTarget {
    /// The node.
    pub node: String,
    /// The supervisord program.
    pub program: String,
    /// What the viewer is shown.
    pub button: Button,
}

/// The restart button as one viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Button {
    /// Nothing: the viewer may not restart (a read-only token, a bearer token).
    Hidden,
    /// A button that leads to the confirm step.
    Offered,
    /// A disabled button, with the switch that is off.
    Disabled(String),
}

/// Offers each problem's restart to a viewer who `may_restart`, as `not_offered_because`
/// (node, program) decides: the button, or the button disabled with the reason. A viewer
/// who may not restart sees no button at all.
pub fn offer_restarts(
    live: &mut Live,
    may_restart: bool,
    not_offered_because: impl Fn(&str, &str) -> Option<String>,
) {
    if !may_restart {
        return;
    }
    for target in live.problems.iter_mut().filter_map(|p| p.restart.as_mut()) {
        target.button = match not_offered_because(&target.node, &target.program) {
            None => Button::Offered,
            Some(why) => Button::Disabled(why),
        };
    }
}

/// `GET /restart`: the confirm step, for a viewer who may restart.
pub async fn confirm(State(context): State<HttpContext>, request: Request) -> Response {
    let viewer = match viewer_of(&context, &request) {
        Ok(viewer) => viewer,
        Err(ViewerRefusal::SignIn) => return see_other("sign-in"),
        Err(ViewerRefusal::Refused(e)) => return refusal(StatusCode::FORBIDDEN, &e.to_string()),
    };
    let query = request.uri().query().unwrap_or_default();
    let Some(asked) = asked(url::form_urlencoded::parse(query.as_bytes())) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "a restart names a node and a program: use the button beside the problem.",
        );
    };
    if !viewer.may_restart() {
        return refusal(StatusCode::FORBIDDEN, &not_yours(&viewer));
    }
    let csrf = viewer
        .binding()
        .map(|b| context.sessions.csrf(b))
        .unwrap_or_default();
    render::html(
        StatusCode::OK,
        &RestartConfirmTemplate::new(&asked, &csrf, viewer.label()),
    )
}

/// `POST /restart` with `csrf`, `node`, `program` and `reason`: the restart, then its
/// outcome page.
pub async fn submit(State(context): State<HttpContext>, request: Request) -> Response {
    let addr = peer_ip(&request);
    if !same_origin(request.headers()) {
        tracing::warn!(peer = %addr, "page: restart refused (posted from another site)");
        return refusal(
            StatusCode::FORBIDDEN,
            "the form must be posted from this page.",
        );
    }
    let viewer = match viewer_of(&context, &request) {
        Ok(viewer) => viewer,
        Err(ViewerRefusal::SignIn) => {
            return refusal(StatusCode::UNAUTHORIZED, "sign in to restart programs.");
        }
        Err(ViewerRefusal::Refused(e)) => return refusal(StatusCode::FORBIDDEN, &e.to_string()),
    };
    let form = match read_form(request.into_body()).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let csrf = form.get("csrf").map_or("", String::as_str);
    let (Some(binding), Some(operator)) = (viewer.binding(), viewer.acting()) else {
        return refusal(StatusCode::FORBIDDEN, &not_yours(&viewer));
    };
    if !context.sessions.csrf_ok(binding, csrf) {
        tracing::warn!(peer = %addr, "page: restart refused (CSRF token)");
        return refusal(
            StatusCode::FORBIDDEN,
            "the form's CSRF token is not this page's: reload the page and use its button again.",
        );
    }
    let Some(asked) = asked(
        form.iter()
            .map(|(k, v)| (k.as_str().into(), v.as_str().into())),
    ) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "a restart names a node and a program.",
        );
    };
    let Some(remediation) = context.query.remediation().cloned() else {
        let refused = Refusal::unaudited(
            RefusalKind::CollectorSwitchOff,
            "this collector does not restart programs",
        );
        return outcome_page(&asked, Err(refused));
    };
    let request = RestartRequest {
        node: asked.node.clone(),
        program: asked.program.clone(),
        reason: form.get("reason").map_or("", |r| r.trim()).to_string(),
        wait: remediation::DEFAULT_WAIT,
    };
    tracing::info!(peer = %addr, node = %asked.node, program = %asked.program, "restart asked on the page");
    let started = Instant::now();
    let ended = remediation.restart(Ok(operator), request).await;
    tracing::debug!(took = ?started.elapsed(), "page restart answered");
    outcome_page(&asked, ended)
}

/// The node and program of a query string or form, when both are there.
fn asked<'a>(
    pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
) -> Option<Asked> {
    let (mut node, mut program) = (None, None);
    for (name, value) in pairs {
        let value = value.trim().to_string();
        match name.as_ref() {
            "node" if node.is_none() => node = Some(value),
            "program" if program.is_none() => program = Some(value),
            _ => {}
        }
    }
    match (node, program) {
        (Some(node), Some(program)) if !node.is_empty() && !program.is_empty() => {
            Some(Asked { node, program })
        }
        _ => None,
    }
}

/// Why `viewer` gets no restart, naming the scope.
fn not_yours(viewer: &Viewer) -> String {
    match viewer {
        Viewer::Bearer => "a bearer token posts no form: use POST /api/v1/restart.".into(),
        _ => format!(
            "{} may not restart programs: sign in with a token whose line in the token file \
             has scopes=read,restart, or use an operator certificate.",
            viewer.label()
        ),
    }
}

fn outcome_page(asked: &Asked, ended: Result<Restarted, Refusal>) -> Response {
    let (status, outcome) = outcome(asked, ended);
    render::html(status, &RestartOutcomeTemplate::new(asked, &outcome))
}

/// The outcome page's values and HTTP status for how a restart ended (pure).
pub fn outcome(asked: &Asked, ended: Result<Restarted, Refusal>) -> (StatusCode, Outcome) {
    let what = format!("{} on {}", asked.program, asked.node);
    match ended {
        Ok(done) => {
            let program = done.program.unwrap_or_default();
            let outcome = Outcome {
                result: if done.running {
                    "running"
                } else {
                    "not_running"
                },
                headline: if done.running {
                    format!("{what} is RUNNING")
                } else {
                    format!("{what} is not RUNNING")
                },
                message: done.message,
                refusal: None,
                state: Some(program.state).filter(|s| !s.is_empty()),
                spawn_error: Some(program.spawn_error).filter(|s| !s.is_empty()),
                actor: Some(done.actor),
                duration: Some(remediation::audit::seconds(done.duration)),
            };
            (StatusCode::OK, outcome)
        }
        Err(refused) => {
            let status =
                StatusCode::from_u16(refused.kind.http_status()).unwrap_or(StatusCode::FORBIDDEN);
            let outcome = Outcome {
                result: "refused",
                headline: format!("Restart of {what} refused"),
                message: refused.message,
                refusal: Some(refused.kind.as_str()),
                state: None,
                spawn_error: None,
                actor: None,
                duration: None,
            };
            (status, outcome)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use omswatch_common::proto::v1::Program;

    use super::*;

    fn asked_of(query: &str) -> Option<Asked> {
        asked(url::form_urlencoded::parse(query.as_bytes()))
    }

    #[test]
    fn the_button_names_a_node_and_a_program() {
        assert_eq!(
            asked_of("node=oms-node-2&program=oms_console"),
            Some(Asked {
                node: "oms-node-2".into(),
                program: "oms_console".into()
            })
        );
        assert_eq!(asked_of("node=oms-node-2"), None);
        assert_eq!(asked_of("node=&program=x"), None);
        assert_eq!(
            asked_of("node=a&node=b&program=p").map(|a| a.node),
            Some("a".into()),
            "the first of each name"
        );
    }

    #[test]
    fn outcomes_say_running_the_spawn_error_or_the_rule() {
        let asked = asked_of("node=n2&program=oms_console").expect("asked");
        let done = |running: bool, spawn_error: &str| Restarted {
            running,
            message: "m".into(),
            program: Some(Program {
                state: if running { "RUNNING" } else { "FATAL" }.into(),
                spawn_error: spawn_error.into(),
                ..Program::default()
            }),
            duration: Duration::from_millis(2100),
            request_id: "r".into(),
            actor: "token:oncall".into(),
        };
        let (status, ran) = outcome(&asked, Ok(done(true, "")));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ran.headline, "oms_console on n2 is RUNNING");
        assert_eq!(ran.duration.as_deref(), Some("2.1 s"));
        assert_eq!(ran.actor.as_deref(), Some("token:oncall"));
        let (_, failed) = outcome(&asked, Ok(done(false, "spawn error")));
        assert_eq!(failed.result, "not_running");
        assert_eq!(failed.spawn_error.as_deref(), Some("spawn error"));
        let refused = Refusal::unaudited(
            RefusalKind::CollectorSwitchOff,
            "--allow-restart is off on this collector",
        );
        let (status, refused) = outcome(&asked, Err(refused));
        assert_eq!(refused.result, "refused");
        assert_eq!(refused.refusal, Some("collector_switch_off"));
        assert_ne!(status, StatusCode::OK);
    }
}
