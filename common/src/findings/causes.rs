//! The causal links between finding codes: which finding explains which, and
//! the fact that ties one finding to the other (same node, same IP, the node's
//! `hostname -i`, its OMS_HOST_IP...).
//!
//! One mistake in OMS shows as several findings: a container started with
//! another server's OMS_HOST_IP is DUPLICATE_OMS_HOST_IP, OMS_HOST_IP_MISMATCH,
//! CM_NODE_NOT_REPORTING and, on a real OMS, HEARTBEAT_MISSING for the IP left
//! without a container. This table says so once; the diagnosis evaluates it after
//! the rules (`crate::diagnose`) and folds each symptom under its root cause, so
//! every view can lead with the one thing to fix. `omswatch explain` and
//! docs/FINDINGS.md read the same table through [`explains`], [`explained_by`]
//! and [`markdown`].

use super::Code;
use Code::*;

/// How sure a link is; a probable link says "probably" in the symptom's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certainty {
    /// The cause makes the symptom by construction (the rules see the same fact).
    Sure,
    /// The usual explanation, not proven by what omswatch sees.
    Probable,
}

impl Certainty {
    /// `sure` or `probable`, as docs/FINDINGS.md and `omswatch explain` print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Certainty::Sure => "sure",
            Certainty::Probable => "probable",
        }
    }
}

/// The fact that ties a cause finding to a symptom finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tie {
    /// The symptom is about one of the cause's nodes.
    SameNode,
    /// The symptom's `ip` is the cause's `ip`.
    SameIp,
    /// The symptom's `ip` is the OMS_HOST_IP of the cause's node.
    NodeOmsHostIp,
    /// The symptom's `ip` is one that `hostname -i` prints on one of the
    /// cause's nodes, other than that node's OMS_HOST_IP (for a duplicated IP:
    /// the addresses its containers left without a row).
    NodeHostnameIp,
    /// The symptom is about the cause's node, and that node's `hostname -i`
    /// is in cm_nodes: OMS_HOST_IP is what is wrong, not cm_nodes.
    SameNodeHostnameListed,
    /// cm_nodes lists more servers than report, and there are at least as many
    /// cause findings as missing servers.
    UnreportedCount,
    /// More nodes report than cm_nodes lists, and there are at least as many
    /// cause findings as extra nodes.
    UnlistedCount,
    /// A config.yaml could not be read, so its region's cm_nodes are unknown;
    /// the symptom's IP or node is in no region that could be read (a node
    /// that names a readable region is not; a count only when nodes are extra).
    UnreadRegion,
}

impl Tie {
    /// The tie in words, for `omswatch explain` and docs/FINDINGS.md.
    pub fn describe(self) -> &'static str {
        match self {
            Tie::SameNode => "on the same node",
            Tie::SameIp => "of the same IP",
            Tie::NodeOmsHostIp => "of the node's OMS_HOST_IP",
            Tie::NodeHostnameIp => {
                "of an IP the node's `hostname -i` prints, other than its OMS_HOST_IP"
            }
            Tie::SameNodeHostnameListed => {
                "on the same node, when its `hostname -i` is in cm_nodes"
            }
            Tie::UnreportedCount => {
                "when cm_nodes lists more servers than report, and these findings are at least as many as the gap"
            }
            Tie::UnlistedCount => {
                "when more nodes report than cm_nodes lists, and these findings are at least as many as the gap"
            }
            Tie::UnreadRegion => {
                "about an IP or a node in no region whose config.yaml could be read (not a node that names a readable region; a count only when nodes are extra)"
            }
        }
    }
}

/// One causal link: findings of `cause` explain findings of each of `symptoms`
/// that `tie` connects to them.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    /// The code that explains.
    pub cause: Code,
    /// For COMPONENT_NOT_RUNNING: the programs for which the link holds
    /// (compared with the `program` evidence); empty: any cause finding.
    pub programs: &'static [&'static str],
    /// The codes it explains.
    pub symptoms: &'static [Code],
    /// What connects one cause finding to one symptom finding.
    pub tie: Tie,
    /// Whether the symptom's message says "probably".
    pub certainty: Certainty,
}

/// The symptoms an IP shows when no container reports it (the runbook's steps 4 and 5).
const IP_SYMPTOMS: &[Code] = &[
    HeartbeatMissing,
    HeartbeatStale,
    HostRowMissing,
    HostNotOnline,
];

/// The symptoms of an IP whose supervisor does not write heartbeats.
const HEARTBEAT_SYMPTOMS: &[Code] = &[HeartbeatStale, HeartbeatMissing, HostNotOnline];

const fn link(cause: Code, symptoms: &'static [Code], tie: Tie, certainty: Certainty) -> Link {
    Link {
        cause,
        programs: &[],
        symptoms,
        tie,
        certainty,
    }
}

const fn program(programs: &'static [&'static str], symptoms: &'static [Code], tie: Tie) -> Link {
    Link {
        cause: ComponentNotRunning,
        programs,
        symptoms,
        tie,
        certainty: Certainty::Probable,
    }
}

use Certainty::{Probable, Sure};

/// Every causal link. Order matters only when a symptom has several causes:
/// the first link (then the first cause finding, most severe first) is its
/// direct cause.
pub const LINKS: &[Link] = &[
    // Runbook step 3: a container started with the wrong OMS_HOST_IP.
    link(
        DuplicateOmsHostIp,
        &[OmsHostIpMismatch],
        Tie::SameNode,
        Sure,
    ),
    link(
        DuplicateOmsHostIp,
        &[CmNodeNotReporting],
        Tie::NodeHostnameIp,
        Sure,
    ),
    link(
        DuplicateOmsHostIp,
        IP_SYMPTOMS,
        Tie::NodeHostnameIp,
        Probable,
    ),
    link(
        OmsHostIpMismatch,
        &[NodeNotInCmNodes],
        Tie::SameNodeHostnameListed,
        Sure,
    ),
    link(
        OmsHostIpMismatch,
        &[CmNodeNotReporting],
        Tie::NodeHostnameIp,
        Sure,
    ),
    link(
        OmsHostIpMismatch,
        IP_SYMPTOMS,
        Tie::NodeHostnameIp,
        Probable,
    ),
    link(
        OmsHostIpMissing,
        &[CmNodeNotReporting],
        Tie::NodeHostnameIp,
        Sure,
    ),
    link(OmsHostIpMissing, IP_SYMPTOMS, Tie::NodeHostnameIp, Probable),
    // A node gone: its IP is no longer reported, and its rows age.
    link(NodeSilent, &[CmNodeNotReporting], Tie::NodeOmsHostIp, Sure),
    link(NodeSilent, IP_SYMPTOMS, Tie::NodeOmsHostIp, Probable),
    // Runbook step 2: supervisord or a component down on the node.
    link(
        SupervisorUnreachable,
        HEARTBEAT_SYMPTOMS,
        Tie::NodeOmsHostIp,
        Probable,
    ),
    link(
        SupervisorUnreachable,
        &[OmsHealthFailed],
        Tie::SameNode,
        Probable,
    ),
    program(
        &["oms_drc_supervisor"],
        HEARTBEAT_SYMPTOMS,
        Tie::NodeOmsHostIp,
    ),
    program(&["nginx", "oms_console"], &[OmsHealthFailed], Tie::SameNode),
    // The deployment itself.
    link(
        DockerInitNotRun,
        &[HostRowMissing],
        Tie::NodeOmsHostIp,
        Probable,
    ),
    // OMS marks a host offline when its heartbeat stops.
    link(HeartbeatStale, &[HostNotOnline], Tie::SameIp, Probable),
    link(HeartbeatMissing, &[HostNotOnline], Tie::SameIp, Probable),
    // cm_nodes against the nodes that report.
    link(
        NodeNotInCmNodes,
        &[HostRowUnknown, HeartbeatFromUnknownIp],
        Tie::NodeOmsHostIp,
        Sure,
    ),
    link(
        NodeNotInCmNodes,
        &[CmNodesCountMismatch],
        Tie::UnlistedCount,
        Sure,
    ),
    link(
        CmNodeNotReporting,
        &[CmNodesCountMismatch],
        Tie::UnreportedCount,
        Sure,
    ),
    // A region whose config.yaml cannot be read: its cm_nodes are unknown.
    link(
        ConfigInvalid,
        &[
            NodeNotInCmNodes,
            HostRowUnknown,
            HeartbeatFromUnknownIp,
            CmNodesCountMismatch,
        ],
        Tie::UnreadRegion,
        Probable,
    ),
];

/// The links whose cause is `code`: what a finding of `code` can explain.
pub fn explains(code: Code) -> impl Iterator<Item = &'static Link> {
    LINKS.iter().filter(move |l| l.cause == code)
}

/// The links with `code` among their symptoms: what can explain a finding of `code`.
pub fn explained_by(code: Code) -> impl Iterator<Item = &'static Link> {
    LINKS.iter().filter(move |l| l.symptoms.contains(&code))
}

/// The cause as written in docs: its code, and its programs when restricted.
pub fn cause_label(link: &Link) -> String {
    if link.programs.is_empty() {
        format!("`{}`", link.cause)
    } else {
        format!("`{}` of {}", link.cause, link.programs.join(", "))
    }
}

/// The links as the Markdown table of docs/FINDINGS.md.
pub fn markdown() -> String {
    let mut out = String::from(
        "### What explains what\n\n\
         | Cause | Explains | When the symptom is | Certainty |\n|---|---|---|---|\n",
    );
    for link in LINKS {
        let symptoms: Vec<String> = link.symptoms.iter().map(|c| format!("`{c}`")).collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            cause_label(link),
            symptoms.join(", "),
            link.tie.describe().replace('|', "\\|"),
            link.certainty.as_str(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_code_explains_itself() {
        for link in LINKS {
            assert!(!link.symptoms.contains(&link.cause), "{link:?}");
            assert!(!link.symptoms.is_empty(), "{link:?}");
        }
    }

    #[test]
    fn only_component_links_name_programs() {
        for link in LINKS.iter().filter(|l| !l.programs.is_empty()) {
            assert_eq!(link.cause, ComponentNotRunning, "{link:?}");
        }
    }

    #[test]
    fn explains_and_explained_by_are_the_two_directions() {
        let stale: Vec<Code> = explained_by(HeartbeatStale).map(|l| l.cause).collect();
        for cause in [
            DuplicateOmsHostIp,
            NodeSilent,
            ComponentNotRunning,
            SupervisorUnreachable,
        ] {
            assert!(stale.contains(&cause), "{cause} missing in {stale:?}");
            assert!(explains(cause).any(|l| l.symptoms.contains(&HeartbeatStale)));
        }
        assert_eq!(explains(LoadHigh).count(), 0);
        assert_eq!(explained_by(DuplicateOmsHostIp).count(), 0);
    }

    #[test]
    fn markdown_names_every_link() {
        let md = markdown();
        assert_eq!(
            md.lines().filter(|l| l.starts_with("| `")).count(),
            LINKS.len()
        );
        assert!(md.contains("| `COMPONENT_NOT_RUNNING` of oms_drc_supervisor | `HEARTBEAT_STALE`"));
    }
}
