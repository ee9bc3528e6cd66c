//! `omswatch history`: the collector's timeline through the `GetHistory` RPC,
//! shown by [`crate::views::history`]. Times are given as a duration ago
//! (`1h`) or an RFC 3339 time, and sent as Unix milliseconds.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use omswatch_common::findings::Code;
use omswatch_common::proto::v1::{History, HistoryRequest};

use crate::connect::{Connection, client};
use crate::{failure, views};

/// Exit code for an unreachable collector, a refusal or bad usage.
const EXIT_UNUSABLE: u8 = 3;
/// Largest history answer accepted (tonic's default is 4 MiB; 5,000 events with evidence can exceed it).
const MAX_HISTORY_BYTES: usize = 64 << 20;

/// The kinds of event `--kind` takes.
pub const KINDS: [&str; 5] = [
    "raised",
    "cleared",
    "node_state",
    "collector",
    "remediation",
];

/// A `--since`/`--until` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// This long before now.
    Ago(Duration),
    /// This time.
    At(SystemTime),
}

impl When {
    /// Unix milliseconds, with `now` for durations.
    pub fn unix_ms(self, now: SystemTime) -> i64 {
        let at = match self {
            When::Ago(d) => now.checked_sub(d).unwrap_or(SystemTime::UNIX_EPOCH),
            When::At(t) => t,
        };
        at.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Parses `1h`, `30m`, `7d` or `2026-05-01T08:00:00Z` (a space for the `T`
/// and no zone, meaning UTC, are accepted too).
pub fn parse_time(text: &str) -> Result<When, String> {
    if let Ok(d) = humantime::parse_duration(text) {
        return Ok(When::Ago(d));
    }
    humantime::parse_rfc3339_weak(text)
        .map(When::At)
        .map_err(|_| {
            format!(
                "{text:?} is neither a duration ago (30m, 1h, 7d) nor an RFC 3339 time (2026-05-01T08:00:00Z)"
            )
        })
}

/// What `omswatch history` asks.
#[derive(Debug, Clone)]
pub struct Query {
    /// `--since`.
    pub since: Option<When>,
    /// `--until`.
    pub until: Option<When>,
    /// `--node`.
    pub node: Option<String>,
    /// `--code`.
    pub code: Option<String>,
    /// `--kind`.
    pub kind: Option<String>,
    /// `--limit`.
    pub limit: u32,
    /// `--format json`.
    pub json: bool,
    /// `--timeout`.
    pub timeout: Duration,
}

impl Query {
    /// The request, or what is wrong with the flags.
    pub fn request(&self, now: SystemTime) -> Result<HistoryRequest, String> {
        let code = match &self.code {
            Some(name) => Code::parse(name)
                .map(|c| c.as_str().to_string())
                .ok_or_else(|| {
                    format!("unknown finding code {name:?}; `omswatch explain --all` lists them")
                })?,
            None => String::new(),
        };
        let since_unix_ms = self.since.map(|w| w.unix_ms(now));
        let until_unix_ms = self.until.map(|w| w.unix_ms(now));
        if let (Some(s), Some(u)) = (since_unix_ms, until_unix_ms)
            && s > u
        {
            return Err("--since is after --until".into());
        }
        let kind = match self.kind.as_deref().map(str::trim) {
            Some(kind) if KINDS.contains(&kind) => kind.to_string(),
            Some(kind) => {
                return Err(format!(
                    "unknown event kind {kind:?}; the kinds are {}",
                    KINDS.join(", ")
                ));
            }
            None => String::new(),
        };
        Ok(HistoryRequest {
            since_unix_ms,
            until_unix_ms,
            node: self.node.clone().unwrap_or_default(),
            code,
            limit: self.limit,
            kind,
        })
    }
}

/// Asks `connection`'s collector and prints the answer; the exit code.
pub async fn run(connection: &Connection, query: Query) -> ExitCode {
    let request = match query.request(SystemTime::now()) {
        Ok(r) => r,
        Err(message) => {
            eprintln!("omswatch: {message}");
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let call = fetch(connection, request, query.timeout);
    let history = match tokio::time::timeout(query.timeout, call).await {
        Ok(Ok(history)) => history,
        Ok(Err(e)) => {
            let tls = connection.tls.is_some();
            eprintln!(
                "{}",
                failure::explain("the history", &connection.url, &e, tls)
            );
            return ExitCode::from(EXIT_UNUSABLE);
        }
        Err(_) => {
            eprintln!(
                "omswatch: no answer from {} within {}",
                connection.url,
                humantime::format_duration(query.timeout)
            );
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    if query.json {
        println!("{}", views::history::json(&history));
    } else {
        print!("{}", views::history::table(&history, &connection.url));
    }
    ExitCode::SUCCESS
}

async fn fetch(
    connection: &Connection,
    request: HistoryRequest,
    timeout: Duration,
) -> anyhow::Result<History> {
    let reply = client(connection, timeout)
        .await?
        .max_decoding_message_size(MAX_HISTORY_BYTES)
        .get_history(request)
        .await?;
    Ok(reply.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_durations_ago_or_rfc3339() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        assert_eq!(parse_time("1h").expect("ago").unix_ms(now), 6_400_000);
        let at = parse_time("1970-01-01T00:00:05Z").expect("rfc3339");
        assert_eq!(at.unix_ms(now), 5_000);
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn codes_are_checked_and_normalised() {
        let query = Query {
            since: Some(When::Ago(Duration::from_secs(60))),
            until: None,
            node: Some("oms-node-2".into()),
            code: Some("component_not_running".into()),
            kind: None,
            limit: 10,
            json: false,
            timeout: Duration::from_secs(1),
        };
        let request = query.request(SystemTime::now()).expect("valid");
        assert_eq!(request.code, "COMPONENT_NOT_RUNNING");
        assert_eq!(request.node, "oms-node-2");
        let remediation = Query {
            kind: Some("remediation".into()),
            ..query.clone()
        };
        let request = remediation.request(SystemTime::now()).expect("valid");
        assert_eq!(request.kind, "remediation");
        let wrong_kind = Query {
            kind: Some("restart".into()),
            ..query.clone()
        };
        assert!(
            wrong_kind
                .request(SystemTime::now())
                .expect_err("unknown kind")
                .contains("remediation")
        );
        let bad = Query {
            code: Some("NOPE".into()),
            ..query
        };
        assert!(
            bad.request(SystemTime::now())
                .expect_err("unknown")
                .contains("explain")
        );
    }
}
