//! The collector's own health as metric families: the store, the gRPC listener's connections,
//! and the notifications (Alertmanager pushes, webhook deliveries, the outbox's backlog, the
//! webhooks lease). Read from shared counters at the scrape; docs/METRICS.md names them.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::CollectorStats;
use crate::notify::stats::Delivery;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

fn gauge(value: u64) -> Gauge {
    let g = Gauge::default();
    g.set(i64::try_from(value).unwrap_or(i64::MAX));
    g
}

fn counter(value: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(value);
    c
}

/// Registers the store, connection and notification families of `stats`.
pub fn register(registry: &mut Registry, stats: &CollectorStats) {
    if let Some(up) = stats.store_up {
        registry.register(
            "omswatch_store_up",
            "1 while the store (reports, timeline, webhook outbox) is written, 0 while writes fail (the status JSON's store.error says why)",
            gauge(u64::from(up)),
        );
    }
    connections(registry, stats);
    notifications(registry, stats);
}

fn connections(registry: &mut Registry, stats: &CollectorStats) {
    let Some(c) = stats.connections else {
        return;
    };
    let refused = Family::<ReasonLabels, Counter>::default();
    for (reason, n) in [
        ("max_connections", c.refused_total_cap_total),
        ("max_connections_per_peer", c.refused_peer_cap_total),
        ("handshake", c.handshake_failed_total),
    ] {
        refused
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .inc_by(n);
    }
    registry.register(
        "omswatch_connections_open",
        "Connections open now on the gRPC listener (agents and operators), TLS handshakes in progress included",
        gauge(u64::try_from(c.open).unwrap_or(u64::MAX)),
    );
    registry.register(
        "omswatch_connections_accepted",
        "Connections the gRPC listener let in since the collector started",
        counter(c.accepted_total),
    );
    registry.register(
        "omswatch_connections_refused",
        "Connections the gRPC listener closed at once since start, by reason: max_connections, max_connections_per_peer (the caps), handshake (a failed or timed-out TLS handshake)",
        refused,
    );
    registry.register(
        "omswatch_connections_closed_idle",
        "Connections closed since start for making no authorised call within idle_grace",
        counter(c.closed_idle_total),
    );
}

fn notifications(registry: &mut Registry, stats: &CollectorStats) {
    let n = &stats.notify;
    let deliveries = Family::<ResultLabels, Counter>::default();
    for (result, count) in Delivery::ALL.iter().zip(n.deliveries) {
        deliveries
            .get_or_create(&ResultLabels {
                result: result.as_str().into(),
            })
            .inc_by(count);
    }
    let posts = Family::<ResultLabels, Counter>::default();
    for (result, count) in [("ok", n.alertmanager_ok), ("error", n.alertmanager_error)] {
        posts
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc_by(count);
    }
    registry.register(
        "omswatch_webhook_deliveries",
        "Webhook delivery attempts by this collector since start, by result: delivered (2xx), retry (5xx, 408, 429, timeout, no connection: tried again), failed (another 4xx: refused for good)",
        deliveries,
    );
    registry.register(
        "omswatch_webhook_queue",
        "Webhook deliveries waiting in the store's outbox (all receivers; counted every 10s)",
        gauge(n.queue_pending),
    );
    registry.register(
        "omswatch_webhook_failed",
        "Webhook deliveries refused for good, kept in the store's outbox with their error until retention prunes their event",
        gauge(n.queue_failed),
    );
    registry.register(
        "omswatch_webhook_sender",
        "1 when this collector holds the webhooks lease and so sends the webhooks (one collector of a pair), else 0",
        gauge(u64::from(n.lease_held)),
    );
    registry.register(
        "omswatch_alertmanager_posts",
        "POSTs of alerts to Alertmanager since start, by result: ok (2xx) or error",
        posts,
    );
    registry.register(
        "omswatch_alertmanager_alerts_firing",
        "Alerts firing in the last push to Alertmanager",
        gauge(n.alerts_firing),
    );
}
