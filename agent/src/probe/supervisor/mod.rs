//! What supervisord says of the OMS components.
//!
//! Every OMS process (oms_console, oms_drc_cm, oms_drc_supervisor, nginx…) runs under supervisord,
//! so its program table is the first thing an operator checks when a node is Down: a FATAL
//! oms_drc_cm or an oms_console left STOPPED after an upgrade explains most outages.
//!
//! The probe finds supervisord's address in its config file (never assumed: OMS images differ),
//! asks it over XML-RPC (`xmlrpc`), and falls back to `supervisorctl status` (`ctl`) when that fails.
//! It never fails itself: an unreachable supervisord is a finding, reported with both reasons.

mod address;
mod autostart;
mod conf;
mod control;
mod ctl;
mod error;
#[cfg(test)]
mod live_tests;
mod xmlrpc;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use omswatch_common::proto::v1::{Program, SupervisorStatus};
use tokio::time::Instant;

use self::address::{Credentials, ServerAddress};
use self::autostart::ProgramSection;
use self::conf::ConfServer;
pub use self::control::RestartDone;
use self::error::{Error, Result};
use super::stamp::{Derived, Watched};

/// Where and how to reach supervisord.
#[derive(Clone)]
pub struct SupervisorSettings {
    /// Explicit server URL (`unix:///tmp/supervisor.sock` or `http://127.0.0.1:9001`), overrides the
    /// config file.
    pub url: Option<String>,
    /// supervisord.conf to read when no URL is given; None = search the usual paths
    /// (/etc/supervisor/supervisord.conf, /etc/supervisord.conf, /etc/supervisor.conf).
    pub conf: Option<PathBuf>,
    /// Username for HTTP Basic auth (overrides the one found in the config file).
    pub username: Option<String>,
    /// Password for HTTP Basic auth (overrides the one found in the config file).
    pub password: Option<String>,
    /// supervisorctl binary used as the fallback, default "supervisorctl".
    pub supervisorctl: PathBuf,
    /// Timeout of one probe, fallback included: the XML-RPC call gets at most half of it and
    /// supervisorctl whatever is left.
    pub timeout: Duration,
}

impl Default for SupervisorSettings {
    /// Search the usual config paths, `supervisorctl` from `PATH`, 5 s.
    fn default() -> Self {
        Self {
            url: None,
            conf: None,
            username: None,
            password: None,
            supervisorctl: PathBuf::from("supervisorctl"),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Never prints the password, so settings can be logged.
impl fmt::Debug for SupervisorSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorSettings")
            .field("url", &self.url)
            .field("conf", &self.conf)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("supervisorctl", &self.supervisorctl)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Asks supervisord for its programs; see the module docs.
#[derive(Debug)]
pub struct SupervisorProbe {
    /// How to reach supervisord.
    settings: SupervisorSettings,
    /// The address and credentials last read from the config file, kept until it changes.
    server: Derived<Arc<ConfServer>>,
    /// The program sections last read from the config file and its includes, kept until one of
    /// them changes.
    sections: Derived<Arc<HashMap<String, ProgramSection>>>,
    /// HTTP clients kept across probes, so a supervisord that keeps connections open is asked
    /// over the same one.
    clients: xmlrpc::Clients,
}

/// An XML-RPC endpoint and what to authenticate with.
struct Target {
    /// Where supervisord listens.
    address: ServerAddress,
    /// HTTP Basic credentials, when any are known.
    credentials: Option<Credentials>,
}

impl SupervisorProbe {
    /// A probe with these settings.
    pub fn new(settings: SupervisorSettings) -> Self {
        Self {
            settings,
            server: Derived::new(),
            sections: Derived::new(),
            clients: xmlrpc::Clients::new(),
        }
    }

    /// Never fails: an unreachable supervisord is reported as `reachable: false` with the reason in
    /// `error`. Each program's `autostart` and `config_file` come from the config file's
    /// `[program:x]` sections when it can be read (see `autostart`).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn probe(&self) -> SupervisorStatus {
        let mut status = self.ask().await;
        if status.programs.is_empty() {
            return status;
        }
        // Read even when an explicit URL was given: the programs are still defined in a file.
        let Ok(conf) = self.conf_path() else {
            return status;
        };
        if let Some(sections) = self.sections(conf).await {
            autostart::annotate(&mut status.programs, &sections);
        }
        status
    }

    /// The program sections of `conf` and its includes, read again (on a blocking thread) only
    /// when one of those files changed.
    async fn sections(&self, conf: PathBuf) -> Option<Arc<HashMap<String, ProgramSection>>> {
        if let Some(sections) = self.sections.get(&conf) {
            return Some(sections);
        }
        let path = conf.clone();
        let (sections, watched) =
            tokio::task::spawn_blocking(move || autostart::read_watched(&path))
                .await
                .ok()?;
        let sections = Arc::new(sections);
        self.sections.set(&conf, watched, Arc::clone(&sections));
        Some(sections)
    }

    /// The program table, from XML-RPC or supervisorctl.
    async fn ask(&self) -> SupervisorStatus {
        let deadline = Instant::now() + self.settings.timeout;
        // The config is read again whenever it changes (not only at start): an OMS upgrade or an
        // operator may move the socket or change the password while the agent runs; an address
        // read once would then report a healthy supervisord as unreachable.
        let (conf, target) = match &self.settings.url {
            Some(url) => (self.settings.conf.clone(), self.url_target(url)),
            None => match self.conf_path() {
                Ok(path) => {
                    let target = self.conf_target(&path).await;
                    (Some(path), target)
                }
                Err(error) => (None, Err(error)),
            },
        };
        let (target, rpc_error) = match target {
            Ok(target) => match self.call(&target).await {
                Ok(programs) => return reachable(format!("xmlrpc {}", target.address), programs),
                Err(error) => (Some(target), error),
            },
            Err(error) => (None, error),
        };
        self.fall_back(conf, target, rpc_error, deadline).await
    }

    /// Asks supervisorctl after XML-RPC failed with `rpc_error`; when it fails too, reports both.
    async fn fall_back(
        &self,
        conf: Option<PathBuf>,
        target: Option<Target>,
        rpc_error: Error,
        deadline: Instant,
    ) -> SupervisorStatus {
        // supervisorctl is sent to the same server, so the two answers are about one address; an
        // explicit URL is passed on even when unparseable rather than silently replaced by the
        // config file's.
        let server = match &target {
            Some(target) => Some(target.address.to_string()),
            None => self.settings.url.clone(),
        };
        let credentials = target.as_ref().and_then(|t| t.credentials.as_ref());
        let args = ctl::args(conf.as_deref(), server.as_deref(), credentials);
        let budget = deadline.saturating_duration_since(Instant::now());
        let ctl_error = match ctl::status(&self.settings.supervisorctl, &args, budget).await {
            Ok(programs) => {
                // Worth a warning: supervisord is fine, so the XML-RPC path is misconfigured or
                // broken, and the table lost its exact numbers (exit status, start time).
                tracing::warn!(error = %rpc_error, "XML-RPC to supervisord failed, supervisorctl answered");
                return reachable("supervisorctl".into(), programs);
            }
            Err(error) => error,
        };
        // Reported in the status at every probe: not repeated as a warning.
        tracing::debug!(%rpc_error, %ctl_error, "supervisord unreachable");
        let tried = match (&server, &conf) {
            (Some(server), _) => server.clone(),
            (None, Some(conf)) => format!("the address in {}", conf.display()),
            (None, None) => "supervisorctl's default address".into(),
        };
        let source = match &target {
            Some(target) => format!("xmlrpc {}, then supervisorctl", target.address),
            None => "supervisorctl".into(),
        };
        SupervisorStatus {
            reachable: false,
            error: format!(
                "cannot ask supervisord at {tried}: XML-RPC: {rpc_error}; supervisorctl: {ctl_error}"
            ),
            source,
            programs: Vec::new(),
        }
    }

    /// `getAllProcessInfo` within half of the probe's timeout, leaving the rest for supervisorctl.
    async fn call(&self, target: &Target) -> Result<Vec<Program>> {
        let budget = self.settings.timeout / 2;
        let call = self
            .clients
            .get_all_process_info(&target.address, target.credentials.as_ref());
        tokio::time::timeout(budget, call)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Timeout {
                    what: format!("XML-RPC at {}", target.address),
                    after: budget,
                })
            })
    }

    /// The config file: the one given, else the first of the usual paths.
    fn conf_path(&self) -> Result<PathBuf> {
        match &self.settings.conf {
            Some(path) => Ok(path.clone()),
            None => conf::find_conf(&conf::SEARCH_PATHS.map(PathBuf::from)),
        }
    }

    /// The target of an explicit URL, which replaces the config file entirely, credentials
    /// included (supervisorctl still gets `-c` when a file is given, for its own section).
    fn url_target(&self, url: &str) -> Result<Target> {
        let address = ServerAddress::parse_url(url)?;
        let overrides = self.settings.username.is_some() || self.settings.password.is_some();
        Ok(Target {
            address,
            credentials: overrides.then(|| self.credentials(None)),
        })
    }

    /// The target the config file names, the settings' credentials winning over the file's.
    async fn conf_target(&self, path: &Path) -> Result<Target> {
        let settings = &self.settings;
        let overrides = settings.username.is_some() || settings.password.is_some();
        let server = self.conf_server(path).await?;
        let credentials = match &server.credentials {
            Ok(found) if overrides => Some(self.credentials(found.clone())),
            Ok(found) => found.clone(),
            // The file only has a hash of the password; the settings' clear one will do.
            Err(Error::HashedPassword { username, origin }) => {
                let (username, origin) = (username.clone(), origin.clone());
                if settings.password.is_none() {
                    return Err(Error::HashedPassword { username, origin });
                }
                let password = String::new();
                Some(self.credentials(Some(Credentials {
                    username,
                    password,
                    origin,
                })))
            }
            // `conf::parse_conf` leaves no other error in `credentials`.
            Err(other) => {
                return Err(Error::ConfParse {
                    path: path.to_owned(),
                    reason: other.to_string(),
                });
            }
        };
        Ok(Target {
            address: server.address.clone(),
            credentials,
        })
    }

    /// What the config file at `path` says of the server, read again only when it changed. A
    /// file that cannot be read or parsed is not kept: it is tried again at the next probe.
    async fn conf_server(&self, path: &Path) -> Result<Arc<ConfServer>> {
        if let Some(server) = self.server.get(path) {
            return Ok(server);
        }
        let watched = Watched::of([path]);
        let server = Arc::new(conf::read_conf(path).await?);
        self.server.set(path, watched, Arc::clone(&server));
        Ok(server)
    }

    /// The settings' username/password over those of the config file (`from_conf`).
    fn credentials(&self, from_conf: Option<Credentials>) -> Credentials {
        let settings = &self.settings;
        let (conf_user, conf_password, conf_origin) = match from_conf {
            Some(c) => (Some(c.username), Some(c.password), c.origin),
            None => (None, None, String::new()),
        };
        let origin = match (
            &settings.username,
            &settings.password,
            &conf_user,
            &conf_password,
        ) {
            (Some(_), None, _, Some(_)) => {
                format!("username taken from the probe settings, password {conf_origin}")
            }
            (None, Some(_), Some(_), _) => {
                format!("username {conf_origin}, password taken from the probe settings")
            }
            _ => "taken from the probe settings".to_owned(),
        };
        Credentials {
            username: settings.username.clone().or(conf_user).unwrap_or_default(),
            password: settings
                .password
                .clone()
                .or(conf_password)
                .unwrap_or_default(),
            origin,
        }
    }
}

/// A reachable supervisord's status.
fn reachable(source: String, programs: Vec<Program>) -> SupervisorStatus {
    SupervisorStatus {
        reachable: true,
        error: String::new(),
        source,
        programs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(username: Option<&str>, password: Option<&str>) -> SupervisorProbe {
        SupervisorProbe::new(SupervisorSettings {
            username: username.map(Into::into),
            password: password.map(Into::into),
            ..SupervisorSettings::default()
        })
    }

    fn from_conf() -> Option<Credentials> {
        Some(Credentials {
            username: "conf-user".into(),
            password: "conf-pw".into(),
            origin: "taken from /c [inet_http_server]".into(),
        })
    }

    #[test]
    fn settings_debug_hides_the_password() {
        let text = format!("{:?}", probe(Some("u"), Some("hunter2")));
        assert!(
            !text.contains("hunter2") && text.contains("<redacted>"),
            "{text}"
        );
    }

    #[test]
    fn settings_credentials_win_field_by_field() {
        let c = probe(None, Some("pw")).credentials(from_conf());
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("conf-user", "pw")
        );
        assert_eq!(
            c.describe(),
            "user \"conf-user\", username taken from /c [inet_http_server], password taken from the probe settings"
        );
        let c = probe(Some("u"), None).credentials(from_conf());
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "conf-pw"));
        assert_eq!(
            c.origin,
            "username taken from the probe settings, password taken from /c [inet_http_server]"
        );
        let c = probe(Some("u"), Some("pw")).credentials(from_conf());
        assert_eq!(
            (c.username.as_str(), c.password.as_str(), c.origin.as_str()),
            ("u", "pw", "taken from the probe settings")
        );
        let c = probe(Some("u"), None).credentials(None);
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", ""));
    }
}
