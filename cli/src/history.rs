//! `omswatch history`: the collector's timeline through the `GetHistory` RPC,
//! shown by [`crate::views::history`] (table) or
//! [`omswatch_common::views::history_json`] (JSON). The filters are parsed by
//! [`omswatch_common::views::history_query`], as the collector's `GET /api/v1/history`
//! parses its query parameters.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use omswatch_common::proto::v1::{History, HistoryRequest};
pub use omswatch_common::views::history_query::{HistoryQuery, When, parse_time};

use crate::connect::{Connection, client};
use crate::failover::{self, Failure, FailureKind, Repeat};
use crate::{failure, views};

/// Exit code for an unreachable collector, a refusal or bad usage.
const EXIT_UNUSABLE: u8 = 3;
/// Largest history answer accepted (tonic's default is 4 MiB; 5,000 events with evidence can exceed it).
const MAX_HISTORY_BYTES: usize = 64 << 20;

/// What `omswatch history` asks.
#[derive(Debug, Clone)]
pub struct Query {
    /// `--since`, `--until`, `--node`, `--code`, `--limit`.
    pub filter: HistoryQuery,
    /// `--format json`.
    pub json: bool,
    /// `--timeout`.
    pub timeout: Duration,
}

impl Query {
    /// The request, or what is wrong with the flags.
    pub fn request(&self, now: SystemTime) -> Result<HistoryRequest, String> {
        self.filter
            .request(now)
            .map_err(|e| e.replace("since is after until", "--since is after --until"))
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
    let timeout = query.timeout;
    let call = |at: Connection| {
        let request = request.clone();
        async move { fetch(&at, request, timeout).await }
    };
    let (history, from) = match failover::ask(connection, timeout, Repeat::Safe, call).await {
        Ok(answer) => (answer.value, answer.from),
        Err(Failure {
            from,
            kind: FailureKind::Error(e),
        }) => {
            let tls = from.tls.is_some();
            eprintln!("{}", failure::explain("the history", &from.url, &e, tls));
            return ExitCode::from(EXIT_UNUSABLE);
        }
        Err(Failure {
            from,
            kind: FailureKind::NoAnswer(within),
        }) => {
            eprintln!(
                "omswatch: no answer from {} within {}",
                from.url,
                humantime::format_duration(within)
            );
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    if query.json {
        print!(
            "{}",
            omswatch_common::views::history_json::document(&history)
        );
    } else {
        print!("{}", views::history::table(&history, &from.url));
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
    fn flags_are_checked_with_their_names() {
        let query = Query {
            filter: HistoryQuery {
                since: Some(When::Ago(Duration::from_secs(10))),
                until: Some(When::Ago(Duration::from_secs(60))),
                ..HistoryQuery::default()
            },
            json: false,
            timeout: Duration::from_secs(1),
        };
        let err = query.request(SystemTime::now()).expect_err("backwards");
        assert_eq!(err, "--since is after --until");
    }
}
