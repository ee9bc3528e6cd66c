//! Each node's own config.yaml, as its agent summarised it: NODE_CONFIG_UNREADABLE
//! when the agent could not read it, CONFIG_DRIFT when a key that must agree
//! across the region differs from the collector's copy (or, without one, from
//! what most of the region's nodes have). Secrets are compared by digest only.

use std::collections::BTreeMap;

use super::context::{Context, NodeCtx};
use crate::findings::{Code, Finding};
use crate::ip;
use crate::proto::v1::NodeConfig;

/// Non-secret keys every node of a region must agree on.
const KEYS: &[&str] = &[
    "cm_nodes",
    "cm_url",
    "drc_cm_db",
    "drc_cm_heartbeat_db",
    "oms_meta_host",
    "oms_meta_port",
    "oms_meta_user",
];

/// Secret keys, compared by their digests and never shown.
const SECRET_KEYS: &[&str] = &["oms_meta_password"];

const ABSENT: &str = "(absent)";

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    unreadable(ctx, out);
    for (i, region) in ctx.regions.iter().enumerate() {
        let nodes: Vec<(&NodeCtx<'_>, &NodeConfig)> = ctx
            .live()
            .filter(|n| n.region == Some(i))
            .filter_map(|n| Some((n, n.report.config.as_ref()?)))
            .filter(|(_, c)| c.error.is_empty())
            .collect();
        let collector = region.summary.filter(|s| s.error.is_empty());
        let file = region.config.file.as_str();
        let keys = KEYS.iter().map(|k| (*k, false));
        for (key, secret) in keys.chain(SECRET_KEYS.iter().map(|k| (*k, true))) {
            let drift = Drift { key, secret, file };
            match collector {
                Some(copy) => {
                    let expected = Expected::Known {
                        value: value(copy, key, secret),
                        source: "the collector's copy",
                    };
                    drift.against(&expected, &nodes, out);
                }
                None => drift.against_majority(&nodes, out),
            }
        }
    }
}

fn unreadable(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for node in ctx.live() {
        let Some(config) = &node.report.config else {
            continue; // an older agent, or the probe is off
        };
        if config.error.is_empty() {
            continue;
        }
        out.push(
            Finding::on_node(
                Code::NodeConfigUnreadable,
                node.name,
                format!(
                    "{}: cannot read {}: {}",
                    node.name, config.path, config.error
                ),
            )
            .with("path", &config.path)
            .with("error", &config.error),
        );
    }
}

/// One key compared across one region.
struct Drift<'a> {
    key: &'a str,
    secret: bool,
    /// The collector's file of the region.
    file: &'a str,
}

/// What a node's value is compared with.
enum Expected {
    /// This value (`None`: the key is absent), held by `source`.
    Known {
        value: Option<String>,
        source: &'static str,
    },
    /// The nodes disagree and no value has a strict majority: every node is named.
    NoMajority,
}

impl Drift<'_> {
    /// One finding per node whose value differs from the expected one.
    fn against(
        &self,
        expected: &Expected,
        nodes: &[(&NodeCtx<'_>, &NodeConfig)],
        out: &mut Vec<Finding>,
    ) {
        let (expected_value, source) = match expected {
            Expected::Known {
                value: None,
                source,
            } => (ABSENT.to_string(), *source),
            Expected::Known {
                value: Some(_),
                source,
            } if self.secret => (format!("the same as {source}"), *source),
            Expected::Known {
                value: Some(v),
                source,
            } => (v.clone(), *source),
            Expected::NoMajority => (
                "one value on every node".to_string(),
                "no value has a majority",
            ),
        };
        for (node, config) in nodes {
            let seen = value(config, self.key, self.secret);
            if matches!(expected, Expected::Known { value, .. } if *value == seen) {
                continue;
            }
            let node_value = match &seen {
                None => ABSENT.to_string(),
                Some(_) if self.secret => "a value that differs".to_string(),
                Some(v) => v.clone(),
            };
            let line = config.lines.get(self.key);
            let place = match line {
                Some(l) => format!("{}:{l}", config.path),
                None => config.path.clone(),
            };
            let (name, key, file) = (node.name, self.key, self.file);
            let message = match (expected, self.secret) {
                (Expected::NoMajority, _) => format!(
                    "{name}: `{key}` is {node_value} in {place}; the region's nodes disagree and no value has a majority ({file})"
                ),
                (Expected::Known { value, .. }, true) => {
                    let how = match (&seen, value) {
                        (None, _) => "is absent, unlike in",
                        (_, None) => "is set, unlike in",
                        _ => "differs from",
                    };
                    format!("{name}: `{key}` in {place} {how} {source} ({file})")
                }
                (Expected::Known { .. }, false) => format!(
                    "{name}: `{key}` is {node_value} in {place} but {expected_value} in {source} ({file})"
                ),
            };
            let mut finding = Finding::on_node(Code::ConfigDrift, node.name, message)
                .with("key", self.key)
                .with("node_value", node_value)
                .with("expected_value", &expected_value)
                .with("file", self.file)
                .with("path", &config.path);
            if let Some(l) = line {
                finding = finding.with("line", l);
            }
            out.push(finding);
        }
    }

    /// Without the collector's copy: the value most nodes have is expected.
    fn against_majority(&self, nodes: &[(&NodeCtx<'_>, &NodeConfig)], out: &mut Vec<Finding>) {
        let mut counts: BTreeMap<Option<String>, usize> = BTreeMap::new();
        for (_, config) in nodes {
            *counts
                .entry(value(config, self.key, self.secret))
                .or_default() += 1;
        }
        if counts.len() < 2 {
            return;
        }
        let top = counts.values().copied().max().unwrap_or_default();
        let mut leaders = counts.into_iter().filter(|(_, n)| *n == top);
        let expected = match (leaders.next(), leaders.next()) {
            (Some((value, _)), None) => Expected::Known {
                value,
                source: "most nodes' copies",
            },
            _ => Expected::NoMajority,
        };
        self.against(&expected, nodes, out);
    }
}

/// A key's comparable value: cm_nodes as a sorted list, secrets as their digest.
fn value(config: &NodeConfig, key: &str, secret: bool) -> Option<String> {
    if secret {
        return config.secret_digests.get(key).cloned();
    }
    let raw = config.values.get(key)?;
    if key != "cm_nodes" {
        return Some(raw.trim().to_string());
    }
    let mut ips: Vec<String> = raw
        .split(',')
        .map(ip::normalize)
        .filter(|s| !s.is_empty())
        .collect();
    ips.sort();
    Some(ips.join(","))
}
