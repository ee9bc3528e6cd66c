//! Reading supervisord.conf to learn where supervisord listens.
//!
//! OMS images differ (unix socket in 4.x, `127.0.0.1:8084` or port 9000 in others), so the address
//! is never assumed: it is read from the same file supervisord was started with, using supervisor's
//! own precedence: `[unix_http_server]`, then `[inet_http_server]`, then `[supervisorctl] serverurl`.

use std::path::{Path, PathBuf};

use ini::{Ini, ParseOption, Properties};

use super::address::{Credentials, ServerAddress};
use super::error::{Error, Result};

/// Where supervisord's config is looked for when none is given, first match wins.
pub(crate) const SEARCH_PATHS: [&str; 3] = [
    "/etc/supervisor/supervisord.conf",
    "/etc/supervisord.conf",
    "/etc/supervisor.conf",
];

/// supervisor parses with Python's ConfigParser: no quoting, no escapes, indented continuation
/// lines (used by `environment=` and long `command=`s). Asking rust-ini for the same keeps a
/// valid supervisord.conf from being rejected because of a program section we do not even read.
const PARSE_OPTION: ParseOption = ParseOption {
    enabled_quote: false,
    enabled_escape: false,
    enabled_indented_mutiline_value: true,
    enabled_preserve_key_leading_whitespace: false,
};

/// What a supervisord.conf says about reaching its server.
#[derive(Debug)]
pub(crate) struct ConfServer {
    /// The XML-RPC endpoint.
    pub(crate) address: ServerAddress,
    /// Credentials from the same section, when it has a `username`; an error when the file holds
    /// only a hash of the password, which the probe settings may still supply.
    pub(crate) credentials: Result<Option<Credentials>>,
}

/// The first of `candidates` that exists.
pub(crate) fn find_conf(candidates: &[PathBuf]) -> Result<PathBuf> {
    candidates
        .iter()
        .find(|path| path.exists())
        .cloned()
        .ok_or_else(|| Error::ConfNotFound {
            searched: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Reads and parses the config file at `path`.
pub(crate) async fn read_conf(path: &Path) -> Result<ConfServer> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| Error::ConfRead {
            path: path.to_owned(),
            source,
        })?;
    parse_conf(&text, path)
}

/// Parses a supervisord.conf's text; `path` expands `%(here)s` and names the file in errors.
pub(crate) fn parse_conf(text: &str, path: &Path) -> Result<ConfServer> {
    let ini = load_ini(text, path)?;
    let conf = Conf {
        ini: &ini,
        path,
        here: here(path),
    };
    if let Some(file) = conf.get("unix_http_server", "file") {
        let address = ServerAddress::parse_url(&format!("unix://{file}"))?;
        return Ok(ConfServer {
            address,
            credentials: conf.credentials("unix_http_server"),
        });
    }
    if let Some(port) = conf.get("inet_http_server", "port") {
        let address = ServerAddress::from_inet_port(&port)?;
        return Ok(ConfServer {
            address,
            credentials: conf.credentials("inet_http_server"),
        });
    }
    if let Some(url) = conf.get("supervisorctl", "serverurl") {
        let address = ServerAddress::parse_url(&url)?;
        return Ok(ConfServer {
            address,
            credentials: conf.credentials("supervisorctl"),
        });
    }
    Err(Error::NoServer {
        path: path.to_owned(),
    })
}

/// Parses a supervisord config file's text as supervisor's ConfigParser would; `path` names it in
/// errors.
pub(crate) fn load_ini(text: &str, path: &Path) -> Result<Ini> {
    Ini::load_from_str_opt(&strip_comments(text), PARSE_OPTION).map_err(|e| Error::ConfParse {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// A parsed config file and what its values are expanded with.
struct Conf<'a> {
    ini: &'a Ini,
    path: &'a Path,
    /// The config file's directory, supervisor's `%(here)s`.
    here: String,
}

impl Conf<'_> {
    /// A non-empty value, `%(here)s` expanded. Section names are case-sensitive and keys are not,
    /// as in ConfigParser. (`%(ENV_X)s` is not expanded: the probe's environment is not
    /// supervisord's, so expanding it here could point at the wrong place.)
    fn get(&self, section: &str, key: &str) -> Option<String> {
        let props: &Properties = self.ini.section(Some(section))?;
        let (_, value) = props.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))?;
        let value = value.trim().replace("%(here)s", &self.here);
        (!value.is_empty()).then_some(value)
    }

    /// `section`'s `username`/`password`. supervisord accepts `password={SHA}<hex>`, which a client
    /// cannot send; then `[supervisorctl]`'s clear password for the same user is used if present.
    fn credentials(&self, section: &str) -> Result<Option<Credentials>> {
        let Some(username) = self.get(section, "username") else {
            return Ok(None);
        };
        let password = self.get(section, "password").unwrap_or_default();
        let origin = |section: &str| format!("taken from {} [{section}]", self.path.display());
        if !password.starts_with("{SHA}") {
            return Ok(Some(Credentials {
                username,
                password,
                origin: origin(section),
            }));
        }
        let ctl_user = self.get("supervisorctl", "username");
        match self.get("supervisorctl", "password") {
            Some(clear)
                if !clear.starts_with("{SHA}") && ctl_user.is_none_or(|u| u == username) =>
            {
                Ok(Some(Credentials {
                    username,
                    password: clear,
                    origin: origin("supervisorctl"),
                }))
            }
            _ => Err(Error::HashedPassword {
                username,
                origin: origin(section),
            }),
        }
    }
}

/// `%(here)s`: the absolute directory of the config file.
pub(crate) fn here(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    absolute
        .parent()
        .map(|dir| dir.display().to_string())
        .unwrap_or_default()
}

/// Removes comments the way supervisor's ConfigParser does: whole lines starting with `;` or `#`,
/// and inline comments, which need whitespace before the `;` or `#` (so `a;b` is a value).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim_start();
        if !trimmed.starts_with([';', '#']) {
            let mut previous_blank = false;
            let end = line
                .char_indices()
                .find(|&(_, c)| {
                    let found = previous_blank && (c == ';' || c == '#');
                    previous_blank = c.is_whitespace();
                    found
                })
                .map_or(line.len(), |(i, _)| i);
            out.push_str(line[..end].trim_end());
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfServer> {
        parse_conf(text, Path::new("/etc/supervisor/supervisord.conf"))
    }

    fn http(host: &str, port: u16) -> ServerAddress {
        ServerAddress::Http {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn unix_socket_with_comments_and_here() {
        let conf = parse(
            "; supervisor config file\n\
             [unix_http_server]\n\
             file=%(here)s/supervisor.sock   ; (the path to the socket file)\n\
             chmod=0700                 ; socket file mode (default 0700)\n\
             \n\
             [inet_http_server] ; also listening on TCP\n\
             port=127.0.0.1:9001\n",
        )
        .unwrap();
        assert_eq!(
            conf.address,
            ServerAddress::Unix("/etc/supervisor/supervisor.sock".into())
        );
        assert!(matches!(conf.credentials, Ok(None)));
    }

    #[test]
    fn inet_forms_and_credentials() {
        for (port, host) in [
            ("127.0.0.1:9001", "127.0.0.1"),
            ("*:9001", "127.0.0.1"),
            (":9001", "127.0.0.1"),
        ] {
            let conf = parse(&format!(
                "[inet_http_server]\nport = {port}\nusername = admin\npassword = s3cret # inline\n"
            ))
            .unwrap();
            assert_eq!(conf.address, http(host, 9001), "{port}");
            let creds = conf.credentials.unwrap().unwrap();
            assert_eq!(
                (creds.username.as_str(), creds.password.as_str()),
                ("admin", "s3cret")
            );
            assert_eq!(
                creds.origin,
                "taken from /etc/supervisor/supervisord.conf [inet_http_server]"
            );
        }
    }

    #[test]
    fn serverurl_when_no_server_section() {
        let conf = parse("[supervisorctl]\nserverurl=unix:///tmp/supervisor.sock ; use a unix:// URL\nusername=u\npassword=p\n").unwrap();
        assert_eq!(
            conf.address,
            ServerAddress::Unix("/tmp/supervisor.sock".into())
        );
        assert_eq!(
            conf.credentials.unwrap().unwrap().origin,
            "taken from /etc/supervisor/supervisord.conf [supervisorctl]"
        );
        let conf = parse("[supervisorctl]\nSERVERURL: http://127.0.0.1:8084\n").unwrap();
        assert_eq!(conf.address, http("127.0.0.1", 8084));
    }

    #[test]
    fn tolerates_program_sections_python_accepts() {
        let conf = parse(
            "[program:oms_console]\n\
             command=/bin/sh -c \"exec /home/admin/start.sh\"  # run it\n\
             environment=A=\"1\",\n    B=\"2;3\"\n\
             directory=C:\\odd\\path\n\
             [include]\n\
             files = /etc/supervisor/conf.d/*.ini\n\
             [unix_http_server]\n\
             file=/tmp/supervisor.sock;not-a-comment\n",
        )
        .unwrap();
        assert_eq!(
            conf.address,
            ServerAddress::Unix("/tmp/supervisor.sock;not-a-comment".into())
        );
    }

    #[test]
    fn hashed_password_needs_a_clear_one() {
        let hashed = "[inet_http_server]\nport=:9001\nusername=u\npassword={SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d\n";
        let conf = parse(hashed).unwrap();
        assert_eq!(conf.address, http("127.0.0.1", 9001));
        assert!(matches!(
            conf.credentials,
            Err(Error::HashedPassword { .. })
        ));
        let with_ctl = format!("{hashed}[supervisorctl]\nusername=u\npassword=p\n");
        let creds = parse(&with_ctl).unwrap().credentials.unwrap().unwrap();
        assert_eq!(
            (creds.password.as_str(), creds.origin.as_str()),
            (
                "p",
                "taken from /etc/supervisor/supervisord.conf [supervisorctl]"
            )
        );
    }

    #[test]
    fn no_server_and_garbage() {
        assert!(matches!(
            parse("[supervisord]\nnodaemon=true\n"),
            Err(Error::NoServer { .. })
        ));
        assert!(matches!(parse(""), Err(Error::NoServer { .. })));
        assert!(matches!(
            parse("[unix_http_server]\nfile=   ; empty\n"),
            Err(Error::NoServer { .. })
        ));
        assert!(parse("[inet_http_server]\nport=nonsense\n").is_err());
        assert!(parse("[unclosed\n\u{0}\u{feff}=[]]]\n").is_err());
    }

    #[tokio::test]
    async fn missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("supervisord.conf");
        assert!(matches!(
            read_conf(&missing).await,
            Err(Error::ConfRead { .. })
        ));
        let err = find_conf(&[missing.clone(), dir.path().join("other.conf")]).unwrap_err();
        assert!(err.to_string().contains("supervisord.conf, "), "{err}");
        std::fs::write(&missing, "[unix_http_server]\nfile=%(here)s/s.sock\n").unwrap();
        assert_eq!(
            find_conf(&[dir.path().join("nope"), missing.clone()]).unwrap(),
            missing
        );
        let conf = read_conf(&missing).await.unwrap();
        assert_eq!(conf.address, ServerAddress::Unix(dir.path().join("s.sock")));
    }
}
