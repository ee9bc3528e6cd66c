//! What ingest has accepted and refused since the collector started, for
//! `omswatch_reports_received_total` and `omswatch_reports_refused_total{reason}`.
//! Plain atomics shared by every stream: counting never waits on the aggregator.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a report (or a Report stream) was refused: a small fixed set, so the metric's
/// `reason` label can never grow with what peers send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The stream's credentials may not report (no node certificate, another role).
    Credentials,
    /// A node certificate sent a report for another node.
    WrongNode,
    /// Faster than `max_reports_per_second` / `report_burst`.
    Rate,
    /// A field over the report limits (`common::limits::check`).
    Limits,
    /// A message over `max_message_bytes`.
    TooLarge,
    /// Bytes that are not a NodeReport.
    Malformed,
}

impl Refusal {
    /// Every reason, in label order.
    pub const ALL: [Refusal; 6] = [
        Refusal::Credentials,
        Refusal::WrongNode,
        Refusal::Rate,
        Refusal::Limits,
        Refusal::TooLarge,
        Refusal::Malformed,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Credentials => "credentials",
            Refusal::WrongNode => "wrong_node",
            Refusal::Rate => "rate",
            Refusal::Limits => "limits",
            Refusal::TooLarge => "too_large",
            Refusal::Malformed => "malformed",
        }
    }

    fn index(self) -> usize {
        Refusal::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// Reports accepted and refused, shared by every stream of the Reporting service.
#[derive(Debug, Clone, Default)]
pub struct IngestCounters(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    received: AtomicU64,
    refused: [AtomicU64; Refusal::ALL.len()],
}

impl IngestCounters {
    /// One report accepted and handed to the aggregator.
    pub fn received(&self) {
        self.0.received.fetch_add(1, Ordering::Relaxed);
    }

    /// One report or stream refused for `why`.
    pub fn refused(&self, why: Refusal) {
        self.0.refused[why.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Reports accepted so far.
    pub fn received_total(&self) -> u64 {
        self.0.received.load(Ordering::Relaxed)
    }

    /// Refusals so far, for every reason (zeros included, so each series exists from the start).
    pub fn refused_totals(&self) -> Vec<(Refusal, u64)> {
        Refusal::ALL
            .iter()
            .map(|r| (*r, self.0.refused[r.index()].load(Ordering::Relaxed)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_reason_separately() {
        let counters = IngestCounters::default();
        let shared = counters.clone();
        shared.received();
        shared.received();
        shared.refused(Refusal::Rate);
        shared.refused(Refusal::TooLarge);
        shared.refused(Refusal::TooLarge);
        assert_eq!(counters.received_total(), 2);
        let totals = counters.refused_totals();
        assert_eq!(totals.len(), 6);
        assert!(totals.contains(&(Refusal::Rate, 1)));
        assert!(totals.contains(&(Refusal::TooLarge, 2)));
        assert!(totals.contains(&(Refusal::Credentials, 0)));
    }
}
