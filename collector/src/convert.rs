//! Domain → wire, the collector's part: the status of `omswatch_common::wire` plus
//! what only the collector knows (since when each finding is active, from the
//! timeline; how its store is), and timeline events.

use omswatch_common::diagnose::Diagnosis;
use omswatch_common::findings::Finding;
use omswatch_common::proto::v1 as pb;

use crate::store::events::Event;

/// The wire form of a diagnosis made at `now_unix_ms`; `since` says since when
/// a finding has been active (from the timeline), `store` how the store is.
pub fn cluster_status(
    diagnosis: &Diagnosis,
    now_unix_ms: i64,
    since: &dyn Fn(&Finding) -> Option<i64>,
    store: pb::StoreStatus,
) -> pb::ClusterStatus {
    let mut status = omswatch_common::wire::cluster_status(diagnosis, now_unix_ms, crate::VERSION);
    // `wire` maps findings one to one, in order.
    for (wire, finding) in status.findings.iter_mut().zip(&diagnosis.findings) {
        wire.since_unix_ms = since(finding);
    }
    status.store = Some(store);
    status
}

/// The wire form of a timeline event.
pub fn event(e: Event) -> pb::TimelineEvent {
    pb::TimelineEvent {
        id: e.id,
        at_unix_ms: e.at_unix_ms,
        kind: e.kind,
        code: e.code,
        severity: e.severity,
        nodes: e.nodes,
        message: e.message,
        from: e.from,
        to: e.to,
        finding_id: e.finding_id,
        evidence: e.evidence.into_iter().collect(),
        region: e.region,
        collector: e.collector,
        raised_at_unix_ms: e.raised_at_unix_ms,
        actor: e.actor,
        program: e.program,
        result: e.result,
        duration_ms: e.duration_ms,
        reason: e.reason,
        request_id: e.request_id,
    }
}
