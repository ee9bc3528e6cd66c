//! Notifications, for teams with and without Prometheus: every active finding pushed to
//! Alertmanager ([`alertmanager`]), and every timeline event POSTed to webhooks at least once
//! ([`webhook`], through the store's outbox, sent by the collector holding the [`lease`]).
//! Receivers are named in the settings and checked at start ([`receivers`]); requests go
//! through one bounded [`client`] per kind; failed webhook deliveries wait a capped,
//! jittered [`backoff`]; [`stats`] feeds `/metrics`.
//!
//! Nothing here is on the path of ingest, the poller or a query: the poller hands its alerts
//! to a `watch` and the timeline writes outbox rows in its own transactions; every send runs
//! in a task of its own, each request bounded in time, so a receiver that is down, slow or
//! hanging delays only its own deliveries.

pub mod alertmanager;
pub mod backoff;
pub mod client;
pub mod lease;
pub mod receivers;
pub mod stats;
pub mod webhook;

use std::collections::HashSet;
use std::time::Duration;

use omswatch_common::secret::Secret;
use tokio::task::JoinHandle;

use crate::settings::Settings;
use crate::store::Store;
use alertmanager::AlertFeed;
use client::HttpClient;
use receivers::{Kind, Receiver};
use stats::NotifyStats;

/// Time limit of one Alertmanager POST.
const ALERTMANAGER_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the outbox's backlog is counted for the metrics.
const COUNT_EVERY: Duration = Duration::from_secs(10);
/// How long a clean stop waits to give the webhooks lease up.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why notifications cannot start (a receiver's URL, CA, token or secret file).
#[derive(Debug, thiserror::Error)]
#[error("notifications: {0}")]
pub struct NotifyError(String);

/// Receivers, clients and secrets, checked before anything starts.
pub struct Prepared {
    alertmanagers: Vec<Receiver>,
    alertmanager_client: Option<HttpClient>,
    alertmanager_token: Option<Secret>,
    webhooks: Vec<Receiver>,
    webhook_client: Option<HttpClient>,
    webhook_secret: Option<Secret>,
    cluster: Option<String>,
}

/// Reads and checks what `settings` name for notifications: every error names its setting.
pub fn prepare(settings: &Settings) -> Result<Prepared, NotifyError> {
    let alertmanagers =
        receivers::parse(Kind::Alertmanager, &settings.alertmanagers).map_err(NotifyError)?;
    let webhooks = receivers::parse(Kind::Webhook, &settings.webhooks).map_err(NotifyError)?;
    let secret = |what: &str, path: &Option<std::path::PathBuf>| {
        path.as_deref()
            .map(|p| receivers::read_secret(what, p))
            .transpose()
            .map_err(NotifyError)
    };
    // A client only where there are receivers; its CA file is read (and checked) now.
    let client = |receivers: &[Receiver], what: &str, ca: &Option<std::path::PathBuf>, timeout| {
        if receivers.is_empty() {
            return Ok(None);
        }
        HttpClient::new(what, ca.as_deref(), timeout)
            .map(Some)
            .map_err(NotifyError)
    };
    let webhook_timeout = lease::LeaseTiming::default().delivery_timeout;
    Ok(Prepared {
        alertmanager_client: client(
            &alertmanagers,
            "--alertmanager-ca",
            &settings.alertmanager_ca,
            ALERTMANAGER_TIMEOUT,
        )?,
        alertmanager_token: secret(
            "--alertmanager-token-file",
            &settings.alertmanager_token_file,
        )?,
        webhook_client: client(
            &webhooks,
            "--webhook-ca",
            &settings.webhook_ca,
            webhook_timeout,
        )?,
        webhook_secret: secret("--webhook-secret-file", &settings.webhook_secret_file)?,
        alertmanagers,
        webhooks,
        cluster: settings.cluster_name.clone(),
    })
}

/// The outbox targets of `settings`' webhooks (what [`Store::set_webhook_targets`] takes);
/// none when they are invalid (the settings' check refuses those first).
pub fn webhook_targets(settings: &Settings) -> Vec<String> {
    receivers::parse(Kind::Webhook, &settings.webhooks)
        .map(|r| r.into_iter().map(|r| r.target).collect())
        .unwrap_or_default()
}

/// The running notifications.
pub struct Notify {
    /// The poller's handle to the Alertmanager push.
    pub alerts: AlertFeed,
    tasks: Vec<JoinHandle<()>>,
    /// The store and this process's lease name, to give the lease up at a clean stop.
    lease: Option<(Store, String)>,
}

impl Notify {
    /// Starts the Alertmanager push and the webhook senders (with the lease) of `prepared`;
    /// `timing` is the webhooks lease's (the default outside tests).
    pub fn start(
        prepared: Prepared,
        store: &Store,
        stats: NotifyStats,
        timing: lease::LeaseTiming,
    ) -> Notify {
        let mut tasks = Vec::new();
        let alerts = match prepared.alertmanager_client {
            Some(client) => {
                let (feed, started) = alertmanager::start(
                    prepared.alertmanagers,
                    client,
                    prepared.alertmanager_token,
                    prepared.cluster,
                    stats.clone(),
                );
                tasks.extend(started);
                feed
            }
            None => AlertFeed::none(),
        };
        let mut held = None;
        if let Some(client) = prepared.webhook_client {
            let client = client.with_timeout(timing.delivery_timeout);
            let lease = lease::start(store.clone(), timing, stats.clone());
            tasks.push(lease.task);
            let known: HashSet<String> =
                prepared.webhooks.iter().map(|r| r.target.clone()).collect();
            tasks.push(tokio::spawn(count_outbox(
                store.clone(),
                known,
                stats.clone(),
            )));
            for receiver in prepared.webhooks {
                let sender = webhook::Sender {
                    receiver,
                    store: store.clone(),
                    client: client.clone(),
                    secret: prepared.webhook_secret.clone(),
                    lease: lease.handle.clone(),
                    timeout: timing.delivery_timeout,
                    stats: stats.clone(),
                };
                tasks.push(tokio::spawn(sender.run()));
            }
            held = Some((store.clone(), lease.holder));
        }
        Notify {
            alerts,
            tasks,
            lease: held,
        }
    }

    /// Stops every task without giving the lease up, as a killed collector would: the other
    /// collector of a pair takes the lease once it expires.
    pub fn abandon(self) {
        for task in &self.tasks {
            task.abort();
        }
    }

    /// Stops every task (a delivery in flight is abandoned: its row stays pending and is sent
    /// again) and gives the webhooks lease up, so the other collector of a pair takes it at
    /// once.
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Some((store, holder)) = self.lease {
            let release = store.release_lease(lease::WEBHOOKS, &holder);
            match tokio::time::timeout(RELEASE_TIMEOUT, release).await {
                Ok(Ok(())) => tracing::debug!("gave the webhooks lease up"),
                _ => tracing::debug!("could not give the webhooks lease up; it expires by itself"),
            }
        }
    }
}

/// Counts the outbox's backlog every [`COUNT_EVERY`]; warns once about rows queued for a
/// receiver this collector does not know (configured on the other collector of a pair, or
/// removed from the settings): they wait, and are pruned with their events.
async fn count_outbox(store: Store, known: HashSet<String>, stats: NotifyStats) {
    let mut warned = false;
    let mut ticker = tokio::time::interval(COUNT_EVERY);
    loop {
        ticker.tick().await;
        if let Ok(counts) = store.outbox_counts().await {
            stats.queue(counts.pending, counts.failed);
        }
        if warned {
            continue;
        }
        if let Ok(targets) = store.outbox_pending_targets().await {
            warned = true;
            let unknown = targets.iter().filter(|t| !known.contains(*t)).count();
            if unknown > 0 {
                tracing::warn!(
                    receivers = unknown,
                    "the webhook outbox holds undelivered events for receivers this collector is \
                     not given (--webhook): give both collectors of a pair the same webhooks; \
                     those rows wait, and go with their events at the retention prune"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_files_stop_the_start_naming_their_setting() {
        let dir = tempfile::tempdir().expect("dir");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").expect("write");
        let cases = [
            (
                Settings {
                    alertmanagers: vec!["https://am.example:9093".into()],
                    alertmanager_ca: Some(dir.path().join("missing.pem")),
                    ..Settings::default()
                },
                "--alertmanager-ca",
            ),
            (
                Settings {
                    webhooks: vec!["https://hooks.example/x".into()],
                    webhook_ca: Some(empty.clone()),
                    ..Settings::default()
                },
                "--webhook-ca",
            ),
            (
                Settings {
                    webhook_secret_file: Some(empty.clone()),
                    ..Settings::default()
                },
                "--webhook-secret-file",
            ),
            (
                Settings {
                    alertmanager_token_file: Some(dir.path().join("nope")),
                    ..Settings::default()
                },
                "--alertmanager-token-file",
            ),
        ];
        for (settings, flag) in cases {
            let err = prepare(&settings).err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(flag)),
                "{flag}: {err:?}"
            );
        }
        let fine = Settings {
            webhooks: vec!["https://hooks.example/x".into()],
            ..Settings::default()
        };
        assert!(prepare(&fine).is_ok(), "system roots");
        assert_eq!(webhook_targets(&fine).len(), 1);
    }
}
