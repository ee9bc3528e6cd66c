//! The notifications' own numbers, kept as atomics by their tasks and read by `/metrics` at
//! each scrape (docs/METRICS.md): deliveries by result, the outbox's backlog, whether this
//! collector holds the webhook lease, and Alertmanager pushes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What a webhook delivery attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A 2xx: done.
    Delivered,
    /// Failed (5xx, 408, 429, timeout, no connection): tried again later.
    Retry,
    /// Refused for good (another 4xx): kept with its error, not tried again.
    Failed,
}

impl Delivery {
    /// Every result, for the metric's label set.
    pub const ALL: [Delivery; 3] = [Delivery::Delivered, Delivery::Retry, Delivery::Failed];

    /// The `result` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Retry => "retry",
            Delivery::Failed => "failed",
        }
    }
}

/// Shared counters; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct NotifyStats(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    delivered: AtomicU64,
    retry: AtomicU64,
    failed: AtomicU64,
    queue_pending: AtomicU64,
    queue_failed: AtomicU64,
    lease_held: AtomicBool,
    alertmanager_ok: AtomicU64,
    alertmanager_error: AtomicU64,
    alerts_firing: AtomicU64,
}

/// One reading of [`NotifyStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifyCounts {
    /// Webhook attempts by result since start: delivered, retry, failed.
    pub deliveries: [u64; 3],
    /// Outbox rows pending (every receiver), as last counted.
    pub queue_pending: u64,
    /// Outbox rows refused for good, kept with their error, as last counted.
    pub queue_failed: u64,
    /// Whether this collector holds the webhook lease (sends).
    pub lease_held: bool,
    /// Alertmanager POSTs answered 2xx since start.
    pub alertmanager_ok: u64,
    /// Alertmanager POSTs that failed since start.
    pub alertmanager_error: u64,
    /// Alerts firing in the last push.
    pub alerts_firing: u64,
}

impl NotifyStats {
    /// Counts one delivery attempt.
    pub fn delivery(&self, result: Delivery) {
        let counter = match result {
            Delivery::Delivered => &self.0.delivered,
            Delivery::Retry => &self.0.retry,
            Delivery::Failed => &self.0.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the outbox's backlog.
    pub fn queue(&self, pending: u64, failed: u64) {
        self.0.queue_pending.store(pending, Ordering::Relaxed);
        self.0.queue_failed.store(failed, Ordering::Relaxed);
    }

    /// Records whether this collector holds the webhook lease.
    pub fn lease(&self, held: bool) {
        self.0.lease_held.store(held, Ordering::Relaxed);
    }

    /// Counts one Alertmanager POST.
    pub fn alertmanager_post(&self, ok: bool) {
        let counter = if ok {
            &self.0.alertmanager_ok
        } else {
            &self.0.alertmanager_error
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the number of alerts firing.
    pub fn alerts_firing(&self, n: u64) {
        self.0.alerts_firing.store(n, Ordering::Relaxed);
    }

    /// The counts now.
    pub fn counts(&self) -> NotifyCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NotifyCounts {
            deliveries: [
                get(&self.0.delivered),
                get(&self.0.retry),
                get(&self.0.failed),
            ],
            queue_pending: get(&self.0.queue_pending),
            queue_failed: get(&self.0.queue_failed),
            lease_held: self.0.lease_held.load(Ordering::Relaxed),
            alertmanager_ok: get(&self.0.alertmanager_ok),
            alertmanager_error: get(&self.0.alertmanager_error),
            alerts_firing: get(&self.0.alerts_firing),
        }
    }
}
