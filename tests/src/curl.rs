//! HTTP(S) requests through the real `curl`, the way an operator or a script reaches the
//! collector's HTTP listener: CA, client certificate and headers as curl flags.

use std::time::Duration;

use anyhow::Context;
use tokio::process::Command;

/// The Debian package of `curl`.
const CURL_PACKAGE: &str = "curl";
/// Separates the body from the status line curl writes after it (`-w`).
const MARK: &str = "\n--omswatch-curl-status--";

/// What a request got back.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status; 0 when no response arrived (refused connection, failed handshake).
    pub code: u16,
    /// The response headers, as sent (lower-case them to compare).
    pub headers: String,
    /// The body.
    pub body: String,
    /// curl's own error text when the request failed below HTTP.
    pub error: String,
}

impl Answer {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }
}

/// GETs `url` with extra curl `args` (e.g. `--cacert`, `--cert`, `-H`; `-d` makes it a
/// POST); 10 s at most.
pub async fn get(url: &str, args: &[String]) -> anyhow::Result<Answer> {
    let curl = crate::require_program("curl", CURL_PACKAGE)?;
    let out = Command::new(curl)
        .args(["-sS", "--max-time", "10", "-D", "-", "-o", "-", "-w"])
        .arg(format!("{MARK}%{{http_code}}"))
        .args(args)
        .arg(url)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(15), out)
        .await
        .context("curl did not finish in 15 s")?
        .context("running curl")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (response, code) = text.rsplit_once(MARK).unwrap_or((text.as_str(), "0"));
    let (headers, body) = response.split_once("\r\n\r\n").unwrap_or(("", response));
    Ok(Answer {
        code: code.trim().parse().unwrap_or(0),
        headers: headers.to_string(),
        body: body.to_string(),
        error: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// POSTs `form` (urlencoded, as a browser's form) to `url` with extra curl `args`.
pub async fn post_form(
    url: &str,
    form: &[(&str, &str)],
    args: &[String],
) -> anyhow::Result<Answer> {
    let mut all: Vec<String> = form
        .iter()
        .flat_map(|(name, value)| ["--data-urlencode".to_string(), format!("{name}={value}")])
        .collect();
    all.extend(args.iter().cloned());
    get(url, &all).await
}
