//! The receivers the settings name (`alertmanagers`, `webhooks`): their URLs checked once at
//! start, and how they are named everywhere else. A webhook URL often carries its secret
//! (chat services put a token in the path), so a URL is never logged, stored, labelled or
//! put in an error: logs say `webhook 2 (https://hooks.example:443)`, the outbox keys rows
//! by the URL's SHA-256.

use std::path::Path;

use hyper::Uri;
use omswatch_common::secret::Secret;
use sha2::{Digest, Sha256};

/// The path Alertmanager's API v2 takes alerts on, appended to a base URL.
pub const ALERTMANAGER_PATH: &str = "/api/v2/alerts";

/// Which kind of receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An Alertmanager (`--alertmanager`).
    Alertmanager,
    /// A webhook (`--webhook`).
    Webhook,
}

impl Kind {
    fn flag(self) -> &'static str {
        match self {
            Kind::Alertmanager => "--alertmanager",
            Kind::Webhook => "--webhook",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Alertmanager => "alertmanager",
            Kind::Webhook => "webhook",
        }
    }
}

/// One receiver, ready to POST to.
#[derive(Clone)]
pub struct Receiver {
    /// Where to POST (may hold a token: never print it).
    pub uri: Uri,
    /// How logs and metrics name it: `webhook 1 (https://host:443)`.
    pub label: String,
    /// The SHA-256 of its URL (hex): its key in the webhook outbox.
    pub target: String,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

/// The receivers of `kind` in `urls` (in order, numbered from 1), or what is wrong with one,
/// naming the flag and its position but never the URL's path or query.
pub fn parse(kind: Kind, urls: &[String]) -> Result<Vec<Receiver>, String> {
    let mut out: Vec<Receiver> = Vec::new();
    for (i, text) in urls.iter().enumerate() {
        let receiver = parse_one(kind, i + 1, text)?;
        if out.iter().any(|r| r.target == receiver.target) {
            return Err(format!(
                "{} {} is given twice ({}): each receiver would get everything twice",
                kind.flag(),
                i + 1,
                receiver.label
            ));
        }
        out.push(receiver);
    }
    Ok(out)
}

fn parse_one(kind: Kind, n: usize, text: &str) -> Result<Receiver, String> {
    let bad = |why: &str| {
        format!(
            "{} number {n}: {why}; e.g. {} https://receiver.example:9093",
            kind.flag(),
            kind.flag()
        )
    };
    let url = url::Url::parse(text.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(&format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    let Some(host) = url.host_str() else {
        return Err(bad("no host"));
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "a user or password in the URL is not sent; use --alertmanager-token-file for a bearer \
             token, or put a webhook's token in its path or query",
        ));
    }
    if url.fragment().is_some() {
        return Err(bad("a #fragment is never sent"));
    }
    let port = url.port_or_known_default().unwrap_or(0);
    let mut full = url.to_string();
    if kind == Kind::Alertmanager && !url.path().ends_with(ALERTMANAGER_PATH) {
        let mut with_path = url.clone();
        let base = url.path().trim_end_matches('/');
        with_path.set_path(&format!("{base}{ALERTMANAGER_PATH}"));
        full = with_path.to_string();
    }
    let uri: Uri = full
        .parse()
        .map_err(|e| bad(&format!("not a URL hyper can send to ({e})")))?;
    let target = Sha256::digest(text.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Receiver {
        uri,
        label: format!("{} {n} ({}://{host}:{port})", kind.noun(), url.scheme()),
        target,
    })
}

/// The first line of a secret file (a bearer token, a signing secret); a warning when others
/// may read it. `what` names the setting in errors.
pub fn read_secret(what: &str, path: &Path) -> Result<Secret, String> {
    use std::os::unix::fs::PermissionsExt;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        return Err(format!(
            "{what} {} is empty: write the secret on its first line",
            path.display()
        ));
    }
    if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
        tracing::warn!(file = %path.display(), "{what} is readable by others: chmod 600 it");
    }
    Ok(Secret::new(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(kind: Kind, url: &str) -> Result<Receiver, String> {
        parse(kind, &[url.to_string()]).map(|mut v| v.remove(0))
    }

    #[test]
    fn alertmanager_urls_get_the_api_path_once() {
        let am = one(Kind::Alertmanager, "http://am.example:9093").expect("valid");
        assert_eq!(am.uri.to_string(), "http://am.example:9093/api/v2/alerts");
        let prefixed = one(Kind::Alertmanager, "https://ops.example/alertmanager/").expect("ok");
        assert_eq!(
            prefixed.uri.to_string(),
            "https://ops.example/alertmanager/api/v2/alerts"
        );
        let full = one(Kind::Alertmanager, "http://am:9093/api/v2/alerts").expect("ok");
        assert_eq!(full.uri.to_string(), "http://am:9093/api/v2/alerts");
        assert_eq!(am.label, "alertmanager 1 (http://am.example:9093)");
    }

    #[test]
    fn labels_never_show_the_path_or_query_of_a_webhook() {
        let url = "https://hooks.example/services/T0/B0/s3cr3tT0ken?key=also-secret";
        let hook = one(Kind::Webhook, url).expect("valid");
        assert_eq!(hook.label, "webhook 1 (https://hooks.example:443)");
        assert_eq!(format!("{hook:?}"), hook.label);
        assert_eq!(hook.uri.to_string(), url);
        assert_eq!(hook.target.len(), 64);
    }

    #[test]
    fn bad_urls_are_refused_naming_the_flag_and_position_only() {
        for bad in [
            "hooks.example/x",
            "ftp://hooks.example/x",
            "https://user:pw@hooks.example/x",
            "https://hooks.example/x#frag",
            "http://",
        ] {
            let err =
                parse(Kind::Webhook, &["http://ok.example/".into(), bad.into()]).expect_err(bad);
            assert!(err.starts_with("--webhook number 2:"), "{err}");
            assert!(!err.contains("pw@"), "{err}");
        }
        let twice = parse(
            Kind::Alertmanager,
            &["http://am:9093".into(), "http://am:9093".into()],
        );
        assert!(twice.expect_err("dup").contains("given twice"));
    }
}
