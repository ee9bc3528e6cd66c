//! Restarts against a real supervisord (the probe's live-test one: `oms_console` runs,
//! `nginx` is not started, `oms_drc_cm` cannot start), over XML-RPC and supervisorctl;
//! and what supervisorctl prints, read.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use omswatch_common::restart::AgentResult;

use super::super::live_tests::{Supervisord, UNIX_SERVER, free_port, settings, settled};
use super::*;

const BUDGET: Duration = Duration::from_secs(20);

async fn program(probe: &SupervisorProbe, name: &str) -> Program {
    probe.find_program(name).await.unwrap()
}

#[tokio::test]
async fn a_running_program_is_stopped_and_started_over_xmlrpc() {
    let sd = Supervisord::start(UNIX_SERVER);
    let probe = SupervisorProbe::new(settings(Some(sd.conf())));
    settled(&probe).await;
    let before = program(&probe, "oms_console").await;
    assert_eq!(before.state, "RUNNING");
    let done = probe.restart(&before, BUDGET).await;
    assert_eq!(done.result, AgentResult::Restarted, "{done:?}");
    assert!(done.via.starts_with("xmlrpc unix://"), "{done:?}");
    let after = program(&probe, "oms_console").await;
    assert_eq!(after.state, "RUNNING", "startProcess waited for it");
    assert_ne!(after.pid, before.pid, "a new process");

    let nginx = program(&probe, "nginx").await;
    assert_eq!(nginx.state, "STOPPED");
    let done = probe.restart(&nginx, BUDGET).await;
    assert_eq!(
        done.result,
        AgentResult::Restarted,
        "a stopped program is started: {done:?}"
    );
    assert_eq!(program(&probe, "nginx").await.state, "RUNNING");
}

#[tokio::test]
async fn a_program_that_cannot_start_quotes_supervisord() {
    let sd = Supervisord::start(UNIX_SERVER);
    let probe = SupervisorProbe::new(settings(Some(sd.conf())));
    settled(&probe).await;
    let cm = program(&probe, "oms_drc_cm").await;
    let done = probe.restart(&cm, BUDGET).await;
    assert_eq!(done.result, AgentResult::StartFailed, "{done:?}");
    assert!(
        done.message.contains("oms_drc_cm was stopped but")
            && (done.message.contains("SPAWN_ERROR")
                || done.message.contains("ABNORMAL_TERMINATION")),
        "{done:?}"
    );
    let missing = probe.find_program("no_such").await.unwrap_err();
    assert!(
        missing.contains("no program no_such") && missing.contains("oms_console"),
        "{missing}"
    );
}

#[tokio::test]
async fn basic_auth_is_sent_and_supervisorctl_restarts_too() {
    let port = free_port();
    let sd = Supervisord::start(&format!(
        "[inet_http_server]\nport=127.0.0.1:{port}\nusername=u\npassword=p\n\
         [supervisorctl]\nserverurl=http://127.0.0.1:{port}\nusername=u\npassword=p\n"
    ));
    let probe = SupervisorProbe::new(settings(Some(sd.conf())));
    settled(&probe).await;
    let before = program(&probe, "oms_console").await;
    let done = probe.restart(&before, BUDGET).await;
    assert_eq!(done.result, AgentResult::Restarted, "{done:?}");
    assert_eq!(done.via, format!("xmlrpc http://127.0.0.1:{port}"));
    let middle = program(&probe, "oms_console").await;
    assert_ne!(middle.pid, before.pid);

    let (conf, target) = probe.target().await;
    let done = probe
        .ctl_restart(conf, Some(&target.unwrap()), "oms_console", BUDGET)
        .await;
    assert_eq!(done.result, AgentResult::Restarted, "{done:?}");
    assert_eq!(done.via, "supervisorctl");
    let after = program(&probe, "oms_console").await;
    assert!(
        after.state == "RUNNING" && after.pid != middle.pid,
        "{after:?}"
    );
}

#[test]
fn supervisorctl_output_is_read() {
    let cases = [
        (
            "oms_console: stopped\noms_console: started\n",
            AgentResult::Restarted,
        ),
        (
            "oms_console: ERROR (not running)\noms_console: started\n",
            AgentResult::Restarted,
        ),
        (
            "oms_console: stopped\noms_console: ERROR (spawn error)\n",
            AgentResult::StartFailed,
        ),
        (
            "oms_console: ERROR (no such process)\noms_console: ERROR (no such process)\n",
            AgentResult::Failed,
        ),
        (
            "unix:///tmp/supervisor.sock no such file\n",
            AgentResult::Failed,
        ),
    ];
    for (stdout, expected) in cases {
        let done = ctl_outcome("oms_console", stdout, "");
        assert_eq!(done.result, expected, "{stdout}: {done:?}");
    }
    let failed = ctl_outcome("oms_console", "", "unix:///tmp/s.sock refused connection\n");
    assert!(failed.message.contains("refused connection"), "{failed:?}");
    let spawn = ctl_outcome(
        "oms_console",
        "oms_console: stopped\noms_console: ERROR (spawn error)\n",
        "",
    );
    assert!(spawn.message.contains("ERROR (spawn error)"), "{spawn:?}");
}
