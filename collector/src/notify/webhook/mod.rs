//! Webhooks (`--webhook URL`, repeatable): one JSON POST per timeline event (raised,
//! cleared, node_state, collector, and any kind added later), AT LEAST ONCE. The event's
//! transaction itself queues one row per receiver in the store's outbox
//! ([`crate::store::outbox`]), so nothing is lost between an event and its delivery, nor across
//! a restart (the outbox is read where it was left). One task per receiver sends its rows
//! oldest first: a 2xx marks a row delivered; 5xx, 408, 429, a timeout or no connection is
//! tried again after a capped, jittered [`super::backoff`] (later events wait behind it, so a
//! receiver sees the timeline in order); another 4xx refuses the event for good, keeping its
//! error (logged, counted, visible in the store). Each request carries the event's id as
//! `Idempotency-Key` (and in its body) so a receiver can drop the repeats at-least-once
//! implies (docs/WEBHOOKS.md).
//!
//! Only the collector holding the webhooks lease ([`super::lease`]) sends: of a pair sharing
//! a MySQL store, one. The tasks never touch ingest or queries: a receiver that hangs costs
//! its own task the delivery time limit ([`super::lease::LeaseTiming::delivery_timeout`],
//! 10 s) per attempt.

pub mod request;

use std::time::Duration;

use omswatch_common::secret::Secret;

use super::backoff;
use super::client::HttpClient;
use super::lease::LeaseHandle;
use super::receivers::Receiver;
use super::stats::{Delivery, NotifyStats};
use crate::store::Store;
use crate::store::outbox::OutboxItem;
use request::Verdict;

/// How often an idle sender looks for new rows (and a waiting one for its next attempt).
const POLL: Duration = Duration::from_secs(1);
/// Rows read at once.
const BATCH: u32 = 32;

/// One receiver's sender.
pub struct Sender {
    /// Where the rows go.
    pub receiver: Receiver,
    /// The store holding the outbox.
    pub store: Store,
    /// The HTTP client.
    pub client: HttpClient,
    /// Signs each request when set.
    pub secret: Option<Secret>,
    /// Whether this collector may send.
    pub lease: LeaseHandle,
    /// Time limit of one delivery (the client's; a delivery starts only while the lease
    /// outlasts it).
    pub timeout: Duration,
    /// Counters for the metrics.
    pub stats: NotifyStats,
}

impl Sender {
    /// Sends this receiver's rows until the task is aborted.
    pub async fn run(mut self) {
        tracing::info!(webhook = %self.receiver.label, "webhook notifications configured");
        let mut failing = false;
        loop {
            self.lease.wait(self.timeout).await;
            let batch = match self
                .store
                .outbox_pending(&self.receiver.target, BATCH)
                .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    self.store.health().failed("the webhook outbox", &e);
                    tokio::time::sleep(POLL).await;
                    continue;
                }
            };
            if batch.is_empty() {
                tokio::time::sleep(POLL).await;
                continue;
            }
            self.send(batch, &mut failing).await;
        }
    }

    /// Sends `batch` in order until one must wait (its next attempt is later, or it failed).
    async fn send(&self, batch: Vec<OutboxItem>, failing: &mut bool) {
        for item in batch {
            let now = omswatch_common::telemetry::now_unix_ms();
            if item.next_attempt_unix_ms > now {
                let wait = u64::try_from(item.next_attempt_unix_ms - now).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(wait).min(POLL)).await;
                return;
            }
            if !self.lease.may_start(self.timeout) {
                return;
            }
            let verdict = self.attempt(&item).await;
            let done = omswatch_common::telemetry::now_unix_ms();
            let recorded = match &verdict {
                Verdict::Delivered => {
                    self.stats.delivery(Delivery::Delivered);
                    if std::mem::take(failing) {
                        tracing::info!(webhook = %self.receiver.label, "the webhook receiver takes deliveries again; sending what waited");
                    }
                    self.store.outbox_delivered(&item, done).await
                }
                Verdict::Failed { error } => {
                    self.stats.delivery(Delivery::Failed);
                    tracing::warn!(webhook = %self.receiver.label, event = %item.event.id, kind = %item.event.kind, %error, "the webhook receiver refused this event for good; it is kept in the store's outbox with the error, not sent again");
                    self.store.outbox_failed(&item, error, done).await
                }
                Verdict::Retry { error, retry_after } => {
                    self.stats.delivery(Delivery::Retry);
                    let attempts = item.attempts.saturating_add(1);
                    let wait = backoff::delay(attempts, rand::random::<f64>(), *retry_after);
                    if !std::mem::replace(failing, true) {
                        tracing::warn!(webhook = %self.receiver.label, event = %item.event.id, %error, "webhook delivery failed; retrying with backoff (up to {}s apart); events wait in the store's outbox, in order", backoff::CAP.as_secs());
                    }
                    let next = done + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                    self.store.outbox_retry(&item, error, next).await
                }
            };
            if let Err(e) = recorded {
                // Not marked: the row is sent again later (at least once).
                self.store.health().failed("the webhook outbox", &e);
                return;
            }
            if matches!(verdict, Verdict::Retry { .. }) {
                return;
            }
        }
    }

    /// One POST of `item`'s event.
    async fn attempt(&self, item: &OutboxItem) -> Verdict {
        let event = crate::convert::event(item.event.clone());
        let body = request::body(&event);
        let now_s = omswatch_common::telemetry::now_unix_ms() / 1000;
        let headers = request::headers(
            &event,
            item.attempts.saturating_add(1),
            &body,
            self.secret.as_ref(),
            now_s,
        );
        match self
            .client
            .post(&self.receiver.uri, &headers, body.into())
            .await
        {
            Ok(answer) => request::verdict(answer.status, &answer.body, answer.retry_after),
            Err(e) => Verdict::Retry {
                error: e.to_string(),
                retry_after: None,
            },
        }
    }
}
