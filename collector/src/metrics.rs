//! `GET /metrics`: the cluster as Prometheus metrics, built FRESH at each scrape from the
//! same snapshot → diagnosis the gRPC status uses, so a node or finding that vanished is
//! simply absent from the next scrape. Nothing here keeps state between scrapes except
//! the collector's own counters ([`CollectorStats`], kept by ingest); no sample carries a
//! timestamp. Names and labels are a contract (docs/METRICS.md): add, never rename.
//!
//! Label values are bounded: node and program names by the report limits
//! (`common::limits`), codes and severities by the catalogue, refusal reasons by
//! [`crate::ingest::Refusal`]. No label carries a message with live values (ages,
//! loads) or anything secret: the MetaDB password and tokens never reach a snapshot.

mod families;
mod service;

use omswatch_common::diagnose::Diagnosis;
use omswatch_common::snapshot::Snapshot;
use prometheus_client::encoding::{prometheus_text, text};

pub use families::build;

use crate::ingest::Refusal;
use crate::listener::{ConnectionCounts, Connections};
use crate::notify::stats::{NotifyCounts, NotifyStats};
use crate::store::StoreHealth;

/// The collector's own numbers, read at the scrape.
#[derive(Debug, Clone, Default)]
pub struct CollectorStats {
    /// Reports accepted since start.
    pub reports_received: u64,
    /// Reports or streams refused since start, per reason (every reason, zeros included).
    pub reports_refused: Vec<(Refusal, u64)>,
    /// Report streams open now.
    pub agents_connected: u64,
    /// Whether the store is written (`omswatch_store_up`); `None` without a store.
    pub store_up: Option<bool>,
    /// The gRPC listener's connections; `None` without one.
    pub connections: Option<ConnectionCounts>,
    /// Alertmanager and webhook notifications.
    pub notify: NotifyCounts,
}

/// Where the scrape reads the collector's own state from (besides ingest's counters):
/// shared handles, each read without waiting.
#[derive(Clone)]
pub struct Sources {
    /// The store's health flag.
    pub store: std::sync::Arc<StoreHealth>,
    /// The gRPC listener's connection table.
    pub connections: Connections,
    /// The notifications' counters.
    pub notify: NotifyStats,
}

impl Sources {
    /// Fills the fields of `stats` these sources give.
    pub fn read_into(&self, stats: &mut CollectorStats) {
        stats.store_up = Some(self.store.is_up());
        stats.connections = Some(self.connections.stats().counts());
        stats.notify = self.notify.counts();
    }
}

/// Which exposition format a scraper gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (the default).
    Prometheus,
    /// OpenMetrics 1.0.0 text, for an `Accept` that asks for `application/openmetrics-text`.
    OpenMetrics,
}

impl Format {
    /// The format an `Accept` header asks for: OpenMetrics when it names
    /// `application/openmetrics-text` with a non-zero q, the Prometheus text format otherwise
    /// (also for no header, `*/*`, or nonsense).
    pub fn negotiate(accept: Option<&str>) -> Format {
        let wants_openmetrics = accept.is_some_and(|accept| {
            accept.split(',').any(|range| {
                let mut params = range.split(';').map(str::trim);
                let media = params.next().unwrap_or_default();
                let q_zero = params.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                media.eq_ignore_ascii_case("application/openmetrics-text") && !q_zero
            })
        });
        if wants_openmetrics {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    /// The `Content-Type` of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The scrape's body: every family of [`build`], encoded in `format`.
pub fn render(
    snapshot: &Snapshot,
    diagnosis: &Diagnosis,
    stats: &CollectorStats,
    format: Format,
) -> String {
    let registry = build(snapshot, diagnosis, stats);
    let mut out = String::with_capacity(4096 + 512 * snapshot.nodes.len());
    let encoded = match format {
        Format::Prometheus => prometheus_text::encode(&mut out, &registry),
        Format::OpenMetrics => text::encode(&mut out, &registry),
    };
    if let Err(e) = encoded {
        // Writing into a String cannot fail; were it to, say so in the body, not by a panic.
        tracing::error!(error = %e, "encoding the metrics failed");
        out = format!("# encoding the metrics failed: {e}\n");
    }
    out
}

#[cfg(test)]
mod tests;
