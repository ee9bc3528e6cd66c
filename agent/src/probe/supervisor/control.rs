//! Acting on supervisord: restarting one program as `supervisorctl restart` does,
//! `supervisor.stopProcess(name, wait=true)` then `supervisor.startProcess(name,
//! wait=true)` over XML-RPC ([`calls`]), at the address and with the credentials the
//! probe uses; `supervisorctl restart` when XML-RPC cannot be used. Stopping a program
//! that is not running is no failure (it is started), as with supervisorctl.
//!
//! Only [`crate::restart`] calls this, after its checks; the probe itself never acts.

mod calls;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use omswatch_common::proto::v1::Program;
use omswatch_common::restart::AgentResult;
use tokio::process::Command;

use self::calls::fault;
use super::error::{Error, shorten};
use super::{SupervisorProbe, Target, ctl};

/// What a restart did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartDone {
    /// restarted, start_failed or failed.
    pub result: AgentResult,
    /// What happened, quoting supervisord.
    pub message: String,
    /// How supervisord was asked.
    pub via: String,
}

impl RestartDone {
    fn new(result: AgentResult, message: impl Into<String>, via: impl Into<String>) -> Self {
        Self {
            result,
            message: message.into(),
            via: via.into(),
        }
    }
}

impl SupervisorProbe {
    /// Program `name` as supervisord reports it now, or why it cannot be told.
    pub async fn find_program(&self, name: &str) -> Result<Program, String> {
        let status = self.ask().await;
        if !status.reachable {
            return Err(status.error);
        }
        let names: Vec<&str> = status.programs.iter().map(|p| p.name.as_str()).collect();
        match status.programs.iter().find(|p| p.name == name) {
            Some(program) => Ok(program.clone()),
            None => Err(format!(
                "supervisord has no program {name} (it has: {})",
                names.join(", ")
            )),
        }
    }

    /// Stops `program` (when running) and starts it again, within `budget` for each
    /// step; never fails: the answer says what happened.
    pub async fn restart(&self, program: &Program, budget: Duration) -> RestartDone {
        let namespec = if program.group.is_empty() || program.group == program.name {
            program.name.clone()
        } else {
            format!("{}:{}", program.group, program.name)
        };
        let (conf, target) = self.target().await;
        let Ok(target) = target else {
            return self.ctl_restart(conf, None, &namespec, budget).await;
        };
        let via = format!("xmlrpc {}", target.address);
        match self.rpc(&target, "stopProcess", &namespec, budget).await {
            Ok(()) => {}
            Err(Error::Fault { code, .. }) if code == fault::NOT_RUNNING => {}
            Err(Error::Fault { code, string }) => {
                return RestartDone::new(
                    AgentResult::Failed,
                    format!("supervisord refused to stop {namespec}: fault {code} {string}"),
                    via,
                );
            }
            Err(Error::Timeout { what, after }) => {
                // It may have stopped meanwhile; starting it is what is left to try.
                tracing::warn!(%namespec, %what, ?after, "stopProcess did not answer in time; starting anyway");
            }
            // XML-RPC itself does not work here (address, credentials): supervisorctl
            // may still, as for the probe.
            Err(error) => {
                tracing::warn!(%namespec, %error, "stopProcess over XML-RPC failed; trying supervisorctl");
                return self
                    .ctl_restart(conf, Some(&target), &namespec, budget)
                    .await;
            }
        }
        match self.rpc(&target, "startProcess", &namespec, budget).await {
            Ok(()) => RestartDone::new(
                AgentResult::Restarted,
                format!("stopped and started {namespec}"),
                via,
            ),
            Err(Error::Fault { code, .. }) if code == fault::ALREADY_STARTED => RestartDone::new(
                AgentResult::Restarted,
                format!("{namespec} was started again (by supervisord itself, autorestart)"),
                via,
            ),
            Err(Error::Fault { code, string }) => {
                let what = match code {
                    fault::SPAWN_ERROR => "could not be spawned",
                    fault::ABNORMAL_TERMINATION => "exited while starting",
                    fault::BAD_NAME => "is unknown to supervisord",
                    _ => "would not start",
                };
                RestartDone::new(
                    AgentResult::StartFailed,
                    format!("{namespec} was stopped but {what}: fault {code} {string}"),
                    via,
                )
            }
            Err(error) => RestartDone::new(
                AgentResult::StartFailed,
                format!("{namespec} was stopped but starting it failed: {error}"),
                via,
            ),
        }
    }

    /// Where supervisord is, as the probe finds it: the config file (if any) and the
    /// XML-RPC target, or why there is none.
    async fn target(&self) -> (Option<PathBuf>, super::error::Result<Target>) {
        match &self.settings.url {
            Some(url) => (self.settings.conf.clone(), self.url_target(url)),
            None => match self.conf_path() {
                Ok(path) => {
                    let target = self.conf_target(&path).await;
                    (Some(path), target)
                }
                Err(error) => (None, Err(error)),
            },
        }
    }

    async fn rpc(
        &self,
        target: &Target,
        method: &str,
        namespec: &str,
        budget: Duration,
    ) -> super::error::Result<()> {
        let call = calls::call(
            &target.address,
            target.credentials.as_ref(),
            method,
            namespec,
        );
        tokio::time::timeout(budget, call)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Timeout {
                    what: format!("{method} at {}", target.address),
                    after: budget,
                })
            })
    }

    /// `supervisorctl [-c conf] [-s server] [-u -p] restart <namespec>`.
    async fn ctl_restart(
        &self,
        conf: Option<PathBuf>,
        target: Option<&Target>,
        namespec: &str,
        budget: Duration,
    ) -> RestartDone {
        let server = match target {
            Some(target) => Some(target.address.to_string()),
            None => self.settings.url.clone(),
        };
        let credentials = target.and_then(|t| t.credentials.as_ref());
        let args = ctl::args(conf.as_deref(), server.as_deref(), credentials);
        let program = &self.settings.supervisorctl;
        let mut command = Command::new(program);
        command
            .args(&args)
            .args(["restart", namespec])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Both steps wait, as over XML-RPC.
        let output = tokio::time::timeout(budget * 2, command.output()).await;
        let via = "supervisorctl";
        match output {
            Err(_) => RestartDone::new(
                AgentResult::StartFailed,
                format!(
                    "supervisorctl restart {namespec} did not finish within {:?}",
                    budget * 2
                ),
                via,
            ),
            Ok(Err(e)) => RestartDone::new(
                AgentResult::Failed,
                format!("cannot run {}: {e}", program.display()),
                via,
            ),
            Ok(Ok(output)) => ctl_outcome(
                namespec,
                &String::from_utf8_lossy(&output.stdout),
                &String::from_utf8_lossy(&output.stderr),
            ),
        }
    }
}

/// Reads what `supervisorctl restart` printed: `name: stopped` / `name: ERROR (not
/// running)`, then `name: started` or `name: ERROR (spawn error)`; `ERROR (no such
/// process)` or no line about the program at all means nothing was done.
pub(crate) fn ctl_outcome(namespec: &str, stdout: &str, stderr: &str) -> RestartDone {
    let prefix = format!("{namespec}: ");
    let lines: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .filter_map(|l| l.trim().strip_prefix(&prefix))
        .collect();
    let quoted = shorten(&lines.join("; "), 300);
    let via = "supervisorctl";
    if lines.contains(&"started") {
        return RestartDone::new(
            AgentResult::Restarted,
            format!("stopped and started {namespec}"),
            via,
        );
    }
    let stopped = lines
        .iter()
        .any(|l| *l == "stopped" || l.contains("not running"));
    if stopped {
        return RestartDone::new(
            AgentResult::StartFailed,
            format!("{namespec} was stopped but would not start: {quoted}"),
            via,
        );
    }
    let said = if lines.is_empty() {
        shorten(format!("{} {}", stdout.trim(), stderr.trim()).trim(), 300)
    } else {
        quoted
    };
    RestartDone::new(
        AgentResult::Failed,
        format!("supervisorctl restart {namespec} changed nothing: {said}"),
        via,
    )
}

#[cfg(test)]
mod tests;
