//! What the diagnosis returns: findings with a stable code from the one catalogue.
//!
//! Every view (table, JSON, gRPC, `omswatch explain`) takes code text, severity and
//! remedy from [`catalogue`]; nothing restates them. [`causes`] says which
//! codes explain which; [`id`] names each finding stably across ticks;
//! [`problems`] groups a status's findings under their root causes, the one to
//! fix first leading.

pub mod catalogue;
pub mod causes;
pub mod id;
pub mod problems;

pub use catalogue::{Code, Entry, NodeImpact, Severity};

use std::collections::BTreeMap;

/// One diagnosed problem, with the facts that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable code; its catalogue entry gives severity and remedy.
    pub code: Code,
    /// Nodes concerned, sorted; empty for cluster-wide findings.
    pub nodes: Vec<String>,
    /// What is wrong, with the values seen.
    pub message: String,
    /// Facts behind the finding: file, key, line, ip, values seen.
    pub evidence: BTreeMap<String, String>,
    /// Stable name of the problem (see [`id`]); set by the diagnosis, empty before.
    pub id: String,
    /// The id of the root cause this finding is folded under; `None` for a root.
    pub caused_by: Option<String>,
    /// For a root: the ids of every finding folded under it, in output order.
    /// Empty for a symptom (chains fold to the root).
    pub explains: Vec<String>,
}

impl Finding {
    /// A finding of `code` with its message; nodes and evidence are added with the builders.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            nodes: Vec::new(),
            message: message.into(),
            evidence: BTreeMap::new(),
            id: String::new(),
            caused_by: None,
            explains: Vec::new(),
        }
    }

    /// A finding about one node: names it and records it as `node` evidence
    /// (the placeholder most remedies use).
    pub fn on_node(code: Code, node: &str, message: impl Into<String>) -> Self {
        Self::new(code, message).nodes([node]).with("node", node)
    }

    /// Names the nodes concerned (sorted and de-duplicated, so output is stable).
    pub fn nodes<I, S>(mut self, nodes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.nodes.extend(nodes.into_iter().map(Into::into));
        self.nodes.sort();
        self.nodes.dedup();
        self
    }

    /// Adds one fact of evidence.
    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.evidence.insert(key.to_string(), value.to_string());
        self
    }

    /// The catalogue's severity for this finding.
    pub fn severity(&self) -> Severity {
        self.code.entry().severity
    }

    /// The catalogue's remedy with `{key}` placeholders filled from the evidence.
    pub fn remedy(&self) -> String {
        fill(self.code.entry().remedy, &self.evidence)
    }
}

/// Replaces every `{key}` in `template` by `evidence[key]` (unknown keys stay as
/// written, so a gap shows), and every `{?key}` by `evidence[key]` or nothing.
fn fill(template: &str, evidence: &BTreeMap<String, String>) -> String {
    let mut out = template.to_string();
    for (key, value) in evidence {
        out = out
            .replace(&format!("{{{key}}}"), value)
            .replace(&format!("{{?{key}}}"), value);
    }
    while let Some(start) = out.find("{?") {
        match out[start..].find('}') {
            Some(len) => out.replace_range(start..=start + len, ""),
            None => break,
        }
    }
    out
}

/// Sorts findings most severe first, then by code and nodes, so every view agrees.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity()
            .cmp(&a.severity())
            .then_with(|| a.code.as_str().cmp(b.code.as_str()))
            .then_with(|| a.nodes.cmp(&b.nodes))
            .then_with(|| a.message.cmp(&b.message))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remedy_fills_placeholders_from_evidence() {
        let f = Finding::new(Code::ComponentNotRunning, "x")
            .with("program", "oms_console")
            .with("node", "n1");
        assert!(
            f.remedy().contains("supervisorctl restart oms_console"),
            "{}",
            f.remedy()
        );
    }

    #[test]
    fn optional_placeholders_vanish_when_absent() {
        let mut evidence = BTreeMap::new();
        evidence.insert("a".to_string(), "1".to_string());
        assert_eq!(fill("x{a}{?b}y{?a}", &evidence), "x1y1");
        assert_eq!(fill("{b} {?", &evidence), "{b} {?");
    }

    #[test]
    fn sort_puts_critical_first() {
        let mut v = vec![
            Finding::new(Code::CmNodeNotReporting, "w"),
            Finding::new(Code::NodeSilent, "c"),
        ];
        sort(&mut v);
        assert_eq!(v[0].code, Code::NodeSilent);
    }
}
