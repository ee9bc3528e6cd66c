//! The ack deadline: the collector acknowledges every report, so reports that
//! go out while no ack comes back for a few intervals mean the connection is
//! half-open (a NAT or firewall forgot the flow, the collector's host vanished)
//! even though writes still succeed into the socket buffer. Then the session
//! ends and the agent reconnects, instead of reporting into the void.

use std::time::Duration;

use tokio::time::Instant;

/// Reporting intervals an ack may lag before the connection is given up.
/// Three, like the collector's "silent" threshold: a node the collector has
/// stopped hearing from is shown as silent after three, so the agent has
/// reconnected by then.
pub const ACK_DEADLINE_INTERVALS: u32 = 3;

/// Tracks the oldest report not yet acknowledged.
#[derive(Debug, Clone)]
pub struct AckDeadline {
    deadline: Duration,
    /// Sequence number of the last report sent.
    last_sent: u64,
    /// Since when a report has been waiting for its ack; `None` when all are acked.
    waiting_since: Option<Instant>,
}

impl AckDeadline {
    /// A deadline of [`ACK_DEADLINE_INTERVALS`] × `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            deadline: interval.saturating_mul(ACK_DEADLINE_INTERVALS),
            last_sent: 0,
            waiting_since: None,
        }
    }

    /// How long an ack may lag.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Report `seq` went out at `now`.
    pub fn sent(&mut self, seq: u64, now: Instant) {
        self.last_sent = seq;
        self.waiting_since.get_or_insert(now);
    }

    /// The ack of report `seq` arrived at `now`. It proves the connection
    /// alive, so reports sent since wait afresh from now.
    pub fn acked(&mut self, seq: u64, now: Instant) {
        self.waiting_since = (seq < self.last_sent).then_some(now);
    }

    /// Whether a report has waited longer than the deadline at `now`.
    pub fn overdue(&self, now: Instant) -> bool {
        self.waiting_since
            .is_some_and(|since| now.saturating_duration_since(since) > self.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(5);

    #[test]
    fn nothing_sent_is_never_overdue() {
        let start = Instant::now();
        let acks = AckDeadline::new(INTERVAL);
        assert!(!acks.overdue(start + Duration::from_secs(3600)));
    }

    #[test]
    fn reports_without_acks_are_overdue_after_three_intervals() {
        let start = Instant::now();
        let mut acks = AckDeadline::new(INTERVAL);
        for n in 0..4_u32 {
            acks.sent(u64::from(n) + 1, start + INTERVAL * n);
        }
        assert!(!acks.overdue(start + INTERVAL * 3), "at the deadline");
        assert!(acks.overdue(start + INTERVAL * 3 + Duration::from_millis(1)));
    }

    #[test]
    fn each_ack_restarts_the_wait() {
        let start = Instant::now();
        let later = |secs| start + Duration::from_secs(secs);
        let mut acks = AckDeadline::new(INTERVAL);
        acks.sent(1, start);
        acks.sent(2, later(10));
        acks.acked(1, later(14));
        assert!(!acks.overdue(later(20)), "report 2 waits from the ack of 1");
        assert!(acks.overdue(later(30)));
        acks.acked(2, later(30));
        assert!(!acks.overdue(later(3600)), "all acknowledged");
    }
}
