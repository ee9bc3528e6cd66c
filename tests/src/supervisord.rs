//! A real `supervisord` laid out like an OMS container's: `supervisord.conf` with a unix socket
//! and `[include] files = conf.d/*.ini`, one `.ini` per program, sleepers standing in for
//! `nginx`, `oms_console`, `oms_drc_cm` and `oms_drc_supervisor`.
//!
//! Everything lives in a temp dir. supervisord is a [`TrackedChild`], so its programs carry its
//! tag and `Drop` finds them all; it lets supervisord reap its programs, since this VM's pid 1
//! may leave orphans as zombies. supervisord dies with the test process even when that is killed
//! (see `setpriv --pdeathsig` in the `process` module); its orphaned programs are swept by the
//! next tracked spawn ([`crate::tracked::sweep_orphans`]).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rustix::process::Signal;
use tempfile::TempDir;
use tokio::process::Command;

use crate::host_lock::{HostLock, owned_temp_dir, sweep_temp_dirs};
use crate::netns::NodeNet;
use crate::process::{dying_with_parent, run_checked, signal, tail};
use crate::{TrackedChild, require_program};

/// Prefix of the temp dirs.
pub const DIR_PREFIX: &str = "omswatch-supervisord-";
/// How long supervisord may take to answer and to settle its autostart programs.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// States an autostart program shows before it settles in RUNNING, FATAL or EXITED (STOPPED only
/// until supervisord's first pass starts it).
const UNSETTLED_STATES: [&str; 3] = ["STOPPED", "STARTING", "BACKOFF"];

/// One `[program:x]` section, written to `conf.d/<name>.ini`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSpec {
    /// Program name as `supervisorctl status` shows it.
    pub name: String,
    /// The `command=` line (split by supervisord like a shell would; `%` is escaped for you).
    pub command: String,
    /// `autostart=`: start with supervisord (false leaves it STOPPED, as after some upgrades).
    pub autostart: bool,
    /// `autorestart=`: restart when it exits.
    pub autorestart: bool,
    /// `startsecs=`: seconds it must stay up to count as RUNNING.
    pub startsecs: u32,
    /// `startretries=`: failed starts allowed before FATAL.
    pub startretries: u32,
    /// Extra raw `key=value` lines for the section (e.g. `user=ds`).
    pub extra: Vec<String>,
}

impl ProgramSpec {
    /// A program that runs `sleep 1000000`, standing in for a real OMS component.
    pub fn sleeper(name: &str) -> ProgramSpec {
        ProgramSpec {
            name: name.to_owned(),
            command: "sleep 1000000".to_owned(),
            autostart: true,
            autorestart: true,
            startsecs: 1,
            startretries: 3,
            extra: Vec::new(),
        }
    }

    /// A program that exits at once (`/bin/sh -c 'exit 1'`, no retries), so it ends FATAL.
    pub fn failing(name: &str) -> ProgramSpec {
        ProgramSpec {
            command: "/bin/sh -c 'exit 1'".to_owned(),
            autorestart: false,
            startretries: 0,
            ..ProgramSpec::sleeper(name)
        }
    }

    /// The `.ini` text of this program; its output goes to `<log_dir>/<name>.log`.
    fn ini(&self, log_dir: &Path) -> String {
        let mut ini = format!(
            "[program:{name}]\ncommand={command}\nautostart={autostart}\nautorestart={autorestart}\n\
             startsecs={startsecs}\nstartretries={startretries}\nstopwaitsecs=2\n\
             redirect_stderr=true\nstdout_logfile={log}\n",
            name = self.name,
            command = self.command.replace('%', "%%"),
            autostart = self.autostart,
            autorestart = self.autorestart,
            startsecs = self.startsecs,
            startretries = self.startretries,
            log = log_dir.join(format!("{}.log", self.name)).display(),
        );
        for line in &self.extra {
            ini.push_str(line);
            ini.push('\n');
        }
        ini
    }
}

/// The four OMS control components as sleepers: nginx, oms_console, oms_drc_cm, oms_drc_supervisor.
pub fn oms_programs() -> Vec<ProgramSpec> {
    ["nginx", "oms_console", "oms_drc_cm", "oms_drc_supervisor"]
        .map(ProgramSpec::sleeper)
        .to_vec()
}

/// A running supervisord; dropping it stops it and its programs and deletes its directory.
#[derive(Debug)]
pub struct Supervisord {
    /// Holds `supervisord.conf`, `conf.d/`, `supervisor.sock`, logs; removed on drop.
    dir: TempDir,
    /// The supervisord process (its programs carry its tag); `None` after [`Supervisord::kill`].
    process: Option<TrackedChild>,
    /// The `supervisorctl` program.
    supervisorctl: PathBuf,
    /// Marks `dir` as in use (see [`crate::host_lock::owned_temp_dir`]); released after it.
    _dir_lock: HostLock,
}

impl Supervisord {
    /// Writes the config, starts `supervisord -c <conf>` (inside `node` when given), and waits
    /// until `supervisorctl status` answers and every autostart program has settled (left
    /// STARTING and BACKOFF for RUNNING, FATAL or EXITED).
    pub async fn start(
        programs: &[ProgramSpec],
        node: Option<&NodeNet>,
    ) -> anyhow::Result<Supervisord> {
        let supervisord = require_program("supervisord", "supervisor")?;
        let supervisorctl = require_program("supervisorctl", "supervisor")?;
        sweep_temp_dirs(DIR_PREFIX);
        let (dir, dir_lock) = owned_temp_dir(DIR_PREFIX)?;
        write_config(dir.path(), programs)?;
        let mut command = match node {
            Some(node) => dying_with_parent(|setpriv| node.command(setpriv), &supervisord)?,
            None => dying_with_parent(Command::new, &supervisord)?,
        };
        let console = std::fs::File::create(dir.path().join("console.log"))?;
        command
            .arg("-c")
            .arg(dir.path().join("supervisord.conf"))
            .stdin(Stdio::null())
            .stdout(console.try_clone()?)
            .stderr(console);
        let process = TrackedChild::spawn(&mut command)?;
        let mut started = Supervisord {
            dir,
            process: Some(process),
            supervisorctl,
            _dir_lock: dir_lock,
        };
        let autostart: Vec<&str> = programs
            .iter()
            .filter(|p| p.autostart)
            .map(|p| p.name.as_str())
            .collect();
        started.wait_settled(&autostart).await?;
        Ok(started)
    }

    /// The `supervisord.conf` path (what an agent would be pointed at).
    pub fn conf_path(&self) -> PathBuf {
        self.dir.path().join("supervisord.conf")
    }

    /// The `[unix_http_server]` socket path.
    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("supervisor.sock")
    }

    /// supervisord's own log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("supervisord.log")
    }

    /// The output of `supervisorctl status` (whatever its exit code: 3 means "not all RUNNING").
    pub async fn status(&self) -> anyhow::Result<String> {
        let output = self
            .supervisorctl(&["status"])
            .output()
            .await
            .context("running supervisorctl status")?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() && !stdout.lines().any(|line| parse_status_line(line).is_some())
        {
            bail!(
                "supervisorctl status: supervisord unreachable ({}): {}",
                output.status,
                stdout.trim()
            );
        }
        Ok(stdout)
    }

    /// The state word (`RUNNING`, `STOPPED`, `FATAL`, ...) of program `name`.
    pub async fn program_state(&self, name: &str) -> anyhow::Result<String> {
        let status = self.status().await?;
        status
            .lines()
            .filter_map(parse_status_line)
            .find(|(program, _)| *program == name)
            .map(|(_, state)| state.to_owned())
            .with_context(|| format!("program {name} not in supervisorctl status:\n{status}"))
    }

    /// The pid of program `name` (`supervisorctl pid <name>`; fails unless it is running).
    pub async fn program_pid(&self, name: &str) -> anyhow::Result<u32> {
        let output = run_checked(&mut self.supervisorctl(&["pid", name])).await?;
        let pid: u32 = output
            .trim()
            .parse()
            .with_context(|| format!("supervisorctl pid {name} printed {output:?}"))?;
        if pid == 0 {
            bail!("program {name} is not running");
        }
        Ok(pid)
    }

    /// The pid of supervisord itself; `None` after [`Supervisord::kill`].
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(TrackedChild::id)
    }

    /// Every live process of it: supervisord and its programs.
    pub fn pids(&self) -> Vec<u32> {
        self.process
            .as_ref()
            .map(TrackedChild::pids)
            .unwrap_or_default()
    }

    /// `supervisorctl stop <name>`.
    pub async fn stop_program(&self, name: &str) -> anyhow::Result<()> {
        run_checked(&mut self.supervisorctl(&["stop", name]))
            .await
            .map(drop)
    }

    /// `supervisorctl start <name>` (fails for a program that cannot start).
    pub async fn start_program(&self, name: &str) -> anyhow::Result<()> {
        run_checked(&mut self.supervisorctl(&["start", name]))
            .await
            .map(drop)
    }

    /// Takes supervisord down as a crash would look from outside (for SUPERVISOR_UNREACHABLE):
    /// it and its programs are gone (nothing orphaned), and `supervisor.sock` is left behind
    /// as a stale socket file, so connecting fails with "connection refused".
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.shut_down();
        let socket = self.socket_path();
        let _ = std::fs::remove_file(&socket);
        drop(
            std::os::unix::net::UnixListener::bind(&socket)
                .with_context(|| format!("leaving a stale socket at {}", socket.display()))?,
        );
        Ok(())
    }

    /// Ends supervisord and all its programs quickly, letting supervisord reap them.
    ///
    /// A plain SIGTERM stops one program per second of supervisord's main loop. So: SIGTERM
    /// first (supervisord is then shutting down and restarts nothing), then SIGKILL its programs
    /// (it reaps them and exits), then SIGKILL whatever is left.
    fn shut_down(&mut self) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        if let Some(pid) = process.id() {
            signal(pid, Signal::TERM); // from now on it restarts nothing
        }
        process.kill_descendants(); // its programs, which it reaps
        process.wait_exit(Duration::from_secs(5)); // then it exits by itself
        process.kill(); // whatever is left
    }

    /// A `supervisorctl -c <conf> <args>` command.
    fn supervisorctl(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.supervisorctl);
        command
            .arg("-c")
            .arg(self.conf_path())
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Polls `supervisorctl status` until it answers and `autostart` programs have settled.
    async fn wait_settled(&mut self, autostart: &[&str]) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(process) = self.process.as_mut()
                && let Some(status) = process.try_wait().context("polling supervisord")?
            {
                bail!(
                    "supervisord exited ({status}) while starting; console:\n{}\nlog:\n{}",
                    tail(&self.dir.path().join("console.log"), 20),
                    tail(&self.log_path(), 20)
                );
            }
            let status = self.status().await;
            if let Ok(status) = &status
                && all_settled(status, autostart)
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "supervisord did not settle within {START_TIMEOUT:?}; status: {status:?}\nlog:\n{}",
                    tail(&self.log_path(), 20)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Supervisord {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Writes `supervisord.conf`, `conf.d/<program>.ini` and the `logs/` dir under `dir`.
fn write_config(dir: &Path, programs: &[ProgramSpec]) -> anyhow::Result<()> {
    let conf_d = dir.join("conf.d");
    let logs = dir.join("logs");
    std::fs::create_dir(&conf_d)?;
    std::fs::create_dir(&logs)?;
    let d = dir.display();
    let conf = format!(
        "[unix_http_server]\nfile={d}/supervisor.sock\n\n\
         [supervisord]\nnodaemon=true\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\n\
         childlogdir={d}/logs\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix://{d}/supervisor.sock\n\n\
         [include]\nfiles = {d}/conf.d/*.ini\n"
    );
    std::fs::write(dir.join("supervisord.conf"), conf).context("writing supervisord.conf")?;
    for program in programs {
        let path = conf_d.join(format!("{}.ini", program.name));
        std::fs::write(&path, program.ini(&logs))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Whether `status` lists every program in `autostart` in a settled state.
fn all_settled(status: &str, autostart: &[&str]) -> bool {
    let states: Vec<(&str, &str)> = status.lines().filter_map(parse_status_line).collect();
    autostart.iter().all(|name| {
        states
            .iter()
            .any(|(program, state)| program == name && !UNSETTLED_STATES.contains(state))
    })
}

/// `(name, state)` from a `supervisorctl status` line such as `nginx   RUNNING   pid 7, …`.
fn parse_status_line(line: &str) -> Option<(&str, &str)> {
    let mut words = line.split_whitespace();
    let name = words.next()?;
    let state = words.next()?;
    let known = [
        "STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN",
    ];
    known.contains(&state).then_some((name, state))
}
