//! Asking a pair of collectors: each `--collector` URL in turn, moving on only
//! when one is unreachable (it cannot be connected to, it is unavailable, or, for
//! a question that may be asked twice, it does not answer in time). A refusal or
//! any other answer is final: the other collector of a pair would refuse alike,
//! and an error the collector decided on is the answer. Stderr says which
//! collector answered when one before it failed, so the operator knows.

use std::future::Future;
use std::time::Duration;

use omswatch_common::telemetry::chain;
use tonic::Code;

use crate::connect::Connection;

/// What one collector answered.
#[derive(Debug)]
pub struct Answer<T> {
    /// The answer.
    pub value: T,
    /// Who gave it.
    pub from: Connection,
}

/// Why no collector answered: the last one's failure.
#[derive(Debug)]
pub struct Failure {
    /// The last collector asked.
    pub from: Connection,
    /// What went wrong there.
    pub kind: FailureKind,
}

/// How the last collector asked failed.
#[derive(Debug)]
pub enum FailureKind {
    /// An error: a refusal, another answer, or a failed connection.
    Error(anyhow::Error),
    /// No answer within this long.
    NoAnswer(Duration),
}

/// Whether the question may be asked of the next collector after a timeout: a
/// read may, a restart may not (the first collector may have sent it already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Reads: status, history, bundle.
    Safe,
    /// Actions: restart, forget. Only a collector never reached is passed over.
    OnlyUnreached,
}

/// Whether `error` means the collector could not be reached, so the next may be asked.
/// Refusals are final; so is any answer the collector decided on. For an action
/// ([`Repeat::OnlyUnreached`]) only a collector never connected to is passed over: the
/// collector answers some of its own outcomes with UNAVAILABLE ("no answer from the agent"
/// after the command went down the stream, "the node is not connected"), and asking the other
/// collector of the pair then would send a second restart with a new id.
pub fn unreachable(error: &anyhow::Error, repeat: Repeat) -> bool {
    let Some(status) = error.downcast_ref::<tonic::Status>() else {
        // No status at all: connecting failed (refused, timed out, TLS).
        return true;
    };
    if repeat == Repeat::OnlyUnreached {
        return never_connected(status);
    }
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => true,
        // A transport failure under the status (the connection broke mid-call).
        Code::Unknown | Code::Internal => std::error::Error::source(status).is_some(),
        _ => false,
    }
}

/// Whether the status is the client's own "could not connect" (a `ConnectError` under it),
/// not anything the collector said.
fn never_connected(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::ConnectError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// Asks `call` of each collector of `connection` in turn, each bounded by `timeout`,
/// until one answers or fails for good.
pub async fn ask<T, F, Fut>(
    connection: &Connection,
    timeout: Duration,
    repeat: Repeat,
    mut call: F,
) -> Result<Answer<T>, Failure>
where
    F: FnMut(Connection) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut failed: Vec<String> = Vec::new();
    let last = connection.urls.len().saturating_sub(1);
    for (i, url) in connection.urls.iter().enumerate() {
        let at = connection.at(url);
        let kind = match tokio::time::timeout(timeout, call(at.clone())).await {
            Ok(Ok(value)) => {
                if !failed.is_empty() {
                    eprintln!(
                        "omswatch: answered by {url} ({} did not)",
                        failed.join(", ")
                    );
                }
                return Ok(Answer { value, from: at });
            }
            Ok(Err(e)) if i < last && unreachable(&e, repeat) => {
                eprintln!(
                    "omswatch: {url} is unreachable ({}); asking the next collector",
                    brief(&e)
                );
                failed.push(url.clone());
                continue;
            }
            Ok(Err(e)) => FailureKind::Error(e),
            Err(_) if i < last && repeat == Repeat::Safe => {
                let within = humantime::format_duration(timeout);
                eprintln!(
                    "omswatch: no answer from {url} within {within}; asking the next collector"
                );
                failed.push(url.clone());
                continue;
            }
            Err(_) => FailureKind::NoAnswer(timeout),
        };
        return Err(Failure { from: at, kind });
    }
    Err(Failure {
        from: connection.clone(),
        kind: FailureKind::Error(anyhow::anyhow!("no --collector given")),
    })
}

/// One line of why a collector was passed over.
fn brief(error: &anyhow::Error) -> String {
    match error.downcast_ref::<tonic::Status>() {
        Some(status) => match std::error::Error::source(status) {
            Some(source) => chain(source),
            None => format!("{} ({:?})", status.message(), status.code()),
        },
        None => chain(error.as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: Code) -> anyhow::Error {
        anyhow::Error::new(tonic::Status::new(code, "x"))
    }

    #[test]
    fn only_an_unreachable_collector_passes_the_question_on() {
        let connect = anyhow::anyhow!("transport error: Connection refused (os error 111)");
        let reconnect =
            anyhow::Error::new(tonic::Status::from_error(Box::new(tonic::ConnectError(
                Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
            ))));
        for repeat in [Repeat::Safe, Repeat::OnlyUnreached] {
            assert!(unreachable(&connect, repeat));
            assert!(unreachable(&reconnect, repeat));
            for final_code in [
                Code::PermissionDenied,
                Code::Unauthenticated,
                Code::NotFound,
                Code::InvalidArgument,
                Code::FailedPrecondition,
            ] {
                assert!(!unreachable(&status(final_code), repeat), "{final_code:?}");
            }
        }
        assert!(unreachable(&status(Code::Unavailable), Repeat::Safe));
        assert!(unreachable(&status(Code::DeadlineExceeded), Repeat::Safe));
        // An Unknown the collector decided on (no transport error under it) is its answer.
        assert!(!unreachable(&status(Code::Unknown), Repeat::Safe));
    }

    #[test]
    fn an_action_goes_on_only_from_a_collector_never_connected_to() {
        // The collector's own UNAVAILABLE (the agent did not answer after the command went
        // down its stream; the node is not connected there) must not send a second restart.
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::Cancelled,
            Code::Unknown,
        ] {
            assert!(
                !unreachable(&status(code), Repeat::OnlyUnreached),
                "{code:?}"
            );
        }
    }
}
