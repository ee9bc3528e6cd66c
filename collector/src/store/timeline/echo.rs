//! Echoes between the collectors of a pair. Each collector diagnoses its own copy of
//! the agents' reports on its own ticks, so one may see a change a tick or two after
//! the other, sometimes after the other has already recorded it *and* its reversal
//! (a component stopped and started again): by then the store's active set no longer
//! shows it, and the late collector would record it a second time. Every finding and
//! node-state event therefore carries a key naming what changed ([`dedupe_key`]); in
//! the event's own transaction, a change that the *other* collector recorded under
//! the same key within [`ECHO_WINDOW_MS`] of this one (either way, by the two
//! collectors' clocks) is taken as the same change and not recorded again.
//!
//! A collector's own events never count: alone, it records every change it sees, and
//! in a pair a real change that one collector skips as an echo is recorded by the
//! other (whose own earlier event does not stop it) at its next tick.

use sha2::{Digest, Sha256};
use sqlx::{Any, Transaction};

use crate::store::Store;

/// How far apart two collectors' records of one change may be: four ticks at the
/// default 5 s tick, which covers a collector lagging a tick or two behind the other
/// and a few seconds of clock skew between their hosts. Two real changes of one
/// subject this close together across the pair are recorded as one.
pub const ECHO_WINDOW_MS: i64 = 20_000;

/// The key of a change: its kind (`raised`, `cleared`, `node_state`) and its
/// subject (the finding's identity, or the node and its new state), hashed to fit
/// an index.
pub fn dedupe_key(kind: &str, subject: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    for part in subject {
        // A separator no identity contains, so ("a b", "c") and ("a", "b c") differ.
        hasher.update([0u8]);
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The window of `at` in which another collector's record is an echo.
pub fn window(at: i64) -> (i64, i64) {
    (
        at.saturating_sub(ECHO_WINDOW_MS),
        at.saturating_add(ECHO_WINDOW_MS),
    )
}

impl Store {
    /// Whether the other collector of a pair recorded the change `key` near `at`.
    pub(crate) async fn echoes(
        &self,
        tx: &mut Transaction<'static, Any>,
        key: &str,
        at: i64,
    ) -> std::result::Result<bool, sqlx::Error> {
        let (from, to) = window(at);
        let row = sqlx::query(
            "SELECT id FROM events WHERE dedupe_key = ? AND at_unix_ms >= ? AND at_unix_ms <= ? \
             AND collector <> ? LIMIT 1",
        )
        .bind(key.to_string())
        .bind(from)
        .bind(to)
        .bind(self.collector().to_string())
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.is_some())
    }

    /// Marks event `id` (just inserted in `tx`) with its change's `key`.
    pub(crate) async fn mark_change(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: &str,
        key: &str,
    ) -> std::result::Result<(), sqlx::Error> {
        sqlx::query("UPDATE events SET dedupe_key = ? WHERE id = ?")
            .bind(key.to_string())
            .bind(id.to_string())
            .execute(&mut **tx)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_names_the_kind_and_the_subject() {
        let id = "COMPONENT_NOT_RUNNING [n2] program=oms_console";
        let raised = dedupe_key("raised", &[id]);
        assert_eq!(raised.len(), 64);
        assert_eq!(raised, dedupe_key("raised", &[id]), "stable");
        assert_ne!(raised, dedupe_key("cleared", &[id]), "the kind counts");
        assert_ne!(
            raised,
            dedupe_key(
                "raised",
                &["COMPONENT_NOT_RUNNING [n3] program=oms_console"]
            )
        );
        let down = dedupe_key("node_state", &["n2", "DOWN"]);
        assert_ne!(down, dedupe_key("node_state", &["n2", "ONLINE"]));
        assert_ne!(down, dedupe_key("node_state", &["n2 DOWN"]));
        assert_ne!(
            dedupe_key("node_state", &["a b", "c"]),
            dedupe_key("node_state", &["a", "b c"])
        );
    }

    #[test]
    fn the_window_reaches_both_ways_for_clock_skew() {
        let (from, to) = window(100_000);
        assert_eq!(
            (from, to),
            (100_000 - ECHO_WINDOW_MS, 100_000 + ECHO_WINDOW_MS)
        );
        // A few ticks at the default 5 s tick.
        const { assert!(ECHO_WINDOW_MS >= 3 * 5_000) };
        assert_eq!(window(i64::MAX).1, i64::MAX);
    }
}
