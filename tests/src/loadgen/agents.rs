//! Simulated agents: each its own TCP connection and Report stream, as real agents. A steady
//! agent reports every interval (phases spread so the load is even); a saturating agent keeps
//! a few reports in flight and sends the next as soon as one is acked.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use omswatch_common::proto::v1::NodeReport;
use omswatch_common::proto::v1::reporting_client::ReportingClient;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;

use super::report;
use super::stats::Tally;

/// How a group of agents reports.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// One report every interval.
    Every(Duration),
    /// As fast as acks come back, this many in flight.
    Saturate(usize),
}

/// A group of simulated agents.
#[derive(Debug, Clone)]
pub struct Swarm {
    /// `http://127.0.0.1:PORT`.
    pub target: String,
    /// Number of agents; agent `i` is node [`report::node_name`]`(first + i)`.
    pub agents: usize,
    /// Index of the first agent's node.
    pub first: usize,
    /// Bytes per report.
    pub size: usize,
    /// How they report.
    pub pace: Pace,
    /// The agents connect evenly over this long.
    pub ramp: Duration,
}

impl Swarm {
    /// Starts every agent; they run until `stop` turns true (or its sender is dropped).
    pub fn start(&self, tally: &Arc<Tally>, stop: &watch::Receiver<bool>) -> JoinSet<()> {
        let mut set = JoinSet::new();
        let start = Instant::now();
        for k in 0..self.agents {
            let delay = self.ramp.mul_f64(k as f64 / self.agents.max(1) as f64);
            let agent = Agent {
                node: self.first + k,
                target: self.target.clone(),
                size: self.size,
                pace: self.pace,
                tally: Arc::clone(tally),
                stop: stop.clone(),
            };
            set.spawn(async move {
                tokio::time::sleep_until(start + delay).await;
                if agent.run().await.is_err() {
                    agent
                        .tally
                        .failed
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
        set
    }
}

struct Agent {
    node: usize,
    target: String,
    size: usize,
    pace: Pace,
    tally: Arc<Tally>,
    stop: watch::Receiver<bool>,
}

impl Agent {
    async fn run(&self) -> anyhow::Result<()> {
        let channel = Endpoint::from_shared(self.target.clone())?
            .connect_timeout(Duration::from_secs(10))
            .connect()
            .await?;
        let mut client = ReportingClient::new(channel);
        let (tx, rx) = mpsc::channel::<NodeReport>(8);
        let template = report::report(self.node, 0, self.size);
        let mut sender = Sender {
            tx,
            template,
            seq: 0,
            in_flight: VecDeque::new(),
            tally: &self.tally,
        };
        // The first report goes before the call returns, as an agent's does.
        sender.send().await?;
        let mut acks = client.report(ReceiverStream::new(rx)).await?.into_inner();
        let mut stop = self.stop.clone();
        match self.pace {
            Pace::Every(interval) => {
                let phase = interval.mul_f64((self.node % 997) as f64 / 997.0);
                let mut ticker = tokio::time::interval_at(Instant::now() + phase, interval);
                ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        () = stopped(&mut stop) => return Ok(()),
                        _ = ticker.tick() => sender.send().await?,
                        ack = acks.message() => match ack? {
                            Some(ack) => sender.acked(ack.seq),
                            None => anyhow::bail!("the server ended the stream"),
                        },
                    }
                }
            }
            Pace::Saturate(depth) => {
                for _ in 1..depth {
                    sender.send().await?;
                }
                loop {
                    tokio::select! {
                        () = stopped(&mut stop) => return Ok(()),
                        ack = acks.message() => match ack? {
                            Some(ack) => {
                                sender.acked(ack.seq);
                                sender.send().await?;
                            }
                            None => anyhow::bail!("the server ended the stream"),
                        },
                    }
                }
            }
        }
    }
}

/// One agent's outgoing side: its report, sequence and what awaits an ack.
struct Sender<'a> {
    tx: mpsc::Sender<NodeReport>,
    template: NodeReport,
    seq: u64,
    in_flight: VecDeque<(u64, Instant)>,
    tally: &'a Tally,
}

impl Sender<'_> {
    async fn send(&mut self) -> anyhow::Result<()> {
        self.seq += 1;
        let mut report = self.template.clone();
        report.seq = self.seq;
        report.sent_at_unix_ms = omswatch_common::telemetry::now_unix_ms();
        self.in_flight.push_back((self.seq, Instant::now()));
        self.tx.send(report).await?;
        self.tally
            .sent
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    fn acked(&mut self, seq: u64) {
        while let Some(&(sent, at)) = self.in_flight.front() {
            if sent > seq {
                break;
            }
            self.in_flight.pop_front();
            if sent == seq {
                self.tally.acked(at.elapsed());
            }
        }
    }
}

/// Completes once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
