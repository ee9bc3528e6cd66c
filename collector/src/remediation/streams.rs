//! Which nodes have an open report stream to this collector, and how to send a
//! command down one. Ingest registers a stream at its first admitted report (the
//! node is then known and verified) and the registration is dropped with the stream;
//! a newer stream of the same node (a reconnect while the old one lingers) replaces
//! the older, whose drop then leaves the newer in place.
//!
//! A command travels as a `ReportAck` on the stream's own answer channel, carrying
//! the seq of the stream's last ack: an agent that knows no commands sees a duplicate
//! ack, which changes nothing for it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omswatch_common::proto::v1::{ReportAck, RestartCommand};
use tokio::sync::mpsc;
use tonic::Status;

/// How long a command may wait for room in a stream's answer queue: an agent that
/// has stopped reading is as good as not connected.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// The answer channel of one report stream (what ingest sends its acks on).
pub type AckSender = mpsc::Sender<Result<ReportAck, Status>>;

/// One node's open stream.
#[derive(Clone)]
struct Entry {
    /// Tells this registration from a newer one of the same node.
    id: u64,
    /// The stream's answer channel.
    acks: AckSender,
    /// The seq of the stream's last ack.
    last_acked: Arc<AtomicU64>,
    /// The agent's version, from its first report on this stream.
    agent_version: String,
}

/// The open streams, by node.
#[derive(Default)]
pub struct StreamRegistry {
    streams: Mutex<HashMap<String, Entry>>,
    next_id: AtomicU64,
}

/// Why a command could not be handed to a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// No stream of the node is open.
    NotConnected,
    /// The stream's queue stayed full (the agent does not read) or it closed.
    Stuck,
}

/// Keeps a node's stream registered until dropped (with the stream).
pub struct Registration {
    registry: Arc<StreamRegistry>,
    node: String,
    id: u64,
    last_acked: Arc<AtomicU64>,
}

impl Registration {
    /// The stream acknowledged report `seq`.
    pub fn acked(&self, seq: u64) {
        self.last_acked.store(seq, Ordering::Relaxed);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut streams = self.registry.lock();
        if streams.get(&self.node).is_some_and(|e| e.id == self.id) {
            streams.remove(&self.node);
        }
    }
}

impl StreamRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding it cannot leave the map half-changed: every
        // change is one insert or remove.
        self.streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers `node`'s stream answering on `acks`, replacing an older one.
    pub fn register(
        self: &Arc<Self>,
        node: &str,
        acks: AckSender,
        agent_version: &str,
    ) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let last_acked = Arc::new(AtomicU64::new(0));
        let entry = Entry {
            id,
            acks,
            last_acked: Arc::clone(&last_acked),
            agent_version: agent_version.to_string(),
        };
        self.lock().insert(node.to_string(), entry);
        Registration {
            registry: Arc::clone(self),
            node: node.to_string(),
            id,
            last_acked,
        }
    }

    /// The version of `node`'s agent, when its stream is open.
    pub fn agent_version(&self, node: &str) -> Option<String> {
        self.lock().get(node).map(|e| e.agent_version.clone())
    }

    /// Sends `command` down `node`'s open stream.
    pub async fn send(&self, node: &str, command: RestartCommand) -> Result<(), SendError> {
        let entry = self
            .lock()
            .get(node)
            .cloned()
            .ok_or(SendError::NotConnected)?;
        let ack = ReportAck {
            seq: entry.last_acked.load(Ordering::Relaxed),
            restart: Some(command),
        };
        match tokio::time::timeout(SEND_TIMEOUT, entry.acks.send(Ok(ack))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(SendError::Stuck),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_command_goes_down_the_newest_stream_with_the_last_acked_seq() {
        let registry = Arc::new(StreamRegistry::default());
        let command = RestartCommand {
            id: "c1".into(),
            ..Default::default()
        };
        assert_eq!(
            registry.send("n", command.clone()).await,
            Err(SendError::NotConnected)
        );
        let (old_tx, _old_rx) = mpsc::channel(1);
        let old = registry.register("n", old_tx, "0.1.0");
        let (new_tx, mut new_rx) = mpsc::channel(1);
        let new = registry.register("n", new_tx, "0.2.0");
        new.acked(7);
        drop(old); // the older stream ends after the newer registered
        assert_eq!(registry.agent_version("n").as_deref(), Some("0.2.0"));
        registry.send("n", command.clone()).await.expect("sent");
        let ack = new_rx.recv().await.expect("ack").expect("ok");
        assert_eq!(ack.seq, 7);
        assert_eq!(ack.restart.map(|c| c.id).as_deref(), Some("c1"));
        drop(new);
        assert_eq!(registry.agent_version("n"), None);
        assert_eq!(
            registry.send("n", command).await,
            Err(SendError::NotConnected)
        );
    }

    #[tokio::test]
    async fn a_stream_that_does_not_drain_is_stuck() {
        let registry = Arc::new(StreamRegistry::default());
        let (tx, _rx) = mpsc::channel(1);
        let _registration = registry.register("n", tx.clone(), "0.1.0");
        tx.send(Ok(ReportAck::default())).await.expect("fill");
        let sent = registry.send("n", RestartCommand::default()).await;
        assert_eq!(sent, Err(SendError::Stuck));
    }
}
