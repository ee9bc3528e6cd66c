//! The diagnosis: a pure function from a [`Snapshot`] to node states and findings.
//!
//! Each runbook step is one module that appends findings; [`context`] indexes the
//! snapshot once (live nodes, regions, who claims which IP) so rules stay short.
//! Nothing here does I/O or reads a clock: the snapshot carries `now`.

mod components;
mod config;
mod context;
mod identity;
mod liveness;
mod metadb;
mod regions;
mod views;

#[cfg(test)]
mod tests;

pub use views::{NodeState, NodeView};

use crate::findings::{self, Finding};
use crate::snapshot::Snapshot;
use context::Context;

/// The diagnosis of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// Every node that ever reported, by name.
    pub nodes: Vec<NodeView>,
    /// What is wrong, most severe first.
    pub findings: Vec<Finding>,
}

/// Diagnoses `snapshot`. Deterministic: the same snapshot gives the same output.
pub fn diagnose(snapshot: &Snapshot) -> Diagnosis {
    let ctx = Context::new(snapshot);
    let mut out = Vec::new();
    config::check(snapshot, &mut out);
    liveness::check(&ctx, &mut out);
    identity::check(&ctx, &mut out);
    regions::check(&ctx, &mut out);
    metadb::check(&ctx, &mut out);
    components::check(&ctx, &mut out);
    findings::sort(&mut out);
    let nodes = views::node_views(&ctx, &out);
    Diagnosis {
        nodes,
        findings: out,
    }
}
