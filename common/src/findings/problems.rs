//! A status's findings as problems: each root cause with the symptoms folded
//! under it, the problem to fix first leading. Every view that leads with the
//! cause (the `omswatch` table, a page) reads the wire findings through
//! [`problems`], so they agree on which problem comes first.
//!
//! It works on the wire form ([`crate::proto::v1::Finding`]): `caused_by` names
//! the root's id (the diagnosis folds chains to their first cause). A finding
//! whose `caused_by` names no finding of the status, or that has no id (an
//! older collector), stands as its own problem: nothing is hidden.

use std::cmp::Reverse;
use std::collections::HashMap;

use super::{Code, NodeImpact};
use crate::proto::v1::Finding;

/// One root cause and the findings folded under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem<'a> {
    /// The finding to fix.
    pub root: &'a Finding,
    /// Its symptoms, in the diagnosis's order.
    pub symptoms: Vec<&'a Finding>,
}

impl<'a> Problem<'a> {
    /// The root, then its symptoms.
    pub fn all(&self) -> impl Iterator<Item = &'a Finding> + '_ {
        std::iter::once(self.root).chain(self.symptoms.iter().copied())
    }

    /// The worst [`severity_rank`] among the root and its symptoms.
    pub fn severity_rank(&self) -> u8 {
        self.all()
            .map(|f| severity_rank(&f.severity))
            .max()
            .unwrap_or_default()
    }
}

/// `2 problems (1 critical, 1 warning), 3 more findings folded under them`; a
/// problem counts as its worst finding.
pub fn summary(problems: &[Problem<'_>]) -> String {
    let count = |rank: u8| {
        problems
            .iter()
            .filter(|p| p.severity_rank() == rank)
            .count()
    };
    let plural = if problems.len() == 1 { "" } else { "s" };
    let mut text = format!(
        "{} problem{plural} ({} critical, {} warning)",
        problems.len(),
        count(2),
        count(1)
    );
    match problems.iter().map(|p| p.symptoms.len()).sum::<usize>() {
        0 => {}
        1 => text.push_str(", 1 more finding folded under it"),
        n => text.push_str(&format!(", {n} more findings folded under them")),
    }
    text
}

/// A symptom's message as shown under its root: `(caused by ROOT)` goes
/// without saying there, `(probably caused by ROOT)` keeps its doubt; a direct
/// cause other than the root (a chain) stays named.
pub fn under_root(message: &str, root_id: &str) -> String {
    if root_id.is_empty() {
        return message.to_string();
    }
    if let Some(text) = message.strip_suffix(&format!(" (caused by {root_id})")) {
        return text.to_string();
    }
    if let Some(text) = message.strip_suffix(&format!(" (probably caused by {root_id})")) {
        return format!("{text} (probably caused by it)");
    }
    message.to_string()
}

/// `critical` 2, `warning` 1, anything else 0.
pub fn severity_rank(severity: &str) -> u8 {
    match severity {
        "critical" => 2,
        "warning" => 1,
        _ => 0,
    }
}

/// Down 1 (OMS shows the node Down), anything else 0.
fn impact_rank(code: &str) -> u8 {
    match Code::parse(code).map(|c| c.entry().impact) {
        Some(NodeImpact::Down) => 1,
        _ => 0,
    }
}

/// Groups `findings` (a status's, in the diagnosis's order) into problems and
/// ranks them: the worst severity among a root and its symptoms first, then a
/// problem that takes a node Down (OMS's own "server is Down"), then the one
/// that explains more findings, then the diagnosis's order.
pub fn problems(findings: &[Finding]) -> Vec<Problem<'_>> {
    let by_id: HashMap<&str, usize> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.id.is_empty())
        .map(|(i, f)| (f.id.as_str(), i))
        .collect();
    let mut symptoms: HashMap<usize, Vec<&Finding>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        match root_index(findings, &by_id, i) {
            r if r == i => roots.push(i),
            r => symptoms.entry(r).or_default().push(f),
        }
    }
    let mut problems: Vec<(usize, Problem<'_>)> = roots
        .into_iter()
        .map(|r| {
            let folded = symptoms.remove(&r).unwrap_or_default();
            let problem = Problem {
                root: &findings[r],
                symptoms: folded,
            };
            (r, problem)
        })
        .collect();
    problems.sort_by_key(|(r, p)| {
        let impact = p.all().map(|f| impact_rank(&f.code)).max();
        (
            Reverse(p.severity_rank()),
            Reverse(impact),
            Reverse(p.symptoms.len()),
            *r,
        )
    });
    problems.into_iter().map(|(_, p)| p).collect()
}

/// The root `i` is folded under: follows `caused_by` (the diagnosis names the
/// root directly; a chain from elsewhere is followed too) while it names
/// another finding, at most once per finding, so a cycle ends at `i` itself.
fn root_index(findings: &[Finding], by_id: &HashMap<&str, usize>, i: usize) -> usize {
    let mut at = i;
    for _ in 0..findings.len() {
        match by_id.get(findings[at].caused_by.as_str()) {
            Some(&next) if next != at && !findings[at].caused_by.is_empty() => {
                if next == i {
                    return i; // a cycle through i: i stands on its own.
                }
                at = next;
            }
            _ => return at,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(code: &str, severity: &str, id: &str, caused_by: &str) -> Finding {
        Finding {
            code: code.into(),
            severity: severity.into(),
            id: id.into(),
            caused_by: caused_by.into(),
            ..Default::default()
        }
    }

    fn codes<'a>(p: &[Problem<'a>]) -> Vec<&'a str> {
        p.iter().map(|r| r.root.code.as_str()).collect()
    }

    #[test]
    fn symptoms_fold_under_their_root_and_are_no_problem_of_their_own() {
        let findings = [
            f("DUPLICATE_OMS_HOST_IP", "critical", "D", ""),
            f("OMS_HOST_IP_MISMATCH", "critical", "M", "D"),
            f("CM_NODE_NOT_REPORTING", "warning", "C", "D"),
        ];
        let p = problems(&findings);
        assert_eq!(codes(&p), ["DUPLICATE_OMS_HOST_IP"]);
        let folded: Vec<&str> = p[0].symptoms.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(folded, ["M", "C"]);
    }

    #[test]
    fn a_problem_that_takes_a_node_down_comes_before_a_degraded_one() {
        let findings = [
            f("DUPLICATE_OMS_HOST_IP", "critical", "D", ""),
            f("COMPONENT_NOT_RUNNING", "critical", "R", ""),
            f("OMS_HOST_IP_MISMATCH", "critical", "M", "D"),
        ];
        assert_eq!(
            codes(&problems(&findings)),
            ["COMPONENT_NOT_RUNNING", "DUPLICATE_OMS_HOST_IP"]
        );
        // A Down symptom makes the duplicated IP's problem Down too; it explains more.
        let mut more = findings.to_vec();
        more.push(f("HEARTBEAT_MISSING", "critical", "H", "D"));
        assert_eq!(
            codes(&problems(&more)),
            ["DUPLICATE_OMS_HOST_IP", "COMPONENT_NOT_RUNNING"]
        );
    }

    #[test]
    fn severity_ranks_first_counting_the_symptoms() {
        let findings = [
            f("LOAD_HIGH", "warning", "L", ""),
            f("CM_NODE_NOT_REPORTING", "warning", "C", ""),
            f("HOST_NOT_ONLINE", "critical", "H", "C"),
            f("CONFIG_KEY_MISSING", "warning", "K", ""),
        ];
        assert_eq!(
            codes(&problems(&findings)),
            ["CM_NODE_NOT_REPORTING", "LOAD_HIGH", "CONFIG_KEY_MISSING"]
        );
    }

    #[test]
    fn summary_counts_problems_by_their_worst_finding() {
        let findings = [
            f("CM_NODE_NOT_REPORTING", "warning", "C", ""),
            f("HOST_NOT_ONLINE", "critical", "H", "C"),
            f("LOAD_HIGH", "warning", "L", ""),
        ];
        assert_eq!(
            summary(&problems(&findings)),
            "2 problems (1 critical, 1 warning), 1 more finding folded under it"
        );
        assert_eq!(summary(&[]), "0 problems (0 critical, 0 warning)");
    }

    #[test]
    fn under_its_root_a_message_drops_the_cause_but_keeps_the_doubt() {
        assert_eq!(under_root("x (caused by R/1)", "R/1"), "x");
        assert_eq!(
            under_root("x (probably caused by R/1)", "R/1"),
            "x (probably caused by it)"
        );
        assert_eq!(under_root("x (caused by M/2)", "R/1"), "x (caused by M/2)");
        assert_eq!(under_root("x (caused by R/1)", ""), "x (caused by R/1)");
    }

    #[test]
    fn unknown_causes_missing_ids_and_cycles_hide_nothing() {
        let findings = [
            f("HEARTBEAT_STALE", "critical", "S", "GONE"),
            f("HOST_NOT_ONLINE", "critical", "", ""),
            f("HOST_NOT_ONLINE", "critical", "A", "B"),
            f("HOST_ROW_MISSING", "critical", "B", "A"),
        ];
        let p = problems(&findings);
        let folded: usize = p.iter().map(|r| r.symptoms.len()).sum();
        assert_eq!((p.len(), folded), (findings.len(), 0));
        assert!(problems(&[]).is_empty());
    }
}
