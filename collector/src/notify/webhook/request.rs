//! One webhook delivery's request and the verdict on its answer, without I/O: the body (one
//! event of the history JSON, `id` included), the headers (`Idempotency-Key`, the event's
//! kind, the attempt, and with a secret the HMAC-SHA256 signature), and what a status means
//! (docs/WEBHOOKS.md).

use std::time::Duration;

use hmac::{Hmac, Mac};
use hyper::StatusCode;
use hyper::header::{HeaderName, HeaderValue};
use omswatch_common::proto::v1::TimelineEvent;
use omswatch_common::secret::Secret;
use sha2::Sha256;

/// The receiver may drop a request whose key it has seen: the event's id.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The event's kind (raised, cleared, node_state, collector, ...).
pub const EVENT_HEADER: &str = "x-omswatch-event";
/// Which attempt this is (1 for the first).
pub const ATTEMPT_HEADER: &str = "x-omswatch-attempt";
/// Unix seconds when the request was signed.
pub const TIMESTAMP_HEADER: &str = "x-omswatch-timestamp";
/// `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>`.
pub const SIGNATURE_HEADER: &str = "x-omswatch-signature";

/// What an answer means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A 2xx: delivered.
    Delivered,
    /// Worth trying again (5xx, 408, 429, or an informational status); `Retry-After` if given.
    Retry {
        /// Why, for the row and the log.
        error: String,
        /// The receiver's own `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Refused for good (another 4xx; a redirect, which is not followed).
    Failed {
        /// Why.
        error: String,
    },
}

/// The verdict on an answer with `status` and the start of its body.
pub fn verdict(status: StatusCode, body: &str, retry_after: Option<Duration>) -> Verdict {
    let error = if body.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {body}")
    };
    if status.is_success() {
        Verdict::Delivered
    } else if status.is_redirection() {
        Verdict::Failed {
            error: format!("{error} (redirects are not followed: give the final URL)"),
        }
    } else if status.is_client_error()
        && status != StatusCode::REQUEST_TIMEOUT
        && status != StatusCode::TOO_MANY_REQUESTS
    {
        Verdict::Failed { error }
    } else {
        Verdict::Retry { error, retry_after }
    }
}

/// The body of `event`'s notification: exactly one event of `omswatch history --format json`.
pub fn body(event: &TimelineEvent) -> String {
    omswatch_common::views::history_json::event_body(event)
}

/// The headers of attempt `attempt` (1-based) of `event`, signed with `secret` at
/// `unix_seconds` when there is one.
pub fn headers(
    event: &TimelineEvent,
    attempt: u32,
    body: &str,
    secret: Option<&Secret>,
    unix_seconds: i64,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    let mut add = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            out.push((HeaderName::from_static(name), value));
        }
    };
    add(IDEMPOTENCY_KEY, event.id.clone());
    add(EVENT_HEADER, event.kind.clone());
    add(ATTEMPT_HEADER, attempt.to_string());
    if let Some(secret) = secret {
        add(TIMESTAMP_HEADER, unix_seconds.to_string());
        add(
            SIGNATURE_HEADER,
            format!("sha256={}", signature(secret, unix_seconds, body)),
        );
    }
    out
}

/// Hex HMAC-SHA256 of `"<unix_seconds>.<body>"` keyed with `secret`.
pub fn signature(secret: &Secret, unix_seconds: i64, body: &str) -> String {
    // HMAC takes a key of any length: new_from_slice cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
        return String::new();
    };
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_decide_delivered_retry_or_failed() {
        let v = |code: u16| verdict(StatusCode::from_u16(code).expect("code"), "", None);
        assert_eq!(v(200), Verdict::Delivered);
        assert_eq!(v(204), Verdict::Delivered);
        for retry in [500, 502, 503, 408, 429] {
            assert!(matches!(v(retry), Verdict::Retry { .. }), "{retry}");
        }
        for failed in [400, 401, 403, 404, 410, 422, 301, 308] {
            assert!(matches!(v(failed), Verdict::Failed { .. }), "{failed}");
        }
        let later = verdict(
            StatusCode::TOO_MANY_REQUESTS,
            "slow down",
            Some(Duration::from_secs(9)),
        );
        assert_eq!(
            later,
            Verdict::Retry {
                error: "HTTP 429 Too Many Requests: slow down".into(),
                retry_after: Some(Duration::from_secs(9)),
            }
        );
    }

    #[test]
    fn headers_carry_the_id_and_a_verifiable_signature() {
        let event = TimelineEvent {
            id: "019e6a1b2c30-5f3a9c12-00000004".into(),
            kind: "raised".into(),
            ..Default::default()
        };
        let text = body(&event);
        let plain = headers(&event, 1, &text, None, 0);
        let names: Vec<&str> = plain.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, [IDEMPOTENCY_KEY, EVENT_HEADER, ATTEMPT_HEADER]);
        assert_eq!(plain[0].1, "019e6a1b2c30-5f3a9c12-00000004");
        let secret = Secret::new("key");
        let signed = headers(&event, 3, &text, Some(&secret), 1_700_000_000);
        assert_eq!(signed[2].1, "3");
        assert_eq!(signed[3].1, "1700000000");
        // Known answer: HMAC-SHA256("key", "1700000000.{}") computed with Python's hmac module.
        assert_eq!(
            signature(&secret, 1_700_000_000, "{}"),
            "9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_eq!(
            signed[4].1.to_str().ok(),
            Some(format!("sha256={}", signature(&secret, 1_700_000_000, &text)).as_str())
        );
    }
}
