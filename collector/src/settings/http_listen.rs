//! The `http_listen` setting (`--http-listen ADDR|off`): where the HTTP listener
//! (metrics, the status API, health) serves, or `off`.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Default HTTP address: loopback, next to gRPC's 9470. A Prometheus on another host
/// needs `--http-listen 0.0.0.0:9471` (TLS) or a reverse proxy.
pub const DEFAULT_HTTP_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9471);

/// Where the HTTP listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpListen {
    /// No HTTP listener.
    Off,
    /// Serve on this address.
    On(SocketAddr),
}

impl Default for HttpListen {
    fn default() -> Self {
        HttpListen::On(DEFAULT_HTTP_LISTEN)
    }
}

impl HttpListen {
    /// The address, unless off.
    pub fn addr(self) -> Option<SocketAddr> {
        match self {
            HttpListen::Off => None,
            HttpListen::On(addr) => Some(addr),
        }
    }
}

/// An `--http-listen` value that is neither an address nor `off`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--http-listen {0:?} is not an address: give HOST:PORT (e.g. 127.0.0.1:9471) or off")]
pub struct BadHttpListen(pub String);

impl FromStr for HttpListen {
    type Err = BadHttpListen;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(HttpListen::Off);
        }
        text.parse()
            .map(HttpListen::On)
            .map_err(|_| BadHttpListen(text.to_string()))
    }
}

impl fmt::Display for HttpListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpListen::Off => f.write_str("off"),
            HttpListen::On(addr) => write!(f, "{addr}"),
        }
    }
}

impl Serialize for HttpListen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HttpListen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_and_off() {
        assert_eq!("off".parse(), Ok(HttpListen::Off));
        assert_eq!("OFF".parse(), Ok(HttpListen::Off));
        assert_eq!(
            "0.0.0.0:9471".parse::<HttpListen>().map(HttpListen::addr),
            Ok(Some(SocketAddr::from(([0, 0, 0, 0], 9471))))
        );
        assert!("localhost".parse::<HttpListen>().is_err());
        assert_eq!(HttpListen::default().to_string(), "127.0.0.1:9471");
        let yaml = serde_yaml::to_string(&HttpListen::Off).expect("yaml");
        let back: HttpListen = serde_yaml::from_str(&yaml).expect("round trip");
        assert_eq!(back, HttpListen::Off);
    }
}
