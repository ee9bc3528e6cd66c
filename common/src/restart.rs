//! Restarting a supervisord program through its node's agent: what the collector and
//! the agent must agree on. The collector sends a `RestartCommand` down the node's
//! open report stream; the agent checks it against its own switches, runs it, and
//! answers with a `RestartOutcome` on its next report (see docs/SECURITY.md, "Restarts").

use std::time::Duration;

/// The programs an agent restarts when `--restart-programs` is not given: the OMS
/// control components the runbook's step 2 restarts.
pub const DEFAULT_RESTART_PROGRAMS: [&str; 4] =
    ["nginx", "oms_console", "oms_drc_cm", "oms_drc_supervisor"];

/// One restart per node and program within this long, counted by the collector and
/// by the agent alike.
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

/// How long a command stays valid after the collector sends it.
pub const COMMAND_TTL: Duration = Duration::from_secs(30);

/// What the agent allows beyond a command's expiry: the collector's estimate of the
/// node's clock is off by the last report's transit and build time.
pub const EXPIRY_SLACK: Duration = Duration::from_secs(5);

/// What the agent did with a command (`RestartOutcome.result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentResult {
    /// Every check passed; the restart is running.
    Accepted,
    /// A check failed; the message names the switch or rule.
    Refused,
    /// Stopped (when running) and started again.
    Restarted,
    /// Stopped, or was not running, but would not start.
    StartFailed,
    /// Nothing was changed: supervisord could not be asked or refused the stop.
    Failed,
}

impl AgentResult {
    /// Every result, for parsing.
    const ALL: [AgentResult; 5] = [
        AgentResult::Accepted,
        AgentResult::Refused,
        AgentResult::Restarted,
        AgentResult::StartFailed,
        AgentResult::Failed,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentResult::Accepted => "accepted",
            AgentResult::Refused => "refused",
            AgentResult::Restarted => "restarted",
            AgentResult::StartFailed => "start_failed",
            AgentResult::Failed => "failed",
        }
    }

    /// The result named `name`, if it is one.
    pub fn parse(name: &str) -> Option<AgentResult> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Whether the program may have been stopped or started (the restart ran).
    pub fn ran(self) -> bool {
        matches!(self, AgentResult::Restarted | AgentResult::StartFailed)
    }
}

/// Whether a supervisord program name looks like omswatch's own agent, which is never
/// restarted (it would cut the stream that carries the answer, and a restart loop of
/// the agent is a way to blind the watcher).
pub fn names_the_agent(program: &str) -> bool {
    program.to_ascii_lowercase().contains("omswatch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_round_trip() {
        for result in AgentResult::ALL {
            assert_eq!(AgentResult::parse(result.as_str()), Some(result));
        }
        assert_eq!(AgentResult::parse("RESTARTED"), None);
        assert!(AgentResult::StartFailed.ran() && !AgentResult::Failed.ran());
    }

    #[test]
    fn the_agent_is_recognised_by_name() {
        assert!(names_the_agent("omswatch-agent"));
        assert!(names_the_agent("OMSWATCH_agent"));
        assert!(!names_the_agent("oms_console"));
    }
}
