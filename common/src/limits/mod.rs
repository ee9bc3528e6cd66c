//! The limits on one NodeReport, in one place for both ends of the stream: the
//! numbers (here), the collector's [`check`](mod@check) and the agent's
//! [`clip`](mod@clip).
//!
//! The collector keeps every node's latest report and renders it in the
//! diagnosis, the status and support bundles, so it refuses a report that
//! breaks any of these ([`check()`]), ending the stream. The agent clips its
//! reports to the same numbers before sending ([`clip()`]): a refusal would
//! repeat on every reconnect and the node would never appear, whereas a
//! clipped field still shows what was there and that it was cut. The three sit
//! side by side so that a number changed here changes both ends, and `clip`'s
//! tests judge what it produces with `check`.
//!
//! Lengths are in bytes of UTF-8, counts in entries.

pub mod check;
pub mod clip;

pub use check::{Violation, check, shown};
pub use clip::{CUT, clip};

/// A node name: a DNS name's length, printable.
pub const MAX_NODE_NAME: usize = 253;
/// Programs one supervisord may report.
pub const MAX_PROGRAMS: usize = 512;
/// Short labels: program, group and state names, versions, regions, map keys.
pub const MAX_LABEL: usize = 256;
/// Free text: descriptions, errors, spawn errors, paths, config values.
pub const MAX_TEXT: usize = 4096;
/// A host name (kernel limit is 64, DNS allows 253).
pub const MAX_HOSTNAME: usize = 253;
/// One IP address as text (the longest IPv6 text is 45), and OMS_HOST_IP.
pub const MAX_IP: usize = 64;
/// Addresses in one IP list (a host with many interfaces or resolver answers).
pub const MAX_IPS: usize = 1024;
/// Entries in one config map (config.yaml's top-level keys), values and
/// secret digests each.
pub const MAX_MAP_ENTRIES: usize = 256;
/// Entries in a config's line map: one line number per key, secret or not.
pub const MAX_CONFIG_LINES: usize = 2 * MAX_MAP_ENTRIES;
/// The redacted copy of config.yaml, any truncation marker included;
/// config.yaml files are a few KiB.
pub const MAX_REDACTED_TEXT: usize = 64 * 1024;
/// Filesystems in one report.
pub const MAX_DISKS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oms_config::summary::summarize;

    #[test]
    fn a_huge_config_is_summarized_within_the_limit() {
        let line = "cm_location_label: \"a value that goes on and on é\"\n";
        let text = line.repeat(100 * 1024 / line.len() + 1);
        assert!(text.len() > 100 * 1024);
        let summary = summarize("/c.yaml", &text);
        let redacted = &summary.redacted_text;
        assert!(redacted.len() <= MAX_REDACTED_TEXT, "{}", redacted.len());
        assert!(
            redacted.ends_with("(truncated by omswatch)\n"),
            "the cut is visible"
        );
    }

    #[test]
    fn a_config_at_the_limit_is_not_cut() {
        let text = "k: v\n".repeat(MAX_REDACTED_TEXT / 5);
        let summary = summarize("/c.yaml", &text);
        assert_eq!(summary.redacted_text, text);
    }
}
