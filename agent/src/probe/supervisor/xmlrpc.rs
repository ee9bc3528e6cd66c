//! Asking supervisord for its programs over XML-RPC: `supervisor.getAllProcessInfo`.
//!
//! This is the primary path: it needs no Python and gives exact numbers (state codes, start
//! times, exit statuses) that `supervisorctl status` only prints as prose. The XML is written and
//! read by `dxr`; this module only moves bytes over HTTP/1.1 and maps the result.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use dxr::{FaultResponse, MethodCall, MethodResponse, Value};
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use hyperlocal::UnixConnector;
use omswatch_common::proto::v1::Program;

use super::address::{Credentials, ServerAddress};
use omswatch_common::telemetry::chain;

use super::error::{Error, Result, shorten};

/// The method asked for.
const METHOD: &str = "supervisor.getAllProcessInfo";

/// Largest response accepted. A process entry is about 1 KiB; this allows thousands.
const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// Calls `supervisor.getAllProcessInfo` at `address`. Has no timeout of its own: the caller
/// bounds it.
pub(crate) async fn get_all_process_info(
    address: &ServerAddress,
    credentials: Option<&Credentials>,
) -> Result<Vec<Program>> {
    let call = MethodCall {
        name: Cow::Borrowed(METHOD),
        params: Vec::new(),
    };
    let xml = call.to_xml().map_err(|e| Error::BadResponse {
        reason: format!("cannot encode {METHOD}: {e}"),
    })?;
    let uri = rpc_uri(address)?;
    let mut request = Request::post(uri).header(CONTENT_TYPE, "text/xml");
    if let Some(credentials) = credentials {
        request = request.header(AUTHORIZATION, credentials.basic_auth());
    }
    let request = request
        .body(Full::new(Bytes::from(xml)))
        .map_err(|_| Error::BadAddress {
            value: address.to_string(),
            reason: "cannot build an HTTP request for it",
        })?;

    let connect_error = |e: hyper_util::client::legacy::Error| Error::Connect {
        address: address.to_string(),
        reason: chain(&e),
    };
    let response = match address {
        ServerAddress::Unix(_) => {
            let client: Client<UnixConnector, Full<Bytes>> =
                Client::builder(TokioExecutor::new()).build(UnixConnector);
            client.request(request).await.map_err(connect_error)?
        }
        ServerAddress::Http { .. } => {
            let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
            client.request(request).await.map_err(connect_error)?
        }
    };

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
    match MethodResponse::from_xml(body) {
        Ok(response) => programs(response.value),
        // A fault has no <params>, so it never parses as a MethodResponse; dxr's own errors embed
        // the whole body, so they are replaced by a short excerpt.
        Err(_) => match FaultResponse::from_xml(body) {
            Ok(FaultResponse { fault }) => Err(Error::Fault {
                code: fault.code(),
                string: fault.string().to_owned(),
            }),
            Err(_) => Err(Error::BadResponse {
                reason: format!("not an XML-RPC response: {:?}", shorten(body.trim(), 200)),
            }),
        },
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
            Value::Struct(fields) => program(&fields),
            _ => Err(bad(format!("entry {i} is not a struct"))),
        })
        .collect()
}

/// Maps one process struct. Missing members default (older supervisord versions lack some);
/// a member of the wrong type is an error, as the peer is then not what we think it is.
fn program(fields: &BTreeMap<String, Value>) -> Result<Program> {
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
        start_unix: i64::from(int(fields, "start")?),
        exit_status: int(fields, "exitstatus")?,
        spawn_error: text(fields, "spawnerr")?,
        description: text(fields, "description")?,
        name,
        ..Program::default()
    })
}

/// A string member, empty when absent.
fn text(fields: &BTreeMap<String, Value>, key: &str) -> Result<String> {
    match fields.get(key) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(bad(format!("member {key} is not a string"))),
    }
}

/// An integer member, 0 when absent.
fn int(fields: &BTreeMap<String, Value>, key: &str) -> Result<i32> {
    match fields.get(key) {
        None => Ok(0),
        Some(Value::Integer(i)) => Ok(*i),
        Some(_) => Err(bad(format!("member {key} is not an int"))),
    }
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
