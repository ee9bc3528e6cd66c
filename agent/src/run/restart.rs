//! A restart's answer on its way back: on a report built just after the step it
//! answers, so the collector sees the program's new state with it, sent on the stream
//! that brought the command.

use std::time::Duration;

use omswatch_common::proto::v1::{NodeReport, RestartOutcome};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::fanout::{self, SharedReporter};
use super::{Ended, Sent};
use crate::report::Fingerprint;

/// Answers waiting to be sent, per stream; a restart answers at most twice.
pub(super) const QUEUED_ANSWERS: usize = 16;
/// How long an answer may wait for room on the stream: a stream that does not drain
/// for this long is about to be given up by the ack deadline anyway.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `outcome` on a fresh report.
pub(super) async fn send_answer(
    reporter: &SharedReporter,
    tx: &mpsc::Sender<NodeReport>,
    sent: &mut Sent,
    outcome: RestartOutcome,
) -> Result<(), Ended> {
    let mut report = fanout::build(reporter).await;
    let command = outcome.command_id.clone();
    report.restart = Some(outcome);
    // The answer's fault strings are supervisord's: within the limits like the rest.
    omswatch_common::limits::clip(&mut report);
    let print = Fingerprint::of(&report);
    let seq = report.seq;
    match tokio::time::timeout(SEND_TIMEOUT, tx.send(report)).await {
        Ok(Ok(())) => {
            sent.print = print;
            sent.at = Instant::now();
            sent.acks.sent(seq, sent.at);
            Ok(())
        }
        Ok(Err(_)) => Err(Ended::Lost("the stream to the collector closed".into())),
        Err(_) => {
            tracing::warn!(%command, "the restart's answer could not be sent: the stream does not drain");
            Ok(())
        }
    }
}
