//! The compiled templates of `collector/templates/` and the responses made of them. Askama
//! escapes every value for HTML, so the text agents send (node names, messages, evidence)
//! cannot become markup.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::assets;
use super::restart::{Asked, Outcome};
use super::view::{Button, Live};

/// The frame around the live part: who is looking, the assets, the refresh period.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The stylesheet's URL.
    pub css: String,
    /// The script's URL.
    pub js: String,
    /// The icon's URL.
    pub icon: String,
    /// Who is looking, in words.
    pub viewer: String,
    /// The CSRF token of the sign-out form, for a signed-in session only.
    pub sign_out_csrf: Option<String>,
    /// Whether the collector is open (`--insecure`).
    pub insecure: bool,
    /// The script's refresh period.
    pub refresh_ms: u64,
}

impl Chrome {
    /// The frame with the embedded assets' URLs.
    pub fn new(viewer: String, sign_out_csrf: Option<String>, insecure: bool) -> Chrome {
        Chrome {
            css: assets::CSS.href(),
            js: assets::JS.href(),
            icon: assets::ICON.href(),
            viewer,
            sign_out_csrf,
            insecure,
            refresh_ms: super::REFRESH.as_millis().try_into().unwrap_or(5000),
        }
    }
}

/// The whole page (`page.html`, which includes `live.html`).
#[derive(Template)]
#[template(path = "page.html")]
pub struct PageTemplate<'a> {
    /// What refreshes.
    pub live: &'a Live,
    /// The frame.
    pub chrome: &'a Chrome,
    /// The viewer's CSRF token, for forms in the live part (issue 10's restart).
    pub csrf: Option<&'a str>,
}

/// The live part alone (`live.html`), what the script swaps in.
#[derive(Template)]
#[template(path = "live.html")]
pub struct LiveTemplate<'a> {
    /// What refreshes.
    pub live: &'a Live,
    /// The viewer's CSRF token, for forms in the live part (issue 10's restart).
    pub csrf: Option<&'a str>,
}

/// The restart's confirm step (`restart_confirm.html`): the question, a reason, Confirm
/// (a POST with the viewer's CSRF token) and Cancel.
#[derive(Template)]
#[template(path = "restart_confirm.html")]
pub struct RestartConfirmTemplate<'a> {
    /// What would be restarted.
    pub asked: &'a Asked,
    /// The viewer's CSRF token.
    pub csrf: &'a str,
    /// Who is asking, in words.
    pub viewer: String,
    /// The stylesheet's URL.
    pub css: String,
    /// The script's URL (it says "Restarting…" while the answer is awaited).
    pub js: String,
    /// The icon's URL.
    pub icon: String,
}

impl<'a> RestartConfirmTemplate<'a> {
    /// The confirm step for `asked`, posting `csrf`, asked by `viewer`.
    pub fn new(asked: &'a Asked, csrf: &'a str, viewer: String) -> Self {
        RestartConfirmTemplate {
            asked,
            csrf,
            viewer,
            css: assets::CSS.href(),
            js: assets::JS.href(),
            icon: assets::ICON.href(),
        }
    }
}

/// How a restart asked on the page ended (`restart_outcome.html`).
#[derive(Template)]
#[template(path = "restart_outcome.html")]
pub struct RestartOutcomeTemplate<'a> {
    /// What was asked.
    pub asked: &'a Asked,
    /// How it ended.
    pub outcome: &'a Outcome,
    /// The stylesheet's URL.
    pub css: String,
    /// The icon's URL.
    pub icon: String,
}

impl<'a> RestartOutcomeTemplate<'a> {
    /// The outcome page of `asked`.
    pub fn new(asked: &'a Asked, outcome: &'a Outcome) -> Self {
        RestartOutcomeTemplate {
            asked,
            outcome,
            css: assets::CSS.href(),
            icon: assets::ICON.href(),
        }
    }
}

/// The sign-in form (`sign_in.html`).
#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInTemplate {
    /// Why the last attempt was refused.
    pub refusal: Option<String>,
    /// The stylesheet's URL.
    pub css: String,
    /// The icon's URL.
    pub icon: String,
}

impl SignInTemplate {
    /// The form, with `refusal` said above it.
    pub fn new(refusal: Option<String>) -> Self {
        SignInTemplate {
            refusal,
            css: assets::CSS.href(),
            icon: assets::ICON.href(),
        }
    }
}

/// `template` as an HTML response with `status`; a template that fails to render (it
/// cannot, with these types, but the error exists) is a 500 that says so.
pub fn html(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("the page could not be rendered: {e}\n"),
            )
                .into_response()
        }
    }
}
