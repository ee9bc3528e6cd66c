//! Where the store lives: the `--store` value parsed, and the default when it
//! is not given. Pure functions: the caller passes the user id and the
//! environment, so tests need no real home directory.

use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

use super::StoreError;

/// The default SQLite file when the collector runs as root.
pub const SYSTEM_DEFAULT: &str = "/var/lib/omswatch/omswatch.db";

/// A store location, never holding a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite file on this machine (embedded; one collector at a time).
    Sqlite(PathBuf),
    /// A MySQL-protocol database (MySQL, MariaDB, OceanBase), shareable by a pair
    /// of collectors. The URL has a user but no password; its query may carry
    /// `ssl-mode` and `ssl-ca`.
    MySql(Url),
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            StoreLocation::MySql(url) => f.write_str(url.as_str()),
        }
    }
}

impl StoreLocation {
    /// Parses a `--store` value: `sqlite:///path/file.db`, a plain path, or
    /// `mysql://USER@HOST:PORT/DB[?ssl-mode=...&ssl-ca=...]`.
    pub fn parse(text: &str) -> Result<StoreLocation, StoreError> {
        let bad = |reason: String| StoreError::Location {
            text: redact(text),
            reason,
        };
        let text = text.trim();
        if text.is_empty() {
            return Err(bad("it is empty".into()));
        }
        if let Some(path) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(bad("give the SQLite file's path, e.g. sqlite:///var/lib/omswatch/omswatch.db (an in-memory store would forget everything on restart)".into()));
            }
            return Ok(StoreLocation::Sqlite(absolute(Path::new(path))));
        }
        if text.starts_with("mysql://") || text.starts_with("mariadb://") {
            return mysql(text).map_err(bad);
        }
        if text.contains("://") {
            return Err(bad(
                "unknown scheme: use sqlite:///path/omswatch.db, a plain file path, or mysql://USER@HOST:PORT/DB"
                    .into(),
            ));
        }
        Ok(StoreLocation::Sqlite(absolute(Path::new(text))))
    }

    /// The default location for a collector running as `uid`, with `env` the
    /// environment: root keeps it in [`SYSTEM_DEFAULT`], anyone else under
    /// `$XDG_STATE_HOME/omswatch/` (or `~/.local/state/omswatch/`).
    pub fn default_for(
        uid: u32,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<StoreLocation, StoreError> {
        if uid == 0 {
            return Ok(StoreLocation::Sqlite(PathBuf::from(SYSTEM_DEFAULT)));
        }
        let absolute_var = |name: &str| env(name).map(PathBuf::from).filter(|p| p.is_absolute());
        let state = absolute_var("XDG_STATE_HOME")
            .or_else(|| absolute_var("HOME").map(|home| home.join(".local/state")))
            .ok_or(StoreError::NoDefault)?;
        Ok(StoreLocation::Sqlite(state.join("omswatch/omswatch.db")))
    }

    /// The SQLite file, when the store is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            StoreLocation::Sqlite(path) => Some(path),
            StoreLocation::MySql(_) => None,
        }
    }
}

/// A MySQL URL checked: a user, a host, a database, and no password.
fn mysql(text: &str) -> Result<StoreLocation, String> {
    let mut url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    if url.password().is_some() {
        return Err(
            "it contains a password; remove it from the URL and put it in a file named by \
             --store-password-file (setting store_password_file, mode 0600) or in the environment \
             variable OMSWATCH_STORE_PASSWORD"
                .into(),
        );
    }
    if url.scheme() == "mariadb" {
        url.set_scheme("mysql")
            .map_err(|()| "cannot use the mariadb:// scheme here; write mysql://".to_string())?;
    }
    if url.username().is_empty() {
        return Err("name the user: mysql://USER@HOST:PORT/DB".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("name the host: mysql://USER@HOST:PORT/DB".into());
    }
    let db = url.path().trim_start_matches('/');
    if db.is_empty() || db.contains('/') {
        return Err("name the database: mysql://USER@HOST:PORT/DB".into());
    }
    for (key, _) in url.query_pairs() {
        if !matches!(key.as_ref(), "ssl-mode" | "ssl-ca" | "charset" | "timezone") {
            return Err(format!(
                "unknown parameter {key:?}: the store takes ssl-mode (disabled, preferred, required, \
                 verify_ca, verify_identity) and ssl-ca (a PEM file)"
            ));
        }
    }
    Ok(StoreLocation::MySql(url))
}

/// `path` made absolute against the working directory, so messages and the
/// lock name one file whatever the collector's directory later is.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `text` with anything between `://` and `@` past a `:` replaced, so an error
/// about a URL holding a password never repeats the password.
pub fn redact(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return text.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:<redacted>{}",
            &text[..scheme_end + 3],
            &rest[..colon],
            &rest[at..]
        ),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_and_plain_paths_are_files() {
        for text in ["sqlite:///var/x/a.db", "sqlite:/var/x/a.db", "/var/x/a.db"] {
            assert_eq!(
                StoreLocation::parse(text).expect(text),
                StoreLocation::Sqlite("/var/x/a.db".into()),
                "{text}"
            );
        }
        let relative = StoreLocation::parse("a.db").expect("relative");
        assert!(relative.sqlite_path().is_some_and(Path::is_absolute));
        assert!(StoreLocation::parse("sqlite::memory:").is_err());
    }

    #[test]
    fn mysql_urls_need_user_host_and_database_and_no_password() {
        let ok =
            StoreLocation::parse("mysql://omswatch@db.example:3306/omswatch?ssl-mode=required")
                .expect("valid");
        assert_eq!(
            ok.to_string(),
            "mysql://omswatch@db.example:3306/omswatch?ssl-mode=required"
        );
        let err = StoreLocation::parse("mysql://omswatch:hunter2@db:3306/omswatch")
            .expect_err("password")
            .to_string();
        assert!(
            err.contains("--store-password-file") && err.contains("OMSWATCH_STORE_PASSWORD"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        for bad in [
            "mysql://db:3306/omswatch",
            "mysql://u@db:3306/",
            "mysql://u@db/omswatch?password=x",
            "postgres://u@db/x",
        ] {
            assert!(StoreLocation::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_depends_on_who_runs_it() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let root = StoreLocation::default_for(0, &env(&[])).expect("root");
        assert_eq!(root, StoreLocation::Sqlite(SYSTEM_DEFAULT.into()));
        let xdg =
            StoreLocation::default_for(1000, &env(&[("XDG_STATE_HOME", "/s"), ("HOME", "/h")]));
        assert_eq!(
            xdg.expect("xdg"),
            StoreLocation::Sqlite("/s/omswatch/omswatch.db".into())
        );
        let home = StoreLocation::default_for(1000, &env(&[("HOME", "/h")])).expect("home");
        assert_eq!(
            home,
            StoreLocation::Sqlite("/h/.local/state/omswatch/omswatch.db".into())
        );
        assert!(StoreLocation::default_for(1000, &env(&[])).is_err());
    }

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("mysql://u:secret@h:1/db"),
            "mysql://u:<redacted>@h:1/db"
        );
        assert_eq!(redact("mysql://u@h:1/db"), "mysql://u@h:1/db");
        assert_eq!(redact("/a/b.db"), "/a/b.db");
    }
}
