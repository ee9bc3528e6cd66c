//! Rate-limited logging: during a flood of refused or idle connections, one line per period that
//! says how many were not logged, instead of one line per connection.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lets one event in per period be logged and counts the others.
#[derive(Debug)]
pub struct Throttle {
    every: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    /// At most one log line per `every`.
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            state: Mutex::new(State::default()),
        }
    }

    /// `Some(n)` when this event may be logged, `n` being how many were not since the last one
    /// logged; `None` when it is to be counted only.
    pub fn ready(&self) -> Option<u64> {
        self.ready_at(Instant::now())
    }

    fn ready_at(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.last {
            Some(last) if now.saturating_duration_since(last) < self.every => {
                state.suppressed += 1;
                None
            }
            _ => {
                state.last = Some(now);
                Some(std::mem::take(&mut state.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_period_with_the_count_of_the_others() {
        let t = Throttle::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(t.ready_at(start), Some(0));
        for i in 1..=5 {
            assert_eq!(t.ready_at(start + Duration::from_secs(i)), None);
        }
        assert_eq!(t.ready_at(start + Duration::from_secs(10)), Some(5));
        assert_eq!(t.ready_at(start + Duration::from_secs(11)), None);
        assert_eq!(t.ready_at(start + Duration::from_secs(25)), Some(1));
    }
}
