//! The HTTP client notifications are POSTed with: hyper's pooled client over rustls (ring,
//! like every TLS in omswatch), verifying servers against the system's roots or a CA file.
//! Every call is bounded: the connect, the whole exchange, and the part of the answer read
//! (enough to quote in an error); a receiver that hangs costs its own task that long, and
//! nothing else.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Time to open a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most of an answer's body read (quoted in errors, else ignored).
const MAX_ANSWER_BYTES: usize = 4096;
/// Idle pooled connections are closed after this.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// What a receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// `Retry-After` in seconds, when given as such.
    pub retry_after: Option<Duration>,
    /// The start of the body, printable, for errors.
    pub body: String,
}

/// Why a POST got no answer.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// No complete answer within the time limit.
    #[error("no answer within {}s", .0.as_secs())]
    Timeout(Duration),
    /// The connection or the exchange failed.
    #[error("{0}")]
    Failed(String),
}

/// A pooled client; cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// Time limit of one exchange.
    timeout: Duration,
}

impl HttpClient {
    /// A client trusting `ca` (PEM) or, without one, the system's roots; each exchange
    /// limited to `timeout`. `what` names the CA setting in errors.
    pub fn new(what: &str, ca: Option<&Path>, timeout: Duration) -> Result<HttpClient, String> {
        let roots = match ca {
            Some(path) => ca_roots(what, path)?,
            None => system_roots(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(2)
            .build(connector);
        Ok(HttpClient { inner, timeout })
    }

    /// The same client (and pool) with another time limit per exchange.
    pub fn with_timeout(mut self, timeout: Duration) -> HttpClient {
        self.timeout = timeout;
        self
    }

    /// POSTs `body` (JSON) to `uri` with `headers`; the answer, whatever its status.
    pub async fn post(
        &self,
        uri: &Uri,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Answer, PostError> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("omswatch/", env!("CARGO_PKG_VERSION")));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| PostError::Failed(format!("bad request: {e}")))?;
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| PostError::Failed(omswatch_common::telemetry::chain(&e)))?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = read_start(response.into_body()).await;
            Ok(Answer {
                status,
                retry_after,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(PostError::Timeout(self.timeout)))
    }
}

/// Up to [`MAX_ANSWER_BYTES`] of `body`, control characters replaced; the rest is dropped
/// unread (the connection is then not reused, which is fine for an error).
async fn read_start(mut body: hyper::body::Incoming) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < MAX_ANSWER_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            _ => break,
        }
    }
    bytes.truncate(MAX_ANSWER_BYTES);
    String::from_utf8_lossy(&bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .chars()
        .take(200)
        .collect()
}

/// The certificates of a CA file; at least one.
fn ca_roots(what: &str, path: &Path) -> Result<RootCertStore, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("{what} {}: {e}", path.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{what} {}: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "{what} {} holds no PEM CERTIFICATE",
            path.display()
        ));
    }
    Ok(roots)
}

/// The system's trusted roots (`/etc/ssl/certs`, or `SSL_CERT_FILE`/`SSL_CERT_DIR`); those
/// that cannot be read are skipped, with a warning.
fn system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "a system CA certificate could not be loaded");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        tracing::warn!(
            ignored,
            "no system CA certificate found: https receivers will fail verification \
             (install ca-certificates, or give the receiver's CA file)"
        );
    }
    roots
}
