//! Alertmanager (`--alertmanager URL`, repeatable): every active finding pushed as an alert to
//! its API v2 (`POST /api/v2/alerts`), as Prometheus does with its own alerts: at once when an
//! alert starts or resolves, and again every [`RESEND`] while it fires, each time with
//! `endsAt` [`ENDS_AFTER_RESENDS`] resends ahead, so the alerts of a collector that died
//! resolve by themselves; a cleared finding is sent with `endsAt` = when it cleared, for 15
//! minutes ([`alerts::RESOLVED_KEEP_MS`]). Both collectors of a pair push; Alertmanager
//! deduplicates alerts by their labels.
//!
//! Three parts, none of which can slow the collector: the poller hands each tick's alerts to
//! [`AlertFeed::publish`] (a `watch`: the latest replaces the previous, never waits); one task
//! keeps the [`alerts::Book`] and encodes each push; one task per Alertmanager POSTs the
//! latest push, each POST bounded by the client's time limit. An Alertmanager that is down or
//! slow only makes its own task skip to the newest push.
//!
//! Restarts reach Alertmanager too: each remediation event becomes a short-lived
//! `OmswatchRemediation` alert ([`remediation`]), handed to the book through
//! [`AlertFeed::remediation`] (a bounded channel, never waited on) and pushed at once.

pub mod alerts;
pub mod remediation;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{AUTHORIZATION, HeaderName, HeaderValue};
use omswatch_common::diagnose::Diagnosis;
use omswatch_common::findings::Finding;
use omswatch_common::secret::Secret;
use omswatch_common::snapshot::Snapshot;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::client::HttpClient;
use super::receivers::Receiver;
use super::stats::NotifyStats;
use alerts::{Alert, Book};

/// How often firing alerts are sent again.
pub const RESEND: Duration = Duration::from_secs(30);
/// A firing alert's `endsAt` is this many resends ahead (Prometheus uses 4).
pub const ENDS_AFTER_RESENDS: u32 = 4;
/// Alerts per POST.
const BATCH: usize = 500;
/// Restart alerts waiting for the book; more are dropped, with a warning.
const REMEDIATION_QUEUE: usize = 256;

/// The poller's handle: hands each tick's alerts on without waiting.
#[derive(Clone)]
pub struct AlertFeed {
    /// `None` without Alertmanagers: publishing is free.
    tx: Option<Arc<watch::Sender<Option<Vec<Alert>>>>>,
    /// Restarts' alerts to the book; `None` without Alertmanagers.
    remediations: Option<mpsc::Sender<(Alert, i64)>>,
    /// `--cluster-name`.
    cluster: Option<String>,
    /// The cluster label of the last tick's alerts, for restarts' alerts.
    last_cluster: Arc<Mutex<Option<String>>>,
}

impl AlertFeed {
    /// A feed that sends nothing (no `--alertmanager`).
    pub fn none() -> AlertFeed {
        AlertFeed {
            tx: None,
            remediations: None,
            cluster: None,
            last_cluster: Arc::default(),
        }
    }

    /// Hands the alert of remediation `event` on (see [`remediation`]), without waiting:
    /// a full queue drops it with a warning (the timeline and webhooks still have it).
    pub fn remediation(&self, event: &crate::store::events::Event) {
        let Some(tx) = &self.remediations else {
            return;
        };
        let cluster = self.cluster.clone().or_else(|| {
            self.last_cluster
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        });
        let cluster = cluster.unwrap_or_else(|| alerts::DEFAULT_CLUSTER.to_string());
        let Some(alert) = remediation::alert_of(event, &cluster) else {
            return;
        };
        let ends_at = event.at_unix_ms.saturating_add(remediation::FIRES_FOR_MS);
        if tx.try_send((alert, ends_at)).is_err() {
            tracing::warn!("too many restart alerts queued for Alertmanager: one was dropped");
        }
    }

    /// Hands the alerts of this tick's diagnosis on; `since` gives a finding's raise time.
    pub fn publish(
        &self,
        snapshot: &Snapshot,
        diagnosis: &Diagnosis,
        since: &dyn Fn(&Finding) -> Option<i64>,
    ) {
        let Some(tx) = &self.tx else {
            return;
        };
        let cluster = alerts::cluster_of(self.cluster.as_deref(), snapshot);
        *self
            .last_cluster
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(cluster.clone());
        let current = alerts::alerts_of(diagnosis, &cluster, since, snapshot.now_unix_ms);
        if current.len() == alerts::MAX_ALERTS {
            tracing::warn!(
                max = alerts::MAX_ALERTS,
                "too many alerts for one push: the least severe are left out"
            );
        }
        tx.send_replace(Some(current));
    }
}

/// Starts the book task and one poster per receiver; the feed for the poller.
pub fn start(
    receivers: Vec<Receiver>,
    client: HttpClient,
    token: Option<Secret>,
    cluster: Option<String>,
    stats: NotifyStats,
) -> (AlertFeed, Vec<JoinHandle<()>>) {
    if receivers.is_empty() {
        return (AlertFeed::none(), Vec::new());
    }
    let (tx, rx) = watch::channel(None);
    let (push_tx, push_rx) = watch::channel::<Arc<Vec<Bytes>>>(Arc::new(Vec::new()));
    let (remediations, remediation_rx) = mpsc::channel(REMEDIATION_QUEUE);
    let mut tasks = vec![tokio::spawn(keep_book(
        rx,
        remediation_rx,
        push_tx,
        stats.clone(),
    ))];
    let mut headers = Vec::new();
    if let Some(token) = token {
        match HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
            Ok(mut value) => {
                value.set_sensitive(true);
                headers.push((AUTHORIZATION, value));
            }
            Err(_) => tracing::error!(
                "the Alertmanager token holds characters a header cannot carry; sending without it"
            ),
        }
    }
    let headers: Arc<[(HeaderName, HeaderValue)]> = headers.into();
    for receiver in receivers {
        tracing::info!(alertmanager = %receiver.label, "pushing alerts to Alertmanager");
        tasks.push(tokio::spawn(post_pushes(
            receiver,
            client.clone(),
            Arc::clone(&headers),
            push_rx.clone(),
            stats.clone(),
        )));
    }
    let feed = AlertFeed {
        tx: Some(Arc::new(tx)),
        remediations: Some(remediations),
        cluster,
        last_cluster: Arc::default(),
    };
    (feed, tasks)
}

/// Keeps the book: pushes at once when an alert starts or resolves or a restart's event
/// arrives, else every [`RESEND`].
async fn keep_book(
    mut rx: watch::Receiver<Option<Vec<Alert>>>,
    mut remediations: mpsc::Receiver<(Alert, i64)>,
    push: watch::Sender<Arc<Vec<Bytes>>>,
    stats: NotifyStats,
) {
    let mut book = Book::default();
    let mut resend = tokio::time::interval(RESEND);
    resend.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let now_changed = tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    return;
                }
                let current = rx.borrow_and_update().clone();
                let now = omswatch_common::telemetry::now_unix_ms();
                current.is_some_and(|alerts| book.update(alerts, now))
            }
            Some((alert, ends_at)) = remediations.recv() => {
                book.event(alert, ends_at);
                true
            }
            _ = resend.tick() => true,
        };
        if !now_changed || book.is_empty() {
            continue;
        }
        let now = omswatch_common::telemetry::now_unix_ms();
        book.prune(now);
        stats.alerts_firing(u64::try_from(book.firing()).unwrap_or(u64::MAX));
        let ends_in = i64::try_from((RESEND * ENDS_AFTER_RESENDS).as_millis()).unwrap_or(i64::MAX);
        let postable = book.postable(now, ends_in);
        let batches = postable
            .chunks(BATCH)
            .filter_map(|chunk| serde_json::to_vec(chunk).ok().map(Bytes::from))
            .collect();
        push.send_replace(Arc::new(batches));
        resend.reset();
    }
}

/// POSTs each push to one Alertmanager; a failure is logged when it starts and when it ends.
async fn post_pushes(
    receiver: Receiver,
    client: HttpClient,
    headers: Arc<[(HeaderName, HeaderValue)]>,
    mut pushes: watch::Receiver<Arc<Vec<Bytes>>>,
    stats: NotifyStats,
) {
    let mut failing = false;
    while pushes.changed().await.is_ok() {
        let batches = Arc::clone(&pushes.borrow_and_update());
        let mut error = None;
        for batch in batches.iter() {
            match client.post(&receiver.uri, &headers, batch.clone()).await {
                Ok(answer) if answer.status.is_success() => stats.alertmanager_post(true),
                Ok(answer) => {
                    stats.alertmanager_post(false);
                    error = Some(format!("HTTP {}: {}", answer.status, answer.body));
                    break;
                }
                Err(e) => {
                    stats.alertmanager_post(false);
                    error = Some(e.to_string());
                    break;
                }
            }
        }
        match (error, failing) {
            (Some(error), false) => {
                tracing::warn!(alertmanager = %receiver.label, %error, "cannot push alerts to Alertmanager; the next push tries again (within {}s)", RESEND.as_secs());
                failing = true;
            }
            (None, true) => {
                tracing::info!(alertmanager = %receiver.label, "alerts are pushed to Alertmanager again");
                failing = false;
            }
            _ => {}
        }
    }
}
