//! Asking supervisord for its programs over XML-RPC: `supervisor.getAllProcessInfo`.
//!
//! This is the primary path: it needs no Python and gives exact numbers (state codes, start
//! times, exit statuses) that `supervisorctl status` only prints as prose. The call never changes
//! and is written once; the answer is read by `decode` and mapped here; the rest moves bytes over
//! HTTP/1.1.

use std::collections::BTreeMap;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use hyperlocal::UnixConnector;
use omswatch_common::proto::v1::Program;

use super::address::{Credentials, ServerAddress};
use omswatch_common::telemetry::chain;

use self::decode::{Answer, Value};
use super::error::{Error, Result, shorten};

// Also read by `control::calls`, the restart's two calls.
pub(super) mod decode;

/// The call of `supervisor.getAllProcessInfo`, as `dxr` writes it (checked by a test): it never
/// changes, so it is written once rather than at every probe.
const CALL: &[u8] =
    b"<methodCall><methodName>supervisor.getAllProcessInfo</methodName></methodCall>";

/// Largest response accepted. A process entry is about 1 KiB; this allows thousands.
const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// The HTTP clients of the probe, one per kind of address, each with its pool of connections:
/// kept across probes, so a supervisord that keeps the connection open is asked over it again
/// rather than over a new one every second.
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    /// For `unix://` sockets.
    unix: Client<UnixConnector, Full<Bytes>>,
    /// For `http://host:port`.
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Clients {
    /// Clients keeping at most one idle connection per server.
    pub(crate) fn new() -> Clients {
        let mut builder = Client::builder(TokioExecutor::new());
        builder.pool_max_idle_per_host(1);
        Clients {
            unix: builder.build(UnixConnector),
            http: builder.build_http(),
        }
    }

    /// Calls `supervisor.getAllProcessInfo` at `address`. Has no timeout of its own: the caller
    /// bounds it.
    pub(crate) async fn get_all_process_info(
        &self,
        address: &ServerAddress,
        credentials: Option<&Credentials>,
    ) -> Result<Vec<Program>> {
        let request = request(address, credentials)?;
        let connect_error = |e: hyper_util::client::legacy::Error| Error::Connect {
            address: address.to_string(),
            reason: chain(&e),
        };
        let response = match address {
            ServerAddress::Unix(_) => self.unix.request(request).await,
            ServerAddress::Http { .. } => self.http.request(request).await,
        }
        .map_err(connect_error)?;
        read_response(address, credentials, response).await
    }
}

/// The `getAllProcessInfo` request for `address`.
fn request(
    address: &ServerAddress,
    credentials: Option<&Credentials>,
) -> Result<Request<Full<Bytes>>> {
    let uri = rpc_uri(address)?;
    let mut request = Request::post(uri).header(CONTENT_TYPE, "text/xml");
    if let Some(credentials) = credentials {
        request = request.header(AUTHORIZATION, credentials.basic_auth());
    }
    request
        .body(Full::new(Bytes::from_static(CALL)))
        .map_err(|_| Error::BadAddress {
            value: address.to_string(),
            reason: "cannot build an HTTP request for it",
        })
}

/// Checks the answer's status and decodes its body.
async fn read_response(
    address: &ServerAddress,
    credentials: Option<&Credentials>,
    response: hyper::Response<hyper::body::Incoming>,
) -> Result<Vec<Program>> {
    match response.status() {
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED => {
            let credentials = credentials.map_or_else(
                || "none were sent (no username configured)".to_owned(),
                Credentials::describe,
            );
            return Err(Error::AuthRefused {
                address: address.to_string(),
                credentials,
            });
        }
        status => {
            return Err(Error::HttpStatus {
                address: address.to_string(),
                status: status.as_u16(),
            });
        }
    }
    let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| Error::Connect {
            address: address.to_string(),
            reason: format!("reading the response: {}", chain(&*e)),
        })?
        .to_bytes();
    let text = std::str::from_utf8(&body).map_err(|e| Error::BadResponse {
        reason: format!("response is not UTF-8: {e}"),
    })?;
    decode_process_info(text)
}

/// The request URI: `/RPC2`, where supervisord serves XML-RPC.
fn rpc_uri(address: &ServerAddress) -> Result<Uri> {
    match address {
        // The socket path travels hex-encoded in the URI's host, which is how hyperlocal's
        // connector finds it again; the length was bounded by `ServerAddress::parse_url`.
        ServerAddress::Unix(path) => Ok(hyperlocal::Uri::new(path, "/RPC2").into()),
        ServerAddress::Http { .. } => {
            format!("{address}/RPC2")
                .parse()
                .map_err(|_| Error::BadAddress {
                    value: address.to_string(),
                    reason: "not a valid HTTP URI",
                })
        }
    }
}

/// Decodes a `getAllProcessInfo` response body, or its fault.
pub(crate) fn decode_process_info(body: &str) -> Result<Vec<Program>> {
    match decode::answer(body) {
        Ok(Answer::Value(value)) => programs(value),
        Ok(Answer::Fault(code, string)) => Err(Error::Fault {
            code: i32::try_from(code).unwrap_or(i32::MAX),
            string,
        }),
        Err(reason) => Err(Error::BadResponse {
            reason: format!(
                "not an XML-RPC response ({reason}): {:?}",
                shorten(body.trim(), 200)
            ),
        }),
    }
}

/// Maps the returned array of process structs.
fn programs(value: Value) -> Result<Vec<Program>> {
    let Value::Array(items) = value else {
        return Err(bad("the result is not an array"));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Struct(fields) => program(fields),
            _ => Err(bad(format!("entry {i} is not a struct"))),
        })
        .collect()
}

/// Maps one process struct. Missing members default (older supervisord versions lack some);
/// a member of the wrong type is an error, as the peer is then not what we think it is.
fn program(mut fields: BTreeMap<String, Value>) -> Result<Program> {
    let fields = &mut fields;
    let name = text(fields, "name")?;
    if name.is_empty() {
        return Err(bad("an entry has no name"));
    }
    Ok(Program {
        group: text(fields, "group")?,
        state: text(fields, "statename")?,
        state_code: int(fields, "state")?,
        // supervisord reports pid 0 when not running; a negative pid would be nonsense.
        pid: u32::try_from(int(fields, "pid")?).unwrap_or(0),
        start_unix: long(fields, "start")?,
        exit_status: int(fields, "exitstatus")?,
        spawn_error: text(fields, "spawnerr")?,
        description: text(fields, "description")?,
        name,
        ..Program::default()
    })
}

/// A string member (taken out of `fields`), empty when absent.
fn text(fields: &mut BTreeMap<String, Value>, key: &str) -> Result<String> {
    match fields.remove(key) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(bad(format!("member {key} is not a string"))),
    }
}

/// An integer member, 0 when absent.
fn long(fields: &BTreeMap<String, Value>, key: &str) -> Result<i64> {
    match fields.get(key) {
        None => Ok(0),
        Some(Value::Integer(i)) => Ok(*i),
        Some(_) => Err(bad(format!("member {key} is not an int"))),
    }
}

/// An integer member within 32 bits (XML-RPC's `int`), 0 when absent.
fn int(fields: &BTreeMap<String, Value>, key: &str) -> Result<i32> {
    let value = long(fields, key)?;
    i32::try_from(value).map_err(|_| bad(format!("member {key} ({value}) is out of range")))
}

/// A [`Error::BadResponse`].
fn bad(reason: impl Into<String>) -> Error {
    Error::BadResponse {
        reason: reason.into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
