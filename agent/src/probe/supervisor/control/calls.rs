//! The two XML-RPC calls a restart makes, `supervisor.stopProcess(name, true)` and
//! `supervisor.startProcess(name, true)`, written and read here: each answers a
//! boolean or a fault, so a call is one string parameter and a boolean, and an answer
//! is `<boolean>1</boolean>` or a `faultCode`/`faultString` pair, which is all this
//! reads (any other answer is an error quoting it). The HTTP exchange is the probe's:
//! POST to `/RPC2` on the unix socket or the inet port, with Basic auth when known.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use hyperlocal::UnixConnector;
use omswatch_common::telemetry::chain;

use super::super::address::{Credentials, ServerAddress};
use super::super::error::{Error, Result, shorten};

/// Largest answer read: a boolean or a fault is a few hundred bytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// supervisord's fault codes a restart meets (supervisor/xmlrpc.py `Faults`).
pub(crate) mod fault {
    /// No such process.
    pub(crate) const BAD_NAME: i32 = 10;
    /// The process exited while starting.
    pub(crate) const ABNORMAL_TERMINATION: i32 = 40;
    /// The process could not be spawned.
    pub(crate) const SPAWN_ERROR: i32 = 50;
    /// startProcess: it already runs.
    pub(crate) const ALREADY_STARTED: i32 = 60;
    /// stopProcess: it does not run.
    pub(crate) const NOT_RUNNING: i32 = 70;
}

/// `supervisor.<method>(namespec, true)` at `address`: `Ok(())` for `true`, the fault
/// otherwise. Has no timeout of its own: the caller bounds it.
pub(crate) async fn call(
    address: &ServerAddress,
    credentials: Option<&Credentials>,
    method: &str,
    namespec: &str,
) -> Result<()> {
    let body = post(address, credentials, method_call(method, namespec)).await?;
    decode(&body)
}

/// The call's XML: `namespec` escaped, `wait=true`.
pub(crate) fn method_call(method: &str, namespec: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>supervisor.{method}</methodName><params>\
         <param><value><string>{}</string></value></param>\
         <param><value><boolean>1</boolean></value></param></params></methodCall>",
        escape(namespec)
    )
}

/// The answer: `true`, or the fault.
pub(crate) fn decode(body: &str) -> Result<()> {
    let bad = || Error::BadResponse {
        reason: format!("not a boolean or a fault: {:?}", shorten(body.trim(), 200)),
    };
    if body.contains("<fault>") {
        let code = after(body, "faultCode")
            .and_then(|rest| element(rest, &["int", "i4"]))
            .and_then(|text| text.trim().parse::<i32>().ok())
            .ok_or_else(bad)?;
        let string = after(body, "faultString")
            .and_then(|rest| element(rest, &["string"]))
            .map(unescape)
            .unwrap_or_default();
        return Err(Error::Fault { code, string });
    }
    let value = after(body, "<params>")
        .and_then(|rest| element(rest, &["boolean"]))
        .ok_or_else(bad)?;
    match value.trim() {
        "1" => Ok(()),
        _ => Err(Error::BadResponse {
            reason: "supervisord answered false".into(),
        }),
    }
}

/// `text` after the first `marker`.
fn after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    text.find(marker).map(|at| &text[at + marker.len()..])
}

/// The content of the first `<tag>…</tag>` of `tags` that opens first in `text`.
fn element<'a>(text: &'a str, tags: &[&str]) -> Option<&'a str> {
    let (open, tag) = tags
        .iter()
        .filter_map(|tag| text.find(&format!("<{tag}>")).map(|at| (at, *tag)))
        .min_by_key(|(at, _)| *at)?;
    let content = &text[open + tag.len() + 2..];
    content
        .find(&format!("</{tag}>"))
        .map(|end| &content[..end])
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// POSTs `xml` to `/RPC2` at `address`; the answer's body.
async fn post(
    address: &ServerAddress,
    credentials: Option<&Credentials>,
    xml: String,
) -> Result<String> {
    let uri: Uri = match address {
        // As the probe does: hyperlocal finds the socket from the hex-encoded host.
        ServerAddress::Unix(path) => hyperlocal::Uri::new(path, "/RPC2").into(),
        ServerAddress::Http { .. } => {
            format!("{address}/RPC2")
                .parse()
                .map_err(|_| Error::BadAddress {
                    value: address.to_string(),
                    reason: "not a valid HTTP URI",
                })?
        }
    };
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
        ServerAddress::Unix(_) => Client::builder(TokioExecutor::new())
            .build::<_, Full<Bytes>>(UnixConnector)
            .request(request)
            .await
            .map_err(connect_error)?,
        ServerAddress::Http { .. } => Client::builder(TokioExecutor::new())
            .build_http::<Full<Bytes>>()
            .request(request)
            .await
            .map_err(connect_error)?,
    };
    match response.status() {
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED => {
            return Err(Error::AuthRefused {
                address: address.to_string(),
                credentials: credentials.map_or_else(
                    || "none were sent (no username configured)".to_owned(),
                    Credentials::describe,
                ),
            });
        }
        status => {
            return Err(Error::HttpStatus {
                address: address.to_string(),
                status: status.as_u16(),
            });
        }
    }
    let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| Error::Connect {
            address: address.to_string(),
            reason: format!("reading the answer: {}", chain(&*e)),
        })?
        .to_bytes();
    String::from_utf8(body.to_vec()).map_err(|e| Error::BadResponse {
        reason: format!("the answer is not UTF-8: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What supervisord (Python's xmlrpc.client) writes for `True`.
    const TRUE: &str = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n\
                        <value><boolean>1</boolean></value>\n</param>\n</params>\n</methodResponse>\n";

    fn fault(code: i32, string: &str) -> String {
        format!(
            "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n\
             <name>faultCode</name>\n<value><int>{code}</int></value>\n</member>\n<member>\n\
             <name>faultString</name>\n<value><string>{string}</string></value>\n</member>\n\
             </struct></value>\n</fault>\n</methodResponse>\n"
        )
    }

    #[test]
    fn true_and_faults_are_read() {
        assert!(decode(TRUE).is_ok());
        match decode(&fault(70, "NOT_RUNNING: oms_console")) {
            Err(Error::Fault { code, string }) => {
                assert_eq!((code, string.as_str()), (70, "NOT_RUNNING: oms_console"));
            }
            other => panic!("{other:?}"),
        }
        match decode(&fault(50, "SPAWN_ERROR: a &lt;b&gt; &amp; c")) {
            Err(Error::Fault { code: 50, string }) => assert_eq!(string, "SPAWN_ERROR: a <b> & c"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn anything_else_is_a_bad_answer_quoting_it() {
        for body in [
            "",
            "<html>502</html>",
            "<methodResponse><params><param><value><boolean>0</boolean></value></param></params></methodResponse>",
            "<methodResponse><fault><value><struct></struct></value></fault></methodResponse>",
        ] {
            let err = decode(body).expect_err(body);
            assert!(matches!(err, Error::BadResponse { .. }), "{body}: {err}");
        }
    }

    #[test]
    fn the_call_escapes_the_name_and_waits() {
        let xml = method_call("stopProcess", "grp:a<b>&c");
        assert!(
            xml.contains("<methodName>supervisor.stopProcess</methodName>"),
            "{xml}"
        );
        assert!(
            xml.contains("<string>grp:a&lt;b&gt;&amp;c</string>"),
            "{xml}"
        );
        assert!(xml.contains("<boolean>1</boolean>"), "{xml}");
    }
}
