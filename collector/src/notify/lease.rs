//! Which collector of a pair sends the webhooks: the one holding the store's `webhooks`
//! lease ([`crate::store::lease`]). Every [`LeaseTiming::renew_every`] this task takes or
//! renews it by compare-and-set, valid [`LeaseTiming::ttl`] by the database's clock; the
//! other collector takes it over once it expired, i.e. once its holder stopped renewing
//! (died, or lost its store). With an SQLite store there is one collector (its lock proves
//! it) and the lease is simply taken.
//!
//! The holder counts its lease from when it *sent* the renewal, so its own idea of the
//! expiry is never later than the database's; and it starts a delivery only while the lease
//! outlasts the delivery's time limit, so the old holder has finished before a new one
//! starts. An event may still be delivered twice around a takeover (delivered, then the
//! holder died before marking it): at least once, never lost; the idempotency id covers it.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::stats::NotifyStats;
use crate::store::Store;

/// The lease's name in the `leases` table.
pub const WEBHOOKS: &str = "webhooks";

/// How long a lease lasts, how often it is renewed, and how long a delivery under it may
/// take (a delivery starts only while the lease outlasts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// Valid this long after each renewal (the database's clock).
    pub ttl: Duration,
    /// Renewed this often (well under `ttl`, so a failed renewal or two are survived).
    pub renew_every: Duration,
    /// Time limit of one delivery, connect to answer; under `ttl - renew_every`, or the
    /// holder would stop starting deliveries between renewals.
    pub delivery_timeout: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(15),
            renew_every: Duration::from_secs(3),
            delivery_timeout: Duration::from_secs(10),
        }
    }
}

/// The senders' view of the lease; cheap to clone.
#[derive(Clone)]
pub struct LeaseHandle {
    /// Until when this collector holds it (its monotonic clock), `None` when it does not.
    valid_until: watch::Receiver<Option<Instant>>,
}

impl LeaseHandle {
    /// Whether a delivery taking up to `needed` may start now: the lease is held and outlasts it.
    pub fn may_start(&self, needed: Duration) -> bool {
        self.valid_until
            .borrow()
            .is_some_and(|until| Instant::now() + needed < until)
    }

    /// Waits until [`LeaseHandle::may_start`] holds for `needed`.
    pub async fn wait(&mut self, needed: Duration) {
        while !self.may_start(needed) {
            let _ =
                tokio::time::timeout(Duration::from_millis(500), self.valid_until.changed()).await;
        }
    }
}

/// A running lease task.
pub struct Lease {
    /// The senders' view.
    pub handle: LeaseHandle,
    /// The renewing task.
    pub task: tokio::task::JoinHandle<()>,
    /// This process's name in the lease.
    pub holder: String,
}

/// Starts taking and renewing the webhook lease in `store` as this process (the
/// collector's name and a random instance, so a restarted collector is a new holder).
pub fn start(store: Store, timing: LeaseTiming, stats: NotifyStats) -> Lease {
    let holder = format!("{} #{:08x}", store.collector(), rand::random::<u32>());
    let (tx, valid_until) = watch::channel(None);
    let task = tokio::spawn(renew(store, holder.clone(), timing, tx, stats));
    Lease {
        handle: LeaseHandle { valid_until },
        task,
        holder,
    }
}

async fn renew(
    store: Store,
    holder: String,
    timing: LeaseTiming,
    tx: watch::Sender<Option<Instant>>,
    stats: NotifyStats,
) {
    let ttl_ms = i64::try_from(timing.ttl.as_millis()).unwrap_or(i64::MAX);
    let force = store.is_sqlite();
    let mut ticker = tokio::time::interval(timing.renew_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_holder: Option<String> = None;
    loop {
        ticker.tick().await;
        let sent = Instant::now();
        match store.take_lease(WEBHOOKS, &holder, ttl_ms, force).await {
            Ok(state) => {
                tx.send_replace(state.held.then_some(sent + timing.ttl));
                stats.lease(state.held);
                if last_holder.as_deref() != Some(state.holder.as_str()) {
                    if state.held {
                        tracing::info!(store = %store.location(), generation = state.generation, "this collector sends the webhook notifications now (it holds the webhooks lease)");
                    } else {
                        tracing::info!(store = %store.location(), holder = %state.holder, "another collector holds the webhooks lease and sends the notifications; this one stands by");
                    }
                    last_holder = Some(state.holder);
                }
            }
            // Keep what was granted: it runs out by itself, and the senders check its time.
            Err(e) => store.health().failed("the webhooks lease", &e),
        }
        if tx.borrow().is_some_and(|until| Instant::now() >= until) {
            tx.send_replace(None);
            stats.lease(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LeaseTiming;

    #[test]
    fn a_delivery_fits_between_two_renewals_of_the_default_lease() {
        let t = LeaseTiming::default();
        assert!(
            t.renew_every * 3 < t.ttl,
            "two failed renewals are survived"
        );
        assert!(
            t.delivery_timeout < t.ttl - t.renew_every,
            "deliveries keep starting between renewals"
        );
    }
}
