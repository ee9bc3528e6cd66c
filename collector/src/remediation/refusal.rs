//! Why a restart did not happen (or did not end RUNNING), as one type that both doors
//! map to the wire: a gRPC status for `omswatch restart`, an HTTP status and JSON for
//! `POST /api/v1/restart`. Each message names the switch or rule and the fix.

use tonic::{Code, Status};

/// Which rule stopped a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The request itself is malformed (a name, the wait, the reason).
    Invalid,
    /// No or bad credentials.
    Unauthenticated,
    /// The caller may not restart (a node certificate, a token without `restart`,
    /// `--insecure`).
    Forbidden,
    /// The collector's `--allow-restart` is off.
    CollectorSwitchOff,
    /// The agent refused: its `--allow-restart`, `--restart-programs`, itself, its own
    /// minute, an expired or replayed command.
    AgentRefused,
    /// No such program on the node.
    NotFound,
    /// A restart of the same node and program within the minute.
    TooSoon,
    /// The node has no open stream to this collector.
    NotConnected,
    /// The agent did not answer the command.
    NoAnswer,
    /// The agent could not run it (supervisord unreachable, refused the stop).
    Failed,
    /// The audit record could not be written.
    StoreDown,
}

impl RefusalKind {
    /// The name in the HTTP API's JSON (`refusal`).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::Invalid => "invalid",
            RefusalKind::Unauthenticated => "unauthenticated",
            RefusalKind::Forbidden => "forbidden",
            RefusalKind::CollectorSwitchOff => "collector_switch_off",
            RefusalKind::AgentRefused => "agent_refused",
            RefusalKind::NotFound => "not_found",
            RefusalKind::TooSoon => "too_soon",
            RefusalKind::NotConnected => "not_connected",
            RefusalKind::NoAnswer => "no_answer",
            RefusalKind::Failed => "failed",
            RefusalKind::StoreDown => "store_down",
        }
    }

    /// The gRPC code `omswatch restart` receives.
    pub fn code(self) -> Code {
        match self {
            RefusalKind::Invalid => Code::InvalidArgument,
            RefusalKind::Unauthenticated => Code::Unauthenticated,
            RefusalKind::Forbidden => Code::PermissionDenied,
            RefusalKind::CollectorSwitchOff | RefusalKind::AgentRefused => Code::FailedPrecondition,
            RefusalKind::NotFound => Code::NotFound,
            RefusalKind::TooSoon => Code::ResourceExhausted,
            RefusalKind::NotConnected
            | RefusalKind::NoAnswer
            | RefusalKind::Failed
            | RefusalKind::StoreDown => Code::Unavailable,
        }
    }

    /// The HTTP status of `POST /api/v1/restart`.
    pub fn http_status(self) -> u16 {
        match self {
            RefusalKind::Invalid => 400,
            RefusalKind::Unauthenticated => 401,
            RefusalKind::Forbidden | RefusalKind::CollectorSwitchOff => 403,
            RefusalKind::NotFound => 404,
            RefusalKind::AgentRefused => 409,
            RefusalKind::TooSoon => 429,
            RefusalKind::Failed => 502,
            RefusalKind::NotConnected | RefusalKind::StoreDown => 503,
            RefusalKind::NoAnswer => 504,
        }
    }
}

/// A restart that did not run, or whose end is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Which rule.
    pub kind: RefusalKind,
    /// What happened and what to do, for a person.
    pub message: String,
    /// Whether the timeline records it: only refusals of an identified caller
    /// (an unauthenticated peer must not be able to fill the timeline).
    pub audited: bool,
}

impl Refusal {
    /// A refusal the timeline records.
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Refusal {
        Refusal {
            kind,
            message: message.into(),
            audited: true,
        }
    }

    /// A refusal that is only logged.
    pub fn unaudited(kind: RefusalKind, message: impl Into<String>) -> Refusal {
        Refusal {
            audited: false,
            ..Refusal::new(kind, message)
        }
    }

    /// Whether the node is known to be unchanged (so the minute's slot is given back).
    pub fn changed_nothing(&self) -> bool {
        !matches!(self.kind, RefusalKind::NoAnswer)
    }

    /// The gRPC status.
    pub fn status(&self) -> Status {
        Status::new(self.kind.code(), self.message.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_is_an_error_status_the_cli_turns_into_exit_3() {
        let kinds = [
            RefusalKind::Invalid,
            RefusalKind::Unauthenticated,
            RefusalKind::Forbidden,
            RefusalKind::CollectorSwitchOff,
            RefusalKind::AgentRefused,
            RefusalKind::NotFound,
            RefusalKind::TooSoon,
            RefusalKind::NotConnected,
            RefusalKind::NoAnswer,
            RefusalKind::Failed,
            RefusalKind::StoreDown,
        ];
        for kind in kinds {
            assert_ne!(kind.code(), Code::Ok, "{kind:?}");
            assert!(kind.http_status() >= 400, "{kind:?}");
        }
        assert!(!Refusal::new(RefusalKind::NoAnswer, "").changed_nothing());
        assert!(Refusal::new(RefusalKind::AgentRefused, "").changed_nothing());
    }
}
