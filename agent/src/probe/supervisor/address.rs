//! Where supervisord listens and who we say we are.
//!
//! supervisord and supervisorctl spell addresses three ways (`unix:///path`, `http://host:port`,
//! and `[inet_http_server] port=host:port`); this module turns all of them into one
//! [`ServerAddress`], following supervisor's own rules so we reach what supervisorctl would.

use std::fmt;
use std::path::PathBuf;

use super::error::{Error, Result};

/// The longest unix socket path accepted. The kernel's limit is 108 bytes; this bound only keeps
/// absurd input away from `hyperlocal::Uri::new`, which panics on URIs longer than 64 KiB.
const MAX_SOCKET_PATH: usize = 4096;

/// A supervisord XML-RPC endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ServerAddress {
    /// `[unix_http_server]`: a unix domain socket.
    Unix(PathBuf),
    /// `[inet_http_server]`: a TCP port.
    Http {
        /// Host name or IP address (IPv6 without brackets).
        host: String,
        /// TCP port.
        port: u16,
    },
}

impl ServerAddress {
    /// Parses a supervisorctl server URL: `unix:///tmp/supervisor.sock` or `http://127.0.0.1:9001`.
    pub(crate) fn parse_url(url: &str) -> Result<Self> {
        let bad = |reason| Error::BadAddress {
            value: url.to_owned(),
            reason,
        };
        let trimmed = url.trim();
        if let Some(path) = trimmed.strip_prefix("unix://") {
            return Self::unix(path).map_err(bad);
        }
        let Some(rest) = trimmed.strip_prefix("http://") else {
            return Err(bad("expected unix:///path/to.sock or http://host:port"));
        };
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.contains('@') {
            return Err(bad(
                "credentials in the URL are not supported; set username and password",
            ));
        }
        // Python's httplib, which supervisorctl uses, defaults to port 80.
        let (host, port) = split_host_port(authority).map_err(bad)?;
        let port = port.unwrap_or(80);
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Self::Http {
            host: host.to_owned(),
            port,
        })
    }

    /// Parses an `[inet_http_server] port=` value as supervisord does (`127.0.0.1:9001`,
    /// `*:9001`, `:9001`, `9001`); a wildcard host means every interface, reached on 127.0.0.1.
    pub(crate) fn from_inet_port(value: &str) -> Result<Self> {
        let bad = |reason| Error::BadAddress {
            value: value.to_owned(),
            reason,
        };
        let (host, port) = split_host_port(value.trim()).map_err(bad)?;
        let port = port.ok_or_else(|| bad("no port number"))?;
        let host = match host {
            "" | "*" | "0.0.0.0" => "127.0.0.1".to_owned(),
            "::" => "::1".to_owned(),
            other => other.to_ascii_lowercase(),
        };
        Ok(Self::Http { host, port })
    }

    /// A socket path, checked for emptiness and length.
    fn unix(path: &str) -> Result<Self, &'static str> {
        if path.is_empty() {
            return Err("no socket path");
        }
        if path.len() > MAX_SOCKET_PATH {
            return Err("socket path too long");
        }
        Ok(Self::Unix(PathBuf::from(path)))
    }
}

/// Splits `host:port`, `[v6]:port`, `host` or `port` (digits only, as supervisord allows).
fn split_host_port(text: &str) -> Result<(&str, Option<u16>), &'static str> {
    let parse_port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or("bad port number")
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed [ in IPv6 address")?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(parse_port(port)?))),
            None if after.is_empty() => Ok((host, None)),
            None => Err("junk after IPv6 address"),
        };
    }
    match text.rsplit_once(':') {
        Some((host, port)) => Ok((host, Some(parse_port(port)?))),
        None if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(("", Some(parse_port(text)?)))
        }
        None => Ok((text, None)),
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
            Self::Http { host, port } if host.contains(':') => write!(f, "http://[{host}]:{port}"),
            Self::Http { host, port } => write!(f, "http://{host}:{port}"),
        }
    }
}

/// HTTP Basic credentials for supervisord.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    /// User name.
    pub(crate) username: String,
    /// Password in clear (supervisord compares it, or its SHA-1, itself).
    pub(crate) password: String,
    /// Where they came from, for error messages, e.g. `taken from the probe settings`.
    pub(crate) origin: String,
}

/// Never prints the password, so credentials can be logged with `?`.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("origin", &self.origin)
            .finish()
    }
}

impl Credentials {
    /// The `Authorization` header value.
    pub(crate) fn basic_auth(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!("Basic {}", base64(pair.as_bytes()))
    }

    /// `user "u", taken from …`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!("user {:?}, {}", self.username, self.origin)
    }
}

/// Standard base64 with padding (RFC 4648 §4): the only encoding HTTP Basic auth needs, too small
/// to justify another dependency.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn http(host: &str, port: u16) -> ServerAddress {
        ServerAddress::Http {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_urls() {
        let unix = ServerAddress::parse_url("unix:///tmp/supervisor.sock").unwrap();
        assert_eq!(unix, ServerAddress::Unix("/tmp/supervisor.sock".into()));
        assert_eq!(unix.to_string(), "unix:///tmp/supervisor.sock");
        assert_eq!(
            ServerAddress::parse_url("http://127.0.0.1:9001").unwrap(),
            http("127.0.0.1", 9001)
        );
        assert_eq!(
            ServerAddress::parse_url(" http://localhost:9001/RPC2 ").unwrap(),
            http("localhost", 9001)
        );
        assert_eq!(
            ServerAddress::parse_url("http://example").unwrap(),
            http("example", 80)
        );
        assert_eq!(
            ServerAddress::parse_url("http://[::1]:9001")
                .unwrap()
                .to_string(),
            "http://[::1]:9001"
        );
        for bad in [
            "",
            "unix://",
            "https://h:1",
            "http://:9001",
            "http://u:p@h:1",
            "http://h:99999",
            "ftp://x",
        ] {
            assert!(ServerAddress::parse_url(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("unix:///{}", "a".repeat(70_000));
        assert!(ServerAddress::parse_url(&long).is_err());
    }

    #[test]
    fn parses_inet_ports_like_supervisord() {
        assert_eq!(
            ServerAddress::from_inet_port("127.0.0.1:9001").unwrap(),
            http("127.0.0.1", 9001)
        );
        assert_eq!(
            ServerAddress::from_inet_port("*:9001").unwrap(),
            http("127.0.0.1", 9001)
        );
        assert_eq!(
            ServerAddress::from_inet_port(":9001").unwrap(),
            http("127.0.0.1", 9001)
        );
        assert_eq!(
            ServerAddress::from_inet_port("9001").unwrap(),
            http("127.0.0.1", 9001)
        );
        assert_eq!(
            ServerAddress::from_inet_port("0.0.0.0:8084").unwrap(),
            http("127.0.0.1", 8084)
        );
        assert_eq!(
            ServerAddress::from_inet_port("LocalHost:9001").unwrap(),
            http("localhost", 9001)
        );
        for bad in ["", "host", "host:", "*:x", ":0"] {
            assert!(
                ServerAddress::from_inet_port(bad).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn encodes_basic_auth_and_hides_the_password() {
        let creds = Credentials {
            username: "user".into(),
            password: "secret".into(),
            origin: "test".into(),
        };
        assert_eq!(creds.basic_auth(), "Basic dXNlcjpzZWNyZXQ=");
        assert!(!format!("{creds:?}").contains("secret"));
        assert!(!creds.describe().contains("secret"));
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }
}
