use super::*;
use crate::probe::supervisor::SupervisorSettings;

fn command(id: &str, program: &str) -> RestartCommand {
    RestartCommand {
        id: id.into(),
        program: program.into(),
        expires_at_unix_ms: omswatch_common::telemetry::now_unix_ms() + 30_000,
        ttl_ms: 30_000,
        ..Default::default()
    }
}

#[tokio::test]
async fn with_restarts_off_a_command_is_answered_refused_naming_the_switch() {
    let programs = vec!["oms_console".to_string()];
    let restarts =
        Restarts::from_flags(false, programs, SupervisorSettings::default()).expect("flags");
    let (tx, mut rx) = mpsc::channel(4);
    restarts.receive(command("c1", "oms_console"), tx);
    let answer = rx.recv().await.expect("an answer");
    assert_eq!(
        (answer.command_id.as_str(), answer.result.as_str()),
        ("c1", "refused")
    );
    assert!(
        answer.message.contains("--allow-restart"),
        "{}",
        answer.message
    );
}

#[tokio::test]
async fn a_command_seen_on_one_collectors_stream_is_a_replay_on_the_others() {
    // As main.rs does: one clone per collector's stream, sharing the memory of ids.
    let restarts =
        Restarts::from_flags(false, vec![], SupervisorSettings::default()).expect("flags");
    let (first, second) = (restarts.clone(), restarts);
    let (tx_a, mut rx_a) = mpsc::channel(4);
    let (tx_b, mut rx_b) = mpsc::channel(4);
    first.receive(command("c7", "oms_console"), tx_a);
    let answer = rx_a.recv().await.expect("an answer on stream A");
    assert!(answer.message.contains("--allow-restart"), "{answer:?}");
    second.receive(command("c7", "oms_console"), tx_b);
    let again = rx_b.recv().await.expect("an answer on stream B");
    assert_eq!(again.result, "refused", "{again:?}");
    assert!(again.message.contains("already received"), "{again:?}");
}

#[test]
fn the_agent_itself_may_not_be_listed() {
    let listed = vec![" nginx".to_string(), "omswatch_agent".to_string()];
    let err =
        Restarts::from_flags(true, listed, SupervisorSettings::default()).expect_err("refused");
    assert!(
        err.contains("omswatch_agent") && err.contains("never restarted"),
        "{err}"
    );
    let ok = Restarts::from_flags(
        true,
        vec![" nginx ".into(), String::new()],
        SupervisorSettings::default(),
    )
    .expect("trimmed");
    assert_eq!(ok.policy().programs, ["nginx"]);
    assert!(ok.policy().allow);
    let advertised = ok.advertised();
    assert!(advertised.allowed && advertised.programs == ["nginx"]);
    let off = Restarts::from_flags(false, vec!["nginx".into()], SupervisorSettings::default())
        .expect("off");
    assert!(!off.advertised().allowed && off.advertised().programs.is_empty());
}

/// A real supervisord in a temporary directory with one program, `watcher`.
struct Supervisord {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl Supervisord {
    fn start() -> Supervisord {
        const BIN: &str = "/usr/bin/supervisord";
        assert!(
            std::path::Path::new(BIN).exists(),
            "{BIN} not found: these tests need a real supervisord (apt-get install supervisor)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let conf = format!(
            "[unix_http_server]\nfile={d}/s.sock\n[supervisorctl]\nserverurl=unix://{d}/s.sock\n\
             [supervisord]\nnodaemon=true\nlogfile={d}/sd.log\npidfile={d}/sd.pid\nchildlogdir={d}\n\
             [rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
             [program:watcher]\ncommand=sleep 100000\nstartsecs=1\nstopwaitsecs=2\n"
        );
        std::fs::write(dir.path().join("supervisord.conf"), conf).expect("conf");
        let child = std::process::Command::new(BIN)
            .arg("-c")
            .arg(dir.path().join("supervisord.conf"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("supervisord");
        Supervisord { child, dir }
    }

    fn settings(&self) -> SupervisorSettings {
        SupervisorSettings {
            conf: Some(self.dir.path().join("supervisord.conf")),
            supervisorctl: "/usr/bin/supervisorctl".into(),
            timeout: Duration::from_secs(10),
            ..SupervisorSettings::default()
        }
    }

    /// `watcher` once RUNNING (within 20 s).
    async fn watcher(&self) -> omswatch_common::proto::v1::Program {
        let probe = SupervisorProbe::new(self.settings());
        for _ in 0..100 {
            if let Ok(p) = probe.find_program("watcher").await
                && p.state == "RUNNING"
            {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("watcher never RUNNING");
    }
}

impl Drop for Supervisord {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn watching(sd: &Supervisord, proc_root: std::path::PathBuf) -> Restarts {
    let policy = Policy {
        allow: true,
        programs: vec!["watcher".into()],
    };
    Restarts::new(policy, SupervisorProbe::new(sd.settings()), proc_root)
}

#[tokio::test]
async fn an_accepted_command_restarts_through_supervisord_and_answers_twice() {
    let sd = Supervisord::start();
    let before = sd.watcher().await;
    let restarts = watching(&sd, "/proc".into());
    let (tx, mut rx) = mpsc::channel(4);
    restarts.receive(command("c1", "watcher"), tx);
    let accepted = rx.recv().await.expect("accepted");
    assert_eq!(
        (accepted.command_id.as_str(), accepted.result.as_str()),
        ("c1", "accepted")
    );
    let done = rx.recv().await.expect("done");
    assert_eq!(done.result, "restarted", "{done:?}");
    assert!(done.via.starts_with("xmlrpc unix://"), "{done:?}");
    let after = sd.watcher().await;
    assert_ne!(after.pid, before.pid, "a new process");
}

#[tokio::test]
async fn the_agents_own_program_is_refused_by_its_pid_whatever_its_name() {
    let sd = Supervisord::start();
    let watcher = sd.watcher().await;
    // A /proc where this process's parent is the watcher: the agent run by supervisord
    // through a wrapper.
    let proc_root = tempfile::tempdir().expect("proc");
    let me = std::process::id();
    let stat = proc_root.path().join(me.to_string());
    std::fs::create_dir_all(&stat).expect("dir");
    let line = format!("{me} (omswatch-agent) S {} 1 1 0 -1 0", watcher.pid);
    std::fs::write(stat.join("stat"), line).expect("stat");
    let restarts = watching(&sd, proc_root.path().to_path_buf());
    let (tx, mut rx) = mpsc::channel(4);
    restarts.receive(command("c1", "watcher"), tx.clone());
    let answer = rx.recv().await.expect("an answer");
    assert_eq!(answer.result, "refused", "{answer:?}");
    assert!(
        answer.message.contains("is this agent itself"),
        "{answer:?}"
    );
    assert_eq!(sd.watcher().await.pid, watcher.pid, "untouched");
    // Refused before anything ran: the program's minute is not used up.
    restarts.receive(command("c2", "watcher"), tx);
    let again = rx.recv().await.expect("an answer");
    assert!(again.message.contains("is this agent itself"), "{again:?}");
}
