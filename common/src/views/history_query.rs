//! The filters of a history question, parsed alike wherever they are typed: the flags of
//! `omswatch history` and the query parameters of the collector's `GET /api/v1/history`
//! (`since`, `until`, `node`, `code`, `kind`, `limit`). Times are a duration ago (`1h`) or an RFC
//! 3339 time, and travel as Unix milliseconds.

use std::time::{Duration, SystemTime};

use crate::findings::Code;
use crate::proto::v1::HistoryRequest;

/// Most events one question may ask for (the store's cap).
pub const MAX_LIMIT: u32 = 5000;
/// Events answered when no limit is given.
pub const DEFAULT_LIMIT: u32 = 200;

/// The kinds of event a question may ask for (`kind`).
pub const KINDS: [&str; 5] = [
    "raised",
    "cleared",
    "node_state",
    "collector",
    "remediation",
];

/// A `since`/`until` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// This long before now.
    Ago(Duration),
    /// This time.
    At(SystemTime),
}

impl When {
    /// Unix milliseconds, with `now` for durations.
    pub fn unix_ms(self, now: SystemTime) -> i64 {
        let at = match self {
            When::Ago(d) => now.checked_sub(d).unwrap_or(SystemTime::UNIX_EPOCH),
            When::At(t) => t,
        };
        at.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Parses `1h`, `30m`, `7d` or `2026-05-01T08:00:00Z` (a space for the `T`
/// and no zone, meaning UTC, are accepted too).
pub fn parse_time(text: &str) -> Result<When, String> {
    if let Ok(d) = humantime::parse_duration(text) {
        return Ok(When::Ago(d));
    }
    humantime::parse_rfc3339_weak(text)
        .map(When::At)
        .map_err(|_| {
            format!(
                "{text:?} is neither a duration ago (30m, 1h, 7d) nor an RFC 3339 time (2026-05-01T08:00:00Z)"
            )
        })
}

/// Parses a limit: 1 to [`MAX_LIMIT`].
pub fn parse_limit(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!(
            "limit {text:?} is not a number of events from 1 to {MAX_LIMIT}"
        )),
    }
}

/// The filters of one history question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only events at or after.
    pub since: Option<When>,
    /// Only events at or before.
    pub until: Option<When>,
    /// Only events naming this node.
    pub node: Option<String>,
    /// Only events of this finding code (any case).
    pub code: Option<String>,
    /// Only events of this kind (one of [`KINDS`]).
    pub kind: Option<String>,
    /// At most this many, the newest ([`DEFAULT_LIMIT`] when none).
    pub limit: Option<u32>,
}

impl HistoryQuery {
    /// The request, or what is wrong with the filters (the code unknown, `since` after
    /// `until`). Codes are normalised, times resolved against `now`.
    pub fn request(&self, now: SystemTime) -> Result<HistoryRequest, String> {
        let code = match &self.code {
            Some(name) => Code::parse(name)
                .map(|c| c.as_str().to_string())
                .ok_or_else(|| {
                    format!("unknown finding code {name:?}; `omswatch explain --all` lists them")
                })?,
            None => String::new(),
        };
        let since_unix_ms = self.since.map(|w| w.unix_ms(now));
        let until_unix_ms = self.until.map(|w| w.unix_ms(now));
        if let (Some(s), Some(u)) = (since_unix_ms, until_unix_ms)
            && s > u
        {
            return Err("since is after until".into());
        }
        let kind = match self.kind.as_deref().map(str::trim) {
            Some(kind) if KINDS.contains(&kind) => kind.to_string(),
            Some(kind) => {
                return Err(format!(
                    "unknown event kind {kind:?}; the kinds are {}",
                    KINDS.join(", ")
                ));
            }
            None => String::new(),
        };
        Ok(HistoryRequest {
            since_unix_ms,
            until_unix_ms,
            node: self.node.clone().unwrap_or_default(),
            code,
            limit: self.limit.unwrap_or(DEFAULT_LIMIT),
            kind,
        })
    }

    /// The filters of a URL query string (`since=1h&node=oms-node-2`, percent-encoded);
    /// unknown parameters and repeated ones are refused, naming them.
    pub fn from_query_string(query: &str) -> Result<HistoryQuery, String> {
        let mut out = HistoryQuery::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(key)?;
            let value = percent_decode(value)?;
            let repeated = || format!("parameter {key:?} is given twice");
            match key.as_str() {
                "since" if out.since.is_none() => out.since = Some(parse_time(&value)?),
                "until" if out.until.is_none() => out.until = Some(parse_time(&value)?),
                "node" if out.node.is_none() => out.node = Some(value),
                "code" if out.code.is_none() => out.code = Some(value),
                "kind" if out.kind.is_none() => out.kind = Some(value),
                "limit" if out.limit.is_none() => out.limit = Some(parse_limit(&value)?),
                "since" | "until" | "node" | "code" | "kind" | "limit" => return Err(repeated()),
                _ => {
                    return Err(format!(
                        "unknown parameter {key:?}: the filters are since, until, node, code, kind and limit"
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; the result
/// must be UTF-8.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent-encoding in {text:?}"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} is not UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_durations_ago_or_rfc3339() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        assert_eq!(parse_time("1h").expect("ago").unix_ms(now), 6_400_000);
        let at = parse_time("1970-01-01T00:00:05Z").expect("rfc3339");
        assert_eq!(at.unix_ms(now), 5_000);
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn codes_are_checked_and_normalised() {
        let query = HistoryQuery {
            since: Some(When::Ago(Duration::from_secs(60))),
            until: None,
            node: Some("oms-node-2".into()),
            code: Some("component_not_running".into()),
            kind: None,
            limit: Some(10),
        };
        let request = query.request(SystemTime::now()).expect("valid");
        assert_eq!(request.code, "COMPONENT_NOT_RUNNING");
        assert_eq!(request.node, "oms-node-2");
        assert_eq!(request.limit, 10);
        let bad = HistoryQuery {
            code: Some("NOPE".into()),
            ..query.clone()
        };
        assert!(
            bad.request(SystemTime::now())
                .expect_err("unknown")
                .contains("explain")
        );
        let backwards = HistoryQuery {
            since: Some(When::Ago(Duration::from_secs(10))),
            until: Some(When::Ago(Duration::from_secs(60))),
            ..query
        };
        assert!(backwards.request(SystemTime::now()).is_err());
        let none = HistoryQuery::default().request(SystemTime::now());
        assert_eq!(none.expect("valid").limit, DEFAULT_LIMIT);
    }

    #[test]
    fn kinds_are_checked() {
        let now = SystemTime::now();
        let of = |kind: &str| HistoryQuery {
            kind: Some(kind.into()),
            ..HistoryQuery::default()
        };
        assert_eq!(
            of("remediation").request(now).expect("valid").kind,
            "remediation"
        );
        let err = of("restart").request(now).expect_err("unknown kind");
        assert!(err.contains("remediation"), "{err}");
        let q = HistoryQuery::from_query_string("kind=node_state").expect("parses");
        assert_eq!(q.kind.as_deref(), Some("node_state"));
    }

    #[test]
    fn query_strings_parse_like_the_flags() {
        let q = HistoryQuery::from_query_string(
            "since=1h&until=2026-05-01T08%3A00%3A00Z&node=oms-node-2&code=COMPONENT_NOT_RUNNING&limit=5",
        )
        .expect("valid");
        assert_eq!(q.since, Some(When::Ago(Duration::from_secs(3600))));
        assert_eq!(q.until, parse_time("2026-05-01T08:00:00Z").ok());
        assert_eq!(q.node.as_deref(), Some("oms-node-2"));
        assert_eq!(q.limit, Some(5));
        assert_eq!(
            HistoryQuery::from_query_string("").expect("empty"),
            HistoryQuery::default()
        );
        for bad in [
            "limit=0",
            "limit=5001",
            "limit=x",
            "since=soon",
            "node=a&node=b",
            "colour=red",
            "node=%zz",
            "node=%ff",
        ] {
            assert!(HistoryQuery::from_query_string(bad).is_err(), "{bad}");
        }
        let spaced = HistoryQuery::from_query_string("since=2026-05-01+08:00:00").expect("space");
        assert_eq!(spaced.since, parse_time("2026-05-01 08:00:00").ok());
    }
}
