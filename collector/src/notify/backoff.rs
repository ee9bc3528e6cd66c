//! When to try a failed webhook delivery again: doubling from [`FIRST`] up to [`CAP`], with
//! jitter so that receivers coming back are not hit by every collector and event at once.
//! Pure: the random part is an argument, so the cap and the jitter's range are unit-tested.

use std::time::Duration;

/// The wait after the first failed attempt (before jitter).
pub const FIRST: Duration = Duration::from_secs(1);
/// The longest wait, jitter included.
pub const CAP: Duration = Duration::from_secs(300);

/// The wait before attempt `attempts + 1`, after `attempts` (≥ 1) failed ones. `unit` in
/// `[0, 1)` picks the point in the jitter range: "equal jitter", half the doubled delay
/// plus a random part of the other half, so the wait is never below half of it and never
/// above [`CAP`]. A receiver's own `Retry-After` is honoured up to the cap.
pub fn delay(attempts: u32, unit: f64, retry_after: Option<Duration>) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    let doubled = FIRST.saturating_mul(1 << exponent).min(CAP);
    let half = doubled / 2;
    let jitter = half.mul_f64(unit.clamp(0.0, 1.0));
    let wait = (half + jitter).min(CAP);
    match retry_after {
        Some(asked) => asked.clamp(wait, CAP),
        None => wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_one_second_within_its_jitter_range() {
        for (attempts, full) in [(1, 1), (2, 2), (3, 4), (4, 8), (6, 32), (9, 256)] {
            let full = Duration::from_secs(full);
            assert_eq!(delay(attempts, 0.0, None), full / 2, "{attempts}");
            let top = delay(attempts, 0.999_999, None);
            assert!(top <= full && top > full * 9 / 10, "{attempts}: {top:?}");
        }
    }

    #[test]
    fn is_capped_at_five_minutes_whatever_the_attempt_or_the_receiver_asks() {
        for attempts in [10, 11, 30, 1000, u32::MAX] {
            for unit in [0.0, 0.5, 0.999, 7.0] {
                let d = delay(attempts, unit, None);
                assert!(d <= CAP && d >= CAP / 2, "{attempts} {unit}: {d:?}");
            }
        }
        assert_eq!(delay(1, 0.0, Some(Duration::from_secs(3600))), CAP);
        assert_eq!(
            delay(1, 0.0, Some(Duration::from_secs(20))),
            Duration::from_secs(20),
            "Retry-After is honoured"
        );
        assert_eq!(
            delay(5, 0.0, Some(Duration::from_secs(1))),
            Duration::from_secs(8),
            "but never shortens the backoff"
        );
    }
}
