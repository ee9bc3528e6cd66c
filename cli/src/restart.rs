//! `omswatch restart NODE PROGRAM`: the collector's `Restart` RPC, which sends the
//! command down the node's report stream and waits for the program to be RUNNING.
//! Exit 0 when it is, 2 when the restart ran but it is not RUNNING within `--wait`
//! (supervisord's spawn error or the program's state quoted), 3 when refused, not
//! connected or unreachable (the collector's reason, which names the switch or rule,
//! and the fix).

use std::process::ExitCode;
use std::time::Duration;

use omswatch_common::proto::v1::{RestartReply, RestartRequest};
use tonic::Code;

use crate::connect::{Connection, client};
use crate::failover::{self, Failure, FailureKind, Repeat};
use crate::failure;
use crate::views::printable::printable;

/// Exit code: the restart ran but the program is not RUNNING.
pub const EXIT_NOT_RUNNING: u8 = 2;
/// Exit code: refused, not connected, unreachable or bad usage.
const EXIT_UNUSABLE: u8 = 3;
/// The longest `--wait` the collector accepts.
pub const MAX_WAIT: Duration = Duration::from_secs(300);
/// Room beyond `--wait` for the collector to answer.
const ANSWER_ROOM: Duration = Duration::from_secs(20);

/// What `omswatch restart` asks.
#[derive(Debug, Clone)]
pub struct Restart {
    /// The node.
    pub node: String,
    /// The program.
    pub program: String,
    /// `--reason`.
    pub reason: Option<String>,
    /// `--wait`.
    pub wait: Duration,
}

impl Restart {
    /// The request, or what is wrong with the arguments.
    pub fn request(&self) -> Result<RestartRequest, String> {
        if self.wait.is_zero() || self.wait > MAX_WAIT {
            return Err(format!(
                "--wait must be between 1s and {}",
                humantime::format_duration(MAX_WAIT)
            ));
        }
        Ok(RestartRequest {
            node: self.node.clone(),
            program: self.program.clone(),
            reason: self.reason.clone().unwrap_or_default(),
            wait_ms: u32::try_from(self.wait.as_millis()).unwrap_or(u32::MAX),
        })
    }
}

/// Asks `connection`'s collector to restart, prints what happened; the exit code.
pub async fn run(connection: &Connection, restart: Restart) -> ExitCode {
    let request = match restart.request() {
        Ok(request) => request,
        Err(message) => {
            eprintln!("omswatch: {message}");
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let timeout = restart.wait + ANSWER_ROOM;
    let call = |at: Connection| {
        let request = request.clone();
        async move {
            anyhow::Ok(
                client(&at, timeout)
                    .await?
                    .restart(request)
                    .await?
                    .into_inner(),
            )
        }
    };
    let what = format!("{} on {}", restart.program, restart.node);
    // A restart is passed to the other collector only when the first was never reached:
    // one that took the request and went quiet may have sent it already.
    match failover::ask(connection, timeout, Repeat::OnlyUnreached, call).await {
        Ok(answer) => ExitCode::from(report(&answer.value)),
        Err(Failure {
            from,
            kind: FailureKind::Error(e),
        }) => {
            eprintln!("{}", refusal(&what, &from, &e));
            ExitCode::from(EXIT_UNUSABLE)
        }
        Err(Failure {
            from,
            kind: FailureKind::NoAnswer(within),
        }) => {
            eprintln!(
                "omswatch: no answer from {} within {} about the restart of {what}: see \
                 `omswatch history --kind remediation --node {}` for what happened",
                from.url,
                humantime::format_duration(within),
                restart.node
            );
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

/// Prints a restart that ran; its exit code.
pub fn report(reply: &RestartReply) -> u8 {
    let state = match (reply.description.as_str(), reply.spawn_error.as_str()) {
        (_, error) if !error.is_empty() => format!("{} ({error})", reply.state),
        ("", _) => reply.state.clone(),
        (description, _) => format!("{} ({description})", reply.state),
    };
    if reply.result == "running" {
        println!("omswatch: {}", printable(&reply.message));
        println!("  now: {}", printable(&state));
        0
    } else {
        eprintln!("omswatch: {}", printable(&reply.message));
        eprintln!(
            "  now: {}\n  The restart ran (request {}); see the program's log, `omswatch status`, \
             and `omswatch history --kind remediation`.",
            printable(&state),
            reply.request_id
        );
        EXIT_NOT_RUNNING
    }
}

/// The stderr text of a failed restart of `what`.
fn refusal(what: &str, connection: &Connection, error: &anyhow::Error) -> String {
    let status = error.downcast_ref::<tonic::Status>();
    match status {
        // The collector's own answer (no transport error under it) names the rule.
        Some(s) if std::error::Error::source(s).is_none() => match s.code() {
            Code::Unauthenticated => failure::refused(s.code(), s.message()),
            Code::Unimplemented => format!(
                "omswatch: the collector at {} does not restart programs (an older version): \
                 upgrade it",
                connection.url
            ),
            _ => format!(
                "omswatch: cannot restart {what}: {}",
                printable(s.message())
            ),
        },
        _ => failure::explain(
            &format!("the restart of {what}"),
            &connection.url,
            error,
            connection.tls.is_some(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_bounded_and_carried() {
        let restart = Restart {
            node: "oms-node-3".into(),
            program: "oms_console".into(),
            reason: Some("down after the upgrade".into()),
            wait: Duration::from_secs(30),
        };
        let request = restart.request().expect("valid");
        assert_eq!(request.wait_ms, 30_000);
        assert_eq!(request.reason, "down after the upgrade");
        let long = Restart {
            wait: Duration::from_secs(301),
            ..restart
        };
        assert!(long.request().expect_err("too long").contains("--wait"));
    }

    #[test]
    fn running_is_0_and_not_running_is_2() {
        let running = RestartReply {
            result: "running".into(),
            state: "RUNNING".into(),
            ..Default::default()
        };
        assert_eq!(report(&running), 0);
        let fatal = RestartReply {
            result: "not_running".into(),
            state: "FATAL".into(),
            spawn_error: "Exited too quickly".into(),
            ..Default::default()
        };
        assert_eq!(report(&fatal), EXIT_NOT_RUNNING);
    }
}
