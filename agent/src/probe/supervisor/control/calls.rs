//! The two XML-RPC calls a restart makes, `supervisor.stopProcess(name, true)` and
//! `supervisor.startProcess(name, true)`: a call is one string parameter and a boolean,
//! written here; an answer is a boolean or a fault, read by the probe's XML-RPC reader
//! (`xmlrpc/decode.rs`; anything else is an error quoting it). The HTTP exchange is
//! the probe's: POST to `/RPC2` on the unix socket or the inet port, with Basic auth
//! when known.

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
use super::super::xmlrpc::decode::{Answer, Value, answer};

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

/// The answer: `true`, or the fault (read by the probe's XML-RPC reader).
pub(crate) fn decode(body: &str) -> Result<()> {
    let bad = |why: String| Error::BadResponse {
        reason: format!("{why}: {:?}", shorten(body.trim(), 200)),
    };
    match answer(body).map_err(|e| bad(format!("not an XML-RPC answer ({e})")))? {
        Answer::Value(Value::Boolean(true)) => Ok(()),
        Answer::Value(Value::Boolean(false)) => Err(bad("supervisord answered false".into())),
        Answer::Value(_) => Err(bad("not a boolean".into())),
        Answer::Fault(code, string) => Err(Error::Fault {
            code: i32::try_from(code).unwrap_or(i32::MAX),
            string,
        }),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
            "<methodResponse><params><param><value><int>1</int></value></param></params></methodResponse>",
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
