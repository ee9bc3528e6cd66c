//! The fallback: running `supervisorctl status` and reading its table.
//!
//! When the XML-RPC call fails for a reason of ours (an address misread, a response we cannot
//! decode), supervisorctl, which ships with supervisord and reads the same config, may still get
//! through; when both fail, the two reasons together tell the operator where to look.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use omswatch_common::proto::v1::Program;
use tokio::process::Command;

use super::address::Credentials;
use super::error::{Error, Result, shorten};

/// supervisor's process states and their codes (supervisor/states.py).
const STATES: [(&str, i32); 8] = [
    ("STOPPED", 0),
    ("STARTING", 10),
    ("RUNNING", 20),
    ("BACKOFF", 30),
    ("STOPPING", 40),
    ("EXITED", 100),
    ("FATAL", 200),
    ("UNKNOWN", 1000),
];

/// supervisorctl's arguments before the `status` action. A password given with `-p` is visible in
/// the process table while supervisorctl runs (about a second); supervisorctl has no other way
/// to take one that is not in its config's `[supervisorctl]` section.
pub(crate) fn args(
    conf: Option<&Path>,
    server: Option<&str>,
    credentials: Option<&Credentials>,
) -> Vec<OsString> {
    let mut args = Vec::new();
    if let Some(conf) = conf {
        args.extend(["-c".into(), conf.as_os_str().to_owned()]);
    }
    if let Some(server) = server {
        args.extend(["-s".into(), server.into()]);
    }
    if let Some(credentials) = credentials {
        args.extend(["-u".into(), credentials.username.clone().into()]);
        args.extend(["-p".into(), credentials.password.clone().into()]);
    }
    args
}

/// Runs `program args… status` for at most `budget` and parses what it prints.
pub(crate) async fn status(
    program: &Path,
    args: &[OsString],
    budget: Duration,
) -> Result<Vec<Program>> {
    let mut command = Command::new(program);
    command
        .args(args)
        .arg("status")
        // Without a terminal supervisorctl does not prompt for a password, but make sure.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(budget, command.output())
        .await
        .map_err(|_| Error::Timeout {
            what: format!("{} status", program.display()),
            after: budget,
        })?
        .map_err(|source| Error::CtlSpawn {
            program: program.to_owned(),
            source,
        })?;
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    interpret(
        output.status.code(),
        &String::from_utf8_lossy(&output.stdout),
        &String::from_utf8_lossy(&output.stderr),
        i64::try_from(now_unix).unwrap_or(0),
    )
}

/// Judges supervisorctl's exit code and output. Exit 3 only means some program is not running;
/// exit 4 (or supervisorctl's `<url> no such file` / `<url> refused connection`) means it could
/// not reach supervisord.
pub(crate) fn interpret(
    code: Option<i32>,
    stdout: &str,
    stderr: &str,
    now_unix: i64,
) -> Result<Vec<Program>> {
    let unreachable_line = stdout.lines().chain(stderr.lines()).any(|line| {
        let line = line.trim_start_matches("ERROR: ").trim();
        (line.starts_with("unix://") || line.starts_with("http://"))
            && (line.ends_with(" no such file") || line.ends_with(" refused connection"))
    });
    match code {
        Some(code) if code == 4 || unreachable_line => Err(Error::CtlUnreachable {
            code,
            output: summary(stdout, stderr),
        }),
        Some(0 | 3) => parse_status(stdout, now_unix),
        Some(code) => Err(Error::CtlFailed {
            exit: format!("exit {code}"),
            output: summary(stdout, stderr),
        }),
        None => Err(Error::CtlFailed {
            exit: "killed by a signal".into(),
            output: summary(stdout, stderr),
        }),
    }
}

/// The last lines supervisorctl printed (a Python traceback ends with its message), shortened.
fn summary(stdout: &str, stderr: &str) -> String {
    let lines: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return "no output".into();
    }
    shorten(&lines[lines.len().saturating_sub(3)..].join(" | "), 300)
}

/// Parses `supervisorctl status` output: one `namespec state description` line per process.
/// Any line that is not one is an error rather than skipped, so that a process is never reported
/// missing just because its line was not understood.
pub(crate) fn parse_status(stdout: &str, now_unix: i64) -> Result<Vec<Program>> {
    stdout
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            parse_line(line, now_unix).ok_or_else(|| Error::CtlUnparseable {
                line_no: i + 1,
                line: shorten(line, 200),
            })
        })
        .collect()
}

/// One status line, e.g. `oms_console     RUNNING   pid 1045, uptime 0:11:03`.
fn parse_line(line: &str, now_unix: i64) -> Option<Program> {
    let (namespec, rest) = line.trim().split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let (state, description) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let state_code = state_code(state)?;
    let (group, name) = match namespec.split_once(':') {
        Some((group, name)) if !group.is_empty() && !name.is_empty() => (group, name),
        Some(_) => return None,
        None => (namespec, namespec),
    };
    let description = description.trim();
    let running = description
        .strip_prefix("pid ")
        .and_then(|rest| rest.split_once(','));
    let pid = running
        .and_then(|(pid, _)| pid.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let uptime = running
        .and_then(|(_, rest)| rest.trim().strip_prefix("uptime "))
        .and_then(parse_uptime);
    let start_unix = match uptime {
        Some(uptime) if now_unix > 0 => now_unix.saturating_sub(uptime).max(0),
        _ => 0,
    };
    let spawn_error = if matches!(state, "FATAL" | "BACKOFF") {
        description
    } else {
        ""
    };
    Some(Program {
        name: name.to_owned(),
        group: group.to_owned(),
        state: state.to_owned(),
        state_code,
        pid,
        start_unix,
        exit_status: 0,
        spawn_error: spawn_error.to_owned(),
        description: description.to_owned(),
        ..Program::default()
    })
}

/// supervisor's code for a state name.
fn state_code(name: &str) -> Option<i32> {
    STATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, code)| *code)
}

/// Seconds in a Python `timedelta` string: `0:11:03`, `1 day, 2:03:04`, `12 days, 0:00:01`.
fn parse_uptime(text: &str) -> Option<i64> {
    let (days, clock) = match text.split_once(", ") {
        Some((days, clock)) => {
            let days = days
                .strip_suffix(" days")
                .or_else(|| days.strip_suffix(" day"))?;
            (days.trim().parse::<i64>().ok()?, clock)
        }
        None => (0, text),
    };
    let mut parts = clock.trim().split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || !(0..60).contains(&m) || !(0..60).contains(&s) {
        return None;
    }
    days.checked_mul(86_400)?
        .checked_add(h.checked_mul(3600)?)?
        .checked_add(m * 60 + s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
