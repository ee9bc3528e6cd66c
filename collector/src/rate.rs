//! Reports per second per agent stream: a token bucket. An agent sends one
//! report per interval and one per change, so a stream that outruns the bucket
//! is broken or hostile; refusing it keeps one node from flooding the aggregator
//! that every other node shares.

use std::time::Instant;

/// A token bucket: `burst` reports at once, refilled at `per_second`.
#[derive(Debug, Clone)]
pub struct ReportBucket {
    tokens: f64,
    burst: f64,
    per_second: f64,
    last: Instant,
}

impl ReportBucket {
    /// A full bucket, as of `now`.
    pub fn new(per_second: f64, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            tokens: burst,
            burst,
            per_second: per_second.max(0.0),
            last: now,
        }
    }

    /// Takes one report's token at `now`; `false` when the stream is over its rate.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let start = Instant::now();
        let mut bucket = ReportBucket::new(5.0, 10, start);
        assert!((0..10).all(|_| bucket.take(start)));
        assert!(
            !bucket.take(start),
            "the 11th report at once is over the burst"
        );
        assert!(
            bucket.take(start + Duration::from_millis(200)),
            "5/s refills one per 200ms"
        );
        assert!(!bucket.take(start + Duration::from_millis(250)));
    }

    #[test]
    fn refill_is_capped_at_the_burst() {
        let start = Instant::now();
        let mut bucket = ReportBucket::new(5.0, 3, start);
        let later = start + Duration::from_secs(3600);
        assert!((0..3).all(|_| bucket.take(later)));
        assert!(
            !bucket.take(later),
            "an idle hour does not bank 18000 reports"
        );
    }
}
