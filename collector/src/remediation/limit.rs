//! One restart per node and program per [`MIN_INTERVAL`], on the collector's side
//! (the agent counts too, so a second collector, or this one restarted, cannot double
//! it). A slot is taken when a restart is sent, so two requests at once cannot both
//! pass, and given back when the restart is known to have changed nothing (refused by
//! the agent, not sent); a restart that got no answer keeps it, since it may have run.
//! Slots older than the interval are dropped at each request: the map holds at most
//! the restarts of the last minute.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub use omswatch_common::restart::MIN_INTERVAL;

/// The restarts of the last [`MIN_INTERVAL`].
#[derive(Debug, Default)]
pub struct RateLimit {
    slots: HashMap<(String, String), Slot>,
    /// Numbers the slots, so an old one given back late never frees a newer one.
    taken: u64,
}

/// A restart that holds its node and program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// When it was sent.
    pub at: Instant,
    /// Who asked.
    pub actor: String,
    /// Which slot of this limit it is.
    serial: u64,
}

/// A restart of the same node and program within the interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooSoon {
    /// How long ago it was sent.
    pub ago: Duration,
    /// Who asked for it.
    pub actor: String,
    /// How long until another is allowed.
    pub retry_in: Duration,
}

impl RateLimit {
    /// Takes the slot of `node`/`program` for `actor` at `now`, unless a restart
    /// holds it.
    pub fn take(
        &mut self,
        node: &str,
        program: &str,
        actor: &str,
        now: Instant,
    ) -> Result<Slot, TooSoon> {
        self.slots
            .retain(|_, slot| now.saturating_duration_since(slot.at) < MIN_INTERVAL);
        let key = (node.to_string(), program.to_string());
        if let Some(held) = self.slots.get(&key) {
            let ago = now.saturating_duration_since(held.at);
            return Err(TooSoon {
                ago,
                actor: held.actor.clone(),
                retry_in: MIN_INTERVAL.saturating_sub(ago),
            });
        }
        self.taken += 1;
        let slot = Slot {
            at: now,
            actor: actor.to_string(),
            serial: self.taken,
        };
        self.slots.insert(key, slot.clone());
        Ok(slot)
    }

    /// Gives `slot` back (the restart changed nothing), unless another took it since.
    pub fn give_back(&mut self, node: &str, program: &str, slot: &Slot) {
        let key = (node.to_string(), program.to_string());
        if self.slots.get(&key) == Some(slot) {
            self.slots.remove(&key);
        }
    }

    /// Slots held now.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no slot is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_restart_per_node_and_program_per_minute() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut limit = RateLimit::default();
        limit
            .take("n1", "oms_console", "alice", at(0))
            .expect("first");
        let refused = limit
            .take("n1", "oms_console", "bob", at(12))
            .expect_err("within the minute");
        assert_eq!(refused.actor, "alice");
        assert_eq!(refused.ago, Duration::from_secs(12));
        assert_eq!(refused.retry_in, Duration::from_secs(48));
        limit
            .take("n1", "nginx", "bob", at(12))
            .expect("another program");
        limit
            .take("n2", "oms_console", "bob", at(12))
            .expect("another node");
        assert!(limit.take("n1", "oms_console", "bob", at(59)).is_err());
        limit
            .take("n1", "oms_console", "bob", at(60))
            .expect("a minute later");
        assert_eq!(limit.len(), 3, "the first slot went; those of 12 s remain");
        limit.take("n3", "nginx", "bob", at(72)).expect("n3");
        assert_eq!(limit.len(), 2, "those of 12 s went a minute later");
    }

    #[test]
    fn a_restart_that_changed_nothing_gives_its_slot_back() {
        let now = Instant::now();
        let mut limit = RateLimit::default();
        let slot = limit
            .take("n1", "oms_console", "alice", now)
            .expect("first");
        limit.give_back("n1", "oms_console", &slot);
        let again = limit
            .take("n1", "oms_console", "alice", now)
            .expect("given back");
        // An old slot given back late does not free the newer one.
        limit.give_back("n1", "oms_console", &slot);
        assert!(limit.take("n1", "oms_console", "bob", now).is_err());
        limit.give_back("n1", "oms_console", &again);
        assert!(limit.is_empty());
    }
}
