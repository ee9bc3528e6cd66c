//! How `omswatch status` and `omswatch bundle` reach the collector: one set of
//! flags ([`ConnectArgs`]), checked by the pure [`plan`] (mutual TLS for
//! `https://`, plain text only with `--insecure` and on loopback unless forced),
//! one [`client`] for every query, with the operator's certificate or a bearer
//! token sent by [`BearerAuth`]. The token is held as a [`Secret`]: no log,
//! error or `{:?}` shows it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::BoolishValueParser;
use omswatch_common::proto::v1::query_client::QueryClient;
use omswatch_common::secret::Secret;
use omswatch_common::tls::{ClientTlsFiles, Security, SecurityError, security};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// The flags of every subcommand that asks the collector.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectArgs {
    /// The collector's URL: https://HOST:9470, or http:// with --insecure. For a pair of
    /// collectors, repeat the flag or comma-separate: the next is asked when one is
    /// unreachable (not when it refuses), and stderr says which answered.
    #[arg(
        long,
        env = "OMSWATCH_COLLECTOR",
        value_name = "URL",
        value_delimiter = ',',
        default_value = "https://127.0.0.1:9470"
    )]
    pub collector: Vec<String>,
    /// The CA certificate (PEM) that signed the collector's certificate.
    #[arg(long, env = "OMSWATCH_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Your operator certificate (PEM, from `omswatch certs operator`).
    #[arg(long, env = "OMSWATCH_CERT", value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, env = "OMSWATCH_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Instead of an operator certificate: a file whose first non-empty line
    /// (not starting with #) starts with the collector's bearer token (a line of
    /// the collector's token file, `TOKEN name=ci scopes=...`, will do).
    #[arg(long, env = "OMSWATCH_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Allow a plain-text http:// collector URL, on loopback only (for trials).
    #[arg(long, env = "OMSWATCH_INSECURE", value_parser = BoolishValueParser::new())]
    pub insecure: bool,
    /// With --insecure: allow plain text to a collector that is not on loopback.
    #[arg(long, env = "OMSWATCH_INSECURE_ALLOW_REMOTE", value_parser = BoolishValueParser::new())]
    pub insecure_allow_remote: bool,
}

/// Why the flags cannot be used; each message says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The scheme and insecure flags (the rule shared with the agent).
    #[error(transparent)]
    Security(#[from] SecurityError),
    /// `https://` without `--ca`.
    #[error(
        "{0} needs --ca FILE (or OMSWATCH_CA): the CA that signed the collector's certificate \
         (ca.pem of `omswatch certs ca`); for a plain-text trial on this host use --insecure with http://"
    )]
    NoCa(String),
    /// Only one of `--cert` and `--key`.
    #[error(
        "--cert and --key go together: give both (your operator certificate and its key) or neither"
    )]
    Unpaired,
    /// The token file.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The TLS files.
    #[error(transparent)]
    Tls(#[from] omswatch_common::tls::TlsError),
    /// The `--collector` list (empty, or a URL twice).
    #[error(transparent)]
    Urls(#[from] omswatch_common::collectors::UrlListError),
}

/// Why no token could be read. Never carries the file's contents.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file cannot be read.
    #[error("cannot read the token file {}: {source}", path.display())]
    Read {
        /// The `--token-file`.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// Only blank or comment lines.
    #[error("the token file {} holds no token: its first non-empty line (not starting with #) is the token", path.display())]
    Empty {
        /// The `--token-file`.
        path: PathBuf,
    },
    /// Spaces or control characters inside the token.
    #[error(
        "the token in {} has characters an HTTP header cannot carry (spaces, control or non-ASCII characters)",
        path.display()
    )]
    Invalid {
        /// The `--token-file`.
        path: PathBuf,
    },
}

/// What the checked flags allow.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The TLS files, or `None` for plain text.
    pub tls: Option<ClientTlsFiles>,
    /// Things worth saying on stderr before connecting.
    pub warnings: Vec<String>,
}

/// Checks the URLs against the flags (no file is read). An operator may query
/// with a certificate or a token, so TLS needs only the CA (and cert and key together).
/// Every URL of a pair must be allowed; the insecure flags allow either https://
/// or http:// URLs, never both, so the URLs of a pair are reached alike.
pub fn plan(args: &ConnectArgs) -> Result<Plan, ConnectError> {
    let urls = omswatch_common::collectors::parse_list(&args.collector)?;
    let mut securities = urls
        .iter()
        .map(|url| security(url, args.insecure, args.insecure_allow_remote));
    let first = securities.next().unwrap_or(Ok(Security::Tls))?;
    for other in securities {
        other?;
    }
    let url = urls[0].as_str();
    match first {
        Security::Tls if args.ca.is_none() => Err(ConnectError::NoCa(url.to_string())),
        Security::Tls if args.cert.is_some() != args.key.is_some() => Err(ConnectError::Unpaired),
        Security::Tls => Ok(Plan {
            tls: Some(ClientTlsFiles {
                ca: args.ca.clone(),
                cert: args.cert.clone(),
                key: args.key.clone(),
            }),
            warnings: Vec::new(),
        }),
        Security::Plain => {
            let mut warnings = Vec::new();
            if args.ca.is_some() || args.cert.is_some() || args.key.is_some() {
                warnings.push("--ca, --cert and --key are not used with an http:// URL".into());
            }
            if args.token_file.is_some() {
                // An insecure collector ignores tokens anyway; sending one in plain
                // text would only hand it to whoever listens on the way.
                warnings.push("--token-file is not sent over an http:// URL".into());
            }
            Ok(Plan {
                tls: None,
                warnings,
            })
        }
    }
}

/// The token in a token file's text: the first word of its first line that is
/// neither blank nor a `#` comment, so a line of the collector's token file
/// (`TOKEN name=ci scopes=read,restart`) works as it is.
pub fn parse_token(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .and_then(|line| line.split_whitespace().next())
}

/// Reads the bearer token from `path`.
pub fn read_token(path: &Path) -> Result<Secret, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let token = parse_token(&text).ok_or_else(|| TokenError::Empty {
        path: path.to_path_buf(),
    })?;
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TokenError::Invalid {
            path: path.to_path_buf(),
        });
    }
    Ok(Secret::new(token))
}

/// Adds `authorization: Bearer <token>` to every call, when there is a token.
#[derive(Clone, Default)]
pub struct BearerAuth {
    header: Option<MetadataValue<Ascii>>,
}

impl BearerAuth {
    /// Sends `token`; `None` sends nothing.
    pub fn new(
        token: Option<&Secret>,
    ) -> Result<BearerAuth, tonic::metadata::errors::InvalidMetadataValue> {
        let header = match token {
            Some(token) => {
                let mut value = MetadataValue::try_from(format!("Bearer {}", token.expose()))?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        Ok(BearerAuth { header })
    }
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.header.as_ref().map(|_| "Bearer <redacted>");
        f.debug_tuple("BearerAuth").field(&shown).finish()
    }
}

impl Interceptor for BearerAuth {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.header {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A checked way to the collector: URL, TLS files, token.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The collector's URL as given (the one asked now: the first of `urls` until
    /// [`crate::failover`] moves on).
    pub url: String,
    /// Every `--collector` URL, in the order they are asked.
    pub urls: Vec<String>,
    /// The TLS files, or `None` for plain text.
    pub tls: Option<ClientTlsFiles>,
    /// The token, if any.
    pub auth: BearerAuth,
    /// Things worth saying on stderr before connecting.
    pub warnings: Vec<String>,
}

impl ConnectArgs {
    /// Checks the flags and reads the token: everything short of connecting.
    pub fn connection(&self) -> Result<Connection, ConnectError> {
        let plan = plan(self)?;
        let token = match plan.tls {
            Some(_) => self.token_file.as_deref().map(read_token).transpose()?,
            None => None, // never in plain text (see `plan`)
        };
        let auth = BearerAuth::new(token.as_ref()).map_err(|_| TokenError::Invalid {
            path: self.token_file.clone().unwrap_or_default(),
        })?;
        if let Some(files) = &plan.tls {
            files.client_config()?;
        }
        let urls = omswatch_common::collectors::parse_list(&self.collector)?;
        Ok(Connection {
            url: urls[0].clone(),
            urls,
            tls: plan.tls,
            auth,
            warnings: plan.warnings,
        })
    }
}

impl Connection {
    /// The same connection to `url` (another collector of the pair).
    pub fn at(&self, url: &str) -> Connection {
        Connection {
            url: url.to_string(),
            ..self.clone()
        }
    }
}

/// The Query client type every subcommand uses.
pub type Client = QueryClient<InterceptedService<Channel, BearerAuth>>;

/// How long connecting may take within a call's `timeout`: half of it, 0.5–10 s. Shorter than
/// the call's own bound so a collector that drops packets fails as "could not connect" (the
/// next of a pair is asked, also for a restart), not as "no answer" (final for a restart).
pub fn connect_within(timeout: Duration) -> Duration {
    (timeout / 2)
        .clamp(Duration::from_millis(500), Duration::from_secs(10))
        .min(timeout)
}

/// A Query client for `connection`, every call bounded by `timeout`.
pub async fn client(connection: &Connection, timeout: Duration) -> anyhow::Result<Client> {
    let url = &connection.url;
    let mut endpoint = Endpoint::from_shared(url.clone())
        .map_err(|e| {
            anyhow::anyhow!("bad collector URL {url:?} ({e}); expected e.g. https://10.0.0.5:9470")
        })?
        .connect_timeout(connect_within(timeout))
        .timeout(timeout);
    if let Some(files) = &connection.tls {
        endpoint = endpoint.tls_config(files.client_config()?)?;
    }
    let channel = endpoint.connect().await?;
    // A large cluster's status is legitimately larger than tonic's 4 MiB default.
    Ok(
        QueryClient::with_interceptor(channel, connection.auth.clone())
            .max_decoding_message_size(omswatch_common::proto::MAX_ANSWER_BYTES),
    )
}

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod tests;
