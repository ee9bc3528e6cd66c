//! Whether the store is written now: a flag every writer sets after each
//! attempt, read by the status and by `omswatch_store_up` in /metrics.
//! A failure is logged once when it starts and once when it ends, not on
//! every attempt, so a database outage does not flood the log.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The store's health, shared by its writers and readers.
#[derive(Debug)]
pub struct StoreHealth {
    /// The store's name, for log lines.
    location: String,
    /// True while the last write succeeded.
    up: AtomicBool,
    /// The last failure, while down.
    error: Mutex<Option<String>>,
}

impl StoreHealth {
    /// A healthy store named `location`.
    pub fn new(location: String) -> Self {
        Self {
            location,
            up: AtomicBool::new(true),
            error: Mutex::new(None),
        }
    }

    /// Whether the last write succeeded.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// The last failure, `None` while up.
    pub fn error(&self) -> Option<String> {
        self.error.lock().map_or(None, |e| e.clone())
    }

    /// Records a successful write; logs the recovery after a failure.
    pub fn ok(&self) {
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!(store = %self.location, "the store is written again");
        }
        if let Ok(mut error) = self.error.lock() {
            *error = None;
        }
    }

    /// Records a failed write of `what`; logs it when the store was up or the
    /// reason changed.
    pub fn failed(&self, what: &str, error: &dyn std::fmt::Display) {
        let text = error.to_string();
        let was_up = self.up.swap(false, Ordering::Relaxed);
        let changed = self
            .error
            .lock()
            .map(|mut last| {
                let changed = last.as_deref() != Some(text.as_str());
                *last = Some(text.clone());
                changed
            })
            .unwrap_or(true);
        if was_up || changed {
            tracing::error!(
                store = %self.location,
                error = %text,
                "cannot write {what} to the store; the collector keeps serving and retries \
                 (a restart now would lose what is not written)"
            );
        }
    }
}
