//! HTTP receivers inside the test process, for the notifications: [`WebhookReceiver`], a real
//! HTTP/1.1 server (hyper) on loopback that records every request (path, headers, body) and
//! answers what the test says; and [`Blackhole`], which accepts TCP connections and never
//! answers (a receiver that hangs). Both stop when dropped; neither is a process to track.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Largest body recorded.
const MAX_BODY: usize = 4 << 20;

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request's path (and query).
    pub path: String,
    /// Its headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Its body, as text.
    pub body: String,
    /// When it arrived.
    pub at: Instant,
    /// The status it was answered.
    pub status: u16,
}

impl Received {
    /// The value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_str(&self.body).with_context(|| format!("not JSON: {}", self.body))
    }
}

/// Decides the status of each request (200 for all by default).
pub type Respond = dyn Fn(&Received, usize) -> u16 + Send + Sync;

/// A recording HTTP server on 127.0.0.1.
pub struct WebhookReceiver {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl WebhookReceiver {
    /// Listens on 127.0.0.1:`port` (0: any free port) and answers 200 to everything.
    pub async fn start(port: u16) -> anyhow::Result<WebhookReceiver> {
        Self::start_with(port, Arc::new(|_: &Received, _: usize| 200)).await
    }

    /// Listens on 127.0.0.1:`port` and answers each request with `respond(request, n)`, `n`
    /// counting the requests before it.
    pub async fn start_with(port: u16, respond: Arc<Respond>) -> anyhow::Result<WebhookReceiver> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .with_context(|| format!("binding the webhook receiver on 127.0.0.1:{port}"))?;
        let addr = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(accept(listener, Arc::clone(&received), respond));
        Ok(WebhookReceiver {
            addr,
            received,
            task,
        })
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, received: Arc<Mutex<Vec<Received>>>, respond: Arc<Respond>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let received = Arc::clone(&received);
        let respond = Arc::clone(&respond);
        connections.spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let received = Arc::clone(&received);
                let respond = Arc::clone(&respond);
                async move {
                    Ok::<_, std::convert::Infallible>(record(request, &received, &*respond).await)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn record(
    request: Request<Incoming>,
    received: &Mutex<Vec<Received>>,
    respond: &Respond,
) -> Response<Full<Bytes>> {
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".into(), |p| p.to_string());
    let headers = request
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    let mut request = Received {
        path,
        headers,
        body,
        at: Instant::now(),
        status: 0,
    };
    let status = match received.lock() {
        Ok(mut all) => {
            request.status = respond(&request, all.len());
            let status = request.status;
            all.push(request);
            status
        }
        Err(_) => 500,
    };
    let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
}

/// A TCP listener on 127.0.0.1 that accepts every connection and never reads or answers:
/// a receiver that hangs.
pub struct Blackhole {
    addr: SocketAddr,
    accepted: Arc<Mutex<usize>>,
    task: JoinHandle<()>,
}

impl Blackhole {
    /// Starts one on a free port.
    pub async fn start() -> anyhow::Result<Blackhole> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(Mutex::new(0));
        let count = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                if let Ok(mut n) = count.lock() {
                    *n += 1;
                }
                held.push(stream); // never read, never answered, closed on drop
            }
        });
        Ok(Blackhole {
            addr,
            accepted,
            task,
        })
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.lock().map(|n| *n).unwrap_or(0)
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits up to `timeout` for `done` over the receiver's requests; the last requests on failure.
pub async fn wait_received(
    receiver: &WebhookReceiver,
    timeout: Duration,
    what: &str,
    done: impl Fn(&[Received]) -> bool,
) -> anyhow::Result<Vec<Received>> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let all = receiver.received();
        if done(&all) {
            return Ok(all);
        }
        if tokio::time::Instant::now() >= deadline {
            let bodies: Vec<&str> = all.iter().map(|r| r.body.as_str()).collect();
            anyhow::bail!("timed out after {timeout:?} waiting for {what}; received:\n{bodies:#?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
