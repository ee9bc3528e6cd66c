//! Which rules may speak on a partial snapshot ([`Scope`]). Rules stay as they
//! are; the diagnosis drops, before folding, the findings a snapshot of that
//! scope cannot justify.
//!
//! Every code is classed by what its rule concludes from ([`basis`], an
//! exhaustive match, so a new code must be classed here):
//! - about one node, from its report: found only where a report exists, so a
//!   snapshot without reports simply has none;
//! - from the regions' config.yaml files or the MetaDB: judged in every scope;
//! - from every server having an agent (a cm_nodes IP nobody reports, the count
//!   of reporting nodes): meaningless without the agents, so left out of
//!   [`Scope::NoAgents`] and [`Scope::OneNode`];
//! - from comparing all regions (exactly one default region): left out of
//!   [`Scope::OneNode`], which sees its own region only.

use crate::findings::Code;
use crate::snapshot::Scope;

/// What a rule concludes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Basis {
    /// One node's own report (with its region's config or the MetaDB's clock).
    Report,
    /// The regions' config.yaml files or the MetaDB's rows.
    ConfigOrMetaDb,
    /// Every OMS server running an agent: absent or counted reports.
    EveryServerReports,
    /// All regions of the deployment, compared.
    EveryRegion,
}

fn basis(code: Code) -> Basis {
    use Basis::*;
    use Code::*;
    match code {
        DuplicateOmsHostIp
        | OmsHostIpMissing
        | OmsHostIpMismatch
        | NodeNotInCmNodes
        | NodeSilent
        | ComponentNotRunning
        | SupervisorUnreachable
        | ConfigDrift
        | NodeConfigUnreadable
        | ClockSkew
        | LoadHigh
        | MemoryLow
        | DiskLow
        | OmsHealthFailed
        | DockerInitNotRun => Report,
        HostRowMissing
        | HostNotOnline
        | HeartbeatMissing
        | HeartbeatStale
        | MetadbUnreachable
        | ConfigInvalid
        | ConfigKeyMissing
        | CmNodesDuplicate
        | CmUrlInvalid
        | CmUrlPortMismatch
        | CmLocationInvalid
        | HostRowUnknown
        | HostRowDuplicate
        | HeartbeatFromUnknownIp => ConfigOrMetaDb,
        CmNodeNotReporting | CmNodesCountMismatch => EveryServerReports,
        DefaultRegionCount | HeartbeatDbShared => EveryRegion,
    }
}

impl Scope {
    /// Whether a finding of `code` may be reported from a snapshot of this scope.
    pub fn judges(self, code: Code) -> bool {
        match (self, basis(code)) {
            (Scope::Cluster, _) => true,
            (_, Basis::EveryServerReports) => false,
            (Scope::OneNode, Basis::EveryRegion) => false,
            _ => true,
        }
    }

    /// The codes this scope leaves out, in catalogue order.
    pub fn left_out(self) -> impl Iterator<Item = Code> {
        Code::ALL.iter().copied().filter(move |c| !self.judges(*c))
    }
}
