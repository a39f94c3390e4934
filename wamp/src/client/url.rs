//! Router addresses: `ws://host:port/path`, `wss://…` (TLS), `rs://host:port` (also `tcp://`),
//! `rss://host:port` (RawSocket over TLS) and `unix:///path/to/socket` (RawSocket on a Unix
//! socket).

use std::path::PathBuf;

use crate::transport::{Framing, TransportError};

/// Where the router listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A TCP address.
    Tcp {
        /// `host:port`, as in the URL (brackets kept around an IPv6 address).
        authority: String,
        /// The host alone (what a TLS certificate must name).
        host: String,
    },
    /// A Unix socket's path.
    Unix(PathBuf),
}

/// A parsed router address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// WebSocket or RawSocket.
    pub framing: Framing,
    /// Where to connect.
    pub address: Address,
    /// Whether to speak TLS (`wss://`, `rss://`).
    pub tls: bool,
    /// The URL as given (WebSocket needs it for the upgrade request).
    pub url: String,
}

impl Endpoint {
    /// Parses a router URL.
    pub fn parse(url: &str) -> Result<Self, TransportError> {
        let bad = |problem: &str| TransportError::Url {
            url: url.to_owned(),
            problem: problem.to_owned(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected scheme://host:port"))?;
        let (framing, tls) = match scheme {
            "ws" => (Framing::WebSocket, false),
            "wss" => (Framing::WebSocket, true),
            "rs" | "tcp" | "rawsocket" => (Framing::RawSocket, false),
            "rss" | "tls" => (Framing::RawSocket, true),
            "unix" => {
                if !rest.starts_with('/') || rest.len() < 2 {
                    return Err(bad(
                        "a Unix socket URL names an absolute path, as in unix:///run/wamp.sock",
                    ));
                }
                return Ok(Endpoint {
                    framing: Framing::RawSocket,
                    address: Address::Unix(PathBuf::from(rest)),
                    tls: false,
                    url: url.to_owned(),
                });
            }
            _ => {
                return Err(bad(
                    "the scheme must be ws://, wss://, rs://, rss://, tcp:// or unix://",
                ));
            }
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or_else(|| bad("a port is required, as in host:8080"))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad("expected host:port with a numeric port"));
        }
        if framing == Framing::RawSocket
            && rest.len() > authority.len()
            && &rest[authority.len()..] != "/"
        {
            return Err(bad("a RawSocket URL has no path"));
        }
        Ok(Endpoint {
            framing,
            address: Address::Tcp {
                authority: authority.to_owned(),
                host: host.to_owned(),
            },
            tls,
            url: url.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(url: &str) -> (Framing, bool, String) {
        let e = Endpoint::parse(url).unwrap();
        let Address::Tcp { authority, .. } = e.address else {
            panic!("{url} is not TCP")
        };
        (e.framing, e.tls, authority)
    }

    #[test]
    fn parses_every_scheme() {
        let ws = (Framing::WebSocket, false, "127.0.0.1:8080".to_owned());
        assert_eq!(tcp("ws://127.0.0.1:8080/ws"), ws);
        let wss = (Framing::WebSocket, true, "example.com:443".to_owned());
        assert_eq!(tcp("wss://example.com:443/ws"), wss);
        let rs = (Framing::RawSocket, false, "localhost:8081".to_owned());
        assert_eq!(tcp("rs://localhost:8081"), rs);
        let rss = (Framing::RawSocket, true, "localhost:8081".to_owned());
        assert_eq!(tcp("rss://localhost:8081"), rss);
        assert_eq!(tcp("tcp://[::1]:8081").2, "[::1]:8081");
        let unix = Endpoint::parse("unix:///run/wamp.sock").unwrap();
        assert_eq!(unix.address, Address::Unix("/run/wamp.sock".into()));
        assert_eq!(unix.framing, Framing::RawSocket);
        for bad in [
            "127.0.0.1:8080",
            "http://a:1",
            "ws://a",
            "ws://a:x/ws",
            "rs://a:1/path",
            "unix://relative.sock",
            "unix://",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
