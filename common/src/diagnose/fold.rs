//! Causes, after the rules: the links of [`crate::findings::causes`] evaluated
//! over the findings and the snapshot's indexes, each symptom folded under its
//! root cause.
//!
//! 1. Every finding gets its id ([`crate::findings::id`]).
//! 2. Edges: for each link and each finding of its cause code, the tie gives the
//!    nodes or IPs a symptom must be about; symptoms are looked up by (code, node)
//!    and (code, IP), so this is linear in findings, never all pairs.
//! 3. Anchoring, breadth-first from the findings nothing explains: a symptom hangs
//!    under its nearest anchored cause (ties: first link, then first cause in
//!    output order), so every chain ends at a root. Findings left over explain
//!    each other in a cycle: in each cycle the most severe finding (then catalogue
//!    order, then id) becomes a root and anchoring goes on. Deterministic, and a
//!    cycle never turns everything into a symptom.
//! 4. `caused_by` is the root's id (chains fold to the first cause), `explains`
//!    on a root lists every finding folded under it, and a symptom's message names
//!    its direct cause, with "probably" when the link is a guess.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use super::context::Context;
use crate::findings::causes::{Certainty, Link, Tie};
use crate::findings::{Code, Finding, id};

/// What a symptom is about: the key it is looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key<'a> {
    Node(&'a str),
    Ip(&'a str),
}

/// Cause → symptom edges, by cause.
struct Edges {
    /// Per finding: (link index, symptom index) of the symptoms it explains.
    out: Vec<Vec<(usize, usize)>>,
    /// Per finding: whether anything explains it.
    caused: Vec<bool>,
}

/// Ids, then causes: see the module documentation.
pub(super) fn fold(ctx: &Context<'_>, findings: &mut [Finding], links: &[Link]) {
    id::assign(findings);
    let edges = edges(ctx, findings, links);
    let (parent, order) = anchor(findings, &edges);
    let mut root: Vec<usize> = (0..findings.len()).collect();
    for &i in &order {
        if let Some((p, _)) = parent[i] {
            root[i] = root[p];
        }
    }
    for i in 0..findings.len() {
        let Some((p, link)) = parent[i] else { continue };
        let (root_id, cause_id) = (findings[root[i]].id.clone(), findings[p].id.clone());
        let guess = match links[link].certainty {
            Certainty::Sure => "",
            Certainty::Probable => "probably ",
        };
        let f = &mut findings[i];
        f.message = format!("{} ({guess}caused by {cause_id})", f.message);
        f.caused_by = Some(root_id);
        let symptom = f.id.clone();
        findings[root[i]].explains.push(symptom);
    }
}

fn edges(ctx: &Context<'_>, findings: &[Finding], links: &[Link]) -> Edges {
    let mut by_code: HashMap<Code, Vec<usize>> = HashMap::new();
    let mut by_key: HashMap<(Code, Key<'_>), Vec<usize>> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        by_code.entry(f.code).or_default().push(i);
        if let Some(node) = f.evidence.get("node") {
            by_key.entry((f.code, Key::Node(node))).or_default().push(i);
        }
        if let Some(ip) = f.evidence.get("ip") {
            by_key.entry((f.code, Key::Ip(ip))).or_default().push(i);
        }
    }
    let mut edges = Edges {
        out: vec![Vec::new(); findings.len()],
        caused: vec![false; findings.len()],
    };
    let mut add = |link: usize, cause: usize, symptom: usize| {
        if cause != symptom {
            edges.out[cause].push((link, symptom));
            edges.caused[symptom] = true;
        }
    };
    for (l, link) in links.iter().enumerate() {
        let causes: Vec<usize> = by_code
            .get(&link.cause)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&c| applies(link, &findings[c]))
            .collect();
        let Some(&first) = causes.first() else {
            continue;
        };
        if let Some(test) = whole(link.tie) {
            let symptoms = link.symptoms.iter().filter_map(|code| by_code.get(code));
            for &s in symptoms.flatten() {
                if test(ctx, &findings[s], causes.len()) {
                    add(l, first, s);
                }
            }
            continue;
        }
        for &c in &causes {
            let keys = keys(ctx, link.tie, &findings[c]);
            for &code in link.symptoms {
                for key in &keys {
                    for &s in by_key.get(&(code, *key)).into_iter().flatten() {
                        add(l, c, s);
                    }
                }
            }
        }
    }
    edges
}

/// Whether `cause` is one the link speaks of (its program, for components).
fn applies(link: &Link, cause: &Finding) -> bool {
    link.programs.is_empty()
        || cause
            .evidence
            .get("program")
            .is_some_and(|p| link.programs.contains(&p.as_str()))
}

/// The keys a symptom of a per-node or per-IP tie must have to be explained by `cause`.
fn keys<'a>(ctx: &'a Context<'_>, tie: Tie, cause: &'a Finding) -> Vec<Key<'a>> {
    let nodes = cause.nodes.iter().filter_map(|name| ctx.node(name));
    match tie {
        Tie::SameNode => cause.nodes.iter().map(|n| Key::Node(n)).collect(),
        Tie::SameIp => cause
            .evidence
            .get("ip")
            .map(|ip| Key::Ip(ip))
            .into_iter()
            .collect(),
        Tie::NodeOmsHostIp => nodes
            .filter_map(|n| n.oms_ip.as_deref())
            .map(Key::Ip)
            .collect(),
        Tie::NodeHostnameIp => nodes
            .flat_map(|n| {
                let own = n.oms_ip.as_deref();
                n.hostname_ips
                    .iter()
                    .map(String::as_str)
                    .filter(move |ip| Some(*ip) != own)
            })
            .map(Key::Ip)
            .collect(),
        Tie::SameNodeHostnameListed => nodes
            .filter(|n| n.hostname_ips.iter().any(|ip| ctx.in_any_cm_nodes(ip)))
            .map(|n| Key::Node(n.name))
            .collect(),
        Tie::UnreportedCount | Tie::UnlistedCount | Tie::UnreadRegion => Vec::new(),
    }
}

/// Whether `symptom` is explained, given how many cause findings there are.
type WholeTest = fn(&Context<'_>, &Finding, usize) -> bool;

/// The test of a tie that looks at the whole cluster rather than one node or IP;
/// such a link's symptoms hang under its first cause finding.
fn whole(tie: Tie) -> Option<WholeTest> {
    match tie {
        Tie::UnreportedCount => Some(unreported_count),
        Tie::UnlistedCount => Some(unlisted_count),
        Tie::UnreadRegion => Some(unread_region),
        _ => None,
    }
}

/// cm_nodes lists `g` servers more than report, and the causes are at least `g`.
fn unreported_count(_: &Context<'_>, symptom: &Finding, causes: usize) -> bool {
    gap(symptom).is_some_and(|g| g > 0 && g <= causes as i64)
}

/// `g` more nodes report than cm_nodes lists, and the causes are at least `g`.
fn unlisted_count(_: &Context<'_>, symptom: &Finding, causes: usize) -> bool {
    gap(symptom).is_some_and(|g| g < 0 && -g <= causes as i64)
}

/// The symptom may be about the unread region: a count of too many nodes, a node
/// that names no readable region, an IP that no readable region lists.
fn unread_region(ctx: &Context<'_>, symptom: &Finding, _: usize) -> bool {
    match (gap(symptom), symptom.evidence.get("node")) {
        (Some(g), _) => g < 0,
        (None, Some(name)) => ctx.node(name).is_none_or(|n| {
            let named = n.report.region.as_str();
            named.is_empty() || !ctx.regions.iter().any(|r| r.config.cm_region == named)
        }),
        (None, None) => true,
    }
}

/// cm_nodes count minus reporting count, for CM_NODES_COUNT_MISMATCH.
fn gap(f: &Finding) -> Option<i64> {
    let count = |key: &str| f.evidence.get(key)?.parse::<i64>().ok();
    Some(count("cm_nodes_count")? - count("reporting_count")?)
}

/// Each finding's parent (cause index, link index), and the order findings were
/// anchored in (a parent always before its symptoms).
type Anchors = (Vec<Option<(usize, usize)>>, Vec<usize>);

fn anchor(findings: &[Finding], edges: &Edges) -> Anchors {
    let n = findings.len();
    let mut parent = vec![None; n];
    let mut anchored = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut frontier: Vec<usize> = (0..n).filter(|&i| !edges.caused[i]).collect();
    while order.len() < n {
        if frontier.is_empty() {
            frontier = cycle_roots(findings, edges, &anchored);
        }
        for &i in &frontier {
            anchored[i] = true;
        }
        order.extend_from_slice(&frontier);
        // One breadth-first layer: each new symptom takes its best anchored cause.
        let mut best: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
        for &cause in &frontier {
            for &(link, s) in edges.out[cause].iter().filter(|(_, s)| !anchored[*s]) {
                let candidate = (link, cause);
                best.entry(s)
                    .and_modify(|b| *b = (*b).min(candidate))
                    .or_insert(candidate);
            }
        }
        frontier = best.keys().copied().collect();
        for (s, (link, cause)) in best {
            parent[s] = Some((cause, link));
        }
    }
    (parent, order)
}

/// Findings not yet anchored are explained only by each other. Following each
/// one's best cause ends in a cycle; each cycle's most severe finding (then
/// catalogue order, then id) becomes a root.
fn cycle_roots(findings: &[Finding], edges: &Edges, anchored: &[bool]) -> Vec<usize> {
    let n = findings.len();
    let mut best_cause: Vec<Option<(usize, usize)>> = vec![None; n];
    for cause in (0..n).filter(|&c| !anchored[c]) {
        for &(link, s) in &edges.out[cause] {
            let slot = &mut best_cause[s];
            *slot = Some(slot.map_or((link, cause), |b| b.min((link, cause))));
        }
    }
    let rank = |i: usize| {
        let f = &findings[i];
        (Reverse(f.severity()), f.code, f.id.as_str())
    };
    // 0: unvisited, 1: on the current walk, 2: done.
    let mut state = vec![0u8; n];
    let mut roots = Vec::new();
    for start in (0..n).filter(|&i| !anchored[i]) {
        let mut walk = Vec::new();
        let mut at = start;
        while state[at] == 0 {
            state[at] = 1;
            walk.push(at);
            match best_cause[at] {
                Some((_, cause)) if !anchored[cause] => at = cause,
                _ => break,
            }
        }
        if state[at] == 1 {
            // `at` is on this walk: the walk's tail from `at` is a new cycle.
            let from = walk.iter().position(|&i| i == at).unwrap_or(0);
            if let Some(&r) = walk[from..].iter().min_by_key(|&&i| rank(i)) {
                roots.push(r);
            }
        }
        for i in walk {
            state[i] = 2;
        }
    }
    roots.sort_unstable();
    roots
}
