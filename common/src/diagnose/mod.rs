//! The diagnosis: a pure function from a [`Snapshot`] to node states and findings.
//!
//! Each runbook step or topic is one module that appends findings (config.yaml:
//! `config`, `installer`, `cm_nodes`, `cm_url`, `drift`; the runbook's steps:
//! `liveness`, `identity`, `regions`, `metadb`, `metadb_rows`, `components`;
//! the node's own health: `health`, `resources`); `context` indexes the
//! snapshot once (live nodes, regions, who claims which IP) so rules stay short.
//! After the rules, the snapshot's [`crate::snapshot::Scope`] drops what a
//! partial snapshot cannot justify (`scope`: no CM_NODE_NOT_REPORTING without
//! agents), then `fold` gives each finding its id and folds symptoms under
//! their root cause, by the links of [`crate::findings::causes`].
//! Nothing here does I/O or reads a clock: the snapshot carries `now`.

mod cm_nodes;
mod cm_url;
mod components;
mod config;
mod context;
mod drift;
mod fold;
mod health;
mod identity;
mod installer;
mod liveness;
mod metadb;
mod metadb_rows;
mod regions;
mod resources;
mod scope;
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
    diagnose_with(snapshot, findings::causes::LINKS)
}

/// [`diagnose`] with another table of causal links (tests try cycles with it).
pub(crate) fn diagnose_with(snapshot: &Snapshot, links: &[findings::causes::Link]) -> Diagnosis {
    let ctx = Context::new(snapshot);
    let mut out = Vec::new();
    config::check(snapshot, &mut out);
    installer::check(&ctx, &mut out);
    cm_nodes::check(&ctx, &mut out);
    cm_url::check(&ctx, &mut out);
    drift::check(&ctx, &mut out);
    liveness::check(&ctx, &mut out);
    identity::check(&ctx, &mut out);
    regions::check(&ctx, &mut out);
    metadb::check(&ctx, &mut out);
    metadb_rows::check(&ctx, &mut out);
    components::check(&ctx, &mut out);
    health::check(&ctx, &mut out);
    resources::check(&ctx, &mut out);
    out.retain(|f| snapshot.scope.judges(f.code));
    findings::sort(&mut out);
    fold::fold(&ctx, &mut out, links);
    let nodes = views::node_views(&ctx, &out);
    Diagnosis {
        nodes,
        findings: out,
    }
}
