//! cm_url: an http(s) URL with a host that every node of the region can reach
//! (never loopback with several nodes), on cm_server_port unless a VIP forwards.

use std::net::{IpAddr, Ipv6Addr};

use super::context::{Context, RegionCtx};
use crate::findings::{Code, Finding};
use crate::ip;

/// What a valid cm_url names.
#[derive(Debug, PartialEq, Eq)]
struct CmUrl {
    /// Host name or IP address, without brackets.
    host: String,
    /// The explicit port, else 80 for http and 443 for https.
    port: u16,
}

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for region in &ctx.regions {
        let c = region.config;
        match parse(&c.cm_url) {
            Err(why) => out.push(invalid(region, &why)),
            Ok(url) if is_loopback(&url.host) && several_nodes(region) => out.push(invalid(
                region,
                "points to loopback, which only the node itself reaches, in a region of several nodes",
            )),
            Ok(url) if url.port != c.cm_server_port => out.push(
                Finding::new(
                    Code::CmUrlPortMismatch,
                    format!(
                        "{}: cm_url {} uses port {} but cm_server_port is {}",
                        c.file, c.cm_url, url.port, c.cm_server_port
                    ),
                )
                .with("file", &c.file)
                .with("line", line(region))
                .with("cm_url", &c.cm_url)
                .with("url_port", url.port)
                .with("cm_server_port", c.cm_server_port),
            ),
            Ok(_) => {}
        }
    }
}

/// Whether the region lists two or more distinct servers.
fn several_nodes(region: &RegionCtx<'_>) -> bool {
    let nodes = &region.config.cm_nodes;
    nodes
        .first()
        .is_some_and(|first| nodes.iter().any(|ip| ip != first))
}

fn line(region: &RegionCtx<'_>) -> String {
    region
        .config
        .line_of("cm_url")
        .map_or_else(|| "unknown".to_string(), |l| l.to_string())
}

fn invalid(region: &RegionCtx<'_>, why: &str) -> Finding {
    let c = region.config;
    let line = line(region);
    Finding::new(
        Code::CmUrlInvalid,
        format!("{}:{line}: cm_url {} {why}", c.file, c.cm_url),
    )
    .with("file", &c.file)
    .with("line", line)
    .with("cm_url", &c.cm_url)
    .with("cm_server_port", c.cm_server_port)
    .with("problem", why)
}

/// Parses `http(s)://[user@]host[:port][/path]`; the error says what is wrong.
fn parse(url: &str) -> Result<CmUrl, String> {
    let not_http = || "is not an http:// or https:// URL".to_string();
    let (scheme, rest) = url.trim().split_once("://").ok_or_else(not_http)?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(not_http()),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| "has an unclosed '[' in its host".to_string())?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "has {host:?} in brackets, which is no IPv6 address"
            ));
        }
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("has {after:?} after its host")),
            },
        }
    } else if authority.matches(':').count() > 1 {
        return Err("has an IPv6 host not written in brackets".to_string());
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("has no host".to_string());
    }
    if let Some(bad) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
    {
        return Err(format!("has {bad:?} in its host"));
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err(format!("has an invalid port {p:?}")),
        },
    };
    Ok(CmUrl {
        host: host.to_string(),
        port,
    })
}

/// localhost, 127.0.0.0/8, ::1 (also IPv4-mapped).
fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    ip::normalize(host)
        .parse::<IpAddr>()
        .is_ok_and(|a| a.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str, port: u16) -> Result<CmUrl, String> {
        Ok(CmUrl {
            host: host.into(),
            port,
        })
    }

    #[test]
    fn parses_hosts_ports_and_defaults() {
        assert_eq!(parse("http://10.0.0.11:8088"), url("10.0.0.11", 8088));
        assert_eq!(
            parse(" HTTPS://vip.example/cm?x=1 "),
            url("vip.example", 443)
        );
        assert_eq!(parse("http://u:p@cm:9/"), url("cm", 9));
        assert_eq!(parse("http://[::1]:8088"), url("::1", 8088));
        assert_eq!(parse("http://[fe80::1]"), url("fe80::1", 80));
    }

    #[test]
    fn rejects_what_is_no_http_url() {
        for bad in [
            "",
            "10.0.0.11:8088",
            "ftp://10.0.0.11",
            "http://",
            "http://:8088",
            "http://host:",
            "http://host:0",
            "http://host:99999",
            "http://host:80x",
            "http://::1:8088",
            "http://[::1",
            "http://[nope]:1",
            "http://[::1]x",
            "http://a b:1",
            "http://é:1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn knows_loopback() {
        for lo in [
            "127.0.0.1",
            "127.1.2.3",
            "localhost",
            "LOCALHOST.",
            "::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_loopback(lo), "{lo}");
        }
        for not in ["10.0.0.1", "localhost2", "::2", "vip"] {
            assert!(!is_loopback(not), "{not}");
        }
    }
}
