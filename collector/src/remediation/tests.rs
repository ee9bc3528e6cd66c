use super::ending::not_running_why;
use super::*;

fn request(node: &str, program: &str) -> RestartRequest {
    RestartRequest {
        node: node.into(),
        program: program.into(),
        reason: String::new(),
        wait: DEFAULT_WAIT,
    }
}

#[test]
fn requests_are_checked_before_anything_else() {
    assert!(check(&request("oms-node-3", "oms_console")).is_ok());
    let cases = [
        (request("oms node", "oms_console"), "not a node name"),
        (request("oms-node-3", ""), "not a supervisord program name"),
        (
            request("oms-node-3", "a;rm -rf"),
            "not a supervisord program name",
        ),
        (
            RestartRequest {
                reason: "line\nbreak".into(),
                ..request("n", "p")
            },
            "printable",
        ),
        (
            RestartRequest {
                wait: MAX_WAIT + Duration::from_secs(1),
                ..request("n", "p")
            },
            "the wait must be",
        ),
    ];
    for (request, expected) in cases {
        let refusal = check(&request).expect_err(expected);
        assert_eq!(refusal.kind, RefusalKind::Invalid);
        assert!(!refusal.audited, "junk is not recorded");
        assert!(refusal.message.contains(expected), "{}", refusal.message);
    }
}

#[test]
fn a_program_that_is_not_running_says_why() {
    let fatal = Program {
        state: "FATAL".into(),
        spawn_error: "Exited too quickly (process log may have details)".into(),
        ..Default::default()
    };
    assert_eq!(
        not_running_why(Some(&fatal), "SPAWN_ERROR: oms_console"),
        "FATAL (Exited too quickly (process log may have details)); the agent said: SPAWN_ERROR: oms_console"
    );
    let backoff = Program {
        state: "BACKOFF".into(),
        description: "Exited too quickly".into(),
        ..Default::default()
    };
    assert_eq!(
        not_running_why(Some(&backoff), ""),
        "BACKOFF (Exited too quickly)"
    );
    assert_eq!(not_running_why(None, ""), "not in the node's report");
}

#[test]
fn a_restart_is_offered_only_where_every_switch_is_on() {
    use omswatch_common::proto::v1::RestartPolicy;
    let report = |allowed: bool, programs: &[&str]| NodeReport {
        restart_policy: Some(RestartPolicy {
            allowed,
            programs: programs.iter().map(|p| p.to_string()).collect(),
        }),
        ..Default::default()
    };
    let on = report(true, &["oms_console", "nginx"]);
    assert!(offered(true, &on, "oms_console"));
    assert!(
        !offered(false, &on, "oms_console"),
        "the collector's switch"
    );
    assert!(
        !offered(true, &report(false, &[]), "oms_console"),
        "the agent's switch"
    );
    assert!(
        !offered(true, &on, "oms_drc_cm"),
        "not in --restart-programs"
    );
    assert!(
        !offered(true, &NodeReport::default(), "oms_console"),
        "an older agent"
    );
    assert!(!offered(
        true,
        &report(true, &["omswatch_agent"]),
        "omswatch_agent"
    ));
}

#[test]
fn a_restart_not_offered_says_which_switch() {
    use omswatch_common::proto::v1::RestartPolicy;
    let report = |allowed: bool, programs: &[&str]| NodeReport {
        agent_version: "0.9.0".into(),
        restart_policy: Some(RestartPolicy {
            allowed,
            programs: programs.iter().map(|p| p.to_string()).collect(),
        }),
        ..Default::default()
    };
    let on = report(true, &["oms_console", "nginx"]);
    let why = |allow: bool, r: Option<&NodeReport>, program: &str| {
        not_offered_because(allow, r, program).unwrap_or_default()
    };
    assert_eq!(why(true, Some(&on), "oms_console"), "");
    assert_eq!(
        why(false, Some(&on), "oms_console"),
        "collector restarts off (--allow-restart)"
    );
    assert_eq!(
        why(true, Some(&report(false, &[])), "oms_console"),
        "agent restarts off (--allow-restart)"
    );
    assert_eq!(
        why(true, Some(&on), "oms_drc_cm"),
        "oms_drc_cm not in the agent's --restart-programs (oms_console,nginx)"
    );
    assert_eq!(
        why(true, None, "oms_console"),
        "no report from this node's agent"
    );
    assert!(why(true, Some(&NodeReport::default()), "oms_console").contains("older than restarts"));
}
