//! The probe against a real supervisord 4.x started for each test in a temporary directory.
//!
//! These tests fail (never skip) when supervisord is not installed: a probe only ever tested
//! against our idea of supervisord's answers would prove little.

#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use omswatch_common::proto::v1::{Program, SupervisorStatus};
use tempfile::TempDir;

use super::{SupervisorProbe, SupervisorSettings, ctl};

const SUPERVISORD: &str = "/usr/bin/supervisord";
const SUPERVISORCTL: &str = "/usr/bin/supervisorctl";

/// A supervisord child process, stopped (with its programs) when dropped.
pub(super) struct Supervisord {
    child: Child,
    dir: TempDir,
}

impl Supervisord {
    /// Starts supervisord with `server` (the listening sections, `@DIR@` standing for the
    /// temporary directory) and the three test programs, and waits until it accepts connections.
    pub(super) fn start(server: &str) -> Self {
        for binary in [SUPERVISORD, SUPERVISORCTL] {
            assert!(
                Path::new(binary).exists(),
                "{binary} not found: these tests need a real supervisord (apt-get install supervisor)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let server = server.replace("@DIR@", &d.to_string());
        let conf = format!(
            "{server}\n\
             [supervisord]\nnodaemon=true\nlogfile={d}/sd.log\npidfile={d}/sd.pid\nchildlogdir={d}\n\
             [rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
             [program:oms_console]\ncommand=sleep 100000\n\
             [program:nginx]\ncommand=sleep 100000\nautostart=false\n\
             [program:oms_drc_cm]\ncommand=/bin/false\nstartretries=0\n"
        );
        std::fs::write(dir.path().join("supervisord.conf"), conf).unwrap();
        let out = std::fs::File::create(dir.path().join("sd.out")).unwrap();
        let child = Command::new(SUPERVISORD)
            .arg("-c")
            .arg(dir.path().join("supervisord.conf"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let supervisord = Self { child, dir };
        supervisord.wait_listening();
        supervisord
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(super) fn conf(&self) -> PathBuf {
        self.path("supervisord.conf")
    }

    /// Waits for the socket file, or for the TCP port to accept, up to 15 s.
    fn wait_listening(&self) {
        let conf = std::fs::read_to_string(self.conf()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let up = match conf.split_once("port=") {
                Some((_, rest)) => {
                    let addr = rest.lines().next().unwrap();
                    std::net::TcpStream::connect(addr).is_ok()
                }
                None => self.path("s.sock").exists(),
            };
            if up {
                return;
            }
            let log = std::fs::read_to_string(self.path("sd.out")).unwrap_or_default();
            assert!(
                Instant::now() < deadline,
                "supervisord did not start listening in 15 s:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Supervisord {
    /// SIGTERM (so supervisord stops its programs), then SIGKILL after 10 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A unix socket next to the config file.
pub(super) const UNIX_SERVER: &str = "[unix_http_server]\nfile=%(here)s/s.sock ; next to the conf\n\
                           [supervisorctl]\nserverurl=unix://@DIR@/s.sock\n";

pub(super) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(super) fn settings(conf: Option<PathBuf>) -> SupervisorSettings {
    SupervisorSettings {
        conf,
        supervisorctl: SUPERVISORCTL.into(),
        timeout: Duration::from_secs(10),
        ..SupervisorSettings::default()
    }
}

fn find<'a>(programs: &'a [Program], name: &str) -> &'a Program {
    programs
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no {name} in {programs:#?}"))
}

/// Probes until oms_console is RUNNING and oms_drc_cm has given up (or 20 s pass).
pub(super) async fn settled(probe: &SupervisorProbe) -> SupervisorStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = probe.probe().await;
        let done = status.reachable
            && status
                .programs
                .iter()
                .any(|p| p.name == "oms_console" && p.state == "RUNNING")
            && status
                .programs
                .iter()
                .any(|p| p.name == "oms_drc_cm" && p.state == "FATAL");
        if done || Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn assert_programs(programs: &[Program]) {
    assert_eq!(programs.len(), 3, "{programs:#?}");
    let console = find(programs, "oms_console");
    assert_eq!(
        (
            console.state.as_str(),
            console.state_code,
            console.group.as_str()
        ),
        ("RUNNING", 20, "oms_console")
    );
    assert!(console.pid > 0 && console.start_unix > 0, "{console:?}");
    assert!(
        console
            .description
            .starts_with(&format!("pid {}, uptime ", console.pid)),
        "{console:?}"
    );
    let nginx = find(programs, "nginx");
    assert_eq!(
        (nginx.state.as_str(), nginx.state_code, nginx.pid),
        ("STOPPED", 0, 0)
    );
    assert_eq!(nginx.description, "Not started");
    let cm = find(programs, "oms_drc_cm");
    assert!(
        ["FATAL", "BACKOFF", "EXITED"].contains(&cm.state.as_str()),
        "{cm:?}"
    );
    assert_eq!(cm.pid, 0);
}

#[tokio::test]
async fn unix_socket_found_through_the_conf() {
    let sd = Supervisord::start(UNIX_SERVER);

    let status = settled(&SupervisorProbe::new(settings(Some(sd.conf())))).await;
    assert!(status.reachable, "{status:?}");
    assert_eq!(status.error, "");
    assert_eq!(
        status.source,
        format!("xmlrpc unix://{}", sd.path("s.sock").display())
    );
    assert_programs(&status.programs);
    assert_eq!(find(&status.programs, "oms_drc_cm").state, "FATAL");
    // autostart comes from the same file supervisord was started with.
    let conf = sd.conf().display().to_string();
    for (name, autostart) in [
        ("oms_console", true),
        ("nginx", false),
        ("oms_drc_cm", true),
    ] {
        let program = find(&status.programs, name);
        assert_eq!(
            (program.autostart, program.config_file.as_str()),
            (Some(autostart), conf.as_str()),
            "{name}"
        );
    }
    assert_eq!(find(&status.programs, "oms_drc_cm").state_code, 200);

    // The fallback reads the same table from supervisorctl's output.
    let args = ctl::args(Some(&sd.conf()), None, None);
    let programs = ctl::status(Path::new(SUPERVISORCTL), &args, Duration::from_secs(10))
        .await
        .unwrap();
    assert_programs(&programs);
    let (rpc, ctl) = (
        find(&status.programs, "oms_console"),
        find(&programs, "oms_console"),
    );
    assert_eq!(rpc.pid, ctl.pid);
    assert!(
        (rpc.start_unix - ctl.start_unix).abs() <= 2,
        "{rpc:?} vs {ctl:?}"
    );
}

#[tokio::test]
async fn inet_port_with_basic_auth() {
    let port = free_port();
    let sd = Supervisord::start(&format!(
        "[inet_http_server]\nport=127.0.0.1:{port}\nusername=u\npassword=p\n\
         [supervisorctl]\nserverurl=http://127.0.0.1:{port}\n"
    ));
    let status = settled(&SupervisorProbe::new(settings(Some(sd.conf())))).await;
    assert!(status.reachable, "{status:?}");
    assert_eq!(status.source, format!("xmlrpc http://127.0.0.1:{port}"));
    assert_programs(&status.programs);

    let url = format!("http://127.0.0.1:{port}");
    let explicit = SupervisorSettings {
        url: Some(url.clone()),
        username: Some("u".into()),
        password: Some("p".into()),
        ..settings(None)
    };
    let status = SupervisorProbe::new(explicit).probe().await;
    assert!(status.reachable, "{status:?}");

    let wrong = SupervisorSettings {
        password: Some("wrong-secret-pw".into()),
        ..settings(Some(sd.conf()))
    };
    let status = SupervisorProbe::new(wrong).probe().await;
    assert!(!status.reachable, "{status:?}");
    assert!(
        !status.error.contains("wrong-secret-pw"),
        "{}",
        status.error
    );
    assert!(status.error.contains(&format!("refused the credentials: user \"u\", username taken from {} [inet_http_server], password taken from the probe settings", sd.conf().display())), "{}", status.error);
    assert!(
        status
            .error
            .contains("supervisorctl failed (exit 1): Server requires authentication"),
        "{}",
        status.error
    );

    let anonymous = SupervisorSettings {
        url: Some(url),
        ..settings(None)
    };
    let status = SupervisorProbe::new(anonymous).probe().await;
    assert!(!status.reachable, "{status:?}");
    assert!(status.error.contains("none were sent"), "{}", status.error);
}

#[tokio::test]
async fn wrong_explicit_url_reports_both_failures() {
    let sd = Supervisord::start(UNIX_SERVER);
    let missing = sd.path("missing.sock");
    let wrong = SupervisorSettings {
        url: Some(format!("unix://{}", missing.display())),
        ..settings(Some(sd.conf()))
    };
    let status = SupervisorProbe::new(wrong).probe().await;
    assert!(!status.reachable, "{status:?}");
    let url = format!("unix://{}", missing.display());
    let expected_start =
        format!("cannot ask supervisord at {url}: XML-RPC: cannot talk to {url}: ");
    assert!(
        status.error.starts_with(&expected_start),
        "{}",
        status.error
    );
    assert!(
        status.error.contains("No such file or directory"),
        "{}",
        status.error
    );
    assert!(
        status.error.ends_with(&format!("; supervisorctl: supervisorctl could not reach supervisord (exit 4): {url} no such file")),
        "{}",
        status.error
    );
    assert_eq!(status.source, format!("xmlrpc {url}, then supervisorctl"));
}

#[tokio::test]
async fn missing_conf_reports_both_failures() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("supervisord.conf");
    let status = SupervisorProbe::new(settings(Some(conf.clone())))
        .probe()
        .await;
    assert!(!status.reachable, "{status:?}");
    let conf = conf.display();
    assert!(
        status.error.starts_with(&format!(
            "cannot ask supervisord at the address in {conf}: XML-RPC: cannot read {conf}: "
        )),
        "{}",
        status.error
    );
    assert!(
        status.error.contains(&format!(
            "supervisorctl: supervisorctl failed (exit 2): Error: could not find config file {conf}"
        )),
        "{}",
        status.error
    );
    assert_eq!(status.source, "supervisorctl");

    let no_binary = SupervisorSettings {
        supervisorctl: dir.path().join("no-supervisorctl"),
        ..settings(Some(dir.path().join("x.conf")))
    };
    let status = SupervisorProbe::new(no_binary).probe().await;
    assert!(
        status.error.contains("supervisorctl: cannot run "),
        "{}",
        status.error
    );
}
