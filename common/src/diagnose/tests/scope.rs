//! Partial snapshots: `omswatch check` (no agents) and `omswatch-agent --once`
//! (one node) report what their snapshot can justify, nothing more.

use super::*;

fn with_scope(mut s: Snapshot, scope: Scope) -> Snapshot {
    s.scope = scope;
    s
}

fn has(s: &Snapshot, code: Code) -> bool {
    codes(s).iter().any(|(c, _)| *c == code)
}

/// Two regions' files and MetaDB rows, no agent: sh's heartbeat stale, hz's
/// second host OFFLINE, a host row no cm_nodes lists, and both regions default.
fn no_agents() -> Snapshot {
    let mut s = two_regions::healthy();
    s.nodes.clear();
    let view = |s: &mut Snapshot, r: usize| s.regions[r].metadb.as_mut().expect("metadb").clone();
    let mut hz = view(&mut s, 0);
    if let Ok(hosts) = hz.hosts.as_mut() {
        hosts[1].host_status = Some("OFFLINE".into());
        hosts.push(host("10.0.9.9", "ONLINE"));
    }
    let mut sh = view(&mut s, 1);
    sh.hosts = hz.hosts.clone();
    if let Ok(beats) = sh.heartbeats.as_mut() {
        beats[0].age_s = Some(300);
    }
    s.regions[0].metadb = Some(hz);
    s.regions[1].metadb = Some(sh);
    let text = two_regions::sh().replace("cm_is_default: false", "cm_is_default: true");
    set_config(&mut s, 1, "sh.yaml", &text);
    s
}

#[test]
fn without_agents_no_server_is_blamed_for_having_none() {
    let cluster = no_agents();
    assert!(
        has(&cluster, Code::CmNodeNotReporting),
        "{:?}",
        codes(&cluster)
    );
    let check = with_scope(no_agents(), Scope::NoAgents);
    let got = codes(&check);
    for code in [Code::CmNodeNotReporting, Code::CmNodesCountMismatch] {
        assert!(!has(&check, code), "{code} in {got:?}");
    }
    for code in [
        Code::HeartbeatStale,
        Code::HostNotOnline,
        Code::HostRowUnknown,
        Code::DefaultRegionCount,
    ] {
        assert!(has(&check, code), "{code} missing in {got:?}");
    }
}

#[test]
fn each_scope_leaves_out_what_it_cannot_see() {
    assert_eq!(Scope::Cluster.left_out().count(), 0);
    let mut no_agents: Vec<Code> = Scope::NoAgents.left_out().collect();
    no_agents.sort();
    assert_eq!(
        no_agents,
        [Code::CmNodeNotReporting, Code::CmNodesCountMismatch]
    );
    let mut one_node: Vec<Code> = Scope::OneNode.left_out().collect();
    one_node.sort();
    let mut want = vec![
        Code::CmNodeNotReporting,
        Code::CmNodesCountMismatch,
        Code::DefaultRegionCount,
        Code::HeartbeatDbShared,
    ];
    want.sort();
    assert_eq!(one_node, want);
}

/// n2 alone, started with n1's IP, its oms_drc_supervisor stopped, in a
/// region that is not the default one; no MetaDB.
fn one_node() -> Snapshot {
    let mut n2 = node("n2", Some("10.0.0.11"), &["10.0.0.12"]);
    n2.received_at_unix_ms = NOW;
    if let Some(sup) = n2.report_mut().supervisor.as_mut() {
        sup.programs[3] = program("oms_drc_supervisor", "STOPPED");
    }
    let text =
        config(&["10.0.0.11", "10.0.0.12"]).replace("cm_is_default: true", "cm_is_default: false");
    Snapshot {
        now_unix_ms: NOW,
        nodes: vec![n2],
        regions: vec![RegionInput {
            config: oms_config::parse("config.yaml", &text),
            summary: None,
            metadb: None,
        }],
        thresholds: Thresholds::default(),
        scope: Scope::OneNode,
    }
}

#[test]
fn one_node_reports_its_own_mistakes_only() {
    let alone = one_node();
    let mut got: Vec<Code> = codes(&alone).into_iter().map(|(c, _)| c).collect();
    got.sort();
    assert_eq!(got, [Code::OmsHostIpMismatch, Code::ComponentNotRunning]);
    let restart = finding(&alone, Code::ComponentNotRunning).remedy();
    assert!(
        restart.contains("supervisorctl restart oms_drc_supervisor"),
        "{restart}"
    );
    let cluster = with_scope(one_node(), Scope::Cluster);
    assert!(has(&cluster, Code::CmNodeNotReporting) && has(&cluster, Code::DefaultRegionCount));
}
