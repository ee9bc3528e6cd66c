//! Views of a `ClusterStatus`: a table for a person at 3 a.m., and the exit code it shares
//! with the JSON for scripts (which lives in [`omswatch_common::views::status_json`], since
//! the collector's `GET /api/v1/status` serves the very same document); and of the timeline
//! ([`history`]); and [`explain`], one finding code in words.

pub mod explain;
pub mod history;
pub mod printable;
pub mod table;

use omswatch_common::proto::v1::ClusterStatus;

/// `--format` of `status` and `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The table for people.
    Table,
    /// The documented JSON for scripts (docs/STATUS_JSON.md).
    Json,
}

/// Exit code for bad usage (and, for commands that reach the collector, an
/// unreachable collector or a refusal).
pub const EXIT_UNUSABLE: u8 = 3;

/// `omswatch status` exit code: 0 nothing above info, 1 warnings, 2 critical.
pub fn exit_code(status: &ClusterStatus) -> u8 {
    status
        .findings
        .iter()
        .map(|f| f.severity.as_str())
        .fold(0, |worst, s| match s {
            "critical" => 2,
            "warning" => worst.max(1),
            _ => worst,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use omswatch_common::proto::v1::Finding;

    fn with(severities: &[&str]) -> ClusterStatus {
        ClusterStatus {
            findings: severities
                .iter()
                .map(|s| Finding {
                    severity: s.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn exit_code_is_the_worst_severity() {
        assert_eq!(exit_code(&with(&[])), 0);
        assert_eq!(exit_code(&with(&["info"])), 0);
        assert_eq!(exit_code(&with(&["info", "warning"])), 1);
        assert_eq!(exit_code(&with(&["critical", "warning"])), 2);
    }
}
