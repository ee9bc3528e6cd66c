//! OMS's own view of itself: its health endpoint, and whether `docker_init.sh` ever ran.
//!
//! A healthy start ends with `GET http://<ip>:<nginx_server_port>/oms/health` answering JSON whose
//! `data.healthy` is true; the runbook's preconditions include `bash /root/docker_init.sh` having
//! run in the container, which leaves `docker_init.log*` in the log directory. Asking from inside
//! the node (127.0.0.1) separates "OMS is down" from "the network to the node is down".

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{ACCEPT, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use omswatch_common::proto::v1::OmsHealth;
use omswatch_common::telemetry::chain;

use self::docker_init::DockerInitLog;

mod docker_init;

/// Where OMS writes its logs, `docker_init.log*` included.
pub const DEFAULT_LOG_DIR: &str = "/home/admin/logs";

/// Largest health answer read; the real one is well under a KiB.
const MAX_BODY_BYTES: usize = 1 << 20;

/// Longest body excerpt quoted in `OmsHealth.error`.
const EXCERPT_CHARS: usize = 200;

/// What the health probe asks and where it looks.
#[derive(Debug, Clone)]
pub struct HealthSettings {
    /// False to skip the probe entirely (reports say `probed: false`).
    pub enabled: bool,
    /// The health URL; None = `http://127.0.0.1:<nginx_server_port>/oms/health`.
    pub url: Option<String>,
    /// The directory where `docker_init.log*` is looked for.
    pub docker_init_log_dir: PathBuf,
    /// Time allowed for the whole request, body included.
    pub timeout: Duration,
}

impl Default for HealthSettings {
    /// Enabled, the URL from config.yaml's port, [`DEFAULT_LOG_DIR`], 3 s.
    fn default() -> Self {
        Self {
            enabled: true,
            url: None,
            docker_init_log_dir: PathBuf::from(DEFAULT_LOG_DIR),
            timeout: Duration::from_secs(3),
        }
    }
}

/// Why OMS's health endpoint did not say it is healthy.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL cannot be asked (not `http://host[:port]/path`).
    #[error("bad health URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No HTTP answer: connection refused, reset, host unreachable.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The URL asked.
        url: String,
        /// The transport failure with its causes.
        reason: String,
    },
    /// No answer within the timeout.
    #[error("no answer from {url} within {after:?}")]
    Timeout {
        /// The URL asked.
        url: String,
        /// The time it was given.
        after: Duration,
    },
    /// The answer's body could not be read (too large, cut, too slow).
    #[error("cannot read the answer's body: {reason}")]
    Body {
        /// What went wrong.
        reason: String,
    },
    /// An HTTP status other than 200.
    #[error("answered HTTP {status}: {excerpt}")]
    Status {
        /// The status code.
        status: u16,
        /// The start of the body.
        excerpt: String,
    },
    /// A 200 whose body is not JSON.
    #[error("body is not JSON: {excerpt}")]
    NotJson {
        /// The start of the body.
        excerpt: String,
    },
    /// A JSON answer whose `data.healthy` is not `true`.
    #[error("data.healthy is {found}: {excerpt}")]
    Unhealthy {
        /// `false`, `missing`, or the value found.
        found: String,
        /// The start of the body.
        excerpt: String,
    },
}

/// Asks OMS's health endpoint and looks for `docker_init.log*`; see the module docs.
#[derive(Debug)]
pub struct HealthProbe {
    /// What to ask and where to look.
    settings: HealthSettings,
    /// Kept across probes so an OMS that answers keeps one connection rather than a new one
    /// every probe.
    client: Client<HttpConnector, Empty<Bytes>>,
    /// `docker_init.log*` in the log directory.
    docker_init: DockerInitLog,
}

impl HealthProbe {
    /// A probe with these settings.
    pub fn new(settings: HealthSettings) -> Self {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1)
            .build_http();
        let docker_init = DockerInitLog::new(settings.docker_init_log_dir.clone());
        Self {
            settings,
            client,
            docker_init,
        }
    }

    /// The URL asked: the settings' one, else the health page on `nginx_server_port`.
    pub fn url(&self, nginx_server_port: u16) -> String {
        self.settings
            .url
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{nginx_server_port}/oms/health"))
    }

    /// Probes health and docker_init. Never fails: what went wrong is in `error`.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn probe(&self, nginx_server_port: u16) -> OmsHealth {
        if !self.settings.enabled {
            return OmsHealth::default();
        }
        let url = self.url(nginx_server_port);
        let (answer, (docker_init_ran, docker_init_evidence)) =
            tokio::join!(self.ask(&url), self.docker_init.probe());
        let mut health = OmsHealth {
            url,
            docker_init_ran,
            docker_init_evidence,
            probed: true,
            ..OmsHealth::default()
        };
        match answer {
            Ok(status) => {
                health.reachable = true;
                health.http_status = u32::from(status.as_u16());
                health.healthy = true;
            }
            Err((status, error)) => {
                health.reachable = status.is_some();
                health.http_status = status.map_or(0, |s| u32::from(s.as_u16()));
                health.error = error.to_string();
            }
        }
        health
    }

    /// GETs `url` and judges the answer; on failure, the status when there was an answer.
    async fn ask(&self, url: &str) -> Result<StatusCode, (Option<StatusCode>, Error)> {
        let timeout = self.settings.timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let request = request(url).map_err(|e| (None, e))?;
        let response = match tokio::time::timeout_at(deadline, self.client.request(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => {
                let reason = chain(&e);
                return Err((
                    None,
                    Error::Connect {
                        url: url.into(),
                        reason,
                    },
                ));
            }
            Err(_) => {
                let after = timeout;
                return Err((
                    None,
                    Error::Timeout {
                        url: url.into(),
                        after,
                    },
                ));
            }
        };
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BODY_BYTES).collect();
        let body = match tokio::time::timeout_at(deadline, body).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e)) => {
                let reason = chain(&*e);
                return Err((Some(status), Error::Body { reason }));
            }
            Err(_) => {
                let reason = format!("not complete within {timeout:?}");
                return Err((Some(status), Error::Body { reason }));
            }
        };
        judge(status, &body)
            .map(|()| status)
            .map_err(|e| (Some(status), e))
    }
}

/// A GET of `url`, which must be plain `http://`.
fn request(url: &str) -> Result<Request<Empty<Bytes>>, Error> {
    let bad = |reason| Error::BadUrl {
        url: url.into(),
        reason,
    };
    let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(bad("only plain http:// is supported")),
        _ => return Err(bad("must start with http://")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    Request::get(uri)
        .header(ACCEPT, "application/json")
        .header(
            USER_AGENT,
            concat!("omswatch-agent/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::new())
        .map_err(|_| bad("cannot build a request for it"))
}

/// Healthy when the status is 200 and the JSON body's `data.healthy` is `true`.
fn judge(status: StatusCode, body: &[u8]) -> Result<(), Error> {
    let excerpt = || excerpt(body);
    if status != StatusCode::OK {
        return Err(Error::Status {
            status: status.as_u16(),
            excerpt: excerpt(),
        });
    }
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| Error::NotJson { excerpt: excerpt() })?;
    let found = match json.pointer("/data/healthy") {
        Some(serde_json::Value::Bool(true)) => return Ok(()),
        Some(serde_json::Value::Bool(false)) => "false".to_owned(),
        None => "missing".to_owned(),
        Some(other) => format!("{} (not true)", shorten(&other.to_string(), 40)),
    };
    Err(Error::Unhealthy {
        found,
        excerpt: excerpt(),
    })
}

/// The body as one line of at most [`EXCERPT_CHARS`] characters, or `(empty body)`.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return "(empty body)".into();
    }
    shorten(&words.join(" "), EXCERPT_CHARS)
}

/// `text` cut to `max` characters, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
