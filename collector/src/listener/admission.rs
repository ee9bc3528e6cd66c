//! Which connections are let in and which are open: the caps (in total and per peer address),
//! the table of open connections the authoriser marks, and the counts a metrics view reads.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::throttle::Throttle;

/// At most one log line per this, per kind, for refusals and idle closes.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// How many connections may be open and how long one may stay without an authorised call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A connection that has made no authorised call this long after it was accepted is closed.
    pub idle_grace: Duration,
    /// Connections open at once, handshakes included.
    pub max_connections: usize,
    /// Connections open at once from one IP address.
    pub max_connections_per_peer: usize,
}

/// Counters of the listener, readable at any time without a lock (for logs and a `/metrics`
/// view). Totals only grow; `open` is a gauge.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    open: AtomicUsize,
    accepted: AtomicU64,
    refused_total_cap: AtomicU64,
    refused_peer_cap: AtomicU64,
    handshake_failed: AtomicU64,
    authorised: AtomicU64,
    closed_idle: AtomicU64,
}

/// One reading of [`ConnectionStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionCounts {
    /// Connections open now, TLS handshakes in progress included.
    pub open: usize,
    /// Connections let in since start.
    pub accepted_total: u64,
    /// Connections closed at once because `max_connections` were open.
    pub refused_total_cap_total: u64,
    /// Connections closed at once because their address had `max_connections_per_peer` open.
    pub refused_peer_cap_total: u64,
    /// TLS handshakes that failed or timed out.
    pub handshake_failed_total: u64,
    /// Connections that made an authorised call (and so may stay).
    pub authorised_total: u64,
    /// Connections closed for making no authorised call within `idle_grace`.
    pub closed_idle_total: u64,
}

impl ConnectionStats {
    /// The counts now.
    pub fn counts(&self) -> ConnectionCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ConnectionCounts {
            open: self.open.load(Ordering::Relaxed),
            accepted_total: get(&self.accepted),
            refused_total_cap_total: get(&self.refused_total_cap),
            refused_peer_cap_total: get(&self.refused_peer_cap),
            handshake_failed_total: get(&self.handshake_failed),
            authorised_total: get(&self.authorised),
            closed_idle_total: get(&self.closed_idle),
        }
    }

    pub(super) fn handshake_failed(&self) {
        self.handshake_failed.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn closed_idle(&self) {
        self.closed_idle.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a connection was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `max_connections` are open.
    TotalCap(usize),
    /// The peer's address has `max_connections_per_peer` open.
    PeerCap(usize),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::TotalCap(n) => write!(f, "{n} connections open (max_connections)"),
            Refusal::PeerCap(n) => {
                write!(
                    f,
                    "{n} connections open from this address (max_connections_per_peer)"
                )
            }
        }
    }
}

/// Set once a connection has made an authorised call.
#[derive(Debug, Default)]
pub(super) struct Marker(AtomicBool);

impl Marker {
    pub(super) fn is_authorised(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The open connections: a count per address, and each one's marker by its peer address
/// (unique among open TCP connections to one listener).
#[derive(Debug, Default)]
struct Table {
    open: usize,
    per_peer: HashMap<IpAddr, usize>,
    markers: HashMap<SocketAddr, Arc<Marker>>,
}

#[derive(Debug)]
struct Shared {
    limits: ConnectionLimits,
    stats: ConnectionStats,
    table: Mutex<Table>,
    /// Refusals are logged at most this often (a flood would otherwise flood the log).
    refusal_log: Throttle,
    /// Likewise idle connections closed.
    idle_log: Throttle,
}

/// The listener's connections: admits new ones, marks authorised ones, counts them. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Connections(Arc<Shared>);

impl Connections {
    /// No connection open yet.
    pub fn new(limits: ConnectionLimits) -> Self {
        Self(Arc::new(Shared {
            limits,
            stats: ConnectionStats::default(),
            table: Mutex::new(Table::default()),
            refusal_log: Throttle::new(LOG_EVERY),
            idle_log: Throttle::new(LOG_EVERY),
        }))
    }

    /// The limits in force.
    pub fn limits(&self) -> ConnectionLimits {
        self.0.limits
    }

    /// The counters.
    pub fn stats(&self) -> &ConnectionStats {
        &self.0.stats
    }

    pub(super) fn refusal_log(&self) -> &Throttle {
        &self.0.refusal_log
    }

    pub(super) fn idle_log(&self) -> &Throttle {
        &self.0.idle_log
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // A panic while holding the lock leaves only counts behind: keep using them.
        self.0
            .table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lets the connection from `peer` in, or says which cap it hits. The connection counts
    /// until the returned guard is dropped.
    pub fn admit(&self, peer: SocketAddr) -> Result<Admitted, Refusal> {
        let ip = peer.ip().to_canonical();
        let limits = self.0.limits;
        let mut table = self.table();
        if table.open >= limits.max_connections {
            self.0
                .stats
                .refused_total_cap
                .fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::TotalCap(table.open));
        }
        let from_peer = table.per_peer.get(&ip).copied().unwrap_or(0);
        if from_peer >= limits.max_connections_per_peer {
            self.0
                .stats
                .refused_peer_cap
                .fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::PeerCap(from_peer));
        }
        table.open += 1;
        *table.per_peer.entry(ip).or_insert(0) += 1;
        let marker = Arc::new(Marker::default());
        table.markers.insert(peer, Arc::clone(&marker));
        drop(table);
        self.0.stats.accepted.fetch_add(1, Ordering::Relaxed);
        self.0.stats.open.fetch_add(1, Ordering::Relaxed);
        Ok(Admitted {
            connections: self.clone(),
            peer,
            marker,
            accepted_at: Instant::now(),
        })
    }

    /// Records that the connection from `peer` made an authorised call, so it may stay open
    /// past the grace period. Unknown peers (a test's in-memory transport) are ignored.
    pub fn authorised(&self, peer: Option<SocketAddr>) {
        let Some(peer) = peer else { return };
        let marker = self.table().markers.get(&peer).cloned();
        if let Some(marker) = marker
            && !marker.0.swap(true, Ordering::AcqRel)
        {
            self.0.stats.authorised.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn release(&self, peer: SocketAddr, marker: &Arc<Marker>) {
        let ip = peer.ip().to_canonical();
        let mut table = self.table();
        table.open = table.open.saturating_sub(1);
        if let Some(n) = table.per_peer.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                table.per_peer.remove(&ip);
            }
        }
        // The address may already belong to a newer connection (a reused port).
        if table
            .markers
            .get(&peer)
            .is_some_and(|m| Arc::ptr_eq(m, marker))
        {
            table.markers.remove(&peer);
        }
        drop(table);
        self.0.stats.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One admitted connection; it stops counting when dropped (the socket closed).
#[derive(Debug)]
pub struct Admitted {
    connections: Connections,
    peer: SocketAddr,
    marker: Arc<Marker>,
    accepted_at: Instant,
}

impl Admitted {
    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// When the connection was accepted: its grace period starts here.
    pub fn accepted_at(&self) -> Instant {
        self.accepted_at
    }

    pub(super) fn marker(&self) -> &Marker {
        &self.marker
    }

    pub(super) fn connections(&self) -> &Connections {
        &self.connections
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.connections.release(self.peer, &self.marker);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_peer: usize) -> ConnectionLimits {
        ConnectionLimits {
            idle_grace: Duration::from_secs(10),
            max_connections: total,
            max_connections_per_peer: per_peer,
        }
    }

    fn addr(ip: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::from((ip, port))
    }

    #[test]
    fn the_per_peer_cap_holds_one_address_and_not_the_others() {
        let c = Connections::new(limits(10, 2));
        let a1 = c.admit(addr([10, 0, 0, 1], 1)).expect("first");
        let _a2 = c.admit(addr([10, 0, 0, 1], 2)).expect("second");
        assert_eq!(
            c.admit(addr([10, 0, 0, 1], 3)).err(),
            Some(Refusal::PeerCap(2))
        );
        let _b = c.admit(addr([10, 0, 0, 2], 1)).expect("another address");
        drop(a1);
        let _a3 = c.admit(addr([10, 0, 0, 1], 3)).expect("room again");
        let counts = c.stats().counts();
        assert_eq!(
            (
                counts.open,
                counts.accepted_total,
                counts.refused_peer_cap_total
            ),
            (3, 4, 1)
        );
    }

    #[test]
    fn the_total_cap_holds_every_address() {
        let c = Connections::new(limits(2, 2));
        let _a = c.admit(addr([10, 0, 0, 1], 1)).expect("a");
        let _b = c.admit(addr([10, 0, 0, 2], 1)).expect("b");
        assert_eq!(
            c.admit(addr([10, 0, 0, 3], 1)).err(),
            Some(Refusal::TotalCap(2))
        );
        assert_eq!(c.stats().counts().refused_total_cap_total, 1);
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_their_ipv4_address() {
        let c = Connections::new(limits(10, 1));
        let _v4 = c.admit(addr([10, 0, 0, 1], 1)).expect("v4");
        let mapped = SocketAddr::new(IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped()), 2);
        assert_eq!(c.admit(mapped).err(), Some(Refusal::PeerCap(1)));
    }

    #[test]
    fn an_authorised_call_marks_its_connection_once() {
        let c = Connections::new(limits(10, 10));
        let a = c.admit(addr([10, 0, 0, 1], 1)).expect("a");
        let b = c.admit(addr([10, 0, 0, 1], 2)).expect("b");
        c.authorised(Some(a.peer()));
        c.authorised(Some(a.peer()));
        c.authorised(None);
        c.authorised(Some(addr([10, 0, 0, 9], 9)));
        assert!(a.marker().is_authorised());
        assert!(!b.marker().is_authorised());
        assert_eq!(c.stats().counts().authorised_total, 1);
        drop((a, b));
        assert_eq!(c.stats().counts().open, 0);
        assert!(c.table().markers.is_empty() && c.table().per_peer.is_empty());
    }

    use std::net::Ipv4Addr;
}
