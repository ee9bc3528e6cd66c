//! Guessing tokens through the sign-in form is slowed twice: every refusal is answered after
//! [`REFUSAL_DELAY`], and an address refused [`MAX_REFUSALS`] times within [`WINDOW`] is not
//! even checked until the window has passed. Tokens are at least 16 characters (see
//! [`crate::tokens`]), so this is about noise in the logs as much as about odds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a refused sign-in waits before it is answered.
pub const REFUSAL_DELAY: Duration = Duration::from_secs(1);
/// Refusals an address may have within [`WINDOW`].
pub const MAX_REFUSALS: u32 = 5;
/// The window refusals are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at most; past that, the oldest windows are forgotten first.
const MAX_ADDRESSES: usize = 4096;

/// Refused sign-ins per address (shared, cheap to clone).
#[derive(Clone, Default)]
pub struct SignInLimiter {
    /// Per address: when its window started and how many refusals it holds.
    refusals: Arc<Mutex<HashMap<IpAddr, (Instant, u32)>>>,
}

impl SignInLimiter {
    /// Whether `addr` may try to sign in at `now`.
    pub fn allows(&self, addr: IpAddr, now: Instant) -> bool {
        let refusals = self.refusals.lock().unwrap_or_else(PoisonError::into_inner);
        match refusals.get(&addr) {
            Some((start, count)) => now.duration_since(*start) >= WINDOW || *count < MAX_REFUSALS,
            None => true,
        }
    }

    /// Counts a refused sign-in from `addr` at `now`.
    pub fn refused(&self, addr: IpAddr, now: Instant) {
        let mut refusals = self.refusals.lock().unwrap_or_else(PoisonError::into_inner);
        if refusals.len() >= MAX_ADDRESSES && !refusals.contains_key(&addr) {
            refusals.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if refusals.len() >= MAX_ADDRESSES
                && let Some(oldest) = refusals
                    .iter()
                    .min_by_key(|(_, (s, _))| *s)
                    .map(|(a, _)| *a)
            {
                refusals.remove(&oldest);
            }
        }
        let entry = refusals.entry(addr).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    /// Forgets `addr`'s refusals (it signed in).
    pub fn forget(&self, addr: IpAddr) {
        self.refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_held_back_after_its_refusals_until_the_window_passes() {
        let limiter = SignInLimiter::default();
        let (a, b): (IpAddr, IpAddr) = (
            "10.0.0.1".parse().expect("ip"),
            "10.0.0.2".parse().expect("ip"),
        );
        let t0 = Instant::now();
        for _ in 0..MAX_REFUSALS {
            assert!(limiter.allows(a, t0));
            limiter.refused(a, t0);
        }
        assert!(!limiter.allows(a, t0 + Duration::from_secs(59)));
        assert!(limiter.allows(b, t0), "other addresses are not held back");
        assert!(limiter.allows(a, t0 + WINDOW));
        limiter.refused(a, t0 + WINDOW);
        assert!(limiter.allows(a, t0 + WINDOW), "a new window starts at one");
        limiter.forget(a);
        assert!(limiter.allows(a, t0));
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = SignInLimiter::default();
        let t0 = Instant::now();
        for i in 0..(MAX_ADDRESSES as u32 + 10) {
            limiter.refused(
                IpAddr::from(i.to_be_bytes()),
                t0 + Duration::from_millis(i.into()),
            );
        }
        let len = limiter.refusals.lock().map(|r| r.len()).unwrap_or_default();
        assert_eq!(len, MAX_ADDRESSES);
    }
}
