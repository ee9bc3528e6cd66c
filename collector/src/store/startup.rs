//! The store as the collector starts and stops with it: which store (the
//! settings or the default), its password, the one-time import of a
//! `--state-file`, the nodes to restore, and the `collector` start and stop
//! events.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use omswatch_common::secret::Secret;
use omswatch_common::snapshot::NodeObservation;

use super::events::{Event, EventKind};
use super::{Store, StoreError, StoreLocation};
use crate::settings::Settings;

/// An open store and the nodes it restored.
pub struct Started {
    /// The store.
    pub store: Store,
    /// Every node's last report, for the aggregator.
    pub restored: Vec<NodeObservation>,
}

/// Opens the store `settings` name as collector `collector`, imports a
/// `--state-file` once, loads the nodes and records the start.
pub async fn open(settings: &Settings, collector: &str) -> Result<Started, StoreError> {
    let location = match &settings.store {
        Some(text) => StoreLocation::parse(text)?,
        None => StoreLocation::default_for(rustix::process::geteuid().as_raw(), &|name| {
            std::env::var(name).ok()
        })?,
    };
    let password = password(settings, &location)?;
    let store = Store::open(location, password.as_ref(), collector).await?;
    // Before the first event (this start): every event is queued for every webhook.
    store.set_webhook_targets(crate::notify::webhook_targets(settings));
    if let Some(path) = &settings.state_file {
        import(&store, path).await?;
    }
    let restored = store.load_nodes().await?;
    tracing::info!(store = %store.location(), nodes = restored.len(), "restored nodes from the store");
    store.record(&start_event(&store).await).await?;
    Ok(Started { store, restored })
}

/// Records the collector's stop (a graceful one; a kill leaves a start without a stop).
pub async fn record_stop(store: &Store) {
    let at = omswatch_common::telemetry::now_unix_ms();
    let event = collector_event(
        store,
        at,
        "stopped",
        format!("collector {} stopped", store.collector()),
    );
    if let Err(e) = store.record(&event).await {
        store.health().failed("the collector's stop", &e);
    }
}

/// The store password: from `store_password_file` or `OMSWATCH_STORE_PASSWORD`, not both.
fn password(settings: &Settings, location: &StoreLocation) -> Result<Option<Secret>, StoreError> {
    let from_file = match &settings.store_password_file {
        Some(path) => Some(read_password(path)?),
        None => None,
    };
    let given = match (from_file, &settings.store_password) {
        (Some(_), Some(_)) => {
            return Err(StoreError::Password(
                "given twice, in --store-password-file and in OMSWATCH_STORE_PASSWORD: keep one"
                    .into(),
            ));
        }
        (Some(p), None) => Some(p),
        (None, p) => p.clone(),
    };
    if given.is_some() && location.sqlite_path().is_some() {
        tracing::warn!(store = %location, "a store password was given but the store is an SQLite file: ignoring it");
        return Ok(None);
    }
    Ok(given)
}

/// The first line of `path`; warns when others may read it.
fn read_password(path: &Path) -> Result<Secret, StoreError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        StoreError::Password(format!(
            "cannot read --store-password-file {}: {e}",
            path.display()
        ))
    })?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(StoreError::Password(format!(
            "--store-password-file {} is empty: write the password on its first line",
            path.display()
        )));
    }
    if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
        tracing::warn!(file = %path.display(), "the store password file is readable by others: chmod 600 it");
    }
    Ok(Secret::new(line))
}

/// Imports the deprecated state file once; says what became of it.
async fn import(store: &Store, path: &Path) -> Result<(), StoreError> {
    match store.import_state_file(path).await {
        Ok(Some(n)) => tracing::warn!(
            file = %path.display(), store = %store.location(), nodes = n,
            "imported the state file into the store; --state-file is deprecated and no longer \
             written: remove it from the settings"
        ),
        Ok(None) => tracing::warn!(
            file = %path.display(), store = %store.location(),
            "--state-file is deprecated: its nodes were imported into the store before and it is \
             no longer read or written; remove it from the settings"
        ),
        Err(e) => tracing::error!(
            error = %e,
            "the state file was not imported (it will be tried again at the next start)"
        ),
    }
    Ok(())
}

/// The start event; says so when the previous run of this collector was killed.
async fn start_event(store: &Store) -> Event {
    let at = omswatch_common::telemetry::now_unix_ms();
    let mut message = format!(
        "collector {} started (omswatch {}, store {})",
        store.collector(),
        crate::VERSION,
        store.location()
    );
    if let Ok(Some(last)) = store.last_collector_event(store.collector()).await
        && last.evidence.get("action").map(String::as_str) == Some("started")
    {
        message.push_str("; its previous run ended without stopping (killed or crashed)");
    }
    collector_event(store, at, "started", message)
}

fn collector_event(store: &Store, at: i64, action: &str, message: String) -> Event {
    Event {
        id: store.new_event_id(at),
        at_unix_ms: at,
        kind: EventKind::Collector.as_str().into(),
        message: Some(message),
        evidence: [
            ("action".to_string(), action.to_string()),
            ("version".to_string(), crate::VERSION.to_string()),
        ]
        .into(),
        collector: store.collector().to_string(),
        ..Event::default()
    }
}
